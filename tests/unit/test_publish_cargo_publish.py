"""The cargo publisher: which packages in which order, which registry and token, and the run against an index.

cargo itself is played by FakeCargo (unit tests start no process): its `cargo publish` adds the
version to a local sparse registry (tests/cargo_registry.py, served in this process), or fails the
way cargo reports a failure. tests/integration/test_publish_cargo_publish.py runs the real cargo.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.cargo_registry import CargoRegistry
from tests.cargo_registry import index_file as registry_index_file
from tests.conftest import ROOT
from tooling import proc
from tooling.config import load_config
from tooling.errors import CommandError, ConfigError, PublishError
from tooling.publish import cargo_publish, retry
from tooling.publish.channels import PUBLISHED, UNCHANGED, WOULD_PUBLISH, ChannelJob, Outcome

CANARY = "canary-cargo-token-4b8e2d17"
FAST = retry.Clock(sleep=lambda seconds: None, draw=lambda: 0.0)


# --- pure pieces -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "path"),
    [("a", "1/a"), ("ab", "2/ab"), ("abc", "3/a/abc"), ("Serde", "se/rd/serde"), ("cargo-dist", "ca/rg/cargo-dist")],
)
def test_the_index_path_follows_cargos_prefix_rule(name: str, path: str) -> None:
    assert cargo_publish.index_path(name) == path
    assert registry_index_file(name) == path  # the test registry agrees


@pytest.mark.parametrize(
    ("index", "root"),
    [
        ("sparse+http://127.0.0.1:1/index/", "http://127.0.0.1:1/index/"),
        ("sparse+https://registry.example.invalid/index", "https://registry.example.invalid/index/"),
        ("https://git.example.invalid/index.git", None),
        ("sparse+file:///srv/index/", None),
    ],
)
def test_only_a_sparse_http_index_is_read_directly(index: str, root: str | None) -> None:
    assert cargo_publish.sparse_root(index) == root


@pytest.mark.parametrize(
    ("index", "problem"),
    [
        ("sparse+http://registry.example.invalid/index/", "would send the token unencrypted"),
        (f"sparse+https://me:{CANARY}@registry.example.invalid/index/", "user name or a secret inside the URL"),
        ("sparse+https://[registry/index/", "is not a valid URL: its host is malformed"),
    ],
)
def test_a_sparse_index_the_token_may_not_go_to_is_refused(index: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=f"^cargo: the index of corp .*{problem}") as caught:
        cargo_publish.sparse_root(index, "the index of corp")
    assert CANARY not in str(caught.value)


def test_a_sparse_index_over_http_is_read_when_it_is_on_this_machine() -> None:
    assert cargo_publish.sparse_root("sparse+http://localhost:8080/index") == "http://localhost:8080/index/"
    assert cargo_publish.sparse_root("sparse+http://[::1]:8080/index/") == "http://[::1]:8080/index/"


def test_the_token_is_in_no_repr(config: Any, home: Path) -> None:
    runner = FakeCargo()
    policy, clock = retry.Policy(), retry.Clock()
    index = cargo_publish.SparseIndex("https://registry.example.invalid/", "corp", CANARY, None, policy, clock)  # type: ignore[arg-type]
    work = cargo_publish.Publishing(make_job(config, home, runner), "corp", index, CANARY, "T", policy, clock)
    assert CANARY not in repr(index) and CANARY not in repr(work)


def test_the_versions_of_an_index_file_are_read_build_metadata_aside() -> None:
    text = '{"name":"x","vers":"0.1.0","yanked":true}\n\n{"name":"x","vers":"0.2.0+build.5"}\nnot json\n'
    assert cargo_publish.listed_versions(text) == {"0.1.0", "0.2.0"}


@pytest.mark.parametrize(
    ("registry", "variable"),
    [("crates-io", "CARGO_REGISTRY_TOKEN"), ("my-registry", "CARGO_REGISTRIES_MY_REGISTRY_TOKEN")],
)
def test_the_token_goes_to_the_variable_cargo_reads_for_the_registry(registry: str, variable: str) -> None:
    assert cargo_publish.token_variable(registry) == variable


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_nearest_cargo_configuration_wins_and_cargo_home_comes_last(tmp_path: Path) -> None:
    home = tmp_path / "home"
    crate_dir = tmp_path / "repo" / "crates" / "tool"
    crate_dir.mkdir(parents=True)
    write(home / "config.toml", '[registries.corp]\nindex = "sparse+https://home.example.invalid/"\n')
    write(tmp_path / "repo" / ".cargo" / "config", '[registries.corp]\nindex = "sparse+https://old.example.invalid/"\n')
    write(crate_dir / ".cargo" / "config.toml", '[registry]\ndefault = "corp"\n')
    files = cargo_publish.config_files(crate_dir, home)
    assert files == [
        crate_dir / ".cargo" / "config.toml",
        tmp_path / "repo" / ".cargo" / "config",
        home / "config.toml",
    ]
    tables = cargo_publish.read_configs(files)
    assert cargo_publish.chosen_registry("", tables, {}) == "corp"
    assert cargo_publish.registry_index("corp", tables, {}) == "sparse+https://old.example.invalid/"
    environ = {"CARGO_REGISTRIES_CORP_INDEX": "sparse+https://env.example.invalid/", "CARGO_REGISTRY_DEFAULT": "x"}
    assert cargo_publish.registry_index("corp", tables, environ) == "sparse+https://env.example.invalid/"
    assert cargo_publish.chosen_registry("", tables, environ) == "x"
    assert cargo_publish.chosen_registry("named", tables, environ) == "named"


def test_without_any_setting_the_registry_is_cargos_built_in_one_with_no_address_here(tmp_path: Path) -> None:
    assert cargo_publish.chosen_registry("", [], {}) == "crates-io"
    assert cargo_publish.registry_index("crates-io", [], {}) is None


def test_a_registry_cargo_does_not_know_is_named_with_the_table_to_add() -> None:
    with pytest.raises(ConfigError, match="'corp' is not a registry cargo knows") as caught:
        cargo_publish.registry_index("corp", [], {})
    assert "[registries.corp] index" in (caught.value.hint or "")


def test_broken_cargo_configuration_is_named(tmp_path: Path) -> None:
    broken = write(tmp_path / ".cargo" / "config.toml", "[registries\n")
    with pytest.raises(ConfigError, match="cannot read cargo's configuration"):
        cargo_publish.read_configs([broken])


def member(name: str, folder: Path, *deps: tuple[str, str | None], publish: list[str] | None = None) -> dict[str, Any]:
    """A package as `cargo metadata --no-deps` lists it; deps: (folder name, kind) of path dependencies."""
    return {
        "name": name,
        "version": "1.0.0",
        "id": f"path+file://{folder / name}#{name}@1.0.0",
        "manifest_path": str(folder / name / "Cargo.toml"),
        "publish": publish,
        "dependencies": [
            {"name": dep, "path": str(folder / dep), "kind": kind, "req": "^1.0.0", "source": None}
            for dep, kind in deps
        ]
        + [{"name": "clap", "kind": None, "req": "^4", "source": "registry+https://index.example.invalid"}],
    }


def metadata(*packages: dict[str, Any]) -> dict[str, Any]:
    return {"packages": list(packages), "workspace_members": [p["id"] for p in packages]}


def test_workspace_members_are_published_dependencies_first(tmp_path: Path) -> None:
    found = metadata(
        member("app", tmp_path, ("cli-core", None), ("testkit", "dev"), ("gen", "build")),
        member("cli-core", tmp_path, ("util", None)),
        member("util", tmp_path),
        member("gen", tmp_path, ("util", "normal")),
        member("testkit", tmp_path, ("app", None)),  # only a dev-dependency of app: not needed on the registry
        member("other", tmp_path),
    )
    order = [package.name for package in cargo_publish.publish_order(found, "app")]
    assert order == ["util", "cli-core", "gen", "app"]


def test_a_single_crate_is_published_alone(tmp_path: Path) -> None:
    assert [p.name for p in cargo_publish.publish_order(metadata(member("app", tmp_path)), "app")] == ["app"]


def test_a_cycle_of_path_dependencies_is_named(tmp_path: Path) -> None:
    found = metadata(member("a", tmp_path, ("b", None)), member("b", tmp_path, ("a", "build")))
    with pytest.raises(ConfigError, match="a -> b -> a"):
        cargo_publish.publish_order(found, "a")


@pytest.mark.parametrize(("publish", "said"), [([], "publish = false"), (["corp"], "publish = ['corp']")])
def test_a_package_its_manifest_keeps_from_the_registry_is_named(tmp_path: Path, publish: list[str], said: str) -> None:
    packages = cargo_publish.publish_order(metadata(member("app", tmp_path, publish=publish)), "app")
    if publish:
        cargo_publish.check_publishable(packages, "corp")  # the registry it names is allowed
    with pytest.raises(ConfigError, match=re.escape(f"app cannot be published to other: its Cargo.toml says {said}")):
        cargo_publish.check_publishable(packages, "other")


@pytest.mark.parametrize(
    ("output", "status", "transient", "refused"),
    [
        ("Caused by:\n  the remote server responded with an error (status 403 Forbidden): no", 403, False, True),
        (
            "Caused by:\n  the remote server responded with an error (status 503 Service Unavailable): x",
            503,
            True,
            False,
        ),
        (
            "Caused by:\n  [52] Server returned nothing (no headers, no data) (Empty reply from server)",
            None,
            True,
            False,
        ),
        ("error: failed to verify package tarball", None, False, False),
    ],
)
def test_a_failed_upload_is_read_for_retrying_and_refusals(
    output: str, status: int | None, transient: bool, refused: bool
) -> None:
    failure = cargo_publish.read_failure(output)
    assert (failure.status, failure.transient, failure.refused) == (status, transient, refused)


def test_the_version_cargo_info_describes_is_read() -> None:
    output = "crcsum #crc\nPrint CRC-32\nversion: 0.1.0 (latest 0.3.0)\nlicense: MIT\n"
    assert cargo_publish.info_version(output) == "0.1.0"
    assert cargo_publish.info_version("no such line") is None


def test_the_commands_hold_no_token_and_select_each_package() -> None:
    manifest = Path("/src/app/Cargo.toml")
    gate = cargo_publish.publish_argv(manifest, "corp", ["util", "app"], dry_run=True)
    assert gate == [
        "cargo", "publish", "--locked", "--manifest-path", str(manifest), "--registry", "corp", "--dry-run",
        "--package", "util", "--package", "app",
    ]  # fmt: skip
    real = cargo_publish.publish_argv(manifest, "crates-io", ["app"], dry_run=False)
    assert "--registry" not in real and "--no-verify" in real


# --- the run, with cargo played by FakeCargo -----------------------------------------------------------


@dataclass(frozen=True)
class Call:
    argv: tuple[str, ...]
    env: dict[str, str]
    effect: proc.Effect


@dataclass(frozen=True)
class FakeCargo(proc.Runner):
    """cargo as the publisher sees it: `cargo publish` puts the package on `registry` unless told to fail.

    failures: what the next real publishes print and exit with ("lost": the upload happened, the reply did not).
    """

    registry: CargoRegistry | None = None
    calls: list[Call] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    info: str = ""  # what `cargo info` prints (exit 0), or "" for "could not find" (exit 101)

    def run(self, argv: Sequence[str], *, effect: proc.Effect = proc.Effect.LOCAL, **options: Any) -> proc.Result:
        argv = tuple(str(a) for a in argv)
        self.calls.append(Call(argv, dict(options.get("env") or {}), effect))
        if effect is not proc.Effect.READ and self.dry_run:
            return proc.Result(argv, 0, skipped=True)
        if argv[1] == "info":
            return proc.Result(argv, 0 if self.info else 101, self.info, "" if self.info else "error: could not find")
        if "--dry-run" in argv:
            return proc.Result(argv, 0, "   Packaging ...\nwarning: aborting upload due to dry run\n")
        name = argv[argv.index("--package") + 1]
        failure = self.failures.pop(0) if self.failures else ""
        if failure in ("", "lost") and self.registry is not None:
            self.registry.add_version(name, "0.1.0")
        if failure == "":
            return proc.Result(argv, 0, f"   Published {name} v0.1.0\n")
        output = "[52] Server returned nothing (no headers, no data)" if failure == "lost" else failure
        return proc.Result(argv, 101, f"error: failed to publish {name} v0.1.0\n\nCaused by:\n  {output}\n")

    def publishes(self) -> list[Call]:
        return [c for c in self.calls if c.argv[1] == "publish" and "--dry-run" not in c.argv]


@pytest.fixture
def registry() -> Iterator[CargoRegistry]:
    with CargoRegistry(token=CANARY) as server:
        yield server


@pytest.fixture
def home(tmp_path: Path, registry: CargoRegistry) -> Path:
    """A CARGO_HOME registering the test registry as `local`."""
    return write(
        tmp_path / "cargo-home" / "config.toml", f'[registries.local]\nindex = "{registry.index_url}"\n'
    ).parent


@pytest.fixture
def config(tmp_path: Path) -> Any:
    """The repository's config, its crate copied to a folder of its own (no .cargo/config.toml above it)."""
    config = load_config(ROOT, {})
    crate_dir = tmp_path / "crate"
    write(crate_dir / "Cargo.toml", config.crate_manifest.read_text(encoding="utf-8"))
    return dataclasses.replace(config, crate_manifest=crate_dir / "Cargo.toml")


def make_job(
    config: Any, home: Path, runner: proc.Runner, *, token: str | None = CANARY, **settings: Any
) -> ChannelJob:
    table = {**config.publish["cargo"], "registry": "local", **settings}
    environ = {"CARGO_HOME": str(home), "HOME": str(home.parent)}
    if token is not None:
        environ[str(table["token-env"])] = token
    return ChannelJob(
        channel="cargo",
        files=config.crate_dir,
        config=config,
        settings=table,
        tag=f"v{config.version}",
        environ=environ,
        runner=runner,
        scratch=home.parent / "scratch",
    )


def publish(job: ChannelJob) -> Outcome:
    return cargo_publish.publish(job, clock=FAST, policy=retry.Policy(budget_seconds=30))


def test_the_first_run_publishes_and_the_second_changes_nothing(
    config: Any, home: Path, registry: CargoRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    cargo = FakeCargo(registry=registry)
    outcome = publish(make_job(config, home, cargo))
    assert outcome.state == PUBLISHED and "crcsum 0.1.0 published to local" in outcome.detail
    gate, real = cargo.calls
    assert "--dry-run" in gate.argv and gate.effect is proc.Effect.READ
    assert real.effect is proc.Effect.REMOTE and real.argv[-2:] == ("--package", "crcsum")
    for call in cargo.calls:
        assert CANARY not in " ".join(call.argv)
        assert sorted(call.env) == ["CARGO_REGISTRIES_LOCAL_TOKEN", "CARGO_TARGET_DIR"]
        assert call.env["CARGO_REGISTRIES_LOCAL_TOKEN"] == CANARY

    again = FakeCargo(registry=registry)
    assert publish(make_job(config, home, again)).state == UNCHANGED
    assert again.calls == []  # the index lists it: cargo is not even asked
    captured = capsys.readouterr()
    assert CANARY not in captured.out + captured.err


def test_a_transient_index_failure_is_retried(config: Any, home: Path, registry: CargoRegistry) -> None:
    registry.fail_next("index", 500)
    registry.fail_next("index", 0)
    assert publish(make_job(config, home, FakeCargo(registry=registry))).state == PUBLISHED
    assert [r.status for r in registry.requests[:3]] == [500, None, 200]


def test_a_transient_publish_failure_is_retried(config: Any, home: Path, registry: CargoRegistry) -> None:
    failing = "the remote server responded with an error (status 503 Service Unavailable): busy"
    cargo = FakeCargo(registry=registry, failures=[failing])
    assert publish(make_job(config, home, cargo)).state == PUBLISHED
    assert len(cargo.publishes()) == 2


def test_a_publish_whose_reply_was_lost_is_found_in_the_index(config: Any, home: Path, registry: CargoRegistry) -> None:
    cargo = FakeCargo(registry=registry, failures=["lost"])
    assert publish(make_job(config, home, cargo)).state == PUBLISHED
    assert len(cargo.publishes()) == 1


def test_a_refused_token_gives_one_error_naming_cargo_and_the_variable(
    config: Any, home: Path, registry: CargoRegistry
) -> None:
    refusal = f"the remote server responded with an error (status 403 Forbidden): token {CANARY} may not publish"
    cargo = FakeCargo(registry=registry, failures=[refusal])
    with pytest.raises(PublishError) as caught:
        publish(make_job(config, home, cargo, **{"token-env": "MY_CARGO_TOKEN"}))
    assert caught.value.message.startswith("cargo: local refused the token in MY_CARGO_TOKEN")
    assert "MY_CARGO_TOKEN" in (caught.value.hint or "")
    assert CANARY not in str(caught.value)  # the registry echoed it; the message masks it
    assert len(cargo.publishes()) == 1


def test_a_final_failure_is_a_command_error_with_cargos_words(config: Any, home: Path, registry: CargoRegistry) -> None:
    cargo = FakeCargo(registry=registry, failures=["the remote server responded with an error (status 400): bad"])
    with pytest.raises(CommandError, match=r"(?s)cargo publish` of crcsum 0.1.0 to local failed.*status 400"):
        publish(make_job(config, home, cargo))
    assert len(cargo.publishes()) == 1


def test_a_dry_run_runs_only_the_gate(config: Any, home: Path, registry: CargoRegistry) -> None:
    cargo = FakeCargo(dry_run=True, registry=registry)
    outcome = publish(make_job(config, home, cargo))
    assert outcome.state == WOULD_PUBLISH
    assert [c.effect for c in cargo.calls] == [proc.Effect.READ, proc.Effect.REMOTE]  # the second only shown
    assert registry.calls("PUT", "/api") == [] and registry.index == {}


def test_a_missing_token_is_named_before_cargo_runs(config: Any, home: Path, registry: CargoRegistry) -> None:
    cargo = FakeCargo(registry=registry)
    with pytest.raises(ConfigError, match="cargo: no registry token: CARGO_REGISTRY_TOKEN is not set"):
        publish(make_job(config, home, cargo, token=None))
    assert cargo.calls == []


def test_an_index_that_needs_the_token_is_read_with_it(config: Any, home: Path, registry: CargoRegistry) -> None:
    registry.auth_required = True
    registry.add_version("crcsum", "0.1.0")
    assert publish(make_job(config, home, FakeCargo(registry=registry))).state == UNCHANGED
    # As cargo does: config.json without the token, a 401, then every read with it.
    assert [(r.path, r.status, r.authorization) for r in registry.requests] == [
        ("/index/config.json", 401, None),
        ("/index/config.json", 200, CANARY),
        ("/index/cr/cs/crcsum", 200, CANARY),
    ]


def test_the_built_in_registry_is_asked_through_cargo_info(config: Any, home: Path) -> None:
    listed = FakeCargo(info="crcsum #crc\nversion: 0.1.0 (latest 0.2.0)\n")
    assert publish(make_job(config, home, listed, registry="")).state == UNCHANGED
    (info,) = listed.calls
    assert info.argv == ("cargo", "info", "--registry", "crates-io", "crcsum@0.1.0")

    absent = FakeCargo()
    assert publish(make_job(config, home, absent, registry="")).state == PUBLISHED
    real = absent.publishes()[0]
    assert "--registry" not in real.argv
    assert real.env["CARGO_REGISTRY_TOKEN"] == CANARY and "CARGO_REGISTRIES_LOCAL_TOKEN" not in real.env


def test_cargo_builds_outside_the_crate_where_this_tools_builds_go(
    config: Any, home: Path, registry: CargoRegistry, tmp_path: Path
) -> None:
    cargo = FakeCargo(registry=registry)
    job = make_job(config, home, cargo)
    publish(dataclasses.replace(job, environ={**job.environ, "CARGO_TARGET_DIR": str(tmp_path / "warm")}))
    assert {call.env["CARGO_TARGET_DIR"] for call in cargo.calls} == {str(tmp_path / "warm")}

"""The cargo publisher with the real cargo, against a local registry (tests/cargo_registry.py).

The registry is registered under the name `local` the two ways cargo reads it: in the crate's own
.cargo/config.toml (the sample crate, whose crates-io dependencies cargo then marks as coming from
its built-in registry, which an alternative registry may accept), and in a temporary CARGO_HOME (a
workspace of two dependency-free crates, where nothing needs downloading). cargo really packages,
verifies and uploads; the registry stores each .crate and lists it in its sparse index, and cargo
waits for that listing as it does with any registry.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import os
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cargo_registry import CargoRegistry
from tests.conftest import ROOT, require_tool
from tooling import proc
from tooling.cache import cache_dir
from tooling.config import load_config
from tooling.errors import PublishError
from tooling.publish import cargo_publish, retry
from tooling.publish.channels import PUBLISHED, UNCHANGED, WOULD_PUBLISH, ChannelJob, Outcome

pytestmark = pytest.mark.integration

CANARY = "canary-cargo-token-9d2c6a51"
FAST = retry.Clock(sleep=lambda seconds: None, draw=lambda: 0.0)
# Builds of the published packages stay warm between test runs, outside the clone.
TARGET = cache_dir() / "cargo-publish-target"


@pytest.fixture
def registry() -> Iterator[CargoRegistry]:
    require_tool("cargo", "publishes the crate")
    with CargoRegistry(token=CANARY) as server:
        yield server


def registry_config(registry: CargoRegistry) -> str:
    return f'[registries.local]\nindex = "{registry.index_url}"\n'


def make_job(config: Any, environ: dict[str, str], *, dry_run: bool = False, **settings: Any) -> ChannelJob:
    return ChannelJob(
        channel="cargo",
        files=config.crate_dir,
        config=config,
        settings={**config.publish["cargo"], "registry": "local", **settings},
        tag=f"v{config.version}",
        environ=environ,
        runner=proc.Runner(dry_run=dry_run),
        scratch=config.crate_dir.parent / "scratch",
    )


def publish(job: ChannelJob) -> Outcome:
    return cargo_publish.publish(job, clock=FAST, policy=retry.Policy(budget_seconds=60))


def crate_files(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as archive:
        return sorted(archive.getnames())


def assert_no_canary(output: str, *folders: Path) -> None:
    assert CANARY not in output
    for folder in folders:
        for path in folder.rglob("*"):
            assert not path.is_file() or CANARY.encode() not in path.read_bytes(), path


# --- the sample crate ------------------------------------------------------------------------------


def test_the_sample_crate_is_published_once_and_then_left_alone(
    registry: CargoRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "sample"
    shutil.copytree(ROOT / "sample", source, ignore=shutil.ignore_patterns("target"))
    (source / ".cargo").mkdir()
    (source / ".cargo" / "config.toml").write_text(registry_config(registry), encoding="utf-8")
    config = dataclasses.replace(load_config(ROOT, {}), crate_manifest=source / "Cargo.toml")
    environ = {**os.environ, "CARGO_REGISTRY_TOKEN": CANARY, "CARGO_TARGET_DIR": str(TARGET / "sample")}

    first = publish(make_job(config, environ))
    assert first.state == PUBLISHED, first
    stored = registry.crates[("crcsum", config.version)]
    assert "crcsum-0.1.0/Cargo.toml" in crate_files(stored.crate)
    # cargo marks the crates-io dependencies as such: the local registry serves only crcsum.
    assert {dep["name"]: bool(dep["registry"]) for dep in stored.metadata["deps"]} == {
        "clap": True, "clap_complete": True, "clap_mangen": True, "cc": True,
    }  # fmt: skip
    assert [line["vers"] for line in registry.index["crcsum"]] == [config.version]

    second = publish(make_job(config, environ))
    assert second.state == UNCHANGED
    assert len(registry.calls("PUT", "/api/v1/crates/new")) == 1
    captured = capsys.readouterr()
    assert captured.err.count("+ CARGO_REGISTRIES_LOCAL_TOKEN=*** ") == 2  # the gate and the publish, once each
    assert_no_canary(captured.out + captured.err, tmp_path)


# --- a workspace, in a CARGO_HOME of its own ---------------------------------------------------------------


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def package_toml(name: str, extra: str = "") -> str:
    return (
        f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n'
        f'description = "a crate of the publish tests"\nlicense = "MIT"\n{extra}'
    )


@pytest.fixture
def workspace(registry: CargoRegistry, tmp_path: Path) -> tuple[Any, dict[str, str]]:
    """tinyapp (a binary) depending on tinylib by path; a CARGO_HOME that knows only the local registry."""
    root = tmp_path / "ws"
    write(root / "Cargo.toml", '[workspace]\nmembers = ["app", "lib"]\nresolver = "2"\n')
    write(root / "lib" / "Cargo.toml", package_toml("tinylib"))
    write(root / "lib" / "src" / "lib.rs", "pub fn add(a: u32, b: u32) -> u32 {\n    a + b\n}\n")
    # Published to `local`, the path dependency must say so: without `registry` cargo looks for it on crates-io.
    dependency = '\n[dependencies]\ntinylib = { path = "../lib", version = "0.1.0", registry = "local" }\n'
    write(root / "app" / "Cargo.toml", package_toml("tinyapp", dependency))
    write(root / "app" / "src" / "main.rs", 'fn main() {\n    println!("{}", tinylib::add(1, 2));\n}\n')
    home = tmp_path / "cargo-home"
    write(home / "config.toml", registry_config(registry))
    environ = {
        **os.environ,
        "CARGO_HOME": str(home),
        "CARGO_TARGET_DIR": str(tmp_path / "target"),
        "CARGO_REGISTRY_TOKEN": CANARY,
    }
    proc.read(["cargo", "generate-lockfile", "--offline", "--manifest-path", str(root / "Cargo.toml")], env=environ)
    config = dataclasses.replace(
        load_config(ROOT, {}), crate_manifest=root / "app" / "Cargo.toml", name="tinyapp", version="0.1.0"
    )
    return config, environ


@pytest.fixture
def cargo_home_env(workspace: tuple[Any, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """cargo metadata (asked through tooling.crate, with os.environ) sees the same CARGO_HOME as cargo publish."""
    monkeypatch.setenv("CARGO_HOME", workspace[1]["CARGO_HOME"])


@pytest.mark.usefixtures("cargo_home_env")
def test_a_workspace_member_the_crate_needs_is_published_first(
    registry: CargoRegistry, workspace: tuple[Any, dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, environ = workspace
    first = publish(make_job(config, environ))
    assert first.state == PUBLISHED
    assert first.detail == "tinylib 0.1.0, tinyapp 0.1.0 published to local"
    assert list(registry.crates) == [("tinylib", "0.1.0"), ("tinyapp", "0.1.0")]
    (dependency,) = registry.crates[("tinyapp", "0.1.0")].metadata["deps"]
    assert dependency["name"] == "tinylib" and dependency.get("registry") is None  # the same registry

    assert publish(make_job(config, environ)).state == UNCHANGED
    assert len(registry.calls("PUT", "/api/v1/crates/new")) == 2
    captured = capsys.readouterr()
    assert_no_canary(captured.out + captured.err, tmp_path)


@pytest.mark.usefixtures("cargo_home_env")
def test_only_what_is_missing_is_published(registry: CargoRegistry, workspace: tuple[Any, dict[str, str]]) -> None:
    config, environ = workspace
    lib = dataclasses.replace(config, crate_manifest=config.crate_manifest.parent.parent / "lib" / "Cargo.toml")
    assert publish(make_job(dataclasses.replace(lib, name="tinylib"), environ)).state == PUBLISHED
    assert publish(make_job(config, environ)).detail == "tinyapp 0.1.0 published to local"
    assert [path for method, path in ((r.method, r.path) for r in registry.requests) if method == "PUT"] == [
        "/api/v1/crates/new",
        "/api/v1/crates/new",
    ]


@pytest.mark.usefixtures("cargo_home_env")
def test_a_transient_failure_is_retried(registry: CargoRegistry, workspace: tuple[Any, dict[str, str]]) -> None:
    config, environ = workspace
    registry.fail_next("index", 500)  # the first read of the index
    registry.fail_next("publish", 503)  # cargo does not retry an upload: this tool does
    registry.fail_next("publish", 0)
    assert publish(make_job(config, environ)).state == PUBLISHED
    assert [r.status for r in registry.calls("PUT", "/api/v1/crates/new")] == [503, None, 200, 200]
    assert set(registry.crates) == {("tinylib", "0.1.0"), ("tinyapp", "0.1.0")}


@pytest.mark.usefixtures("cargo_home_env")
def test_a_refused_token_gives_one_error_naming_cargo_and_the_variable(
    registry: CargoRegistry, workspace: tuple[Any, dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, environ = workspace
    registry.token = "the-only-good-token"
    registry.echo_token = True  # the 403 quotes the token the job sent: it must still never be shown
    with pytest.raises(PublishError) as caught:
        publish(make_job(config, environ))
    assert caught.value.message.startswith("cargo: local refused the token in CARGO_REGISTRY_TOKEN")
    assert "CARGO_REGISTRY_TOKEN" in (caught.value.hint or "")
    assert len(registry.calls("PUT", "/api/v1/crates/new")) == 1  # a refusal is not retried
    captured = capsys.readouterr()
    assert_no_canary(captured.out + captured.err + str(caught.value), tmp_path)


@pytest.mark.usefixtures("cargo_home_env")
def test_a_dry_run_runs_only_cargos_own_dry_run(
    registry: CargoRegistry, workspace: tuple[Any, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    config, environ = workspace
    outcome = publish(make_job(config, environ, dry_run=True))
    assert outcome.state == WOULD_PUBLISH
    assert registry.calls("PUT", "/") == [] and registry.crates == {}
    err = capsys.readouterr().err
    assert "aborting upload due to dry run" in err  # cargo's own dry run, of both packages
    assert err.count("(dry run: not run)") == 2  # each real publish shown, not run


def test_the_built_in_registry_is_asked_through_cargo(tmp_path: Path) -> None:
    require_tool("cargo", "asks its built-in registry")
    index = cargo_publish.CargoInfoIndex("crates-io", proc.Runner(), tmp_path)
    assert index.listed("serde", "1.0.0")
    assert not index.listed("serde", "0.0.99")

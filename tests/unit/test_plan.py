"""The release plan: placement on described machines, expected dist/ files, plan.json and its schema, the CI matrix."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.machines import DEBIAN, RUSTUP
from tooling import plan as release_plan
from tooling.build.native import BUILDS_ITSELF, NEEDS_SDK, NEEDS_SYSTEM, NativeDependency
from tooling.build.toolchain import ROUTE_BUILD_STD, ROUTE_RUSTUP, ROUTE_SYSROOT, RustInstall, SystemFacts
from tooling.config import ReleaseConfig, build_config
from tooling.errors import ConfigError, ManifestError
from tooling.plan import CI, HERE, SKIPPED, ReleasePlan, TargetPlan
from tooling.targets import get_target

CARGO_TOML = """
[package]
name = "taskguard"
version = "1.4.0"
license = "MIT"

[[bin]]
name = "taskguard"
path = "src/main.rs"

[[bin]]
name = "tg-helper"
path = "src/helper.rs"
"""

LINUX_GNU = "x86_64-unknown-linux-gnu"
ARM_GNU = "aarch64-unknown-linux-gnu"
MUSL = "x86_64-unknown-linux-musl"
WIN_GNU = "x86_64-pc-windows-gnu"
MSVC = "x86_64-pc-windows-msvc"
MAC_ARM = "aarch64-apple-darwin"

MAC_RUSTUP = RustInstall(
    rustc=Path("/Users/dev/.rustup/toolchains/stable/bin/rustc"),
    cargo=Path("/Users/dev/.rustup/toolchains/stable/bin/cargo"),
    version="1.95.0",
    sysroot=Path("/Users/dev/.rustup/toolchains/stable"),
    std_targets=frozenset({MAC_ARM, "x86_64-apple-darwin"}),
    has_rust_src=False,
    rustup_toolchain="stable-aarch64-apple-darwin",
)


def machine(host_os: str, *installs: RustInstall, arch: str = "x86_64", xwin: bool = False) -> SystemFacts:
    """A described machine on which `rustup target add` cannot download anything.

    The one place these tests build SystemFacts: a change to its fields is a change here.
    """
    return SystemFacts(host_os=host_os, host_arch=arch, installs=installs, xwin_ready=xwin)


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., ReleaseConfig]:
    """build_config over a crate with two binaries, [tool.release] given as keyword arguments."""
    (tmp_path / "crate").mkdir()
    (tmp_path / "crate" / "Cargo.toml").write_text(CARGO_TOML)

    def make(**table: Any) -> ReleaseConfig:
        return build_config({"crate": "crate/Cargo.toml", **table}, tmp_path, {})

    return make


@pytest.fixture
def mixed_plan(make_config: Callable[..., ReleaseConfig]) -> ReleasePlan:
    """Linux host with only rustup's x86_64 std: one target here, one skipped, MSVC on its runner."""
    config = make_config(targets=[LINUX_GNU, ARM_GNU, MSVC])
    return release_plan.plan_release(config, machine("linux", RUSTUP), sign_backends=("gpg",))


def placements(plan: ReleasePlan) -> dict[str, str]:
    return {t.triple: t.where for t in plan.targets}


def by_triple(plan: ReleasePlan, triple: str) -> TargetPlan:
    return next(t for t in plan.targets if t.triple == triple)


# --- placement on described machines --------------------------------------------


def test_linux_host_with_every_route_builds_all_but_msvc_here(make_config: Callable[..., ReleaseConfig]) -> None:
    plan = release_plan.plan_release(make_config(), machine("linux", RUSTUP, DEBIAN))
    assert placements(plan) == {t.triple: (CI if t.triple == MSVC else HERE) for t in make_config().targets}
    assert by_triple(plan, LINUX_GNU).route.startswith(ROUTE_RUSTUP + " via cargo-zigbuild")
    assert by_triple(plan, ARM_GNU).route.startswith(ROUTE_SYSROOT)
    assert by_triple(plan, MUSL).route.startswith(ROUTE_BUILD_STD)
    assert all(t.reason == "" for t in plan.placed(HERE))
    assert (plan.host.os, plan.host.arch) == ("linux", "x86_64")


def test_missing_std_and_rust_src_skips_a_target_of_this_hosts_family(
    make_config: Callable[..., ReleaseConfig],
) -> None:
    plan = release_plan.plan_release(make_config(targets=[LINUX_GNU, ARM_GNU]), machine("linux", RUSTUP))
    skipped = by_triple(plan, ARM_GNU)
    assert (skipped.where, skipped.route, skipped.runner) == (SKIPPED, "", "ubuntu-latest")
    assert skipped.reason == f"no Rust standard library for {ARM_GNU} on this machine"
    assert by_triple(plan, LINUX_GNU).where == HERE


NEEDS_LIBFOO = NativeDependency("foo-sys", "1.0.0", "foo", NEEDS_SYSTEM, "install libfoo for the target")
FRAMEWORKS = NativeDependency("core-foundation-sys", "0.8.7", None, NEEDS_SDK, "set SDKROOT")
OWN_C = NativeDependency("crcsum", "0.1.0", "crcsum_c", BUILDS_ITSELF, "")


def test_native_dependencies_that_will_fail_skip_the_target_with_the_reason(
    make_config: Callable[..., ReleaseConfig],
) -> None:
    config = make_config(targets=[LINUX_GNU, ARM_GNU, MAC_ARM], target={"aarch64-*": {"env": {"SDKROOT": "/sdk"}}})
    native = {LINUX_GNU: [NEEDS_LIBFOO, OWN_C], ARM_GNU: [OWN_C], MAC_ARM: [FRAMEWORKS]}
    plan = release_plan.plan_release(config, machine("linux", RUSTUP, DEBIAN), native=native)
    blocked = by_triple(plan, LINUX_GNU)
    assert (blocked.where, blocked.route) == (SKIPPED, "")
    assert blocked.reason == f"native dependencies: foo-sys {NEEDS_SYSTEM} (install libfoo for the target)"
    # C code built by cc stays here; the SDK the target's env names is taken as provided.
    assert by_triple(plan, ARM_GNU).where == HERE
    assert by_triple(plan, MAC_ARM).where == HERE
    # Not looked at (build --force): placed by toolchain alone.
    assert by_triple(release_plan.plan_release(config, machine("linux", RUSTUP, DEBIAN)), LINUX_GNU).where == HERE


def test_msvc_off_windows_goes_to_its_windows_runner(make_config: Callable[..., ReleaseConfig]) -> None:
    plan = release_plan.plan_release(make_config(targets=[MSVC]), machine("linux", RUSTUP, DEBIAN))
    (msvc,) = plan.targets
    assert (msvc.where, msvc.runner, msvc.route) == (CI, "windows-latest", "")
    assert "Microsoft's C runtime" in msvc.reason
    assert msvc.binaries == (f"{MSVC}/taskguard.exe", f"{MSVC}/tg-helper.exe")
    assert msvc.archive == f"taskguard-1.4.0-{MSVC}.zip"


def test_msvc_is_built_here_when_cargo_xwin_is_ready(make_config: Callable[..., ReleaseConfig]) -> None:
    plan = release_plan.plan_release(make_config(targets=[MSVC]), machine("linux", RUSTUP, DEBIAN, xwin=True))
    assert plan.targets[0].where == HERE
    assert "cargo-xwin" in plan.targets[0].route


def test_macos_host_builds_apple_targets_and_leaves_linux_and_windows_to_their_runners(
    make_config: Callable[..., ReleaseConfig],
) -> None:
    config = make_config(targets=[MAC_ARM, LINUX_GNU, WIN_GNU, MSVC])
    plan = release_plan.plan_release(config, machine("macos", MAC_RUSTUP, arch="aarch64"))
    assert placements(plan) == {LINUX_GNU: CI, WIN_GNU: CI, MSVC: CI, MAC_ARM: HERE}
    assert plan.host == release_plan.Host("macos", "aarch64")


def test_unknown_runner_label_counts_as_another_machine() -> None:
    target = dataclasses.replace(get_target(ARM_GNU), runner="self-hosted-arm64")
    where, route, reason = release_plan.place_target(target, machine("linux", RUSTUP))
    assert (where, route) == (CI, "")
    assert ARM_GNU in reason
    assert release_plan.runner_os("ubuntu-24.04-arm") == "linux"
    assert release_plan.runner_os("macos-14") == "macos"
    assert release_plan.runner_os("self-hosted") is None


def test_targets_are_planned_in_table_order_without_duplicates(make_config: Callable[..., ReleaseConfig]) -> None:
    config = make_config()
    plan = release_plan.plan_release(
        config, machine("linux", RUSTUP, DEBIAN), targets=[get_target(MSVC), get_target(LINUX_GNU), get_target(MSVC)]
    )
    assert [t.triple for t in plan.targets] == [LINUX_GNU, MSVC]


def test_an_empty_selection_is_a_config_error(make_config: Callable[..., ReleaseConfig]) -> None:
    config = make_config(targets=[LINUX_GNU])
    with pytest.raises(ConfigError, match="target selection is empty") as raised:
        release_plan.plan_release(config, machine("linux", RUSTUP), targets=())
    assert raised.value.hint is not None and LINUX_GNU in raised.value.hint
    with pytest.raises(ConfigError, match=r"tool\.release\.targets selects no target"):
        release_plan.plan_release(dataclasses.replace(config, targets=()), machine("linux", RUSTUP))


def test_unix_format_override_leaves_windows_archives_alone(make_config: Callable[..., ReleaseConfig]) -> None:
    config = make_config(targets=[LINUX_GNU, WIN_GNU])
    plan = release_plan.plan_release(config, machine("linux", RUSTUP, DEBIAN), unix_format="tar.zst")
    assert [t.archive for t in plan.targets] == [
        f"taskguard-1.4.0-{LINUX_GNU}.tar.zst",
        f"taskguard-1.4.0-{WIN_GNU}.zip",
    ]
    with pytest.raises(ConfigError, match="archive format"):
        release_plan.plan_release(config, machine("linux", RUSTUP), unix_format="rar")


def test_unknown_or_repeated_signers_are_config_errors(make_config: Callable[..., ReleaseConfig]) -> None:
    config = make_config(targets=[LINUX_GNU])
    with pytest.raises(ConfigError, match="unknown signer 'pgp'"):
        release_plan.plan_release(config, machine("linux", RUSTUP), sign_backends=("pgp",))
    with pytest.raises(ConfigError, match="twice"):
        release_plan.plan_release(config, machine("linux", RUSTUP), sign_backends=("gpg", "gpg"))


# --- what dist/ must hold ------------------------------------------------------------


def test_expected_files_of_a_two_target_two_signer_plan(make_config: Callable[..., ReleaseConfig]) -> None:
    config = make_config(targets=[LINUX_GNU, WIN_GNU])
    plan = release_plan.plan_release(config, machine("linux", RUSTUP, DEBIAN), sign_backends=("gpg", "minisign"))
    tgz = f"taskguard-1.4.0-{LINUX_GNU}.tar.gz"
    zip_ = f"taskguard-1.4.0-{WIN_GNU}.zip"
    sbom = "taskguard-1.4.0.cdx.json"
    assert release_plan.expected_files(plan, include_ci=False) == {
        "plan": ("plan.json",),
        "build": (
            f"{WIN_GNU}/manifest.json",
            f"{WIN_GNU}/taskguard.exe",
            f"{WIN_GNU}/tg-helper.exe",
            f"{LINUX_GNU}/manifest.json",
            f"{LINUX_GNU}/taskguard",
            f"{LINUX_GNU}/tg-helper",
        ),
        "archive": (zip_, tgz),
        "sbom": (sbom,),
        "installers": (),
        "checksum": ("SHA256SUMS", f"{zip_}.sha256", f"{tgz}.sha256", f"{sbom}.sha256"),
        "sign": (
            "SHA256SUMS.asc",
            "SHA256SUMS.minisig",
            f"{zip_}.asc",
            f"{zip_}.minisig",
            f"{tgz}.asc",
            f"{tgz}.minisig",
        ),
        "manifest": ("manifest.json",),
    }


def test_install_scripts_follow_the_os_families_the_release_builds(make_config: Callable[..., ReleaseConfig]) -> None:
    facts = machine("linux", RUSTUP, DEBIAN)
    config = dataclasses.replace(make_config(targets=[LINUX_GNU, WIN_GNU]), install_scripts=True)
    plan = release_plan.plan_release(config, facts)
    assert plan.installers == ("install.sh", "install.ps1")
    files = release_plan.expected_files(plan, include_ci=False)
    assert files["installers"] == ("install.ps1", "install.sh")
    assert {"install.sh.sha256", "install.ps1.sha256"} <= set(files["checksum"])
    linux_only = release_plan.plan_release(dataclasses.replace(config, targets=(get_target(LINUX_GNU),)), facts)
    assert linux_only.installers == ("install.sh",)
    assert release_plan.plan_release(dataclasses.replace(config, install_scripts=False), facts).installers == ()
    assert release_plan.plan_from_json(release_plan.plan_to_json(plan), "plan.json") == plan


def test_skipped_targets_never_count_and_ci_targets_only_when_merged(mixed_plan: ReleasePlan) -> None:
    local = release_plan.expected_paths(mixed_plan, include_ci=False)
    merged = release_plan.expected_paths(mixed_plan, include_ci=True)
    msvc_files = {
        f"{MSVC}/taskguard.exe",
        f"{MSVC}/tg-helper.exe",
        f"{MSVC}/manifest.json",
        f"taskguard-1.4.0-{MSVC}.zip",
        f"taskguard-1.4.0-{MSVC}.zip.sha256",
        f"taskguard-1.4.0-{MSVC}.zip.asc",
    }
    assert merged - local == msvc_files
    assert not any(ARM_GNU in path for path in merged)


def test_an_unsigned_plan_expects_no_signatures(make_config: Callable[..., ReleaseConfig]) -> None:
    plan = release_plan.plan_release(make_config(targets=[LINUX_GNU]), machine("linux", RUSTUP))
    assert release_plan.expected_files(plan, include_ci=True)["sign"] == ()


def test_compare_dist_names_missing_and_extra_files() -> None:
    diff = release_plan.compare_dist(
        ["SHA256SUMS", "a.tar.gz", "x/tool", "manifest.json"], {"a.tar.gz", "manifest.json", "stray.txt", "x/old"}
    )
    assert diff == release_plan.DistDiff(missing=("SHA256SUMS", "x/tool"), extra=("stray.txt", "x/old"))
    assert not diff.clean
    assert release_plan.compare_dist(["a"], ["a"]).clean


def test_files_in_lists_regular_files_but_not_temporaries_the_lock_or_links(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / LINUX_GNU).mkdir(parents=True)
    (dist / LINUX_GNU / "taskguard").write_bytes(b"\x7fELF")
    (dist / "SHA256SUMS").write_text("")
    (dist / "manifest.json.tmp").write_text("{")
    (dist / release_plan.LOCK_NAME).write_text("")
    (dist / "empty-folder").mkdir()
    (dist / "link").symlink_to(dist / "SHA256SUMS")
    assert release_plan.files_in(dist) == {f"{LINUX_GNU}/taskguard", "SHA256SUMS"}
    assert release_plan.files_in(tmp_path / "absent") == set()


# --- plan.json and its schema ----------------------------------------------------------


def test_json_round_trip_gives_the_same_plan(mixed_plan: ReleasePlan) -> None:
    text = release_plan.plan_to_json(mixed_plan)
    assert text.endswith("}\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert release_plan.plan_from_json(text, "dist/plan.json") == mixed_plan


def test_write_and_read_plan(tmp_path: Path, mixed_plan: ReleasePlan) -> None:
    dist = tmp_path / "dist"
    assert release_plan.read_plan(dist) is None
    path = release_plan.write_plan(dist, mixed_plan)
    assert path == dist / "plan.json"
    assert release_plan.read_plan(dist) == mixed_plan
    assert release_plan.files_in(dist) == {"plan.json"}


def test_the_json_validates_against_the_shipped_schema(mixed_plan: ReleasePlan) -> None:
    schema = release_plan.plan_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(json.loads(release_plan.plan_to_json(mixed_plan)))


def _set(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        node: Any = data
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value

    return change


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.pop(key)


# targets[0] is built here, targets[1] skipped, targets[2] (MSVC) on its CI runner.
BREAKAGES = {
    "unknown placement": _set(("targets", 0, "where"), "elsewhere"),
    "built here without a route": _set(("targets", 0, "route"), ""),
    "skipped with a route": _set(("targets", 1, "route"), "rustup"),
    "ci without a reason": _set(("targets", 2, "reason"), ""),
    "binary outside its folder": _set(("targets", 0, "binaries"), ["../../etc/passwd"]),
    "archive in a subfolder": _set(("targets", 0, "archive"), "sub/a.tar.gz"),
    "unknown signer": _set(("sign_backends",), ["pgp"]),
    "newer schema": _set(("schema",), 2),
    "boolean schema": _set(("schema",), True),
    "unknown key": _set(("extra",), 1),
    "unknown host os": _set(("host", "os"), "plan9"),
    "no sbom": _drop("sbom"),
    "no targets": _set(("targets",), []),
}


@pytest.mark.parametrize("breakage", BREAKAGES.values(), ids=BREAKAGES.keys())
def test_a_broken_plan_fails_the_schema_and_the_reader(
    mixed_plan: ReleasePlan, breakage: Callable[[dict[str, Any]], None]
) -> None:
    data = json.loads(release_plan.plan_to_json(mixed_plan))
    assert [t["where"] for t in data["targets"]] == [HERE, SKIPPED, CI]
    breakage(data)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(release_plan.plan_schema()).validate(data)
    with pytest.raises(ManifestError, match=r"^dist/plan\.json is not a valid release plan"):
        release_plan.plan_from_json(json.dumps(data), "dist/plan.json")


def test_a_plan_that_is_not_json_names_the_file() -> None:
    with pytest.raises(ManifestError, match=r"dist/plan\.json is not a valid release plan: not JSON"):
        release_plan.plan_from_json("{", "dist/plan.json")


# --- the CI matrix and the summary ------------------------------------------------------


def test_ci_matrix_leaves_out_skipped_targets(mixed_plan: ReleasePlan) -> None:
    assert release_plan.ci_matrix(mixed_plan) == {
        "include": [
            {"target": LINUX_GNU, "runner": "ubuntu-latest", "session": f"build-{LINUX_GNU}"},
            {"target": MSVC, "runner": "windows-latest", "session": f"build-{MSVC}"},
        ]
    }


def test_describe_gives_one_row_per_target(mixed_plan: ReleasePlan) -> None:
    rows = release_plan.describe(mixed_plan)
    assert [row[:2] for row in rows] == [[LINUX_GNU, HERE], [ARM_GNU, SKIPPED], [MSVC, CI]]
    assert all(len(row) == len(release_plan.DESCRIBE_COLUMNS) for row in rows)
    assert rows[0][2].startswith(ROUTE_RUSTUP)
    assert rows[1][2:] == [f"no Rust standard library for {ARM_GNU} on this machine", "-"]
    assert rows[2][2].startswith("on windows-latest: ")
    assert rows[2][3] == f"{MSVC}/taskguard.exe, {MSVC}/tg-helper.exe, taskguard-1.4.0-{MSVC}.zip"


def test_the_plan_route_names_the_rustc_the_crate_needs(make_config: Callable[..., ReleaseConfig]) -> None:
    from tooling.build.requirement import RustRequirement

    config = dataclasses.replace(make_config(targets=[LINUX_GNU]), rust_requirement=RustRequirement("1.96"))
    [target] = release_plan.plan_release(config, machine("linux", RUSTUP, DEBIAN)).targets
    assert target.where == HERE
    assert "rustc 1.96.0 at /usr/bin/rustc" in target.route
    assert "meets rust-version 1.96 (Cargo.toml); ruled out: rustc 1.95.0" in target.route
    too_new = dataclasses.replace(config, rust_requirement=RustRequirement("1.99"))
    [skipped] = release_plan.plan_release(too_new, machine("linux", RUSTUP, DEBIAN)).targets
    assert skipped.where == SKIPPED
    assert "rust-version 1.99" in skipped.reason

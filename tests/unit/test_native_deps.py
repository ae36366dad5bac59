"""Native dependencies per target, classified from cargo metadata before building."""

from __future__ import annotations

from typing import Any

import pytest

from tooling.build.native import (
    BUILDS_ITSELF,
    NEEDS_SDK,
    NEEDS_SYSTEM,
    UNKNOWN,
    VENDORED_OFF,
    NativeDependency,
    blocker,
    metadata_argv,
    native_dependencies,
    provided,
)


def package(name: str, links: str | None = None, build: tuple[str, ...] = (), features: tuple[str, ...] = ()) -> Any:
    return {
        "id": f"{name} 1.0.0",
        "name": name,
        "version": "1.0.0",
        "links": links,
        "features": {f: [] for f in features},
        "dependencies": [{"name": b, "kind": "build"} for b in build],
    }


# Shaped like openssl-sys, libz-sys, libgit2-sys and a cc-only crate as cargo metadata describes them.
OPENSSL = package("openssl-sys", "openssl", ("cc", "pkg-config", "vcpkg"), ("vendored",))
LIBZ = package("libz-sys", "z", ("cc", "pkg-config", "vcpkg"), ("static", "default"))
GIT2 = package("libgit2-sys", "git2", ("cc", "pkg-config"), ("vendored", "https"))
RING = package("ring", "ring_core_0_17", ("cc",))
SYSTEM_ONLY = package("libdbus-sys", "dbus", ("pkg-config",))
PLAIN = package("clap")
CF = package("core-foundation-sys")


def metadata(*packages: Any, features: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {
        "packages": list(packages),
        "resolve": {"nodes": [{"id": p["id"], "features": (features or {}).get(p["name"], [])} for p in packages]},
    }


def test_each_kind_is_told_apart() -> None:
    found = native_dependencies(
        metadata(OPENSSL, LIBZ, GIT2, RING, SYSTEM_ONLY, PLAIN, features={"libgit2-sys": ["vendored"]}), False
    )
    kinds = {d.package: d.kind for d in found}
    assert kinds == {
        "openssl-sys": VENDORED_OFF,
        "libz-sys": VENDORED_OFF,
        "libgit2-sys": BUILDS_ITSELF,
        "ring": BUILDS_ITSELF,
        "libdbus-sys": NEEDS_SYSTEM,
    }


def test_the_remedy_names_the_feature_that_vendors() -> None:
    [openssl] = native_dependencies(metadata(OPENSSL), False)
    assert "enable openssl-sys's `vendored` feature" in openssl.remedy
    assert openssl.blocks_cross_build
    [libz] = native_dependencies(metadata(LIBZ), False)
    assert "`static`" in libz.remedy


def test_frameworks_matter_only_for_macos() -> None:
    assert native_dependencies(metadata(CF), False) == []
    [cf] = native_dependencies(metadata(CF), True)
    assert (cf.kind, cf.blocks_cross_build) == (NEEDS_SDK, True)
    assert "SDKROOT" in cf.remedy


def test_a_links_crate_without_known_build_tools_is_listed_as_such() -> None:
    [dep] = native_dependencies(metadata(package("absent-sys", "absentfixture")), False)
    assert (dep.kind, dep.blocks_cross_build) == (UNKNOWN, False)


def test_the_query_is_per_target_and_leaves_the_lock_alone() -> None:
    argv = metadata_argv(__import__("pathlib").Path("/c/Cargo.toml"), "aarch64-unknown-linux-gnu")
    assert argv[argv.index("--filter-platform") + 1] == "aarch64-unknown-linux-gnu"
    assert "--locked" in argv and "--no-deps" not in argv


def test_table_rows_name_each_target_once() -> None:
    from tooling.build.native import table_rows

    deps = native_dependencies(metadata(OPENSSL, RING), False)
    rows = table_rows({"x86_64-unknown-linux-gnu": deps, "aarch64-unknown-linux-gnu": deps})
    assert [row[0] for row in rows] == ["x86_64-unknown-linux-gnu", "", "aarch64-unknown-linux-gnu", ""]
    assert rows[0][1:4] == ["openssl-sys 1.0.0", "openssl", VENDORED_OFF]


# --- will a target's native dependencies fail here? ---------------------------------------


def test_only_failing_kinds_block_and_the_reason_names_crate_kind_and_remedy() -> None:
    deps = native_dependencies(metadata(OPENSSL, RING, package("absent-sys", "absentfixture")), False)
    reason = blocker(deps, {})
    assert reason is not None and reason.startswith("native dependencies: openssl-sys ")
    assert VENDORED_OFF in reason and "`vendored`" in reason
    assert "ring" not in reason and "absent-sys" not in reason  # builds itself / unknown: let it try
    # The sample's shape: a cc-built C routine never blocks.
    assert blocker(native_dependencies(metadata(RING), False), {}) is None


def test_the_targets_env_can_provide_the_library_or_sdk() -> None:
    [openssl] = native_dependencies(metadata(OPENSSL), False)
    assert blocker([openssl], {"OPENSSL_DIR": "/opt/openssl-arm64"}) is None
    assert blocker([openssl], {"PKG_CONFIG_SYSROOT_DIR": "/srv/sysroot"}) is None
    assert blocker([openssl], {"OPENSSL_DIR": ""}) is not None  # set but empty provides nothing
    [cf] = native_dependencies(metadata(CF), True)
    assert blocker([cf], {"SDKROOT": "/opt/MacOSX14.sdk"}) is None
    assert blocker([cf], {"OPENSSL_DIR": "/x"}) == f"native dependencies: core-foundation-sys {NEEDS_SDK} ({cf.remedy})"


def test_provided_reads_the_links_name_in_env_form() -> None:
    dep = NativeDependency("libgit2-sys", "0.18", "git2", NEEDS_SYSTEM, "")
    assert provided(dep, {"GIT2_LIB_DIR": "/x"})
    assert not provided(dep, {"SDKROOT": "/x"})
    assert not provided(NativeDependency("ring", "0.17", "ring", BUILDS_ITSELF, ""), {"PKG_CONFIG_PATH": "/x"})


def test_build_skips_a_blocked_target_up_front_and_says_how_to_force(tmp_path: Any) -> None:
    from tests.machines import RUSTUP
    from tooling import proc
    from tooling.build.run import build_targets
    from tooling.build.toolchain import SystemFacts
    from tooling.config import build_config
    from tooling.errors import ToolchainError
    from tooling.targets import get_target

    (tmp_path / "Cargo.toml").write_text('[package]\nname = "a"\nversion = "1.0.0"\n[[bin]]\nname = "a"\n')
    config = build_config({"crate": "Cargo.toml"}, tmp_path, {})
    facts = SystemFacts("linux", "x86_64", (RUSTUP,), False, False)
    [openssl] = native_dependencies(metadata(OPENSSL), False)
    triple = "x86_64-unknown-linux-gnu"
    with pytest.raises(ToolchainError) as caught:  # nothing left to build: no process is started
        build_targets(config, [get_target(triple)], facts, proc.Runner(dry_run=True), native={triple: [openssl]})
    assert caught.value.message.startswith(f"no selected target can be built on this machine: {triple}: native")
    assert caught.value.hint is not None and "--force" in caught.value.hint

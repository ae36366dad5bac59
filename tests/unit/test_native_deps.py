"""Native dependencies per target, classified from cargo metadata before building."""

from __future__ import annotations

from typing import Any

from tooling.build.native import (
    BUILDS_ITSELF,
    NEEDS_SDK,
    NEEDS_SYSTEM,
    UNKNOWN,
    VENDORED_OFF,
    metadata_argv,
    native_dependencies,
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

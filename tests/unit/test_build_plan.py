from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tooling.build.plan import (
    COMBINED,
    PER_TARGET,
    cargo_target_spec,
    combine_plans,
    default_target_dir,
    group_plans,
    plan_build,
    profile_dir,
)
from tooling.build.toolchain import ROUTE_BUILD_STD, ROUTE_RUSTUP, ROUTE_SYSROOT, Toolchain
from tooling.config import build_config
from tooling.targets import get_target

ZIG = Path("/venv/lib/python3.11/site-packages/ziglang/zig")
TARGET_DIR = Path("/cache/target")
SUPPORT = Path("/cache/support/x")


@pytest.fixture
def config(tmp_path: Path) -> Any:
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "crcsum"\nversion = "0.3.1"\n[[bin]]\nname = "crcsum"\npath = "src/main.rs"\n'
    )
    return build_config({"crate": "Cargo.toml"}, tmp_path, {})


def toolchain(
    triple: str, route: str = ROUTE_RUSTUP, builder: str = "cargo-zigbuild", rustc: str = "/rustup/bin/rustc"
) -> Toolchain:
    return Toolchain(
        triple,
        route,
        builder,
        Path(rustc),
        Path(rustc).with_name("cargo"),
        "1.95.0",
        build_std=route == ROUTE_BUILD_STD,
    )


def plan(config: Any, triple: str, chosen: Toolchain, **kwargs: Any) -> Any:
    return plan_build(
        config,
        get_target(triple),
        chosen,
        zig=ZIG,
        target_dir=TARGET_DIR,
        support_dir=SUPPORT,
        base_path="/usr/bin",
        **kwargs,
    )


def test_gnu_target_carries_the_glibc_floor(config: Any) -> None:
    result = plan(config, "x86_64-unknown-linux-gnu", toolchain("x86_64-unknown-linux-gnu"))
    argv = list(result.argv)
    assert argv[:2] == ["cargo-zigbuild", "zigbuild"]
    assert argv[argv.index("--target") + 1] == "x86_64-unknown-linux-gnu.2.17"
    assert argv[argv.index("--manifest-path") + 1] == str(config.crate_manifest)
    assert argv[argv.index("--profile") + 1] == "release"
    assert argv[argv.index("--target-dir") + 1] == str(TARGET_DIR)
    assert argv[argv.index("--bin") + 1] == "crcsum"
    assert "--locked" in argv
    assert not any(a.startswith("-Zbuild-std") for a in argv)
    assert result.env["RUSTC"] == "/rustup/bin/rustc"
    assert result.env["CARGO"] == "/rustup/bin/cargo"
    assert result.env["PATH"].split(":")[0] == "/rustup/bin"
    assert result.env["CARGO_ZIGBUILD_ZIG_PATH"] == str(ZIG)
    assert "RUSTC_BOOTSTRAP" not in result.env
    assert "MACOSX_DEPLOYMENT_TARGET" not in result.env
    assert result.output_dir == TARGET_DIR / "x86_64-unknown-linux-gnu" / "release"
    assert result.binaries == ("crcsum",)


def test_glibc_floor_follows_config(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "a"\nversion = "1.0.0"\n[[bin]]\nname = "a"\n')
    config = build_config({"crate": "Cargo.toml", "glibc": "2.28"}, tmp_path, {})
    assert cargo_target_spec(get_target("aarch64-unknown-linux-gnu"), config) == "aarch64-unknown-linux-gnu.2.28"
    assert cargo_target_spec(get_target("aarch64-unknown-linux-musl"), config) == "aarch64-unknown-linux-musl"


def test_sysroot_route_uses_that_rustc_and_its_cargo(config: Any) -> None:
    chosen = toolchain("aarch64-unknown-linux-gnu", ROUTE_SYSROOT, rustc="/usr/bin/rustc")
    result = plan(config, "aarch64-unknown-linux-gnu", chosen)
    assert (result.env["RUSTC"], result.env["CARGO"]) == ("/usr/bin/rustc", "/usr/bin/cargo")
    assert "RUSTC_BOOTSTRAP" not in result.env


def test_musl_with_build_std(config: Any) -> None:
    chosen = toolchain("aarch64-unknown-linux-musl", ROUTE_BUILD_STD, rustc="/usr/bin/rustc")
    result = plan(config, "aarch64-unknown-linux-musl", chosen, base_rustflags="-C debuginfo=1")
    assert "-Zbuild-std=std,panic_abort" in result.argv
    assert result.env["RUSTC_BOOTSTRAP"] == "1"
    # The user's own flags stay first; ours are added after.
    assert result.env["RUSTFLAGS"] == "-C debuginfo=1 -C link-self-contained=no"


def test_musl_from_rustup_needs_no_crt_override(config: Any) -> None:
    result = plan(config, "x86_64-unknown-linux-musl", toolchain("x86_64-unknown-linux-musl"))
    assert "RUSTFLAGS" not in result.env


def test_windows_gnu_gets_the_stub_library_path(config: Any) -> None:
    result = plan(config, "x86_64-pc-windows-gnu", toolchain("x86_64-pc-windows-gnu", ROUTE_BUILD_STD))
    assert result.env["RUSTFLAGS"] == f"-L {SUPPORT}"
    assert result.binaries == ("crcsum.exe",)
    assert result.argv[result.argv.index("--target") + 1] == "x86_64-pc-windows-gnu"


def test_macos_sets_the_deployment_target(config: Any) -> None:
    arm = plan(config, "aarch64-apple-darwin", toolchain("aarch64-apple-darwin", ROUTE_BUILD_STD))
    intel = plan(config, "x86_64-apple-darwin", toolchain("x86_64-apple-darwin", ROUTE_BUILD_STD))
    assert arm.env["MACOSX_DEPLOYMENT_TARGET"] == "11.0"
    assert intel.env["MACOSX_DEPLOYMENT_TARGET"] == "10.12"
    assert SUPPORT.as_posix() in arm.env["PATH"].split(":")


def test_release_plans_tell_cargo_not_to_strip_because_the_tool_does(config: Any) -> None:
    result = plan(config, "aarch64-apple-darwin", toolchain("aarch64-apple-darwin"))
    assert result.strip is True
    assert result.env["CARGO_PROFILE_RELEASE_STRIP"] == "false"


def test_msvc_via_cargo_xwin(config: Any) -> None:
    chosen = toolchain("x86_64-pc-windows-msvc", builder="cargo-xwin")
    result = plan(config, "x86_64-pc-windows-msvc", chosen)
    assert result.argv[:2] == ("cargo-xwin", "build")
    assert result.argv[result.argv.index("--target") + 1] == "x86_64-pc-windows-msvc"
    assert "CARGO_ZIGBUILD_ZIG_PATH" not in result.env
    assert result.binaries == ("crcsum.exe",)


def test_msvc_on_a_windows_runner_uses_plain_cargo(config: Any) -> None:
    chosen = toolchain("x86_64-pc-windows-msvc", builder="cargo", rustc="C:/rust/bin/rustc.exe")
    result = plan(config, "x86_64-pc-windows-msvc", chosen)
    assert result.argv[:2] == ("C:/rust/bin/cargo", "build")
    assert "-Zbuild-std=std,panic_abort" not in result.argv


def test_features_and_profile(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "a"\nversion = "1.0.0"\n[[bin]]\nname = "a"\n')
    config = build_config(
        {"crate": "Cargo.toml", "features": ["tls", "zstd"], "no-default-features": True, "profile": "dist"},
        tmp_path,
        {},
    )
    result = plan_build(
        config,
        get_target("x86_64-unknown-linux-gnu"),
        toolchain("x86_64-unknown-linux-gnu"),
        zig=ZIG,
        target_dir=TARGET_DIR,
        support_dir=SUPPORT,
    )
    argv = list(result.argv)
    assert argv[argv.index("--features") + 1] == "tls,zstd"
    assert "--no-default-features" in argv
    assert argv[argv.index("--profile") + 1] == "dist"
    assert result.output_dir == TARGET_DIR / "x86_64-unknown-linux-gnu" / "dist"
    assert (result.strip, result.env["CARGO_PROFILE_DIST_STRIP"]) == (True, "false")


def test_profile_dir() -> None:
    assert profile_dir("dev") == "debug"
    assert profile_dir("release") == "release"
    assert profile_dir("dist") == "dist"


def test_target_dir_is_outside_the_clone_and_per_crate(config: Any) -> None:
    first = default_target_dir(config, {"RELEASE_CACHE_DIR": "/cache"})
    assert first.parent == Path("/cache/cargo-target")
    assert first.name.startswith("crcsum-")
    assert default_target_dir(config, {"CARGO_TARGET_DIR": "/t"}) == Path("/t")


def test_builder_executable_is_absolute_when_known(config: Any) -> None:
    result = plan(
        config,
        "x86_64-unknown-linux-gnu",
        toolchain("x86_64-unknown-linux-gnu"),
        builder_exe="/venv/bin/cargo-zigbuild",
    )
    assert result.argv[:2] == ("/venv/bin/cargo-zigbuild", "zigbuild")


# --- [tool.release.target."<pattern>"] ---------------------------------------------------


@pytest.fixture
def targeted(tmp_path: Path) -> Any:
    """A config with a global feature and target tables for Linux, musl and macOS."""
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "crcsum"\nversion = "0.3.1"\n[[bin]]\nname = "crcsum"\npath = "src/main.rs"\n'
    )
    table = {
        "crate": "Cargo.toml",
        "features": ["cli"],
        "target": {
            "*-linux-*": {
                "features": ["vendored-openssl"],
                "env": {"OPENSSL_STATIC": "1"},
                "rustflags": ["-Cdebuginfo=1"],
            },
            "*-musl": {"env": {"OPENSSL_STATIC": "yes"}, "rustflags": ["-Ctarget-feature=+crt-static"]},
            "*-apple-darwin": {"env": {"SDKROOT": "/opt/MacOSX14.sdk"}},
        },
    }
    return build_config(table, tmp_path, {})


def test_target_tables_add_features_env_and_rustflags(targeted: Any) -> None:
    result = plan(targeted, "x86_64-unknown-linux-musl", toolchain("x86_64-unknown-linux-musl", ROUTE_BUILD_STD))
    argv = list(result.argv)
    assert argv[argv.index("--features") + 1] == "cli,vendored-openssl"
    assert result.env["OPENSSL_STATIC"] == "yes"  # the later table wins
    flags = result.env["RUSTFLAGS"]
    # The tool's own flags first (build-std's), the crate's after, in table order.
    assert flags.endswith("-Cdebuginfo=1 -Ctarget-feature=+crt-static")
    assert "link-self-contained=no" in flags.split("-Cdebuginfo=1")[0]


def test_a_table_applies_only_to_the_targets_it_matches(targeted: Any) -> None:
    result = plan(targeted, "aarch64-apple-darwin", toolchain("aarch64-apple-darwin"))
    argv = list(result.argv)
    assert argv[argv.index("--features") + 1] == "cli"
    assert result.env["SDKROOT"] == "/opt/MacOSX14.sdk"
    assert "OPENSSL_STATIC" not in result.env
    assert "RUSTFLAGS" not in result.env


# --- several targets in one cargo run ---


def linux_plans(config: Any, route: str = ROUTE_RUSTUP) -> list[Any]:
    triples = ("x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "x86_64-unknown-linux-musl")
    return [
        plan_build(
            config,
            get_target(triple),
            toolchain(triple, route),
            zig=ZIG,
            target_dir=TARGET_DIR,
            support_dir=Path(f"/cache/support/{triple}"),
            base_path="/usr/bin",
        )
        for triple in triples
    ]


def test_plans_that_differ_only_in_the_target_share_one_cargo_run(config: Any) -> None:
    plans = linux_plans(config)
    assert [[p.target.triple for p in group] for group in group_plans(plans)] == [
        ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "x86_64-unknown-linux-musl"]
    ]
    combined = combine_plans(plans)
    argv = list(combined.argv)
    targets = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--target"]
    # Each target keeps its own spelling: the glibc floor is cargo-zigbuild's suffix of the gnu ones.
    assert targets == ["x86_64-unknown-linux-gnu.2.17", "aarch64-unknown-linux-gnu.2.17", "x86_64-unknown-linux-musl"]
    assert argv.count("--bin") == 1 and argv.count("--manifest-path") == 1
    assert argv[: argv.index("--target")] == list(plans[0].argv[: plans[0].argv.index("--target")])
    # Every target's support folder is on PATH, each once, after the cargo paired with RUSTC.
    path = combined.env["PATH"].split(":")
    assert path[0] == "/rustup/bin"
    assert [entry for entry in path if entry.startswith("/cache/support/")] == [
        f"/cache/support/{p.target.triple}" for p in plans
    ]
    assert {k: v for k, v in combined.env.items() if k != "PATH"} == {
        k: v for k, v in plans[0].env.items() if k != "PATH"
    }
    assert combined.triples == tuple(p.target.triple for p in plans)


def test_plans_with_their_own_flags_or_environment_get_runs_of_their_own(config: Any) -> None:
    linux = plan(config, "x86_64-unknown-linux-gnu", toolchain("x86_64-unknown-linux-gnu"))
    arm_mac = plan(config, "aarch64-apple-darwin", toolchain("aarch64-apple-darwin"))
    intel_mac = plan(config, "x86_64-apple-darwin", toolchain("x86_64-apple-darwin"))
    windows = plan(config, "x86_64-pc-windows-gnu", toolchain("x86_64-pc-windows-gnu"))
    other_rustc = plan(
        config, "aarch64-unknown-linux-gnu", toolchain("aarch64-unknown-linux-gnu", rustc="/usr/bin/rustc")
    )
    groups = group_plans([linux, arm_mac, intel_mac, windows, other_rustc])
    # MACOSX_DEPLOYMENT_TARGET differs per macOS target, windows-gnu has RUSTFLAGS of its own (one
    # RUSTFLAGS applies to every target of a run), and another rustc is another toolchain.
    assert [[p.target.triple for p in group] for group in groups] == [
        ["x86_64-unknown-linux-gnu"],
        ["aarch64-apple-darwin"],
        ["x86_64-apple-darwin"],
        ["x86_64-pc-windows-gnu"],
        ["aarch64-unknown-linux-gnu"],
    ]


def test_build_std_targets_group_only_with_the_same_flags(config: Any) -> None:
    plans = linux_plans(config, ROUTE_BUILD_STD)
    groups = [[p.target.triple for p in group] for group in group_plans(plans)]
    # musl's -C link-self-contained=no makes its RUSTFLAGS differ from the gnu targets'.
    assert groups == [["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"], ["x86_64-unknown-linux-musl"]]


def test_per_target_mode_gives_each_target_its_run(config: Any) -> None:
    from tooling.build.run import batches

    plans = linux_plans(config)
    assert [len(batch) for batch in batches(plans, PER_TARGET)] == [1, 1, 1]
    assert [len(batch) for batch in batches(plans, COMBINED)] == [3]

"""The cargo command that builds one target, decided up front (pure: touches nothing).

`plan_build` turns the config, the target row and the resolved toolchain into
argv and environment; tooling.build.run carries the plan out.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tooling.build.strip import cargo_strip_env, tool_strips
from tooling.build.toolchain import Toolchain
from tooling.cache import cache_dir
from tooling.config import ReleaseConfig
from tooling.targets import Target


@dataclass(frozen=True)
class BuildPlan:
    """Everything needed to run one target's build, decided up front."""

    target: Target
    argv: tuple[str, ...]
    env: dict[str, str]
    target_dir: Path
    output_dir: Path  # where cargo leaves the binaries
    binaries: tuple[str, ...]  # file names, with the executable suffix
    support_dir: Path  # empty stub libraries and tool links for this target
    strip: bool = False  # the tool strips the binaries after cargo (cargo is told not to; see tooling.build.strip)


def profile_dir(profile: str) -> str:
    """cargo's output folder for a profile: dev builds land in debug/."""
    return {"dev": "debug", "test": "debug", "bench": "release"}.get(profile, profile)


def cargo_target_spec(target: Target, config: ReleaseConfig) -> str:
    """The --target value: cargo-zigbuild takes the glibc floor as a suffix."""
    if target.glibc_floor and target.builder == "cargo-zigbuild":
        return f"{target.triple}.{config.glibc}"
    return target.triple


def _env_name(triple: str) -> str:
    return triple.upper().replace("-", "_").replace(".", "_")


def plan_build(
    config: ReleaseConfig,
    target: Target,
    toolchain: Toolchain,
    *,
    zig: Path | None,
    target_dir: Path,
    support_dir: Path,
    base_rustflags: str = "",
    base_path: str = "",
    builder_exe: str | None = None,
) -> BuildPlan:
    """The command and environment that build `target` (pure: touches nothing).

    builder_exe: absolute path of cargo-zigbuild / cargo-xwin, so that the
    PATH we put in front (for cargo) cannot shadow it.
    """
    builder = toolchain.builder
    head = {
        "cargo-zigbuild": [builder_exe or "cargo-zigbuild", "zigbuild"],
        "cargo-xwin": [builder_exe or "cargo-xwin", "build"],
        "cargo": [str(toolchain.cargo), "build"],
    }[builder]
    argv = [
        *head,
        "--manifest-path",
        str(config.crate_manifest),
        "--target",
        cargo_target_spec(target, config),
        "--profile",
        config.profile,
        "--target-dir",
        str(target_dir),
        "--locked",
    ]
    for binary in config.binaries:
        argv += ["--bin", binary]
    settings = config.target_settings(target)
    if settings.features:
        argv += ["--features", ",".join(settings.features)]
    if config.no_default_features:
        argv.append("--no-default-features")
    if config.all_features:
        argv.append("--all-features")
    if toolchain.build_std:
        argv.append("-Zbuild-std=std,panic_abort")

    rustflags = [base_rustflags] if base_rustflags else []
    if toolchain.build_std:
        rustflags += target.build_std_flags
    if target.is_windows and target.libc == "gnu":
        # Some distribution rustcs ask the windows-gnu linker for libssp and
        # libssp_nonshared; empty archives on the search path satisfy it.
        rustflags += ["-L", str(support_dir)]
    # The crate's own flags for this target come last, so they can refine the tool's.
    rustflags += settings.rustflags

    env: dict[str, str] = {
        "RUSTC": str(toolchain.rustc),
        "CARGO": str(toolchain.cargo),
        # cargo-zigbuild runs `cargo` from PATH: make it the one paired with RUSTC.
        "PATH": os.pathsep.join(p for p in (str(toolchain.cargo.parent), str(support_dir), base_path) if p),
    }
    if rustflags:
        env["RUSTFLAGS"] = " ".join(rustflags)
    if toolchain.build_std:
        # -Zbuild-std is unstable; this lets a stable rustc accept it.
        env["RUSTC_BOOTSTRAP"] = "1"
    # [tool.release.target] env: SDKROOT, OPENSSL_DIR, PKG_CONFIG_SYSROOT_DIR ... (the tool's own names are refused
    # when the config is read, so these never replace RUSTC, CARGO or RUSTFLAGS).
    env.update(settings.env)
    # After the crate's env, so a stray CARGO_PROFILE_RELEASE_STRIP cannot bring back rustc's silent strip failures.
    env.update(cargo_strip_env(config.profile))
    if zig is not None and builder == "cargo-zigbuild":
        env["CARGO_ZIGBUILD_ZIG_PATH"] = str(zig)
    macos_min = config.macos_min(target)
    if macos_min:
        # Without it zig stamps the SDK's own version (e.g. 15.0) as the minimum.
        env["MACOSX_DEPLOYMENT_TARGET"] = macos_min
    output_dir = target_dir / target.triple / profile_dir(config.profile)
    return BuildPlan(
        target=target,
        argv=tuple(argv),
        env=env,
        target_dir=target_dir,
        output_dir=output_dir,
        binaries=tuple(target.executable(b) for b in config.binaries),
        support_dir=support_dir,
        strip=tool_strips(config.profile),
    )


def default_target_dir(config: ReleaseConfig, environ: Mapping[str, str] = os.environ) -> Path:
    """$CARGO_TARGET_DIR, else a per-crate folder in the cache (outside the clone, so re-runs start warm)."""
    if environ.get("CARGO_TARGET_DIR"):
        return Path(environ["CARGO_TARGET_DIR"])
    key = hashlib.sha256(str(config.crate_manifest).encode()).hexdigest()[:12]
    return cache_dir(environ) / "cargo-target" / f"{config.name}-{key}"


# --- several targets in one cargo run -------------------------------------------------------


COMBINED, PER_TARGET = "combined", "per-target"  # tool.release.build-mode


@dataclass(frozen=True)
class CombinedPlan:
    """One cargo run building several targets: one dependency graph, host build scripts and proc-macros once."""

    plans: tuple[BuildPlan, ...]
    argv: tuple[str, ...]
    env: dict[str, str]

    @property
    def triples(self) -> tuple[str, ...]:
        return tuple(plan.target.triple for plan in self.plans)


def _target_values(argv: Sequence[str]) -> list[int]:
    """Indexes of the values of --target in argv (pure)."""
    return [index + 1 for index, arg in enumerate(argv) if arg == "--target"]


def combine_key(plan: BuildPlan) -> tuple[object, ...]:
    """What must be equal for two plans to share one cargo run (pure).

    Everything but the --target value and the PATH: the same builder, cargo, rustc, flags, features,
    profile and environment (RUSTFLAGS included: cargo applies one RUSTFLAGS to every target, and a
    set RUSTFLAGS hides per-target flags). PATH differs only in each target's support folder.
    """
    argv = list(plan.argv)
    for index in _target_values(argv):
        argv[index] = "<target>"
    env = tuple(sorted((name, value) for name, value in plan.env.items() if name != "PATH"))
    return (tuple(argv), env, plan.target_dir, plan.strip)


def group_plans(plans: Sequence[BuildPlan]) -> list[list[BuildPlan]]:
    """Plans that can share a cargo run, grouped in the order of their first member (pure)."""
    groups: dict[tuple[object, ...], list[BuildPlan]] = {}
    for plan in plans:
        groups.setdefault(combine_key(plan), []).append(plan)
    return list(groups.values())


def combine_plans(plans: Sequence[BuildPlan]) -> CombinedPlan:
    """One cargo command for plans of one group (pure): every --target, every support folder on PATH."""
    first = plans[0]
    argv = list(first.argv)
    at = _target_values(argv)[0]
    specs = [plan.argv[_target_values(plan.argv)[0]] for plan in plans]
    argv[at - 1 : at + 1] = [item for spec in specs for item in ("--target", spec)]
    env = dict(first.env)
    paths: list[str] = []
    for plan in plans:
        for entry in plan.env.get("PATH", "").split(os.pathsep):
            if entry and entry not in paths:
                paths.append(entry)
    env["PATH"] = os.pathsep.join(paths)
    return CombinedPlan(tuple(plans), tuple(argv), env)

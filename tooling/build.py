"""Build one target: plan the cargo command (pure), run it, collect the binaries.

`plan_build` decides argv and environment from the config, the target row and
the resolved toolchain, and touches nothing. `build_target` carries the plan
out: it prepares small support files, runs cargo through tooling.proc, copies
the binaries to dist/<triple>/, verifies them, and writes the partial manifest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tooling import inspect, manifest, proc, smoke, ui
from tooling.cache import cache_dir
from tooling.config import ReleaseConfig
from tooling.errors import BuildError
from tooling.targets import Target
from tooling.toolchain import Toolchain


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
    if config.features:
        argv += ["--features", ",".join(config.features)]
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
    )


def default_target_dir(config: ReleaseConfig, environ: Mapping[str, str] = os.environ) -> Path:
    """$CARGO_TARGET_DIR, else a per-crate folder in the cache (outside the clone, so re-runs start warm)."""
    if environ.get("CARGO_TARGET_DIR"):
        return Path(environ["CARGO_TARGET_DIR"])
    key = hashlib.sha256(str(config.crate_manifest).encode()).hexdigest()[:12]
    return cache_dir(environ) / "cargo-target" / f"{config.name}-{key}"


# --- carrying a plan out -----------------------------------------------------


def _prepare_support_dir(plan: BuildPlan, toolchain: Toolchain, zig: Path | None) -> None:
    """Stub libraries and tool links the plan's environment points at."""
    support = plan.support_dir
    support.mkdir(parents=True, exist_ok=True)
    if plan.target.is_windows and plan.target.libc == "gnu" and zig is not None:
        for name in ("libssp.a", "libssp_nonshared.a"):
            if not (support / name).exists():
                proc.run([str(zig), "ar", "rcs", str(support / name)])
    if plan.target.is_macos:
        _provide_rust_objcopy(support, toolchain)


def _provide_rust_objcopy(support: Path, toolchain: Toolchain) -> None:
    """rustc strips Mach-O binaries with `rust-objcopy`, which only rustup ships.

    When the chosen sysroot lacks it, LLVM's llvm-objcopy (the same tool under
    another name) is linked into the support dir, which the plan puts on PATH.
    """
    link = support / "rust-objcopy"
    if link.is_symlink() and not link.exists():
        link.unlink()  # LLVM was removed or upgraded since the link was made
    sysroot = toolchain.rustc.parent.parent
    if link.exists() or list(sysroot.glob("lib/rustlib/*/bin/rust-objcopy")):
        return
    llvm_objcopy = shutil.which("llvm-objcopy")
    if not llvm_objcopy:
        raise BuildError(
            f"stripping a macOS binary needs rust-objcopy, which rustc at {toolchain.rustc} lacks",
            hint="install LLVM's llvm-objcopy (Debian: apt-get install llvm), or use a rustup toolchain",
        )
    link.symlink_to(llvm_objcopy)


def build_target(config: ReleaseConfig, target: Target, toolchain: Toolchain, zig: Path | None) -> manifest.Manifest:
    """Build, copy to dist/<triple>/, verify, smoke-run, and record in a partial manifest."""
    target_dir = default_target_dir(config)
    plan = plan_build(
        config,
        target,
        toolchain,
        zig=zig,
        target_dir=target_dir,
        support_dir=cache_dir() / "support" / target.triple,
        base_rustflags=os.environ.get("RUSTFLAGS", ""),
        base_path=os.environ.get("PATH", ""),
        builder_exe=shutil.which(toolchain.builder) if toolchain.builder != "cargo" else None,
    )
    with ui.group(f"build {target.triple} ({toolchain.how})"):
        _prepare_support_dir(plan, toolchain, zig)
        proc.run(plan.argv, env=plan.env, cwd=config.crate_dir)
    if proc.is_dry_run():
        return manifest.Manifest(config.name, config.version)

    out = config.dist_dir / target.triple
    partial = manifest.Manifest(config.name, config.version)
    for name in plan.binaries:
        built = plan.output_dir / name
        if not built.is_file():
            raise BuildError(f"cargo finished but {built} does not exist", hint="is the binary name right?")
        # Verify where cargo left it: a binary that fails never reaches dist/.
        with ui.group(f"verify {target.triple}/{name}"):
            facts = inspect.verify(built, target, config)
            smoke_report = smoke.smoke_test(built, target, config, zig)
        out.mkdir(parents=True, exist_ok=True)
        shipped = out / name
        shutil.copy2(built, shipped)
        shipped.chmod(0o755)
        partial.add(
            manifest.describe_file(
                config.dist_dir,
                shipped,
                kind="binary",
                target=target.triple,
                step="build",
                facts={**facts.summary(), "smoke": smoke_report, "toolchain": toolchain.how},
            )
        )
    manifest.write(out / manifest.MANIFEST_NAME, partial)
    return partial

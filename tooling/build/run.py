"""Carry one target's build plan out: run cargo, verify and smoke-run the binaries, record them.

`build_target` prepares small support files, runs the planned cargo command
through tooling.proc, verifies each binary where cargo left it, copies it to
dist/<triple>/ and writes the partial manifest.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tooling import manifest, proc, ui
from tooling.build import binary, smoke
from tooling.build.plan import BuildPlan, default_target_dir, plan_build
from tooling.build.toolchain import Toolchain
from tooling.cache import cache_dir
from tooling.config import ReleaseConfig
from tooling.errors import BuildError
from tooling.targets import Target


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
            facts = binary.verify(built, target, config)
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

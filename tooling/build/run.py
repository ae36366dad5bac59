"""Carry build plans out: run cargo, verify and smoke-run the binaries, record them.

With `build-mode = "combined"`, targets whose plans differ only in the
target share one cargo run: one dependency graph, host build scripts and
proc-macros built once, both cores busy. The default is one run per target,
as CI's runners build: cargo gives the crates of a several-target run other
hashes, so its binaries differ from one-target builds. Then each target's
binaries are stripped (tooling.build.strip; cargo is told not to), verified,
smoke-run, copied to dist/<triple>/ and recorded in its partial manifest.
`build_targets` skips up front the targets whose native dependencies will
fail here (tooling.build.native.blocker) unless forced.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tooling import manifest, proc, ui
from tooling.build import binary, failure, smoke, strip
from tooling.build.native import NativeDependency, blocker
from tooling.build.plan import COMBINED, BuildPlan, combine_plans, default_target_dir, group_plans, plan_build
from tooling.build.toolchain import ROUTE_RUSTUP_ADD, SystemFacts, Toolchain, install_std, resolve
from tooling.build.zig import zig_path
from tooling.cache import cache_dir
from tooling.config import ReleaseConfig
from tooling.errors import BuildError, ConfigError, ToolchainError
from tooling.targets import Target

STRAY_OBJECT = "a.o"


def _prepare_support_dir(plan: BuildPlan, zig: Path | None, runner: proc.Runner) -> None:
    """Stub libraries the plan's environment points at."""
    support = plan.support_dir
    support.mkdir(parents=True, exist_ok=True)
    if plan.target.is_windows and plan.target.libc == "gnu" and zig is not None:
        for name in ("libssp.a", "libssp_nonshared.a"):
            if not (support / name).exists():
                runner.run([str(zig), "ar", "rcs", str(support / name)])


def run_cargo(
    argv: Sequence[str], env: Mapping[str, str], triples: Sequence[str], config: ReleaseConfig, runner: proc.Runner
) -> None:
    """Run a planned cargo command; on failure raise a BuildError of a few lines, the full log kept on disk.

    cargo's output is captured so that hundreds of lines of build-script and
    linker output become the failing crate, the first error and a diagnosis;
    the whole of it goes to a log file under the cache folder either way. Its
    progress lines (Compiling ..., Finished ...) are shown as they come.
    """
    stray = config.crate_dir / STRAY_OBJECT
    stray_before = stray.exists()
    result = runner.run(argv, env=env, cwd=config.crate_dir, capture=True, check=False, progress=failure.is_progress)
    if not stray_before and stray.is_file() and stray.stat().st_size == 0:
        # Some aarch64-apple-darwin builds through cargo-zigbuild leave an empty a.o in the folder cargo
        # runs in (seen here, cause not found): not the crate's file, so it must not appear in its tree.
        stray.unlink()
    output = result.stdout + result.stderr
    log = failure.write_log(failure.log_path(cache_dir(), "+".join(triples)), output)
    if result.ok:
        last = [line for line in output.splitlines() if line.strip()][-1:]
        ui.say(f"{last[0].strip() if last else 'cargo finished'} (full output: {log})")
        return
    message, hint = failure.failure_message(failure.summarize(output), ", ".join(triples), log)
    raise BuildError(message, hint=hint)


def plan_for(config: ReleaseConfig, target: Target, toolchain: Toolchain, zig: Path | None) -> BuildPlan:
    """`target`'s build plan in this process's environment (its RUSTFLAGS and PATH are the base)."""
    return plan_build(
        config,
        target,
        toolchain,
        zig=zig,
        target_dir=default_target_dir(config),
        support_dir=cache_dir() / "support" / target.triple,
        base_rustflags=os.environ.get("RUSTFLAGS", ""),
        base_path=os.environ.get("PATH", ""),
        builder_exe=shutil.which(toolchain.builder) if toolchain.builder != "cargo" else None,
    )


def batches(plans: Sequence[BuildPlan], mode: str) -> list[list[BuildPlan]]:
    """The cargo runs of a build (pure): plans that can share one run, or one run each (build-mode)."""
    return group_plans(plans) if mode == COMBINED else [[plan] for plan in plans]


def build_batch(
    config: ReleaseConfig, batch: Sequence[BuildPlan], toolchains: Mapping[str, Toolchain], zig: Path | None,
    runner: proc.Runner,
) -> list[manifest.Manifest]:  # fmt: skip
    """One cargo run for `batch`, then each target's binaries stripped, verified, smoke-run and recorded.

    In a dry run the cargo command is shown and nothing is prepared, built or written.
    """
    combined = combine_plans(batch)
    if runner.dry_run:
        runner.run(combined.argv, env=combined.env, cwd=config.crate_dir)
        return [manifest.Manifest(config.name, config.version) for _ in batch]
    # Found before the long build, so a machine without llvm-objcopy learns it in a second.
    strippers = {
        plan.target.triple: strip.find_tool(toolchains[plan.target.triple]) if plan.strip else None for plan in batch
    }
    how = toolchains[batch[0].target.triple].how
    with ui.group(f"build {', '.join(combined.triples)} ({how})"):
        for plan in batch:
            _prepare_support_dir(plan, zig, runner)
        run_cargo(combined.argv, combined.env, combined.triples, config, runner)
    return [
        finish_target(config, plan, toolchains[plan.target.triple], strippers[plan.target.triple], zig, runner)
        for plan in batch
    ]


def finish_target(
    config: ReleaseConfig,
    plan: BuildPlan,
    toolchain: Toolchain,
    stripper: strip.StripTool | None,
    zig: Path | None,
    runner: proc.Runner,
) -> manifest.Manifest:
    """Strip, verify, smoke-run, copy to dist/<triple>/ and record in a partial manifest what cargo built."""
    target = plan.target
    out = config.dist_dir / target.triple
    partial = manifest.Manifest(config.name, config.version)
    for name in plan.binaries:
        built = plan.output_dir / name
        if not built.is_file():
            raise BuildError(f"cargo finished but {built} does not exist", hint="is the binary name right?")
        strip_facts: dict[str, object] = {}  # "stripped" itself is read from the file (BinaryFacts.summary)
        if stripper is not None:
            # Into a folder of its own: the file cargo left stays as cargo made it, so its freshness checks hold.
            stripped = plan.output_dir / "stripped" / name
            strip.strip_binary(stripper, strip.target_format(target), built, stripped, runner)
            built = stripped
            strip_facts = {"strip_tool": stripper.name}
        # Verify before dist/: a binary that fails never reaches it.
        with ui.group(f"verify {target.triple}/{name}"):
            facts = binary.verify(built, target, config, stripped_by=stripper.name if stripper else None)
            smoke_report = smoke.smoke_test(built, target, config, zig, runner)
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
                facts={**facts.summary(), **strip_facts, "smoke": smoke_report, "toolchain": toolchain.how},
            )
        )
    manifest.write(out / manifest.MANIFEST_NAME, partial)
    return partial


def _installed(
    target: Target, toolchain: Toolchain, facts: SystemFacts, runner: proc.Runner, config: ReleaseConfig
) -> Toolchain:
    """Carry out a planned `rustup target add`; when the download fails, the next route that needs none."""
    if toolchain.route != ROUTE_RUSTUP_ADD:
        return toolchain
    try:
        install_std(toolchain, runner)
        return toolchain
    except ToolchainError as error:
        fallback = resolve(target, dataclasses.replace(facts, rustup_can_add=False), config.rust_requirement)
        ui.warn(f"{error.message}; building with {fallback.how} instead")
        return fallback


@dataclass(frozen=True)
class BuildOutcome:
    """What one build command did: the binaries it made and the targets it left out (with why)."""

    built: tuple[manifest.Manifest, ...]
    skipped: tuple[tuple[str, str], ...]  # (triple, reason)


def build_targets(
    config: ReleaseConfig,
    targets: Sequence[Target],
    facts: SystemFacts,
    runner: proc.Runner,
    *,
    ready_only: bool = False,
    native: Mapping[str, Sequence[NativeDependency]] | None = None,
) -> BuildOutcome:
    """Build every target from one look at the machine (`facts`); one process, no re-probing.

    ready_only: targets without a toolchain here are skipped with the reason
    instead of failing the whole command.
    native: each target's native dependencies (native.per_target); targets they
    will fail for are skipped up front with the reason. None (--force): build all.
    """
    if not targets:
        raise ConfigError("no target selected to build", hint="check --target and tool.release.targets")
    chosen: list[tuple[Target, Toolchain]] = []
    skipped: list[tuple[str, str]] = []
    with ui.group("resolve toolchains"):
        for target in targets:
            blocked = blocker(native.get(target.triple, ()), config.target_settings(target).env) if native else None
            if blocked:
                skipped.append((target.triple, blocked))
                ui.warn(f"skipping {target.triple}: {blocked}")
                continue
            try:
                chosen.append((target, resolve(target, facts, config.rust_requirement)))
            except ToolchainError as error:
                if not ready_only:
                    raise
                skipped.append((target.triple, error.message))
                ui.warn(f"skipping {target.triple}: {error.message}")
        chosen = [(target, _installed(target, toolchain, facts, runner, config)) for target, toolchain in chosen]
        for target, toolchain in chosen:
            ui.say(f"{target.triple}: {toolchain.how}")
    if not chosen:
        raise ToolchainError(
            "no selected target can be built on this machine: "
            + "; ".join(f"{triple}: {reason}" for triple, reason in skipped),
            hint="run `nox -s doctor`; to build targets skipped for their native dependencies anyway, pass --force",
        )
    zig = zig_path() if any(toolchain.builder == "cargo-zigbuild" for _, toolchain in chosen) else None
    toolchains = {target.triple: toolchain for target, toolchain in chosen}
    plans = [plan_for(config, target, toolchain, zig) for target, toolchain in chosen]
    built = [partial for batch in batches(plans, config.build_mode) for partial in build_batch(
        config, batch, toolchains, zig, runner)]  # fmt: skip
    return BuildOutcome(tuple(built), tuple(skipped))

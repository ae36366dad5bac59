"""`python -m tooling setup`: install what one CI job needs, from the doctor's rows and the target table.

A GitHub runner starts without the target's Rust std, without an objcopy the
tool strips with, and without the emulators that smoke-run a foreign binary.
The doctor already knows each of these needs (tooling.build.doctor); setup
installs the missing ones, so a workflow's setup is one command
(`nox -s setup-<triple>`, `nox -s setup-release`) and no YAML:

- the planned `rustup target add`s (the doctor's --fix);
- rustup's llvm-tools component (rust-objcopy) when no objcopy is found and
  the target builds with a rustup toolchain;
- on Linux, one `apt-get install` of the Debian/Ubuntu packages of every
  missing tool; a missing smoke tool of a target comes from the target row's
  `ci-packages` (a cross libc under its qemu-sysroot, not a multiarch one:
  Ubuntu's archive mirrors carry no arm64 packages), with sudo unless root.

`setup_plan` decides and is pure; `run_setup` probes, runs the plan through
the Runner (a dry run shows the commands), probes again and fails naming
whatever is still missing, so a job stops at its setup with the reason rather
than minutes later in its build.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from tooling import proc, ui
from tooling.build import doctor
from tooling.build.doctor import MISSING, OBJCOPY, STEP_SMOKE, Command, Install, Need
from tooling.build.requirement import ANY_RUSTC, RustRequirement
from tooling.build.smoke import smoke_method
from tooling.build.toolchain import SystemFacts, Toolchain, probe_system
from tooling.errors import ToolchainError
from tooling.targets import Runner, Target

LLVM_TOOLS = "llvm-tools"  # rustup's component that ships rust-objcopy
APT_ENV = "DEBIAN_FRONTEND=noninteractive"  # no debconf questions on a machine nobody watches
INSTALL_STEP_METHODS = ("native", "qemu-user")  # how the release job's install tests run binaries


@dataclass(frozen=True)
class SetupPlan:
    """What setup runs, and the missing tools nothing here can install (with the doctor's advice)."""

    commands: tuple[Command, ...]
    unfixable: tuple[Need, ...]


# --- the pure part ------------------------------------------------------------------------


def apt_packages(install: Install) -> tuple[str, ...]:
    """The Debian packages an install names (its `apt-get install -y ...` commands)."""
    return tuple(p for c in install.commands if c[:3] == ("apt-get", "install", "-y") for p in c[3:])


def foreign_arches(install: Install) -> tuple[str, ...]:
    """The multiarch architectures an install enables first (`dpkg --add-architecture X`)."""
    return tuple(c[2] for c in install.commands if c[:2] == ("dpkg", "--add-architecture"))


def ci_install(row: Need, target: Target | None) -> Install:
    """How setup gets the tool of `row`: a target's smoke tool from its ci-packages, anything else as the doctor says.

    The table row knows what fits a CI runner (a cross libc the smoke run
    passes to qemu with -L); the doctor's advice (a multiarch libc) fits a
    Debian workstation.
    """
    if target is not None and row.step == STEP_SMOKE and target.ci_packages:
        return doctor.apt(*target.ci_packages)
    return row.install


def _unique(items: Iterable[Command]) -> tuple[Command, ...]:
    return tuple(dict.fromkeys(items))


def apt_commands(packages: Sequence[str], arches: Sequence[str], *, as_root: bool) -> list[Command]:
    """Enable `arches`, refresh the package lists, install `packages` in one go (pure); sudo unless root."""
    prefix: Command = () if as_root else ("sudo", "env", APT_ENV)
    unique_packages = tuple(dict.fromkeys(packages))
    return [
        *((*prefix, "dpkg", "--add-architecture", arch) for arch in dict.fromkeys(arches)),
        (*prefix, "apt-get", "update", "-qq"),
        (*prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *unique_packages),
    ]


def setup_plan(
    rows: Sequence[Need],
    *,
    targets: Mapping[str, Target],
    rustup: Mapping[str, str],
    host_os: str,
    as_root: bool,
) -> SetupPlan:
    """The commands that give this machine what `rows` miss (pure).

    targets: the Target of each triple in `rows` (their ci-packages).
    rustup: the rustup toolchain each target builds with, where it is rustup's (llvm-tools goes there).
    """
    commands: list[Command] = [tuple(argv) for argv in doctor.fix_commands(rows)]
    packages: list[str] = []
    arches: list[str] = []
    unfixable: list[Need] = []
    for row in doctor.missing(rows):
        if row.tool == OBJCOPY and rustup.get(row.triple):
            commands.append(("rustup", "component", "add", LLVM_TOOLS, "--toolchain", rustup[row.triple]))
            continue
        install = ci_install(row, targets.get(row.triple))
        if host_os == "linux" and apt_packages(install):
            packages += apt_packages(install)
            arches += foreign_arches(install)
        else:
            unfixable.append(row)
    if packages:
        commands += apt_commands(packages, arches, as_root=as_root)
    return SetupPlan(_unique(commands), tuple(unfixable))


def runner_packages(target: Target, runner: Runner) -> tuple[str, ...]:
    """The packages setup installs for `target` on a bare `runner` (what the CI matrix row shows).

    ci-packages are what an x86_64 Linux runner needs to smoke-run the
    target; other runners need none (they run it natively or not at all).
    """
    if runner.os == "linux" and runner.arch == "x86_64" and smoke_method(target, "linux", "x86_64") != "native":
        return target.ci_packages
    return ()


def install_test_targets(targets: Iterable[Target], host_os: str, host_arch: str) -> list[Target]:
    """The targets whose binaries the release job's install tests run here (natively or under qemu-user)."""
    return [t for t in targets if smoke_method(t, host_os, host_arch) in INSTALL_STEP_METHODS]


def target_needs(
    target: Target, facts: SystemFacts, tools: Mapping[str, str | None], requirement: RustRequirement = ANY_RUSTC
) -> tuple[list[Need], Toolchain | None]:
    """What building and smoke-running `target` needs here, and the toolchain that builds it (None: no route)."""
    _, toolchain = doctor.std_need(target, facts, requirement)
    rows = [*doctor.build_needs(target, facts, tools, requirement), *doctor.smoke_needs(target, facts, tools)]
    return rows, toolchain


def release_needs(
    targets: Iterable[Target],
    facts: SystemFacts,
    tools: Mapping[str, str | None],
    channel_tools: Mapping[str, Sequence[str]],
) -> list[Need]:
    """What the release job needs: the once-per-release tools, the channels' tools, the install tests' runners."""
    runs_here = install_test_targets(targets, facts.host_os, facts.host_arch)
    smoke = [row for target in runs_here for row in doctor.smoke_needs(target, facts, tools)]
    return [*doctor.release_needs(tools), *doctor.package_needs(channel_tools, tools), *smoke]


# --- what a build job caches ------------------------------------------------------------------

# `zig env` prints JSON (zig 0.13) or ZON (0.14 and later): `"global_cache_dir": "..."` or `.global_cache_dir = "..."`.
_ZIG_CACHE = re.compile(r'\.?"?global_cache_dir"?\s*[:=]\s*"((?:[^"\\]|\\.)*)"')


def zig_global_cache(zig_env_output: str) -> str | None:
    """zig's global cache folder from the output of `zig env`, or None when it names none (pure)."""
    match = _ZIG_CACHE.search(zig_env_output)
    return match.group(1).replace("\\\\", "\\") if match else None


def cargo_home(environ: Mapping[str, str], home: Path) -> Path:
    """$CARGO_HOME, else ~/.cargo."""
    return Path(environ["CARGO_HOME"]) if environ.get("CARGO_HOME") else home / ".cargo"


def cache_paths(cargo: Path, target_dir: Path, zig_cache: str | None) -> list[str]:
    """The folders a build job keeps between runs (pure): cargo's downloads, the target dir, zig's cache."""
    folders = [cargo / "registry" / "index", cargo / "registry" / "cache", cargo / "git" / "db", target_dir]
    return [str(folder) for folder in folders] + ([zig_cache] if zig_cache else [])


def toolchain_key(toolchain: Toolchain, zig_version: str | None) -> str:
    """The part of a cache key that changes with the compilers (pure): rustc's version, and zig's when it links."""
    key = f"rustc-{toolchain.version}"
    return f"{key}-zig-{zig_version}" if zig_version else key


# --- effects ------------------------------------------------------------------------------------


def _as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _rustup_toolchains(toolchains: Mapping[str, Toolchain | None]) -> dict[str, str]:
    return {triple: tc.rustup_toolchain for triple, tc in toolchains.items() if tc and tc.rustup_toolchain}


def _look(
    chosen: Sequence[Target],
    release: bool,
    extra_rustc: Iterable[Path],
    requirement: RustRequirement,
    channel_tools: Mapping[str, Sequence[str]],
) -> tuple[list[Need], dict[str, Toolchain | None], SystemFacts]:
    """The rows setup acts on, each target's toolchain, and the machine (read-only)."""
    facts = probe_system(extra_rustc)
    tools = doctor.find_tools(facts)
    if release:
        return release_needs(chosen, facts, tools, channel_tools), {}, facts
    rows: list[Need] = []
    toolchains: dict[str, Toolchain | None] = {}
    for target in chosen:
        needs, toolchains[target.triple] = target_needs(target, facts, tools, requirement)
        rows += needs
    return rows, toolchains, facts


@dataclass(frozen=True)
class SetupOutcome:
    """What setup did: the commands it ran (or would run), and each target's toolchain afterwards."""

    commands: tuple[Command, ...]
    toolchains: Mapping[str, Toolchain | None]


def run_setup(
    chosen: Sequence[Target],
    runner: proc.Runner,
    *,
    release: bool = False,
    extra_rustc: Iterable[Path] = (),
    requirement: RustRequirement = ANY_RUSTC,
    channel_tools: Mapping[str, Sequence[str]] | None = None,
) -> SetupOutcome:
    """Install what `chosen` (or, with `release`, the release job) miss here; fail naming what is still missing."""
    rows, toolchains, facts = _look(chosen, release, extra_rustc, requirement, channel_tools or {})
    plan = setup_plan(
        rows,
        targets={t.triple: t for t in chosen},
        rustup=_rustup_toolchains(toolchains),
        host_os=facts.host_os,
        as_root=_as_root(),
    )
    for row in plan.unfixable:
        ui.warn(f"setup cannot install {row.tool} ({row.triple}, {row.step}) here: {row.install.text() or '-'}")
    for argv in plan.commands:
        runner.run(list(argv), env={"DEBIAN_FRONTEND": "noninteractive"}, effect=proc.Effect.LOCAL)
    if runner.dry_run:
        return SetupOutcome(plan.commands, toolchains)
    rows, toolchains, _ = _look(chosen, release, extra_rustc, requirement, channel_tools or {})
    # A std still planned after its `rustup target add` ran means the download did not take.
    still = [row for row in rows if row.status in (MISSING, doctor.PLANNED)]
    if still:
        targets = {t.triple: t for t in chosen}
        advice = dict.fromkeys(ci_install(row, targets.get(row.triple)).text() for row in still)
        raise ToolchainError(
            "setup: still missing after installing: "
            + ", ".join(f"{row.tool} ({row.triple}, {row.step})" for row in still),
            hint="; ".join(line for line in advice if line) or "run `nox -s doctor` for what each needs",
        )
    return SetupOutcome(plan.commands, toolchains)


def zig_version() -> str | None:
    """The version of the ziglang wheel builds link with, or None when it is not installed."""
    try:
        return metadata.version("ziglang")
    except metadata.PackageNotFoundError:
        return None


def zig_cache_dir(zig: Path) -> str | None:
    """zig's global cache folder, as `zig env` reports it (read-only)."""
    result = proc.read([str(zig), "env"], check=False)
    return zig_global_cache(result.stdout) if result.ok else None

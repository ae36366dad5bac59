"""Strip debug information from built binaries with a tool that works here, and say so when it does not.

cargo's release profile strips debug info by default, and for Mach-O rustc
does it with `rust-objcopy`: with a rustup toolchain whose llvm-tools are
incomplete, rustc only warns ("stripping debug info with rust-objcopy failed")
and an unstripped binary is reported as a success. So the tool owns stripping:
the plan tells cargo not to strip (CARGO_PROFILE_<PROFILE>_STRIP=false, see
`cargo_strip_env`), run.py strips each built binary with llvm-objcopy and then
reads it back (binary.read_facts) to check that no debug info is left. Any
failure is a BuildError naming the tool and the remedy.

Why llvm-objcopy and not zig's: zig 0.17's `objcopy` handles ELF only, and
fails with "unimplemented" on the ELF binaries cargo-zigbuild produces here.

Why stripping after zig signed an arm64 Mach-O is safe: llvm-objcopy (14 and
later) rewrites LC_CODE_SIGNATURE with a fresh ad-hoc signature when it
changes a signed Mach-O; binary.py then checks the signature's page hashes,
so a tool that left it stale fails the build instead of shipping a binary
macOS refuses to start.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tooling import proc
from tooling.build.binary import FORMAT_BY_OS
from tooling.build.toolchain import Toolchain
from tooling.errors import BuildError
from tooling.targets import Target

# The profiles the tool strips: cargo's own defaults strip debug info in every profile without debug info,
# which among the built-in ones is release (and bench, which inherits it); dev and test keep theirs on purpose.
# A custom profile (e.g. `dist`, inheriting release) is stripped too.
UNSTRIPPED_PROFILES = frozenset({"dev", "test"})

# llvm-objcopy arguments per binary format. In a linked Mach-O the debug info is the STABS debug map (local
# symbols pointing at object files), which --strip-debug leaves; --discard-all removes it, as Apple's `strip -x`.
STRIP_ARGS: Mapping[str, tuple[str, ...]] = {
    "ELF": ("--strip-debug",),
    "PE": ("--strip-debug",),
    "MachO": ("--strip-debug", "--discard-all"),
}

STRIP_REMEDY = (
    "install LLVM's llvm-objcopy (Debian/Ubuntu: apt-get install llvm; macOS: brew install llvm) "
    "or rustup's (rustup component add llvm-tools)"
)


@dataclass(frozen=True)
class StripTool:
    """The objcopy the tool strips with: its path and a short name for the manifest."""

    path: str
    name: str  # llvm-objcopy | rust-objcopy


def tool_strips(profile: str) -> bool:
    """Does the tool strip binaries built with cargo profile `profile`? (pure)"""
    return profile not in UNSTRIPPED_PROFILES


def cargo_strip_env(profile: str) -> dict[str, str]:
    """The environment that stops cargo stripping, for profiles the tool strips itself (pure)."""
    if not tool_strips(profile):
        return {}
    return {f"CARGO_PROFILE_{profile.upper().replace('-', '_')}_STRIP": "false"}


def strip_argv(tool: StripTool, binary_format: str, source: Path, dest: Path) -> list[str]:
    """The command that writes a stripped copy of `source` to `dest` (pure)."""
    if binary_format not in STRIP_ARGS:
        raise BuildError(f"{source.name}: cannot strip a binary of format {binary_format}")
    return [tool.path, *STRIP_ARGS[binary_format], str(source), str(dest)]


def choose_tool(candidates: Sequence[tuple[str, str | None]]) -> StripTool | None:
    """The first found of (name, path) candidates, in order of preference (pure)."""
    for name, path in candidates:
        if path:
            return StripTool(path, name)
    return None


def find_tool(toolchain: Toolchain, which: Callable[[str], str | None] = shutil.which) -> StripTool:
    """llvm-objcopy on PATH, else rustup's rust-objcopy in the chosen sysroot; BuildError when neither is here.

    llvm-objcopy comes first: rustup's rust-objcopy is the one that fails when llvm-tools is incomplete.
    """
    sysroot = toolchain.rustc.parent.parent
    rust_objcopy = sorted(sysroot.glob("lib/rustlib/*/bin/rust-objcopy"))
    tool = choose_tool(
        [("llvm-objcopy", which("llvm-objcopy")), ("rust-objcopy", str(rust_objcopy[0]) if rust_objcopy else None)]
    )
    if tool is None:
        raise BuildError("stripping the release binaries needs llvm-objcopy, which is not installed", hint=STRIP_REMEDY)
    return tool


def strip_binary(tool: StripTool, binary_format: str, built: Path, dest: Path, runner: proc.Runner) -> None:
    """Write a stripped copy of `built` to `dest`; a failing tool is a BuildError, not a warning."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    result = runner.run(strip_argv(tool, binary_format, built, dest), capture=True, check=False)
    if not result.ok or not dest.is_file():
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise BuildError(f"{tool.name} could not strip {built.name}: {detail[0]}", hint=STRIP_REMEDY)


def target_format(target: Target) -> str:
    """The binary format a target's executables have (pure)."""
    return FORMAT_BY_OS[target.os]

"""The target table (resources/targets.toml) and selection by pattern."""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass
from functools import cache
from typing import Any

from tooling import resources
from tooling.errors import TargetError

BUILDERS = ("cargo-zigbuild", "cargo-xwin", "cargo")
SMOKE_METHODS = ("native", "qemu-user", "wine", "structural")
ARCHIVE_FORMATS = ("tar.gz", "tar.xz", "tar.zst", "zip")


@dataclass(frozen=True)
class Target:
    """One row of the target table."""

    triple: str
    os: str
    arch: str
    libc: str
    exe_suffix: str
    archive: str
    builder: str
    runner: str
    smoke: str
    glibc_floor: bool = False
    macos_min: str | None = None
    build_std_flags: tuple[str, ...] = ()
    ci_packages: tuple[str, ...] = ()  # Debian/Ubuntu packages an x86_64 Linux CI runner needs for the smoke run
    qemu_sysroot: str = ""  # the libc root qemu-user is given with -L ("": none, a static binary)
    smoke_runner: str = ""  # a runner that runs the CI-built binary natively ("": none)

    @property
    def is_windows(self) -> bool:
        return self.os == "windows"

    @property
    def is_macos(self) -> bool:
        return self.os == "macos"

    def executable(self, binary: str) -> str:
        """File name of `binary` as built for this target."""
        return binary + self.exe_suffix


@dataclass(frozen=True)
class Runner:
    """One GitHub Actions runner label the table uses, with the machine behind it."""

    label: str
    os: str
    arch: str


def _row_to_target(row: dict[str, Any]) -> Target:
    fields = {key.replace("-", "_"): value for key, value in row.items()}
    fields["build_std_flags"] = tuple(fields.get("build_std_flags", ()))
    fields["ci_packages"] = tuple(fields.get("ci_packages", ()))
    target = Target(**fields)
    if target.builder not in BUILDERS:
        raise ValueError(f"{target.triple}: unknown builder {target.builder!r}")
    if target.smoke not in SMOKE_METHODS:
        raise ValueError(f"{target.triple}: unknown smoke method {target.smoke!r}")
    if target.archive not in ARCHIVE_FORMATS:
        raise ValueError(f"{target.triple}: unknown archive format {target.archive!r}")
    return target


@cache
def _table() -> dict[str, Any]:
    return tomllib.loads(resources.read_text("targets.toml"))


@cache
def all_targets() -> tuple[Target, ...]:
    """Every known target, in table order."""
    return tuple(_row_to_target(row) for row in _table()["target"])


@cache
def all_runners() -> tuple[Runner, ...]:
    """Every runner label the table uses, with its OS and architecture."""
    return tuple(Runner(**row) for row in _table()["runner"])


def get_runner(label: str) -> Runner:
    """The runner row for `label`, or a TargetError listing the known ones."""
    for runner in all_runners():
        if runner.label == label:
            return runner
    raise TargetError(
        f"unknown CI runner label {label!r}",
        hint="add it to the [[runner]] rows of tooling/resources/targets.toml; known: "
        + ", ".join(r.label for r in all_runners()),
    )


def triples() -> tuple[str, ...]:
    return tuple(target.triple for target in all_targets())


def get_target(triple: str) -> Target:
    """The row for `triple`, or a TargetError listing the known ones."""
    for target in all_targets():
        if target.triple == triple:
            return target
    raise TargetError(
        f"unknown target triple {triple!r}",
        hint="known targets: " + ", ".join(triples()),
    )


def select_targets(patterns: list[str] | tuple[str, ...]) -> tuple[Target, ...]:
    """Targets matching any of the shell-style `patterns`, in table order.

    A pattern that matches nothing is an error rather than silently ignored:
    a typo in a target list must not quietly drop a platform from a release.
    A pattern starting with '!' removes what it matches. A selection that
    ends up empty is an error too: a release of nothing would "succeed".
    """
    if not patterns:
        raise TargetError(
            "no target pattern given: nothing would be built",
            hint='name triples or patterns, e.g. "*" for every target or "*-linux-*" for Linux',
        )
    chosen: set[str] = set()
    for pattern in patterns:
        exclude = pattern.startswith("!")
        glob = pattern[1:] if exclude else pattern
        matched = {triple for triple in triples() if fnmatch.fnmatchcase(triple, glob)}
        if not matched:
            raise TargetError(
                f"target pattern {pattern!r} matches no known target",
                hint="known targets: " + ", ".join(triples()),
            )
        chosen = chosen - matched if exclude else chosen | matched
    if not chosen:
        raise TargetError(
            f"the target patterns {', '.join(repr(p) for p in patterns)} select no target",
            hint=_empty_selection_hint(patterns),
        )
    return tuple(target for target in all_targets() if target.triple in chosen)


def _empty_selection_hint(patterns: list[str] | tuple[str, ...]) -> str:
    """Why a selection came out empty: only exclusions, or exclusions that remove every inclusion."""
    if all(pattern.startswith("!") for pattern in patterns):
        return f'"!" patterns only remove targets: start with what to include, e.g. ["*", "{patterns[0]}"]'
    return 'the "!" patterns remove every target the others select: narrow the exclusions'

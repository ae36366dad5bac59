"""The command-line surface of a binary: subcommands and flags, read from clap-style `--help`.

`parse_help` and `diff_surfaces` are pure; `capture_surface` runs
`<bin> [sub ...] --help` recursively through tooling.proc.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tooling import proc
from tooling.errors import CommandError, VersionError

# Section headings: clap 4 ("Commands:", "Options:") and clap 2/3 ("SUBCOMMANDS:", "FLAGS:"), plus custom ones.
_HEADING = re.compile(r"^(?P<title>[A-Za-z][A-Za-z0-9 _-]*):\s*$")
_COMMAND_HEADINGS = {"commands", "subcommands"}
_ARGUMENT_HEADINGS = {"arguments", "args"}
_ENTRY = re.compile(r"^(?P<indent> {1,8})(?P<spec>\S.*?)(?: {2,}(?P<description>\S.*))?$")
_OPTION_SPEC = re.compile(
    r"^(?:-(?P<short>[A-Za-z0-9?]))?(?:,\s*)?(?:--(?P<long>[A-Za-z0-9][A-Za-z0-9_-]*))?(?P<value>[ =].*)?$"
)
_SIMILAR = 0.75  # description similarity that turns a removal plus an addition into a rename
MAX_DEPTH = 6


@dataclass(frozen=True)
class Option:
    """One flag or option: `-u, --upper` or `--format <FORMAT>`."""

    long: str | None
    short: str | None
    value: str | None
    description: str

    @property
    def key(self) -> str:
        return f"--{self.long}" if self.long else f"-{self.short}"

    @property
    def spelling(self) -> str:
        names = ", ".join(n for n in (f"-{self.short}" if self.short else None, self.key if self.long else None) if n)
        return f"{names} {self.value}" if self.value else names


@dataclass(frozen=True)
class HelpPage:
    """What one `--help` output lists."""

    commands: Mapping[str, str] = field(default_factory=dict)  # name -> description
    arguments: Mapping[str, str] = field(default_factory=dict)  # <NAME> or [NAME]... -> description
    options: Mapping[str, Option] = field(default_factory=dict)  # key -> option


Surface = Mapping[tuple[str, ...], HelpPage]  # command path (() for the top level) -> its help page


def _parse_option(spec: str, description: str) -> Option | None:
    match = _OPTION_SPEC.match(spec.strip())
    if not match or not (match["short"] or match["long"]):
        return None
    value = (match["value"] or "").strip().lstrip("=") or None
    return Option(match["long"], match["short"], value, description)


def parse_help(text: str) -> HelpPage:
    """Commands, arguments and options of one clap-style help text (short or long form)."""
    commands: dict[str, str] = {}
    arguments: dict[str, str] = {}
    options: dict[str, Option] = {}
    section: str | None = None
    pending: tuple[str, str] | None = None  # (section, spec) of an entry whose description comes next
    descriptions: dict[tuple[str, str], list[str]] = {}
    order: list[tuple[str, str]] = []
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading and not line.startswith(" "):
            title = heading["title"].strip().lower()
            if title in _COMMAND_HEADINGS:
                section = "commands"
            elif title in _ARGUMENT_HEADINGS:
                section = "arguments"
            elif title.startswith("usage"):
                section = None
            else:
                section = "options"  # "Options:", "FLAGS:", custom headings such as "Output:"
            pending = None
            continue
        if section is None or not line.strip():
            continue
        entry = _ENTRY.match(line)
        indent = len(line) - len(line.lstrip(" "))
        is_continuation = pending is not None and indent > 8
        if entry and not is_continuation and indent <= 8:
            spec = entry["spec"].strip()
            if section == "options" and not spec.startswith("-"):
                continue  # prose inside an options section
            key = (section, spec)
            order.append(key)
            descriptions[key] = [entry["description"] or ""]
            pending = key
        elif pending is not None:
            descriptions[pending].append(line.strip())
    for key in order:
        kind, spec = key
        description = " ".join(part for part in descriptions[key] if part).strip()
        if kind == "commands":
            name, _, _aliases = spec.partition(" ")
            commands[name.rstrip(",")] = description
        elif kind == "arguments":
            arguments[spec] = description
        else:
            option = _parse_option(spec, description)
            if option:
                options[option.key] = option
    return HelpPage(commands, arguments, options)


def capture_surface(binary: Path, *, timeout: float = 30) -> dict[tuple[str, ...], HelpPage]:
    """Run `binary --help`, then `binary <sub> --help` for every subcommand, recursively."""
    surface: dict[tuple[str, ...], HelpPage] = {}
    queue: list[tuple[str, ...]] = [()]
    while queue:
        path = queue.pop(0)
        result = proc.read([str(binary), *path, "--help"], check=False, timeout=timeout)
        if not result.ok:
            raise CommandError(
                f"`{binary.name} {' '.join([*path, '--help'])}` failed with exit code {result.returncode}",
                hint="the CLI comparison reads clap-style --help output; is this the right binary?",
            )
        page = parse_help(result.stdout)
        surface[path] = page
        if len(path) < MAX_DEPTH:
            queue.extend((*path, name) for name in page.commands if name != "help")
    return surface


# --- comparing two surfaces ---------------------------------------------------


@dataclass(frozen=True)
class SurfaceChange:
    """One difference between two CLI surfaces."""

    kind: str  # removed-command, renamed-command, removed-option, renamed-option, removed-short,
    # value-changed, added-command, added-option
    command: str  # "crcsum check" (the program name first)
    old: str
    new: str
    breaking: bool

    def describe(self) -> str:
        where = f"`{self.command}`"
        return {
            "removed-command": f"subcommand `{self.old}` was removed from {where}",
            "renamed-command": f"subcommand `{self.old}` of {where} was renamed to `{self.new}`",
            "removed-option": f"option `{self.old}` was removed from {where}",
            "renamed-option": f"option `{self.old}` of {where} was renamed to `{self.new}`",
            "removed-short": f"short option `{self.old}` of {where} was removed (use `{self.new}`)",
            "value-changed": f"option `{self.old}` of {where} changed to `{self.new}`",
            "added-command": f"subcommand `{self.new}` was added to {where}",
            "added-option": f"option `{self.new}` was added to {where}",
        }[self.kind]

    def migration_step(self) -> str:
        """What a user of the old CLI has to change."""
        old_call = f"{self.command} {self.old}"
        return {
            "removed-command": f"`{old_call}` no longer exists: remove it from scripts or use another subcommand.",
            "renamed-command": f"replace `{old_call}` with `{self.command} {self.new}`.",
            "removed-option": f"`{old_call}` no longer exists: drop the option from your invocations.",
            "renamed-option": f"replace `{self.old}` with `{self.new}` in `{self.command}` invocations.",
            "removed-short": f"replace `{self.old}` with `{self.new}` in `{self.command}` invocations.",
            "value-changed": f"`{self.command}`: `{self.old}` is now `{self.new}`; adjust its argument.",
        }.get(self.kind, "")


def _similar(a: str, b: str) -> bool:
    return bool(a) and bool(b) and difflib.SequenceMatcher(None, a.lower(), b.lower()).ratio() >= _SIMILAR


def _pair_renames(removed: dict[str, str], added: dict[str, str]) -> list[tuple[str, str]]:
    """(old, new) pairs whose descriptions are alike: a rename rather than a removal and an addition."""
    pairs = []
    free = dict(added)
    for old, description in removed.items():
        match = next((new for new, other in free.items() if _similar(description, other)), None)
        if match is not None:
            pairs.append((old, match))
            del free[match]
    return pairs


def _diff_options(command: str, old: HelpPage, new: HelpPage) -> list[SurfaceChange]:
    changes: list[SurfaceChange] = []
    removed = {k: o.description for k, o in old.options.items() if k not in new.options}
    added = {k: o.description for k, o in new.options.items() if k not in old.options}
    # A short flag that lost its long name (or vice versa) is the same option under its other name.
    for key in list(removed):
        short = old.options[key].short
        twin = next((k for k, o in new.options.items() if k in added and short and o.short == short), None)
        if twin:
            removed.pop(key)
            added.pop(twin)
            changes.append(SurfaceChange("renamed-option", command, key, twin, True))
    for old_key, new_key in _pair_renames(removed, added):
        removed.pop(old_key)
        added.pop(new_key)
        changes.append(
            SurfaceChange("renamed-option", command, old.options[old_key].spelling, new.options[new_key].spelling, True)
        )
    for key in removed:
        changes.append(SurfaceChange("removed-option", command, old.options[key].spelling, "", True))
    for key, before in old.options.items():
        after = new.options.get(key)
        if after is None:
            continue
        if before.short and before.short != after.short:
            changes.append(SurfaceChange("removed-short", command, f"-{before.short}", after.key, True))
        if (before.value is None) != (after.value is None):
            changes.append(SurfaceChange("value-changed", command, before.spelling, after.spelling, True))
    for key in added:
        changes.append(SurfaceChange("added-option", command, "", new.options[key].spelling, False))
    return changes


def diff_surfaces(old: Surface, new: Surface, program: str) -> list[SurfaceChange]:
    """Every difference from `old` to `new`; removals and renames are breaking."""
    changes: list[SurfaceChange] = []
    renamed_paths: dict[tuple[str, ...], tuple[str, ...]] = {}
    for path in sorted(old):
        if path not in new:
            continue
        command = " ".join((program, *path))
        before, after = old[path], new[path]
        removed = {n: d for n, d in before.commands.items() if n not in after.commands}
        added = {n: d for n, d in after.commands.items() if n not in before.commands}
        for old_name, new_name in _pair_renames(removed, added):
            removed.pop(old_name)
            added.pop(new_name)
            renamed_paths[(*path, old_name)] = (*path, new_name)
            changes.append(SurfaceChange("renamed-command", command, old_name, new_name, True))
        changes += [SurfaceChange("removed-command", command, name, "", True) for name in removed]
        changes += [SurfaceChange("added-command", command, "", name, False) for name in added]
        changes += _diff_options(command, before, after)
    for old_path, new_path in renamed_paths.items():
        if old_path in old and new_path in new:
            changes += _diff_options(" ".join((program, *new_path)), old[old_path], new[new_path])
    return changes


def breaking_changes(changes: Sequence[SurfaceChange]) -> list[SurfaceChange]:
    return [change for change in changes if change.breaking]


def binary_problem(exists: bool, is_file: bool, executable: bool) -> str | None:
    """What keeps a path from being run as the binary to compare (None: nothing) (pure)."""
    if not exists:
        return "no such file"
    if not is_file:
        return "is not a file"
    if not executable:
        return "is not executable"
    return None


def check_cli_binary(path: Path, option: str) -> Path:
    """`path` itself when it can be run for its --help, else a VersionError naming `option` and the fix."""
    problem = binary_problem(path.exists(), path.is_file(), os.access(path, os.X_OK))
    if problem is None:
        return path
    fix = {
        "no such file": "pass the path of a built binary of the crate, e.g. target/release/<name>",
        "is not a file": "pass the binary inside that folder, e.g. target/release/<name>",
        "is not executable": f"make it executable (chmod +x {path}), or pass the binary cargo built",
    }[problem]
    raise VersionError(f"{option} {path}: {problem}", hint=fix)


def compare_cli(old: Path, new: Path, program: str) -> list[SurfaceChange]:
    """Every CLI difference between two binaries, from their --help output."""
    return diff_surfaces(capture_surface(old), capture_surface(new), program)

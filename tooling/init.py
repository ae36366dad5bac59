"""`python -m tooling init`: set a crate repository up for releases.

Writes [tool.release] into pyproject.toml (creating the file if absent and
keeping everything already there), the two-line noxfile.py and tasks.py that
import the sessions and tasks of the installed tool, and the GitHub workflows
of tooling.workflows (release.yml and the reusable release-build.yml).
Deciding what to write is pure (`planned_files`, `with_release_table`);
`apply` is the one place that writes. Running it twice changes nothing;
`--check` reports generated files that drifted from what this version writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError

from tooling import __version__, proc, resources, workflows
from tooling.errors import ConfigError
from tooling.files import write_atomic

# Generated file -> its template in tooling/resources/init/ (the workflows come from tooling.workflows).
GENERATED = {
    "noxfile.py": "noxfile.py.txt",
    "tasks.py": "tasks.py.txt",
}


@dataclass(frozen=True)
class FileState:
    """One file init manages: what it should hold and what it holds now."""

    path: str  # relative to the project root
    wanted: str
    current: str | None  # None: absent

    @property
    def status(self) -> str:
        if self.current is None:
            return "missing"
        return "current" if self.current == self.wanted else "drifted"


def generated_text(template: str) -> str:
    """A generated file's text for this version of the tool."""
    return resources.read_text(f"init/{template}").replace("@VERSION@", __version__)


def with_release_table(pyproject_text: str, crate: str) -> str:
    """pyproject.toml text with a [tool.release] table added; unchanged when one exists (pure)."""
    try:
        document = tomlkit.parse(pyproject_text)
    except TOMLKitError as error:
        raise ConfigError(f"pyproject.toml is not valid TOML: {error}", hint="fix it, then run init again") from error
    tool = document.get("tool")
    if tool is not None and "release" in tool:
        return pyproject_text
    table = tomlkit.table()
    table.add(tomlkit.comment("Release settings: `python -m tooling check` validates them."))
    table.add("crate", crate)
    table.add("targets", ["*"])
    if tool is None:
        tool = tomlkit.table(is_super_table=True)
        document.add("tool", tool)
    tool.add("release", table)
    return tomlkit.dumps(document)


def wanted_files(root: Path) -> dict[str, str]:
    """{path relative to `root`: the text this version writes there} for every generated file."""
    wanted = {relative: generated_text(template) for relative, template in GENERATED.items()}
    return {**wanted, **workflows.workflow_files(workflows.settings_for(root))}


def planned_files(root: Path) -> list[FileState]:
    """Every generated file with its wanted and current text."""
    states = []
    for relative, text in wanted_files(root).items():
        path = root / relative
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        states.append(FileState(relative, text, current))
    return states


def find_crate(root: Path) -> str:
    """The crate's Cargo.toml relative to `root` (the repository root is where init runs)."""
    if (root / "Cargo.toml").is_file():
        return "Cargo.toml"
    raise ConfigError(
        f"no Cargo.toml in {root}",
        hint="run init at the root of the crate's repository (where Cargo.toml is)",
    )


def apply(root: Path, runner: proc.Runner, *, force: bool = False) -> list[tuple[str, str]]:
    """Write what is missing; (path, what happened) for each managed file.

    A generated file that was edited since is left alone unless `force`.
    """
    report = []
    pyproject = root / "pyproject.toml"
    old = pyproject.read_text(encoding="utf-8") if pyproject.is_file() else ""
    new = with_release_table(old, find_crate(root))
    if new == old:
        report.append(("pyproject.toml", "kept ([tool.release] exists)"))
    elif runner.allows(proc.Effect.LOCAL, f"write [tool.release] into {pyproject}"):
        write_atomic(pyproject, new)
        report.append(("pyproject.toml", "added [tool.release]"))
    drifted = [state.path for state in planned_files(root) if state.status == "drifted"]
    if drifted and not force:
        raise ConfigError(
            "these generated files were edited since init wrote them: " + ", ".join(drifted),
            hint="keep your edits (nothing was overwritten), or run init --force to write them again",
        )
    for state in planned_files(root):
        if state.status == "current":
            report.append((state.path, "current"))
        elif runner.allows(proc.Effect.LOCAL, f"write {root / state.path}"):
            write_atomic(root / state.path, state.wanted)
            report.append((state.path, "written" if state.status == "missing" else "rewritten (--force)"))
    return report


def check(root: Path) -> list[FileState]:
    """Generated files that are missing or differ from what this version writes; [tool.release] must exist."""
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8") if pyproject.is_file() else ""
    problems = [state for state in planned_files(root) if state.status != "current"]
    if not text or with_release_table(text, "Cargo.toml") != text:
        problems.insert(0, FileState("pyproject.toml", "[tool.release]", None))
    return problems

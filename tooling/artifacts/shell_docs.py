"""Shell completions and man pages, printed once by the release's own binary and shipped in every archive.

A project names the commands (tool.release.completions and tool.release.man,
e.g. ["{bin}", "completions", "{shell}"]); the archive step runs them with a
binary of this release that runs natively here and puts the output under
`complete/` and `man/` of every archive, so each platform's archive holds
the same files and the channels can install them. The archives stay
reproducible: the files are plain text written by the same binary each time.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tooling import proc, ui
from tooling.build.smoke import smoke_method
from tooling.errors import BuildError
from tooling.targets import Target

SHELLS = ("bash", "zsh", "fish", "powershell")
# Where each file goes inside an archive (relative to its top folder), named as each shell looks for it.
COMPLETION_FILES = {
    "bash": "complete/{bin}.bash",
    "zsh": "complete/_{bin}",
    "fish": "complete/{bin}.fish",
    "powershell": "complete/_{bin}.ps1",
}
MAN_FILE = "man/{bin}.1"


@dataclass(frozen=True)
class DocCommand:
    """One file to generate: where it goes in the archive and the command that prints it."""

    path: str  # relative to the archive's top folder
    argv: tuple[str, ...]


def _fill(template: Sequence[str], binary: Path, shell: str = "") -> tuple[str, ...]:
    return tuple(arg.replace("{bin}", str(binary)).replace("{shell}", shell) for arg in template)


def doc_commands(
    binaries: Mapping[str, Path], completions: Sequence[str], man: Sequence[str]
) -> tuple[DocCommand, ...]:
    """Every file the configured commands make, for each binary {name: runnable path} (pure)."""
    commands = []
    for name, path in sorted(binaries.items()):
        if completions:
            for shell in SHELLS:
                commands.append(DocCommand(COMPLETION_FILES[shell].format(bin=name), _fill(completions, path, shell)))
        if man:
            commands.append(DocCommand(MAN_FILE.format(bin=name), _fill(man, path)))
    return tuple(commands)


def runnable_target(targets: Sequence[Target], host_os: str, host_arch: str) -> Target | None:
    """The first of `targets` whose binaries run natively on this host, or None."""
    return next((t for t in targets if smoke_method(t, host_os, host_arch) == "native"), None)


def generate(commands: Sequence[DocCommand], into: Path, runner: proc.Runner) -> dict[str, Path]:
    """Run each command, write its output under `into`; {path inside the archive: file}.

    An empty output is an error: a completions command that prints nothing is
    almost always a wrong argument, and an empty file would ship silently.
    """
    made: dict[str, Path] = {}
    with ui.group(f"shell completions and man pages: {len(commands)} file(s)"):
        for command in commands:
            result = runner.run(command.argv, effect=proc.Effect.READ, capture=True, check=False)
            if result.returncode != 0 or not result.stdout.strip():
                raise BuildError(
                    f"`{shlex.join(command.argv)}` "
                    + (f"failed ({result.returncode})" if result.returncode else "printed nothing")
                    + f" while making {command.path}: {result.stderr.strip()[-500:]}",
                    hint="check tool.release.completions and tool.release.man: run the command by hand with "
                    "the built binary",
                )
            destination = into / command.path
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_text(result.stdout, encoding="utf-8")
            made[command.path] = destination
    return made

"""The one place where subprocesses are started, and where dry-run is decided.

Every command goes through a `Runner`: argv lists only (never a shell), an
explicit environment, the command echoed as `+ <command>` with secrets
masked. Each command states its effect: READ (probes: they run even in a dry
run), LOCAL (changes files on this machine) or REMOTE (changes something
elsewhere: a push, an upload). A dry-run Runner echoes LOCAL and REMOTE
commands and runs none of them; code that writes files itself asks
`runner.allows(effect, what)` first. The Runner is passed down from the entry
point: there is no global dry-run switch.
"""

from __future__ import annotations

import enum
import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tooling.errors import CommandError

# Environment variables whose values are never printed.
_SECRET_NAME_PARTS = ("TOKEN", "SECRET", "PASSWORD", "PASSPHRASE", "PRIVATE", "API_KEY")


class Effect(enum.Enum):
    """What a command or a write does to the world."""

    READ = "read"  # looks only: runs in a dry run too
    LOCAL = "local"  # writes files on this machine
    REMOTE = "remote"  # changes something elsewhere (push, upload, publish)


@dataclass(frozen=True)
class Result:
    """What a finished (or dry-run) command left behind."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str = ""
    stderr: str = ""
    skipped: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(part in upper for part in _SECRET_NAME_PARTS)


def mask(text: str, secrets: Sequence[str]) -> str:
    """Replace every secret value in `text` with ***."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _shown_value(name: str, value: str, base_env: Mapping[str, str]) -> str:
    """PATH-like values that extend the inherited one are shown as `<new>:$NAME`."""
    inherited = base_env.get(name, "")
    if inherited and value != inherited and value.endswith(os.pathsep + inherited):
        return value[: -len(inherited)] + "$" + name
    return value


def describe(
    argv: Sequence[str],
    env_changes: Mapping[str, str] | None = None,
    secrets: Sequence[str] = (),
    base_env: Mapping[str, str] | None = None,
) -> str:
    """The echo line for a command: `+ KEY=value ... argv`, secrets masked."""
    changes = env_changes or {}
    base = os.environ if base_env is None else base_env
    hidden = [value for name, value in changes.items() if is_secret_name(name)]
    parts = [f"{name}={_shown_value(name, value, base)}" for name, value in sorted(changes.items())]
    line = "+ " + " ".join([*(shlex.quote(p) for p in parts), shlex.join(argv)])
    return mask(line, [*secrets, *hidden])


@dataclass(frozen=True)
class Runner:
    """Runs commands, or in a dry run only shows the ones that would change something."""

    dry_run: bool = False

    def allows(self, effect: Effect, what: str = "") -> bool:
        """May an action with `effect` happen? In a dry run a changing one is shown as `would <what>`."""
        if effect is Effect.READ or not self.dry_run:
            return True
        if what:
            print(f"would {what} (dry run)", file=sys.stderr, flush=True)
        return False

    def run(
        self,
        argv: Sequence[str],
        *,
        effect: Effect = Effect.LOCAL,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        capture: bool = False,
        check: bool = True,
        secrets: Sequence[str] = (),
        timeout: float | None = None,
        echo: bool = True,
        stdin_text: str | None = None,
    ) -> Result:
        """Run `argv` (os.environ updated by `env`) unless this is a dry run and `effect` changes something."""
        argv = tuple(str(arg) for arg in argv)
        if effect is not Effect.READ and self.dry_run:
            print(describe(argv, dict(env or {}), secrets) + "   (dry run: not run)", file=sys.stderr, flush=True)
            return Result(argv, 0, skipped=True)
        return _execute(
            argv,
            env=env,
            cwd=cwd,
            capture=capture,
            check=check,
            secrets=secrets,
            timeout=timeout,
            echo=echo,
            stdin_text=stdin_text,
        )


def read(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    capture: bool = True,
    check: bool = True,
    timeout: float | None = None,
    echo: bool = False,
    stdin_text: str | None = None,
) -> Result:
    """Run a command that only looks (a probe, a query, a render to stdout): it runs in dry runs too."""
    return _execute(
        tuple(str(arg) for arg in argv),
        env=env,
        cwd=cwd,
        capture=capture,
        check=check,
        secrets=(),
        timeout=timeout,
        echo=echo,
        stdin_text=stdin_text,
    )


def _execute(
    argv: tuple[str, ...],
    *,
    env: Mapping[str, str] | None,
    cwd: Path | None,
    capture: bool,
    check: bool,
    secrets: Sequence[str],
    timeout: float | None,
    echo: bool,
    stdin_text: str | None,
) -> Result:
    """Start the process: the only call of subprocess in the tool."""
    changes = dict(env or {})
    if echo:
        print(describe(argv, changes, secrets), file=sys.stderr, flush=True)
    full_env = {**os.environ, **changes}
    all_secrets = [*secrets, *(v for k, v in changes.items() if is_secret_name(k))]
    try:
        completed = subprocess.run(
            argv,
            env=full_env,
            cwd=cwd,
            input=stdin_text,
            capture_output=capture,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as error:
        raise CommandError(
            f"cannot run {argv[0]!r}: it is not installed or not on PATH",
            hint="run `nox -s doctor` to see what this machine is missing",
        ) from error
    except subprocess.TimeoutExpired as error:
        raise CommandError(f"{shlex.join(argv)} did not finish within {timeout:g} s") from error
    result = Result(argv, completed.returncode, completed.stdout or "", completed.stderr or "")
    if check and not result.ok:
        detail = mask((result.stderr or result.stdout).strip()[-2000:], all_secrets)
        raise CommandError(
            f"{mask(shlex.join(argv), all_secrets)} failed with exit code {result.returncode}"
            + (f":\n{detail}" if detail else "")
        )
    return result

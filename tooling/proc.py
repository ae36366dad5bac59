"""The one place where subprocesses are started.

Every command goes through `run`: argv lists only (never a shell), an explicit
environment, the command echoed as `+ <command>` with secrets masked, and
dry-run handled here and nowhere else. Read-only probes pass `mutates=False`
so they still run under dry-run; everything else is only echoed.
"""

from __future__ import annotations

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

_dry_run = False


def set_dry_run(enabled: bool) -> None:
    """Turn dry-run on or off for every later `run` call."""
    global _dry_run
    _dry_run = enabled


def is_dry_run() -> bool:
    return _dry_run


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


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    capture: bool = False,
    check: bool = True,
    mutates: bool = True,
    secrets: Sequence[str] = (),
    timeout: float | None = None,
    echo: bool = True,
    stdin_text: str | None = None,
) -> Result:
    """Run `argv` with os.environ updated by `env`.

    capture: return stdout/stderr instead of streaming them to the terminal.
    check: raise CommandError on a non-zero exit.
    mutates: False for read-only probes, which run even under dry-run.
    """
    argv = tuple(str(arg) for arg in argv)
    changes = dict(env or {})
    if echo:
        print(describe(argv, changes, secrets), file=sys.stderr, flush=True)
    if _dry_run and mutates:
        return Result(argv, 0, skipped=True)
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

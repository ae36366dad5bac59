"""The one place where subprocesses are started, and where dry-run is decided.

Every command goes through a `Runner`: argv lists only (never a shell), an
explicit environment, the command echoed as `+ <command>` with secrets
masked. Each command states its effect: READ (probes: they run even in a dry
run), LOCAL (changes files on this machine) or REMOTE (changes something
elsewhere: a push, an upload). A dry-run Runner echoes LOCAL and REMOTE
commands and runs none of them; code that writes files itself asks
`runner.allows(effect, what)` first. The Runner is passed down from the entry
point: there is no global dry-run switch.

Masking. `mask(text, secrets)` looks for each secret as given, stripped of
surrounding blanks, line by line when it spans lines (a key file's text), and
percent-encoded as it appears in a URL. A value of MIN_SECRET_LENGTH (4)
characters or more is replaced by `***` wherever it occurs, inside words,
paths and URLs included (`https://x:ghp_tok3n@host` -> `https://x:***@host`).
A shorter value is replaced only where it stands as a whole token, with no
letter, digit or underscore right before or after it: replacing it inside
words would spell it out by its holes (secret "a": "a banana" becomes
"*** banana", never "*** b***n***n***"). Short secrets should not exist:
passphrases shorter than MIN_SECRET_LENGTH are refused where they are read
(tooling/artifacts/sign.py), and `describe` shows an environment variable
with a secret-looking name as `NAME=***` whatever its value's length.

Signals. Children start in a session (and process group) of their own, so a
Ctrl-C at the terminal reaches only this process, which decides what the
children get (and none has a controlling terminal, so none can prompt, which
release automation must never do anyway). When waiting for a child ends in
KeyboardInterrupt (SIGINT) or entry.Terminated (SIGTERM, see
tooling/entry.py), the child's whole group gets that signal,
STOP_GRACE_SECONDS to exit, then SIGKILL; the exception then unwinds on to
the boundary, running every `finally` on its way (temporary files, private
key folders). The exception reaches the main thread only, so children that
other threads wait for (a thread pool's signature checks) get the signal at
once from the handler (forward_stop_to_worker_children). A timeout stops the
group the same way.
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

from tooling.errors import CommandError

# Environment variables whose values are never printed.
_SECRET_NAME_PARTS = ("TOKEN", "SECRET", "PASSWORD", "PASSPHRASE", "PRIVATE", "API_KEY")

# Secrets at least this long are masked wherever they occur; shorter ones only as whole tokens.
MIN_SECRET_LENGTH = 4
MASK = "***"

# How long a child's process group has to exit after SIGINT/SIGTERM before it is killed. It stays
# well below the grace periods CI systems give us (docker stop: 10 s), so we finish our own cleanup.
STOP_GRACE_SECONDS = 5.0


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


# --- masking -----------------------------------------------------------------------


def secret_forms(secret: str) -> set[str]:
    """The spellings of `secret` that output may hold: as given, stripped, per line, and URL-encoded (pure)."""
    plain = {secret, secret.strip(), *(line.strip() for line in secret.splitlines())}
    plain.discard("")
    encoded = {form for value in plain for form in (quote(value, safe=""), quote_plus(value, safe=""))}
    return plain | encoded


def _form_pattern(form: str) -> str:
    if len(form) >= MIN_SECRET_LENGTH:
        return re.escape(form)
    # A short value counts only as a whole token: inside a word its holes would spell it out.
    return rf"(?<!\w){re.escape(form)}(?!\w)"


def mask_pattern(secrets: Iterable[str]) -> re.Pattern[str] | None:
    """One regular expression matching every form of every secret, longest first (pure); None when none."""
    forms = {form for secret in secrets if secret for form in secret_forms(secret)}
    if not forms:
        return None
    # Longest first: where one secret contains another, the whole of it is replaced.
    ordered = sorted(forms, key=lambda form: (-len(form), form))
    return re.compile("|".join(_form_pattern(form) for form in ordered))


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced by *** (the rule is in this module's docstring)."""
    pattern = mask_pattern(secrets)
    # One pass: a replacement is never searched again, so `***` cannot be masked into something longer.
    return pattern.sub(MASK, text) if pattern else text


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
    # A secret-named variable shows no value at all, so even a short one is not spelt out.
    parts = [
        f"{name}={MASK}" if is_secret_name(name) else shlex.quote(f"{name}={_shown_value(name, value, base)}")
        for name, value in sorted(changes.items())
    ]
    line = "+ " + " ".join([*parts, shlex.join(argv)])
    return mask(line, [*secrets, *hidden])


# --- stopping children ----------------------------------------------------------------


def stop_signal_for(error: BaseException) -> signal.Signals:
    """The signal a child gets when waiting for it ended in `error` (pure).

    Ctrl-C is passed on as SIGINT (cargo then stops like at a terminal);
    anything else, SIGTERM included, as SIGTERM.
    """
    return signal.SIGINT if isinstance(error, KeyboardInterrupt) else signal.SIGTERM


def _signal_group(leader: int, signum: int) -> None:
    """Send `signum` to the process group `leader` started (start_new_session made it the group's id)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone already
        os.killpg(leader, signum)


# The children running now, each with the thread waiting for it. A stop signal raises its exception in the
# main thread only, so the children other threads wait for (signature checks run in a thread pool) get
# the signal from forward_stop_to_worker_children. Reentrant: the signal handler runs on the main thread,
# possibly while that thread holds the lock.
_running: dict[int, int] = {}
_running_lock = threading.RLock()


def forward_stop_to_worker_children(signum: int) -> None:
    """Pass `signum` to the process group of every child a thread other than the main one waits for.

    The main thread's own child is stopped by its `_execute` as the stop
    unwinds it (with the grace period and SIGKILL), so it is not signalled twice.
    """
    main = threading.main_thread().ident
    with _running_lock:
        leaders = [pid for pid, waiter in _running.items() if waiter != main]
    for leader in leaders:
        _signal_group(leader, signum)


def stop_process_group(process: subprocess.Popen[str], signum: int, grace: float = STOP_GRACE_SECONDS) -> None:
    """Stop a child and everything it started: `signum` to its group, `grace` seconds, then SIGKILL."""
    _signal_group(process.pid, signum)
    try:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    finally:
        # Even when a signal cuts the grace short. Grandchildren (rustc under cargo, a linker under
        # rustc) may outlive the leader: none may keep running, or the next run waits on cargo's lock.
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()


# --- running ---------------------------------------------------------------------------


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
        progress: Callable[[str], bool] | None = None,
    ) -> Result:
        """Run `argv` (os.environ updated by `env`) unless this is a dry run and `effect` changes something.

        progress: capture stdout and stderr together (in Result.stdout) and show, as they come, the
        lines it accepts, so a long quiet command still tells people how far it got.
        """
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
            progress=progress,
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


def _cannot_start(argv: tuple[str, ...], cwd: Path | None, error: OSError) -> CommandError:
    """A readable error for a command that could not be started at all."""
    if cwd is not None and not Path(cwd).is_dir():
        return CommandError(f"cannot run {argv[0]!r} in {cwd}: the folder does not exist")
    if isinstance(error, FileNotFoundError):
        return CommandError(
            f"cannot run {argv[0]!r}: it is not installed or not on PATH",
            hint="run `nox -s doctor` to see what this machine is missing",
        )
    return CommandError(
        f"cannot run {argv[0]!r}: {error.strerror or error}",
        hint="check that it is an executable program for this machine (for a file: chmod +x)",
    )


def _follow(process: subprocess.Popen[str], show: Callable[[str], bool], stdin_text: str | None) -> str:
    """All of the process's output, showing the lines `show` accepts as they arrive."""
    if stdin_text is not None and process.stdin is not None:
        process.stdin.write(stdin_text)
        process.stdin.close()
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if show(line):
            print(line.rstrip("\n"), file=sys.stderr, flush=True)
    process.wait()
    return "".join(lines)


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
    progress: Callable[[str], bool] | None = None,
) -> Result:
    """Start the process: the only call of subprocess in the tool."""
    changes = dict(env or {})
    if echo:
        print(describe(argv, changes, secrets), file=sys.stderr, flush=True)
    full_env = {**os.environ, **changes}
    all_secrets = [*secrets, *(v for k, v in changes.items() if is_secret_name(k))]
    pipe = subprocess.PIPE
    try:
        process = subprocess.Popen(
            argv,
            env=full_env,
            cwd=cwd,
            stdin=pipe if stdin_text is not None else None,
            stdout=pipe if capture or progress else None,
            stderr=(subprocess.STDOUT if progress else pipe) if capture or progress else None,
            text=True,
            # Its own session and process group: signals reach it only through us (stop_process_group).
            start_new_session=True,
        )
    except OSError as error:
        raise _cannot_start(argv, cwd, error) from error
    with _running_lock:
        _running[process.pid] = threading.get_ident()
    try:
        if progress is not None:
            stdout, stderr = _follow(process, progress, stdin_text), ""
        else:
            stdout, stderr = process.communicate(stdin_text, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        stop_process_group(process, signal.SIGTERM)
        raise CommandError(f"{mask(shlex.join(argv), all_secrets)} did not finish within {timeout:g} s") from error
    except BaseException as stop:
        # Ctrl-C, SIGTERM (entry.Terminated) or anything else ends our wait: the child must not outlive it.
        stop_process_group(process, stop_signal_for(stop))
        raise
    finally:
        with _running_lock:
            _running.pop(process.pid, None)
    result = Result(argv, process.returncode, stdout or "", stderr or "")
    if check and not result.ok:
        detail = mask((result.stderr or result.stdout).strip()[-2000:], all_secrets)
        raise CommandError(
            f"{mask(shlex.join(argv), all_secrets)} failed with exit code {result.returncode}"
            + (f":\n{detail}" if detail else "")
        )
    return result

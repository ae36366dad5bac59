"""The one error boundary every entry point passes through.

`python -m tooling`, each invoke task and (through `python -m tooling`) each
nox session call `run_entry`: a ReleaseError becomes its message, its hint
and its exit code (errors.py); Ctrl-C becomes one line and 130; a reader that
closed our output (`... | head`) ends the command quietly with 141. Anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from tooling import ui
from tooling.errors import BROKEN_PIPE_EXIT, INTERRUPTED_EXIT, ReleaseError


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def report(error: ReleaseError) -> int:
    """Print `error` for people (and as a GitHub annotation); its exit code."""
    ui.error(error.message, error.hint)
    return error.exit_code


def run_entry(action: Callable[[], int | None]) -> int:
    """Run one command; its exit code, with every expected failure turned into a message."""
    try:
        return action() or 0
    except ReleaseError as error:
        return report(error)
    except KeyboardInterrupt:
        ui.error("interrupted")
        return INTERRUPTED_EXIT
    except BrokenPipeError:
        _silence_stdout()
        return BROKEN_PIPE_EXIT


def end_quietly_on_closed_pipe() -> None:
    """Make a closed output pipe end the process quietly (141), even outside run_entry.

    invoke prints its own output (`invoke --list | head -1`) before any task
    runs; only an uncaught BrokenPipeError is handled here, every other
    exception keeps Python's usual report.
    """
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, trace: object) -> None:
        if issubclass(kind, BrokenPipeError):
            _silence_stdout()
            os._exit(BROKEN_PIPE_EXIT)
        previous(kind, value, trace)  # type: ignore[arg-type]

    sys.excepthook = hook

"""The one error boundary every entry point passes through.

`python -m tooling`, each invoke task and (through `python -m tooling`) each
nox session call `run_entry`: a ReleaseError becomes its message, its hint
and its exit code (errors.py); Ctrl-C becomes one line and 130, SIGTERM one
line and 143; a reader that closed our output (`... | head`) ends the command
quietly with 141. Anything else is a bug and keeps its traceback.

While a command runs, SIGTERM raises `Terminated` as SIGINT raises
KeyboardInterrupt, so a stop unwinds the command: `finally` blocks and
context managers run (tooling/proc.py stops the running child's process
group, private key folders and `*.tmp` files are removed). The first stop
signal unwinds; later ones are ignored until the boundary returns, so a
second Ctrl-C or a SIGTERM sent to a whole process group cannot cut that
cleanup short (it is bounded: children get proc.STOP_GRACE_SECONDS before
SIGKILL). The previous handlers are restored when the command ends, and a
signal the parent process set to be ignored stays ignored.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from tooling import proc, ui
from tooling.errors import BROKEN_PIPE_EXIT, INTERRUPTED_EXIT, TERMINATED_EXIT, ReleaseError


class Terminated(BaseException):
    """SIGTERM arrived (`kill`, a cancelled CI job, `docker stop`).

    A BaseException like KeyboardInterrupt: `except Exception` lets it pass,
    while `finally` blocks and context managers run as it unwinds.
    """


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


@dataclass
class StopState:
    """The stop signal that arrived while a command ran, if any."""

    received: int | None = None


def stop_exception(signum: int) -> BaseException:
    """What a stop signal raises (pure): KeyboardInterrupt for SIGINT, Terminated for SIGTERM."""
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated()


def stopped(signum: int) -> int:
    """Say in one line that a signal stopped the command; its exit code."""
    if signum == signal.SIGINT:
        ui.error("interrupted")
        return INTERRUPTED_EXIT
    ui.error("terminated")
    return TERMINATED_EXIT


def _takes_over(signum: int, current: object) -> bool:
    """Should run_entry handle `signum`, whose handler is `current`? Not when the parent made us ignore it (pure).

    SIGINT is taken over only from Python's own handler: a caller with its
    own (a test runner, an embedding program) keeps it.
    """
    if current is signal.SIG_IGN:
        return False
    return current is signal.default_int_handler if signum == signal.SIGINT else True


@contextmanager
def stop_signals() -> Iterator[StopState]:
    """While the block runs, SIGINT and SIGTERM raise (once) instead of killing the process outright."""
    state = StopState()
    if threading.current_thread() is not threading.main_thread():
        yield state  # handlers can only be set in the main thread; nothing to take over elsewhere
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if state.received is not None:
            return  # already stopping: let the cleanup finish
        state.received = signum
        proc.forward_stop_to_worker_children(signum)  # the exception below reaches the main thread only
        raise stop_exception(signum)

    previous: dict[int, object] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        current = signal.getsignal(signum)
        if _takes_over(signum, current):
            previous[signum] = current
            signal.signal(signum, handler)
    try:
        yield state
    finally:
        for taken, before in previous.items():
            # None: a handler not set from Python; the default is the closest we can restore.
            signal.signal(taken, before if before is not None else signal.SIG_DFL)  # type: ignore[arg-type]


def run_entry(action: Callable[[], int | None]) -> int:
    """Run one command; its exit code, with every expected failure turned into a message."""
    with stop_signals() as state:
        try:
            return action() or 0
        except ReleaseError as error:
            if state.received is not None:
                # A child we stopped, or cleanup, failed on the way out: the stop is the news.
                return stopped(state.received)
            return report(error)
        except KeyboardInterrupt:
            return stopped(signal.SIGINT)
        except Terminated:
            return stopped(signal.SIGTERM)
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

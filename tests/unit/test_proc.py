"""The runner: echo lines, masking, dry runs, how children start and stop, and the boundary's signals."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest

from tooling import entry, proc
from tooling.entry import Terminated, run_entry
from tooling.errors import INTERRUPTED_EXIT, TERMINATED_EXIT, CommandError


def test_echo_line_quotes_and_masks_secrets() -> None:
    line = proc.describe(["gpg", "--local-user", "ABC", "file name"], {"GPG_PASSPHRASE": "hunter2"}, base_env={})
    assert line == "+ GPG_PASSPHRASE=*** gpg --local-user ABC 'file name'"
    assert "hunter2" not in line


def test_explicit_secrets_are_masked_anywhere() -> None:
    line = proc.describe(["curl", "-H", "Authorization: token s3cr3t"], secrets=["s3cr3t"], base_env={})
    assert "s3cr3t" not in line and "***" in line


def test_path_extension_is_shown_short() -> None:
    line = proc.describe(["cargo"], {"PATH": "/usr/bin:/a:/b"}, base_env={"PATH": "/a:/b"})
    assert line == "+ 'PATH=/usr/bin:$PATH' cargo"


@pytest.mark.parametrize("effect", [proc.Effect.LOCAL, proc.Effect.REMOTE])
def test_dry_run_skips_changing_commands_without_starting_them(
    capsys: pytest.CaptureFixture[str], effect: proc.Effect
) -> None:
    result = proc.Runner(dry_run=True).run(["rm", "-rf", "/nonexistent"], effect=effect)
    assert result.skipped and result.ok
    assert "+ rm -rf /nonexistent   (dry run: not run)" in capsys.readouterr().err


def test_dry_run_still_runs_read_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[tuple[str, ...]] = []

    def fake_execute(argv: tuple[str, ...], **kwargs: object) -> proc.Result:
        started.append(argv)
        return proc.Result(argv, 0, "ok")

    monkeypatch.setattr(proc, "_execute", fake_execute)
    result = proc.Runner(dry_run=True).run(["git", "status"], effect=proc.Effect.READ)
    assert started == [("git", "status")] and not result.skipped


def test_allows_says_what_a_dry_run_would_do(capsys: pytest.CaptureFixture[str]) -> None:
    assert proc.Runner().allows(proc.Effect.LOCAL, "write x")
    assert proc.Runner(dry_run=True).allows(proc.Effect.READ, "read x")
    assert not proc.Runner(dry_run=True).allows(proc.Effect.REMOTE, "upload x")
    err = capsys.readouterr().err
    assert "would upload x (dry run)" in err and "write x" not in err


def test_secret_env_names() -> None:
    assert proc.is_secret_name("GITHUB_TOKEN")
    assert proc.is_secret_name("minisign_password")
    assert not proc.is_secret_name("PATH")


# --- masking: the rule is in tooling/proc.py's docstring -------------------------------------


def test_a_one_character_secret_is_not_spelt_out_by_its_holes() -> None:
    assert proc.mask("a banana", ["a"]) == "*** banana"
    assert proc.mask("banana", ["a"]) == "banana"
    assert "b***n" not in proc.mask("a banana, a cabana", ["a"])


def test_short_secrets_are_masked_where_they_stand_alone() -> None:
    assert proc.mask("password: ab.", ["ab"]) == "password: ***."
    assert proc.mask("--pin=x7z rest", ["x7z"]) == "--pin=*** rest"
    assert proc.mask("lab about x7zq", ["ab", "x7z"]) == "lab about x7zq"


def test_long_secrets_are_masked_inside_words() -> None:
    assert proc.mask("xhunter2y and hunter2", ["hunter2"]) == "x***y and ***"
    assert proc.mask("abcd", ["abcd"]) == "***"  # exactly MIN_SECRET_LENGTH counts as long


def test_tokens_in_urls_are_masked_raw_and_percent_encoded() -> None:
    url = "https://x-access-token:ghp_T0ken123@github.com/o/r.git"
    assert proc.mask(url, ["ghp_T0ken123"]) == "https://x-access-token:***@github.com/o/r.git"
    encoded = "https://bot:p%40ss%3Aw%2Frd@example.org/?key=p%40ss%3Aw%2Frd&q=p%40ss%3Aw%2Frd"
    assert "ss" not in proc.mask(encoded, ["p@ss:w/rd"]).replace("https", "")
    assert proc.mask("q=two+words", ["two words"]) == "q=***"


def test_multi_line_secrets_are_masked_line_by_line() -> None:
    key = "untrusted comment: minisign encrypted secret key\nRWRTY0Iy0123456789abcdef\n"
    shown = proc.mask("key line: RWRTY0Iy0123456789abcdef (from  file)", [key])
    assert "RWRTY0Iy" not in shown and "***" in shown


def test_the_longest_secret_wins_and_masks_are_not_masked_again() -> None:
    assert proc.mask("abcdefgh", ["abcd", "abcdefgh"]) == "***"
    assert proc.mask("x * y", ["*"]) == "x *** y"
    assert proc.mask("nothing here", ["", "zzzz"]) == "nothing here"
    assert proc.mask_pattern([]) is None


def test_secret_named_variables_show_no_value_however_short() -> None:
    line = proc.describe(["tool", "a", "banana"], {"API_TOKEN": "a", "LANG": "C"}, base_env={})
    assert line == "+ API_TOKEN=*** LANG=C tool *** banana"


# --- starting and stopping children ------------------------------------------------------------


class FakeProcess:
    """A stand-in for subprocess.Popen that records how it was started and waited for."""

    started: ClassVar[list[dict[str, object]]] = []

    def __init__(self, argv: tuple[str, ...], **kwargs: object) -> None:
        FakeProcess.started.append(kwargs)
        self.pid = 4242
        self.returncode: int | None = None
        self.stdin = self.stdout = self.stderr = None
        self.outcome: BaseException | None = FakeProcess.next_outcome

    next_outcome: ClassVar[BaseException | None] = None

    def communicate(self, stdin: str | None = None, timeout: float | None = None) -> tuple[str, str]:
        if self.outcome is not None:
            raise self.outcome
        self.returncode = 0
        return "out", ""

    def wait(self, timeout: float | None = None) -> int:
        self.returncode = -15
        return self.returncode


@pytest.fixture
def fake_children(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Popen replaced by FakeProcess; the (group, signal) pairs sent with os.killpg."""
    sent: list[tuple[int, int]] = []
    FakeProcess.started = []
    FakeProcess.next_outcome = None
    monkeypatch.setattr(subprocess, "Popen", FakeProcess)
    monkeypatch.setattr(os, "killpg", lambda group, signum: sent.append((group, signum)))
    return sent


def test_children_start_in_their_own_session(fake_children: list[tuple[int, int]]) -> None:
    result = proc.read(["cargo", "metadata"])
    assert result.ok and result.stdout == "out"
    assert FakeProcess.started[0]["start_new_session"] is True
    assert fake_children == []  # a child that finished is not signalled


@pytest.mark.parametrize(
    ("stop", "first"),
    [(KeyboardInterrupt(), signal.SIGINT), (Terminated(), signal.SIGTERM)],
)
def test_a_stop_while_waiting_stops_the_childs_group_then_kills_it(
    fake_children: list[tuple[int, int]], stop: BaseException, first: int
) -> None:
    FakeProcess.next_outcome = stop
    with pytest.raises(type(stop)):
        proc.Runner().run(["cargo", "build"], echo=False)
    assert fake_children == [(4242, first), (4242, signal.SIGKILL)]


def test_a_timeout_stops_the_group_and_says_so(fake_children: list[tuple[int, int]]) -> None:
    FakeProcess.next_outcome = subprocess.TimeoutExpired(["wine"], 30)
    with pytest.raises(CommandError, match="did not finish within 30 s"):
        proc.read(["wine", "tool.exe"], timeout=30)
    assert fake_children == [(4242, signal.SIGTERM), (4242, signal.SIGKILL)]


def test_stop_signal_for() -> None:
    assert proc.stop_signal_for(KeyboardInterrupt()) == signal.SIGINT
    assert proc.stop_signal_for(Terminated()) == signal.SIGTERM
    assert proc.stop_signal_for(RuntimeError()) == signal.SIGTERM


@pytest.mark.parametrize(
    ("error", "message", "hint"),
    [
        (FileNotFoundError(2, "No such file or directory"), "not installed or not on PATH", "nox -s doctor"),
        (PermissionError(13, "Permission denied"), "Permission denied", "chmod +x"),
        (OSError(8, "Exec format error"), "Exec format error", "executable program"),
    ],
)
def test_a_command_that_cannot_start_is_explained(
    monkeypatch: pytest.MonkeyPatch, error: OSError, message: str, hint: str
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(subprocess, "Popen", refuse)
    with pytest.raises(CommandError, match=message) as caught:
        proc.read(["./old-cli", "--help"])
    assert hint in str(caught.value)


def test_a_missing_working_folder_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    with pytest.raises(CommandError, match="the folder does not exist"):
        proc.read(["git", "status"], cwd=tmp_path / "gone")


# --- the boundary's signal handling (tooling/entry.py) -------------------------------------------


def test_sigterm_unwinds_the_command_and_ends_with_143(capsys: pytest.CaptureFixture[str]) -> None:
    before = signal.getsignal(signal.SIGTERM)
    cleaned: list[str] = []

    def command() -> int:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises before this ends
            return 0
        finally:
            cleaned.append("finally ran")

    assert run_entry(command) == TERMINATED_EXIT
    assert cleaned == ["finally ran"]
    assert capsys.readouterr().err.strip() == "error: terminated"
    assert signal.getsignal(signal.SIGTERM) is before  # restored


def test_sigint_ends_with_130(capsys: pytest.CaptureFixture[str]) -> None:
    def command() -> int:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
        return 0

    assert run_entry(command) == INTERRUPTED_EXIT
    assert capsys.readouterr().err.strip() == "error: interrupted"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_signal_cannot_cut_the_cleanup_short(capsys: pytest.CaptureFixture[str]) -> None:
    cleaned: list[str] = []

    def command() -> int:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        finally:
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            cleaned.append("done")
        return 0

    assert run_entry(command) == TERMINATED_EXIT
    assert cleaned == ["done"]
    assert capsys.readouterr().err.strip() == "error: terminated"


def test_an_error_raised_while_stopping_still_reports_the_stop(capsys: pytest.CaptureFixture[str]) -> None:
    def command() -> int:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        finally:
            raise CommandError("cargo build failed with exit code -15")
        return 0

    assert run_entry(command) == TERMINATED_EXIT
    assert "cargo build failed" not in capsys.readouterr().err


def test_a_signal_the_parent_ignores_stays_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:

        def command() -> int:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            return 0

        assert run_entry(command) == 0
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_outside_the_main_thread_the_boundary_leaves_signals_alone() -> None:
    codes: list[int] = []
    worker = threading.Thread(target=lambda: codes.append(run_entry(lambda: 0)))
    worker.start()
    worker.join()
    assert codes == [0]


def test_which_signals_the_boundary_takes_over() -> None:
    assert entry.stop_exception(signal.SIGINT).__class__ is KeyboardInterrupt
    assert isinstance(entry.stop_exception(signal.SIGTERM), Terminated)
    assert entry._takes_over(signal.SIGTERM, signal.SIG_DFL)
    assert not entry._takes_over(signal.SIGTERM, signal.SIG_IGN)
    assert entry._takes_over(signal.SIGINT, signal.default_int_handler)
    assert not entry._takes_over(signal.SIGINT, lambda *a: None)


def test_children_of_worker_threads_get_the_stop_from_the_handler(
    fake_children: list[tuple[int, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    main = threading.main_thread().ident
    assert main is not None
    monkeypatch.setattr(proc, "_running", {111: main, 222: main + 1})
    proc.forward_stop_to_worker_children(signal.SIGTERM)
    assert fake_children == [(222, signal.SIGTERM)]  # the main thread's child is stopped by its own _execute


def test_a_finished_child_is_no_longer_tracked(fake_children: list[tuple[int, int]]) -> None:
    proc.read(["git", "status"])
    FakeProcess.next_outcome = Terminated()
    with pytest.raises(Terminated):
        proc.read(["cargo", "build"])
    assert proc._running == {}

"""Stopping the tool: SIGTERM and SIGINT stop its children too, clean up, and end with one line.

Each test starts a real entry point (`python -m tooling`, `invoke`) in a
sandbox, waits until a child of it is running, sends the signal, and then
checks what a user relies on: the documented exit code (143 for SIGTERM, 130
for SIGINT), one `error:` line and no traceback, no child or grandchild left
running (checked in /proc: psutil is not a dependency), no secret key text
left in any file, and, for a real cargo build, cargo's lock free for the next
run. Stand-in tools on PATH (`sh` scripts that note their pid and a
grandchild's, then wait) make the timing deterministic; one test stops a
real cargo build.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.artifact_fixtures import release_dist
from tests.bad_input import BIN, Sandbox
from tests.conftest import ROOT, require_tool
from tests.integration.signing_keys import MinisignKeys, make_minisign_keys
from tooling.errors import INTERRUPTED_EXIT, TERMINATED_EXIT
from tooling.proc import STOP_GRACE_SECONDS

pytestmark = pytest.mark.integration

X86 = "x86_64-unknown-linux-gnu"
EXPECTED = {
    signal.SIGTERM: (TERMINATED_EXIT, "error: terminated"),
    signal.SIGINT: (INTERRUPTED_EXIT, "error: interrupted"),
}

# A stand-in for a long compile or a slow signer. It notes its pid, a grandchild's pid, its name and the
# modes of the key file given with -s (minisign's option), then waits. STUBBORN ignores SIGINT and SIGTERM
# (and so does its grandchild, which inherits that), so only SIGKILL ends it.
SLOW_TOOL = """#!/bin/sh
{trap}
sleep 300 &
key=""; previous=""
for arg in "$@"; do [ "$previous" = "-s" ] && key="$arg"; previous="$arg"; done
modes="-"
[ -n "$key" ] && modes="$(stat -c %a "$(dirname "$key")"),$(stat -c %a "$key")"
echo "$$ $! $(basename "$0") $modes $key" >> "$STOP_TEST_LOG"
wait
"""


def fake_tools(folder: Path, names: Sequence[str], *, stubborn: bool = False) -> Path:
    """A folder of slow stand-ins named `names`, to put first on PATH."""
    folder.mkdir(parents=True, exist_ok=True)
    script = SLOW_TOOL.format(trap="trap '' TERM INT" if stubborn else "")
    for name in names:
        path = folder / name
        path.write_text(script, encoding="utf-8")
        path.chmod(0o755)
    return folder


@dataclass(frozen=True)
class Started:
    """One line of the stand-ins' log: who ran, with which key file and what modes it had."""

    pid: int
    grandchild: int
    name: str
    modes: str
    key: str


def started(log: Path) -> list[Started]:
    if not log.exists():
        return []
    found = []
    for line in log.read_text(encoding="utf-8").splitlines():
        pid, grandchild, name, modes, *key = line.split(" ")
        found.append(Started(int(pid), int(grandchild), name, modes, " ".join(key)))
    return found


# --- processes, from /proc ------------------------------------------------------------------


def proc_stat(pid: int) -> tuple[str, int, int, int] | None:
    """(state, parent pid, process group, session) of `pid`, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1]), int(fields[2]), int(fields[3])


def running(pid: int) -> bool:
    """Is `pid` a live process? A zombie (Z, X) is dead: it runs nothing and holds no lock."""
    found = proc_stat(pid)
    return found is not None and found[0] not in ("Z", "X")


def all_processes() -> dict[int, tuple[str, int, int, int]]:
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            found = proc_stat(int(entry.name))
            if found is not None:
                table[int(entry.name)] = found
    return table


def descendants(root: int) -> set[int]:
    """Every live process below `root` in the parent tree, and every one in a session a child of it leads."""
    table = all_processes()
    below: set[int] = set()
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (_, ppid, _, _) in table.items() if ppid == parent and pid not in below]
        below.update(children)
        frontier.extend(children)
    sessions = {pid for pid in below if table[pid][3] == pid}
    below |= {pid for pid, (_, _, _, session) in table.items() if session in sessions}
    return {pid for pid in below if table[pid][0] not in ("Z", "X")}


def still_running(pids: set[int], within: float = 3.0) -> set[int]:
    """The pids still alive after waiting up to `within` seconds for them to go."""
    deadline = time.monotonic() + within
    alive = {pid for pid in pids if running(pid)}
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = {pid for pid in alive if running(pid)}
    return alive


# --- running an entry point and stopping it -------------------------------------------------------


@dataclass(frozen=True)
class Stopped:
    returncode: int
    stdout: str
    stderr: str
    seconds: float  # from the signal to the exit
    children: set[int]  # every process below the tool just before the signal

    def shown(self) -> str:
        return f"exit {self.returncode} after {self.seconds:.2f} s\n{self.stdout[-2000:]}\n{self.stderr[-3000:]}"


def entry_argv(argv: Sequence[str]) -> list[str]:
    """`invoke ...` as Sandbox.run runs it (the project's tasks), `tooling ...` as `python -m tooling ...`,
    `nox ...` as `python -m nox ...` (with the sandbox's own noxfile)."""
    head = {
        "invoke": [str(BIN / "invoke"), "--search-root", str(ROOT)],
        "tooling": [str(BIN / "python"), "-m", "tooling"],
        "nox": [str(BIN / "python"), "-m", "nox"],
    }[argv[0]]
    return [*head, *argv[1:]]


def run_and_stop(
    sandbox: Sandbox,
    argv: Sequence[str],
    signum: int,
    *,
    env: dict[str, str],
    ready: Callable[[int], bool],
    wait_ready: float = 120,
) -> Stopped:
    """Start `argv` in `sandbox`, send `signum` once `ready(pid)` holds, and collect how it ended."""
    process = subprocess.Popen(
        entry_argv(argv),
        cwd=sandbox.root,
        env={**sandbox.env, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + wait_ready
        while not ready(process.pid):
            if process.poll() is not None or time.monotonic() > deadline:
                out, err = process.communicate()
                pytest.fail(f"{' '.join(argv)} never got to the point to stop it (exit {process.returncode}):\n{err}")
            time.sleep(0.05)
        children = descendants(process.pid)
        process.send_signal(signum)
        sent = time.monotonic()
        out, err = process.communicate(timeout=STOP_GRACE_SECONDS + 60)
        return Stopped(process.returncode, out, err, time.monotonic() - sent, children)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def assert_stopped_cleanly(result: Stopped, signum: int, known: Sequence[int] = ()) -> None:
    """The documented code, one `error:` line naming the stop, no traceback, no process of the run left."""
    code, line = EXPECTED[signal.Signals(signum)]
    assert result.returncode == code, result.shown()
    assert "Traceback" not in result.stderr + result.stdout, result.shown()
    errors = [text for text in result.stderr.splitlines() if text.startswith("error:")]
    assert errors == [line], result.shown()
    assert result.children, "the test must stop the tool while a child runs"
    left = still_running(result.children | set(known))
    assert not left, f"still running after the tool exited: {sorted(left)}\n{result.shown()}"


def log_has(log: Path, name: str) -> Callable[[int], bool]:
    return lambda pid: any(entry.name == name for entry in started(log))


# --- builds -----------------------------------------------------------------------------------------


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox.make(tmp_path)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("entry", ["tooling", "invoke"])
def test_a_stop_during_a_build_stops_every_child_and_says_so_in_one_line(
    sandbox: Sandbox, tmp_path: Path, entry: str, signum: int
) -> None:
    log = tmp_path / "started.log"
    tools = fake_tools(tmp_path / "bin", ["cargo", "rustc", "rustup", "cargo-zigbuild"])
    env = {"PATH": f"{tools}{os.pathsep}{os.environ['PATH']}", "STOP_TEST_LOG": str(log)}
    outside = sandbox.outside_dist()
    result = run_and_stop(
        sandbox, (entry, "build"), signum, env=env, ready=lambda pid: bool(started(log)) and bool(descendants(pid))
    )
    ran = started(log)
    assert_stopped_cleanly(result, signum, [p for entry in ran for p in (entry.pid, entry.grandchild)])
    assert result.seconds < STOP_GRACE_SECONDS, result.shown()  # these stand-ins stop at once
    assert sandbox.outside_dist() == outside


def test_a_child_that_ignores_the_signal_is_killed_after_the_grace_period(sandbox: Sandbox, tmp_path: Path) -> None:
    log = tmp_path / "started.log"
    tools = fake_tools(tmp_path / "bin", ["cargo", "rustc", "rustup", "cargo-zigbuild"], stubborn=True)
    env = {"PATH": f"{tools}{os.pathsep}{os.environ['PATH']}", "STOP_TEST_LOG": str(log)}
    result = run_and_stop(sandbox, ("tooling", "build"), signal.SIGTERM, env=env, ready=lambda pid: bool(started(log)))
    ran = started(log)
    assert_stopped_cleanly(result, signal.SIGTERM, [p for entry in ran for p in (entry.pid, entry.grandchild)])
    assert STOP_GRACE_SECONDS - 0.5 <= result.seconds < STOP_GRACE_SECONDS + 10, result.shown()


def test_sigterm_during_a_real_cargo_build_leaves_no_cargo_and_no_lock(sandbox: Sandbox, tmp_path: Path) -> None:
    for tool in ("cargo", "rustc"):
        require_tool(tool, "building the sample crate")
    target_dir = tmp_path / "cargo-target"  # empty: cargo compiles the dependencies, which takes a while

    def compiling(pid: int) -> bool:
        # A rustc compiling a crate (not the `rustc -V` probes that run first).
        return any(b"--crate-name" in _cmdline(child) for child in descendants(pid))

    result = run_and_stop(
        sandbox,
        ("tooling", "build", "--target", X86),
        signal.SIGTERM,
        env={"CARGO_TARGET_DIR": str(target_dir)},
        ready=compiling,
        wait_ready=600,
    )
    assert_stopped_cleanly(result, signal.SIGTERM)
    # The next run must not wait on "Blocking waiting for file lock on build directory".
    for lock in target_dir.rglob(".cargo-lock"):
        with lock.open("rb+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises BlockingIOError while cargo holds it


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


# --- signing ------------------------------------------------------------------------------------------


def files_holding(root: Path, needle: bytes) -> list[Path]:
    """Every regular file under `root` whose bytes contain `needle`."""
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                if needle in path.read_bytes():
                    found.append(path)
            except OSError:
                continue
    return found


@dataclass(frozen=True)
class SigningRun:
    """A release folder ready to sign with a minisign stand-in, the secret key only in the environment."""

    env: dict[str, str]
    secret_line: bytes  # the key text's secret line, searched for afterwards
    temp_root: Path  # TMPDIR of the run: where the private key folder goes
    log: Path  # the stand-in notes itself here (see `started`)


def minisign_signing_run(sandbox: Sandbox, keys: MinisignKeys, tmp_path: Path) -> SigningRun:
    """dist/ with one target, a minisign stand-in on PATH, and the key text moved from its file to the env."""
    require_tool("cargo", "the SBOM the chain makes before signing")
    key_text = keys.secret.read_text(encoding="utf-8")
    keys.secret.unlink()  # from here on the key exists only in the environment
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    release_dist(sandbox.dist, [X86])
    log = tmp_path / "started.log"
    tools = fake_tools(tmp_path / "bin", ["minisign"])
    env = {
        "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}",
        "STOP_TEST_LOG": str(log),
        "TMPDIR": str(temp_root),
        "RELEASE_MINISIGN_SECRET_KEY": key_text,
        "RELEASE_MINISIGN_PASSPHRASE": keys.password,
        "RELEASE_MINISIGN_PUBLIC_KEY": str(keys.public),
        "SOURCE_DATE_EPOCH": "1700000000",
    }
    return SigningRun(env, key_text.splitlines()[1].encode(), temp_root, log)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_while_minisign_signs_leaves_no_secret_key_text_anywhere(
    sandbox: Sandbox, tmp_path: Path, signum: int
) -> None:
    require_tool("minisign")
    (tmp_path / "keys").mkdir()
    keys = make_minisign_keys(tmp_path / "keys")
    signing = minisign_signing_run(sandbox, keys, tmp_path)
    env, secret_line, temp_root, log = signing.env, signing.secret_line, signing.temp_root, signing.log
    result = run_and_stop(
        sandbox,
        ("invoke", "sign", "--skip-build", "--allow-partial", "--backend", "minisign"),
        signum,
        env=env,
        ready=log_has(log, "minisign"),
    )
    [signer] = started(log)
    assert_stopped_cleanly(result, signum, [signer.pid, signer.grandchild])
    # While minisign ran, the key was a 0600 file in a 0700 folder of the temp dir; both are gone now.
    key_file = Path(signer.key)
    assert signer.modes == "700,600"
    assert key_file.parent.parent == temp_root
    assert not key_file.exists() and not key_file.parent.exists()
    assert list(temp_root.iterdir()) == []
    assert files_holding(temp_root, secret_line) == []
    assert files_holding(sandbox.root, secret_line) == []  # dist/ included
    assert keys.password not in result.stdout + result.stderr
    assert secret_line.decode() not in result.stdout + result.stderr
    assert not list(sandbox.dist.rglob("*.tmp")), "a half-written signature was left"


def test_sigterm_to_a_nox_session_stops_the_tool_it_runs(sandbox: Sandbox, tmp_path: Path) -> None:
    """nox itself has no SIGTERM handling: the sessions module turns it into the Ctrl-C nox passes on."""
    log = tmp_path / "started.log"
    tools = fake_tools(tmp_path / "bin", ["cargo", "rustc", "rustup", "cargo-zigbuild"])
    (sandbox.root / "noxfile.py").write_text("import tooling.nox_sessions  # noqa: F401\n")
    env = {"PATH": f"{tools}{os.pathsep}{os.environ['PATH']}", "STOP_TEST_LOG": str(log)}
    result = run_and_stop(
        sandbox,
        ("nox", "-s", "build-x86_64-unknown-linux-gnu"),
        signal.SIGTERM,
        env=env,
        ready=lambda pid: bool(started(log)),
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    ran = started(log)
    known = result.children | {p for entry in ran for p in (entry.pid, entry.grandchild)}
    assert not still_running(known), result.shown()

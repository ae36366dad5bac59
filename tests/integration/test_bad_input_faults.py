"""Bad input of the secrets and faults families: weak passphrases, keys that are not keys, stops, leftovers.

Refusals run the real `invoke` in a sandbox (tests/bad_input.py) and are
held to the whole contract by `assert_refused`: the documented exit code,
one message naming the problem and a hint naming the fix, no traceback,
nothing changed outside dist/, dist/ as before or complete. Stops (SIGTERM,
SIGINT) end with one `error:` line and no hint, so they are checked by
`assert_stopped`: the signal's documented code, every child gone, nothing
outside dist/ changed, no secret key text left, no half-written file left.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.artifact_fixtures import give_header, release_dist
from tests.bad_input import Sandbox, assert_refused, digest_tree
from tests.conftest import require_tool
from tests.integration.signing_keys import MinisignKeys, make_minisign_keys
from tests.integration.test_signals import (
    Stopped,
    assert_stopped_cleanly,
    descendants,
    fake_tools,
    files_holding,
    log_has,
    minisign_signing_run,
    run_and_stop,
    started,
)
from tooling.errors import SigningError
from tooling.targets import get_target

pytestmark = pytest.mark.integration

X86 = "x86_64-unknown-linux-gnu"
ARCHIVE = f"crcsum-0.1.0-{X86}.tar.gz"
SIGN_MINISIGN = ("invoke", "sign", "--skip-build", "--allow-partial", "--backend", "minisign")
EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox.make(tmp_path / "case")


@pytest.fixture
def keys(tmp_path: Path) -> MinisignKeys:
    require_tool("minisign")
    folder = tmp_path / "keys"
    folder.mkdir()
    return make_minisign_keys(folder)


def assert_stopped(sandbox: Sandbox, result: Stopped, signum: int, known: list[int], before: dict[str, str]) -> None:
    """The stop contract: code, one line, no child left, nothing outside dist/ changed, no half-written file."""
    assert_stopped_cleanly(result, signum, known)
    assert sandbox.outside_dist() == before, result.shown()
    assert not [p for p in sandbox.dist.rglob("*.tmp")], f"half-written files left:\n{result.shown()}"


# --- secrets: refused before anything is written ---------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "argv"),
    [
        ("RELEASE_MINISIGN_PASSPHRASE", ("invoke", "sign", "--backend", "minisign")),
        ("RELEASE_GPG_PASSPHRASE", ("invoke", "package")),
    ],
)
def test_a_one_character_passphrase_is_refused(sandbox: Sandbox, variable: str, argv: tuple[str, ...]) -> None:
    result = assert_refused(
        sandbox,
        argv,
        code=SigningError.exit_code,
        names=(variable, "shorter than 4 characters"),
        fix="longer",
        env={variable: "§"},
    )
    assert not sandbox.dist.exists()
    assert "§" not in result.stdout + result.stderr  # the value is never shown


def test_a_three_character_passphrase_is_refused_even_by_verify(sandbox: Sandbox) -> None:
    assert_refused(
        sandbox,
        ("invoke", "verify"),
        code=SigningError.exit_code,
        names=("RELEASE_GPG_PASSPHRASE",),
        fix="RELEASE_GPG_PASSPHRASE",
        env={"RELEASE_GPG_PASSPHRASE": "abc"},
    )


def test_a_path_given_as_the_minisign_key_text_is_refused(sandbox: Sandbox) -> None:
    result = assert_refused(
        sandbox,
        ("invoke", "sign", "--backend", "minisign"),
        code=SigningError.exit_code,
        names=("RELEASE_MINISIGN_SECRET_KEY", "is not a minisign secret key"),
        fix="RELEASE_MINISIGN_KEY",
        env={"RELEASE_MINISIGN_SECRET_KEY": "/home/ci/.minisign/minisign.key"},
    )
    assert "/home/ci/.minisign/minisign.key" not in result.stderr  # the value is never quoted


def test_a_public_key_given_as_the_minisign_key_text_is_refused(sandbox: Sandbox, keys: MinisignKeys) -> None:
    assert_refused(
        sandbox,
        ("invoke", "sign", "--backend", "minisign"),
        code=SigningError.exit_code,
        names=("RELEASE_MINISIGN_SECRET_KEY", "public key"),
        fix="whole text of the secret key file",
        env={"RELEASE_MINISIGN_SECRET_KEY": keys.public.read_text()},
    )


# --- secrets: key files that cannot sign (found before the first signature) ----------------------------


@pytest.mark.parametrize("kind", ["a folder", "not text", "not a key"])
def test_a_minisign_key_file_that_cannot_be_read_as_a_key_is_named(
    sandbox: Sandbox, keys: MinisignKeys, tmp_path: Path, kind: str
) -> None:
    require_tool("cargo", "the SBOM the chain makes before signing")
    bad = tmp_path / "bad.key"
    if kind == "a folder":
        bad.mkdir()
    else:
        bad.write_bytes(b"\xff\xfe\x00\x01" if kind == "not text" else b"hello\n")
    release_dist(sandbox.dist, [X86])
    expected = {"a folder": "is not a file", "not text": "cannot read", "not a key": "is not a minisign secret key"}
    assert_refused(
        sandbox,
        SIGN_MINISIGN,
        code=SigningError.exit_code,
        names=(str(bad), expected[kind]),
        fix="RELEASE_MINISIGN_KEY",
        env={"RELEASE_MINISIGN_KEY": str(bad), "RELEASE_MINISIGN_PUBLIC_KEY": str(keys.public), **EPOCH},
        dist_may_complete=True,  # archives and sums are made before signing; unsigned, they still verify
    )
    assert not list(sandbox.dist.glob("*.minisig"))


# --- faults: stops ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_during_a_build_leaves_no_child_and_nothing_changed(
    sandbox: Sandbox, tmp_path: Path, signum: int
) -> None:
    log = tmp_path / "started.log"
    tools = fake_tools(tmp_path / "bin", ["cargo", "rustc", "rustup", "cargo-zigbuild"])
    env = {"PATH": f"{tools}{os.pathsep}{os.environ['PATH']}", "STOP_TEST_LOG": str(log)}
    before, dist_before = sandbox.outside_dist(), digest_tree(sandbox.dist)
    result = run_and_stop(
        sandbox, ("invoke", "build"), signum, env=env, ready=lambda pid: bool(started(log)) and bool(descendants(pid))
    )
    assert_stopped(sandbox, result, signum, [p for s in started(log) for p in (s.pid, s.grandchild)], before)
    assert digest_tree(sandbox.dist) == dist_before  # the folder this run made is gone again


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_during_archive_places_no_archive_and_leaves_no_temporary(sandbox: Sandbox, signum: int) -> None:
    release_dist(sandbox.dist, [X86])
    binary = sandbox.dist / X86 / "crcsum"
    binary.write_bytes(os.urandom(1 << 20) * 150)  # big and incompressible: the archive takes seconds at level 9
    give_header(sandbox.dist, binary, get_target(X86))
    before, binaries = sandbox.outside_dist(), digest_tree(sandbox.dist / X86)
    result = run_and_stop(
        sandbox,
        ("invoke", "archive", "--skip-build", "--allow-partial", "--level", "9"),
        signum,
        env=EPOCH,
        ready=lambda pid: any(sandbox.dist.glob("*.tmp")),
    )
    # No child runs while archiving (it is done in-process): the stop must still end the run at once and clean up.
    assert result.returncode == {signal.SIGINT: 130, signal.SIGTERM: 143}[signum], result.shown()
    assert "Traceback" not in result.stderr, result.shown()
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        "error: interrupted" if signum == signal.SIGINT else "error: terminated"
    ]
    assert sandbox.outside_dist() == before
    assert not (sandbox.dist / ARCHIVE).exists(), "an archive was put in place after the stop"
    assert not list(sandbox.dist.rglob("*.tmp"))
    assert digest_tree(sandbox.dist / X86) == binaries
    again = sandbox.run("invoke", "archive", "--skip-build", "--allow-partial", "--level", "1", env=EPOCH)
    assert again.returncode == 0, again.stderr[-2000:]  # the next run converges


def test_sigterm_while_minisign_signs_leaves_no_key_text(sandbox: Sandbox, keys: MinisignKeys, tmp_path: Path) -> None:
    signing = minisign_signing_run(sandbox, keys, tmp_path)
    before = sandbox.outside_dist()
    ready = log_has(signing.log, "minisign")
    result = run_and_stop(sandbox, SIGN_MINISIGN, signal.SIGTERM, env=signing.env, ready=ready)
    [signer] = started(signing.log)
    assert_stopped(sandbox, result, signal.SIGTERM, [signer.pid, signer.grandchild], before)
    assert list(signing.temp_root.iterdir()) == []
    assert files_holding(tmp_path, signing.secret_line) == []  # temp dir, sandbox, dist/, guard: nowhere


# --- faults: leftovers of a killed run ----------------------------------------------------------------------


def test_a_stale_temporary_left_by_a_killed_run_is_removed_by_the_next(sandbox: Sandbox) -> None:
    release_dist(sandbox.dist, [X86])
    # What SIGKILL (which no program can catch) leaves: half an archive and half a manifest.
    (sandbox.dist / f"{ARCHIVE}.tmp").write_bytes(b"\x1f\x8b half an archive")
    (sandbox.dist / X86 / "manifest.json.tmp").write_text('{"name": "crc')
    before = sandbox.outside_dist()
    result = sandbox.run("invoke", "archive", "--skip-build", "--allow-partial", env=EPOCH)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (sandbox.dist / ARCHIVE).is_file()
    assert sandbox.outside_dist() == before
    assert sorted(p.name for p in sandbox.dist.rglob("*.tmp")) == []

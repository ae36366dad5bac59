"""Throwaway signing keys for integration tests: a temporary GNUPGHOME and minisign key pairs."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PASSPHRASE = "correct horse battery staple"


@dataclass(frozen=True)
class GpgHome:
    home: Path
    fingerprint: str  # protected by PASSPHRASE, valid for a day
    expired: str  # made "in 2020" with a one-day lifetime
    env: dict[str, str]


def _gpg(home: Path, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        ["gpg", "--batch", "--no-tty", *args],
        env={**os.environ, "GNUPGHOME": str(home)},
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def _fingerprint(home: Path, uid: str) -> str:
    for line in _gpg(home, "--with-colons", "--list-secret-keys", uid).splitlines():
        if line.startswith("fpr:"):
            return line.split(":")[9]
    raise AssertionError(f"no key for {uid}")


def make_gpg_home() -> Iterator[GpgHome]:
    """A fresh keyring; the agent is stopped and the folder removed afterwards."""
    # gpg-agent's socket path must stay short: a deep pytest tmp_path can exceed it.
    home = Path(tempfile.mkdtemp(prefix="gpg-", dir="/tmp"))
    home.chmod(0o700)
    # No passphrase caching: each test must prove its own passphrase (or its wrong one) reaches gpg.
    (home / "gpg-agent.conf").write_text("default-cache-ttl 0\nmax-cache-ttl 0\n")
    try:
        _gpg(
            home,
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            PASSPHRASE,
            "--quick-gen-key",
            "Release Test <release@example.invalid>",
            "ed25519",
            "sign",
            "1d",
        )
        _gpg(
            home,
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--faked-system-time",
            "20200101T000000",
            "--quick-gen-key",
            "Expired Test <expired@example.invalid>",
            "ed25519",
            "sign",
            "1d",
        )
        yield GpgHome(
            home=home,
            fingerprint=_fingerprint(home, "release@example.invalid"),
            expired=_fingerprint(home, "expired@example.invalid"),
            env={"GNUPGHOME": str(home)},
        )
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env={**os.environ, "GNUPGHOME": str(home)}, check=False)
        shutil.rmtree(home, ignore_errors=True)


@dataclass(frozen=True)
class MinisignKeys:
    secret: Path
    public: Path
    password: str


def make_minisign_keys(folder: Path, password: str = PASSPHRASE) -> MinisignKeys:
    """A password-protected minisign key pair (minisign reads the password twice from stdin)."""
    secret, public = folder / "minisign.key", folder / "minisign.pub"
    subprocess.run(
        ["minisign", "-G", "-p", str(public), "-s", str(secret)],
        input=f"{password}\n{password}\n",
        capture_output=True,
        text=True,
        check=True,
    )
    return MinisignKeys(secret, public, password)


def signing_env(home: GpgHome, keys: MinisignKeys) -> dict[str, str]:
    """The environment `invoke sign`/`package` reads: both backends with these throwaway keys."""
    return {
        "GNUPGHOME": str(home.home),
        "RELEASE_GPG_KEY": home.fingerprint,
        "RELEASE_GPG_PASSPHRASE": PASSPHRASE,
        "RELEASE_MINISIGN_KEY": str(keys.secret),
        "RELEASE_MINISIGN_PASSPHRASE": keys.password,
        "RELEASE_MINISIGN_PUBLIC_KEY": str(keys.public),
    }

"""Signing with the real gpg and minisign, throwaway keys, and every failure a user meets; verification
that trusts only the pinned keys."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.integration.signing_keys import PASSPHRASE, GpgHome, make_gpg_home, make_minisign_keys
from tooling.artifacts import sign

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def gpg_home() -> Iterator[GpgHome]:
    require_tool("gpg")
    require_tool("gpgconf")
    yield from make_gpg_home()


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    sums = tmp_path / "SHA256SUMS"
    sums.write_text("0" * 64 + "  tool.tar.gz\n")
    archive = tmp_path / "tool.tar.gz"
    archive.write_bytes(b"\x1f\x8b not really an archive")
    return [sums, archive]


def settings(**changes: object) -> sign.SignSettings:
    base = sign.SignSettings(backends=("gpg",), gpg_key="", gpg_program="gpg", minisign_key="")
    return sign.SignSettings(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".asc", ".minisig", ".tmp"))


def test_gpg_signatures_verify_with_gpg(
    gpg_home: GpgHome, files: list[Path], monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GNUPGHOME", str(gpg_home.home))
    made = sign.sign_files(settings(gpg_key=gpg_home.fingerprint, gpg_passphrase=PASSPHRASE), files, comment="t 1")
    for file in files:
        [signature] = made[file]
        assert signature.name == file.name + ".asc"
        assert signature.read_text().startswith("-----BEGIN PGP SIGNATURE-----")
        subprocess.run(["gpg", "--batch", "--verify", str(signature), str(file)], check=True, capture_output=True)
    output = capfd.readouterr()
    assert PASSPHRASE not in output.out + output.err  # the echoed command never shows it
    assert "+ gpg --batch" in output.err


def test_wrong_passphrase_is_explained_and_leaves_nothing(
    gpg_home: GpgHome, files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GNUPGHOME", str(gpg_home.home))
    with pytest.raises(sign.SigningError, match="refused the passphrase") as caught:
        sign.sign_files(settings(gpg_key=gpg_home.fingerprint, gpg_passphrase="not it"), files, comment="t")
    assert "not it" not in str(caught.value)
    assert leftovers(files[0].parent) == []


def test_missing_passphrase_for_a_protected_key_fails_without_waiting(
    gpg_home: GpgHome, files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GNUPGHOME", str(gpg_home.home))
    with pytest.raises(sign.SigningError, match="passphrase"):
        sign.sign_files(settings(gpg_key=gpg_home.fingerprint), files, comment="t")
    assert leftovers(files[0].parent) == []


def test_expired_key_is_refused_before_signing(
    gpg_home: GpgHome, files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GNUPGHOME", str(gpg_home.home))
    with pytest.raises(sign.SigningError, match="has expired"):
        sign.sign_files(settings(gpg_key=gpg_home.expired), files, comment="t")
    assert leftovers(files[0].parent) == []


def test_missing_key_is_named(gpg_home: GpgHome, files: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GNUPGHOME", str(gpg_home.home))
    with pytest.raises(sign.SigningError, match=r"no GPG secret key matches 'nobody@example\.invalid'"):
        sign.sign_files(settings(gpg_key="nobody@example.invalid"), files, comment="t")
    with pytest.raises(sign.SigningError, match="no GPG key chosen"):
        sign.sign_files(settings(), files, comment="t")
    assert leftovers(files[0].parent) == []


def test_missing_gpg_binary_is_a_clear_error(files: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(files[0].parent))  # nothing named gpg in there
    with pytest.raises(sign.SigningError, match="'gpg' is not installed") as caught:
        sign.sign_files(settings(gpg_key="someone"), files, comment="t")
    assert "apt-get install gnupg" in str(caught.value)
    assert leftovers(files[0].parent) == []


def test_minisign_signatures_verify_with_minisign(tmp_path: Path, files: list[Path]) -> None:
    require_tool("minisign")
    keys = make_minisign_keys(tmp_path)
    chosen = settings(
        backends=("minisign",),
        minisign_key=str(keys.secret),
        minisign_passphrase=keys.password,
        minisign_public_key=str(keys.public),
    )
    made = sign.sign_files(chosen, files, comment="crcsum 0.1.0")
    for file in files:
        [signature] = made[file]
        result = subprocess.run(
            ["minisign", "-Vm", str(file), "-x", str(signature), "-p", str(keys.public)],
            capture_output=True,
            text=True,
            check=True,
        )
        assert f"crcsum 0.1.0 {file.name}" in result.stdout  # the fixed trusted comment
        assert sign.verify_signature(chosen, signature, file) is None
    files[1].write_bytes(b"changed")
    assert "bad minisign signature" in str(sign.verify_signature(chosen, made[files[1]][0], files[1]))


def test_minisign_key_from_the_environment_text(tmp_path: Path, files: list[Path]) -> None:
    require_tool("minisign")
    keys = make_minisign_keys(tmp_path)
    chosen = settings(
        backends=("minisign",), minisign_key_content=keys.secret.read_text(), minisign_passphrase=keys.password
    )
    [signature] = sign.sign_files(chosen, files[:1], comment="c")[files[0]]
    subprocess.run(
        ["minisign", "-Vm", str(files[0]), "-x", str(signature), "-p", str(keys.public)],
        check=True,
        capture_output=True,
    )


def test_minisign_wrong_password_leaves_nothing(tmp_path: Path, files: list[Path]) -> None:
    require_tool("minisign")
    keys = make_minisign_keys(tmp_path)
    chosen = settings(backends=("minisign",), minisign_key=str(keys.secret), minisign_passphrase="wrong")
    with pytest.raises(sign.SigningError, match="refused the password"):
        sign.sign_files(chosen, files, comment="c")
    no_password = settings(backends=("minisign",), minisign_key=str(keys.secret))
    with pytest.raises(sign.SigningError, match="needs a password"):
        sign.sign_files(no_password, files, comment="c")
    assert leftovers(files[0].parent) == []


def test_missing_minisign_key_file(files: list[Path], tmp_path: Path) -> None:
    require_tool("minisign")
    with pytest.raises(sign.SigningError, match="does not exist"):
        sign.sign_files(settings(backends=("minisign",), minisign_key=str(tmp_path / "nope.key")), files, comment="c")
    assert leftovers(files[0].parent) == []


# --- verification trusts only the pinned keys -------------------------------------------------


def other_key(home: GpgHome, name: str) -> str:
    """A second signing key in the same keyring (no passphrase); its fingerprint."""
    gpg = ["gpg", "--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", ""]
    env = {**os.environ, "GNUPGHOME": str(home.home)}
    uid = f"{name} <{name.lower()}@example.invalid>"
    subprocess.run([*gpg, "--quick-gen-key", uid, "ed25519", "sign", "1d"], env=env, capture_output=True, check=True)
    listing = subprocess.run(
        [*gpg, "--with-colons", "--list-secret-keys", uid], env=env, capture_output=True, text=True, check=True
    ).stdout
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


def test_gpg_verification_accepts_only_a_pinned_fingerprint(
    gpg_home: GpgHome, files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GNUPGHOME", str(gpg_home.home))
    signer = settings(gpg_key=gpg_home.fingerprint, gpg_passphrase=PASSPHRASE)
    [signature] = sign.sign_files(signer, files[:1], comment="t")[files[0]]
    pinned = settings(gpg_fingerprints=(gpg_home.fingerprint,))
    assert sign.verify_signature(pinned, signature, files[0]) is None

    stranger = other_key(gpg_home, "Stranger")
    elsewhere = settings(gpg_fingerprints=(stranger,))
    why = sign.verify_signature(elsewhere, signature, files[0])
    assert why == (f"SHA256SUMS.asc: signed by key {gpg_home.fingerprint}, which is not pinned (trusted: {stranger})")
    assert "no GPG fingerprint is pinned" in str(sign.verify_signature(settings(), signature, files[0]))


def test_a_signature_by_another_key_in_the_keyring_is_named_by_its_fingerprint(
    gpg_home: GpgHome, files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GNUPGHOME", str(gpg_home.home))
    mallory = other_key(gpg_home, "Mallory")
    [signature] = sign.sign_files(settings(gpg_key=mallory), files[:1], comment="t")[files[0]]
    why = sign.verify_signature(settings(gpg_fingerprints=(gpg_home.fingerprint,)), signature, files[0])
    assert why is not None and f"signed by key {mallory}, which is not pinned" in why


def test_a_changed_file_and_an_unknown_signer_fail_gpg_verification(
    gpg_home: GpgHome, files: list[Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GNUPGHOME", str(gpg_home.home))
    signer = settings(gpg_key=gpg_home.fingerprint, gpg_passphrase=PASSPHRASE)
    [signature] = sign.sign_files(signer, files[:1], comment="t")[files[0]]
    pinned = settings(gpg_fingerprints=(gpg_home.fingerprint,))
    files[0].write_text(files[0].read_text() + "0" * 64 + "  evil.tar.gz\n")
    assert "bad GPG signature" in str(sign.verify_signature(pinned, signature, files[0]))

    empty = tmp_path / "empty-keyring"
    empty.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(empty))  # a keyring without the signer's public key
    try:
        why = sign.verify_signature(pinned, signature, files[0])
        assert why is not None and "which is not in the keyring" in why
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env={**os.environ, "GNUPGHOME": str(empty)}, check=False)


def test_minisign_verification_uses_only_the_configured_public_key(tmp_path: Path, files: list[Path]) -> None:
    require_tool("minisign")
    keys = make_minisign_keys(tmp_path)
    (tmp_path / "other").mkdir()
    others = make_minisign_keys(tmp_path / "other")
    chosen = settings(backends=("minisign",), minisign_key=str(keys.secret), minisign_passphrase=keys.password)
    [signature] = sign.sign_files(chosen, files[:1], comment="c")[files[0]]
    assert sign.verify_signature(settings(minisign_public_key=str(keys.public)), signature, files[0]) is None
    why = sign.verify_signature(settings(minisign_public_key=str(others.public)), signature, files[0])
    assert why is not None and why.startswith("SHA256SUMS.minisig: bad minisign signature")

"""Signing with the real gpg and minisign, throwaway keys, and every failure a user meets."""

from __future__ import annotations

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

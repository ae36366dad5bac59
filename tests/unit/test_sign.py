"""Signing decisions: settings, command lines, key checks and error messages (no gpg run here)."""

from __future__ import annotations

import base64
import dataclasses
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tooling.artifacts import sign
from tooling.entry import Terminated
from tooling.errors import ConfigError, SigningError

FPR = "0123456789ABCDEF0123456789ABCDEF01234567"
NOW = 1_700_000_000


def colons(validity: str = "u", expires: str = "", caps: str = "scSC") -> str:
    """A `gpg --with-colons --list-secret-keys` listing of one key, in GnuPG's documented layout."""
    return "\n".join(
        [
            f"sec:{validity}:255:22:89ABCDEF01234567:1600000000:{expires}::u:::{caps}:::+:::ed25519:::0:",
            f"fpr:::::::::{FPR}:",
            "grp:::::::::AAAA:",
            f"uid:{validity}::::1600000000::HASH::Release Bot <bot@example.invalid>::::::::::0:",
        ]
    )


def test_defaults_sign_with_both_backends_and_read_keys_from_environment(tmp_path: Path) -> None:
    settings = sign.sign_settings(
        {"minisign-public-key": "keys/minisign.pub"},
        {sign.GPG_KEY_ENV: FPR, sign.GPG_PASSPHRASE_ENV: "hunter2", sign.MINISIGN_KEY_ENV: "/k/minisign.key"},
        tmp_path,
    )
    assert settings.backends == ("gpg", "minisign")
    assert settings.gpg_key == FPR
    assert settings.minisign_key == "/k/minisign.key"
    assert settings.minisign_public_key == str(tmp_path / "keys/minisign.pub")
    assert "hunter2" in settings.secrets
    assert "hunter2" not in repr(settings)


def test_environment_key_wins_over_config_and_backends_can_be_narrowed(tmp_path: Path) -> None:
    settings = sign.sign_settings({"gpg-key": "config-key"}, {sign.GPG_KEY_ENV: "env-key"}, tmp_path, ["gpg"])
    assert settings.gpg_key == "env-key"
    assert settings.backends == ("gpg",)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"gpg_key": "x"}, "unknown key tool.release.sign.gpg_key"),
        ({"backends": "gpg"}, "tool.release.sign.backends must be"),
        ({"backends": ["gpg", "cosign"]}, "backends: 'cosign' is not one of gpg, minisign"),
        ({"backends": ["gpg", "gpg"]}, "twice"),
        ({"gpg-key": 5}, "tool.release.sign.gpg-key must be"),
    ],
)
def test_config_mistakes_name_the_key(tmp_path: Path, table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        sign.sign_settings(table, {}, tmp_path)


def test_gpg_command_is_batch_loopback_and_never_holds_the_passphrase() -> None:
    argv = sign.gpg_sign_argv("gpg", FPR, Path("SHA256SUMS"), Path(".SHA256SUMS.asc.tmp"), with_passphrase=True)
    assert argv[:2] == ["gpg", "--batch"]
    assert argv[argv.index("--pinentry-mode") + 1] == "loopback"
    assert argv[argv.index("--passphrase-fd") + 1] == "0"  # read from stdin
    assert {"--armor", "--detach-sign"} <= set(argv)
    assert argv[-1] == "SHA256SUMS"
    without = sign.gpg_sign_argv("gpg", FPR, Path("f"), Path("o"), with_passphrase=False)
    assert "--passphrase-fd" not in without


def test_minisign_command_uses_a_fixed_trusted_comment() -> None:
    argv = sign.minisign_sign_argv("minisign", Path("k.key"), Path("SHA256SUMS"), Path("tmp"), "crcsum 1.0 SHA256SUMS")
    assert argv[argv.index("-t") + 1] == "crcsum 1.0 SHA256SUMS"
    assert argv[argv.index("-x") + 1] == "tmp"


def test_signature_names() -> None:
    assert sign.signature_name("SHA256SUMS", "gpg") == "SHA256SUMS.asc"
    assert sign.signature_name("a.tar.gz", "minisign") == "a.tar.gz.minisig"


def test_a_valid_key_is_chosen_by_fingerprint() -> None:
    key = sign.usable_signing_key(sign.parse_secret_keys(colons()), "bot", NOW)
    assert key.fingerprint == FPR
    assert key.user_id == "Release Bot <bot@example.invalid>"


@pytest.mark.parametrize(
    ("listing", "message"),
    [
        ("", "no GPG secret key matches"),
        (colons(validity="e"), "has expired"),
        (colons(expires=str(NOW - 1)), "has expired"),
        (colons(validity="r"), "revoked"),
        (colons(caps="cC"), "no usable signing"),
        (colons() + "\n" + colons(), "matches 2 GPG secret keys"),
    ],
)
def test_unusable_keys_are_explained(listing: str, message: str) -> None:
    with pytest.raises(SigningError, match=message):
        sign.usable_signing_key(sign.parse_secret_keys(listing), "bot", NOW)


def test_a_key_expiring_later_is_fine() -> None:
    assert sign.usable_signing_key(sign.parse_secret_keys(colons(expires=str(NOW + 60))), "bot", NOW)


@pytest.mark.parametrize(
    ("stderr", "message"),
    [
        ("gpg: signing failed: Bad passphrase", "refused the passphrase"),
        ("gpg: signing failed: No passphrase given", "needs a passphrase"),
        ("gpg: Sorry, we are in batchmode - can't get input", "needs a passphrase"),
        ('gpg: skipped "x": Unusable secret key', "no usable secret key"),
        ("gpg: something else broke", "something else broke"),
    ],
)
def test_gpg_failures_become_readable_errors(stderr: str, message: str) -> None:
    error = sign.explain_gpg_failure(stderr, "bot")
    assert message in str(error)
    assert error.exit_code == SigningError.exit_code


def test_minisign_wrong_password_is_explained() -> None:
    assert "refused the password" in str(sign.explain_minisign_failure("Wrong password for that key", "k"))


# --- secrets: passphrases and the minisign key text ---------------------------------------


def minisign_key_text(payload: bytes = b"Ed" + bytes(156), comment: str = "minisign encrypted secret key") -> str:
    """Text in the layout of a minisign secret key file (not a usable key)."""
    return f"untrusted comment: {comment}\n{base64.b64encode(payload).decode()}\n"


@pytest.mark.parametrize("variable", [sign.GPG_PASSPHRASE_ENV, sign.MINISIGN_PASSPHRASE_ENV])
@pytest.mark.parametrize("passphrase", ["x", "ab", "a b"])
def test_passphrases_shorter_than_four_characters_are_refused(tmp_path: Path, variable: str, passphrase: str) -> None:
    with pytest.raises(SigningError, match=f"{variable} is shorter than 4 characters") as caught:
        sign.sign_settings({}, {variable: passphrase}, tmp_path)
    shown = str(caught.value)
    assert "hint:" in shown and "longer" in shown
    assert f"'{passphrase}'" not in shown and f" {passphrase} " not in shown  # never the value itself
    assert caught.value.exit_code == SigningError.exit_code


def test_passphrases_of_four_characters_or_none_at_all_are_accepted(tmp_path: Path) -> None:
    settings = sign.sign_settings({}, {sign.GPG_PASSPHRASE_ENV: "abcd", sign.MINISIGN_PASSPHRASE_ENV: ""}, tmp_path)
    assert settings.gpg_passphrase == "abcd"
    assert settings.minisign_passphrase == ""
    assert settings.secrets == ("abcd",)


def test_the_passphrase_of_a_signer_not_used_is_not_judged_but_still_masked(tmp_path: Path) -> None:
    settings = sign.sign_settings({}, {sign.GPG_PASSPHRASE_ENV: "x"}, tmp_path, ["minisign"])
    assert settings.gpg_passphrase == "x" and "x" in settings.secrets


def test_minisign_key_text_from_the_environment_is_checked(tmp_path: Path) -> None:
    good = minisign_key_text()
    indented = "\r\n".join("    " + line for line in good.splitlines())  # as a YAML secret may arrive
    for text in (good, indented):
        settings = sign.sign_settings({}, {sign.MINISIGN_SECRET_KEY_ENV: text}, tmp_path)
        assert settings.minisign_key_content == text
        assert text not in repr(settings)
    # Not signing with minisign: the text is not judged.
    assert sign.sign_settings({}, {sign.MINISIGN_SECRET_KEY_ENV: "junk"}, tmp_path, ["gpg"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("/home/me/.minisign/minisign.key", "is not a minisign secret key: expected two lines"),
        ("RWRTY0Iy\n", "expected two lines"),
        ("untrusted comment: x\nnot base64 at all!\n", "its second line is not base64"),
        (minisign_key_text(b"Ed" + bytes(40), "minisign public key 1234"), "is a minisign public key"),
        (minisign_key_text(b"XX" + bytes(156)), "wrong algorithm or length"),
    ],
)
def test_text_that_is_no_minisign_secret_key_is_refused_without_quoting_it(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(SigningError, match=message) as caught:
        sign.sign_settings({}, {sign.MINISIGN_SECRET_KEY_ENV: text}, tmp_path)
    assert sign.MINISIGN_SECRET_KEY_ENV in str(caught.value)
    assert text.strip().splitlines()[-1] not in str(caught.value)


def key_settings(**changes: object) -> sign.SignSettings:
    base = sign.SignSettings(backends=("minisign",), gpg_key="", gpg_program="gpg", minisign_key="")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda folder: folder / "absent.key", "does not exist"),
        (lambda folder: folder, "is not a file"),
        (lambda folder: write(folder / "binary.key", b"\xff\xfe\x00"), "cannot read the minisign secret key"),
        (lambda folder: write(folder / "junk.key", b"hello\n"), "is not a minisign secret key"),
    ],
)
def test_a_key_file_that_cannot_sign_is_named_before_anything_is_signed(
    tmp_path: Path, make: Callable[[Path], Path], message: str
) -> None:
    path = make(tmp_path)
    with pytest.raises(SigningError, match=message) as caught:
        sign.check_minisign_key(key_settings(minisign_key=str(path)))
    assert str(path) in str(caught.value)
    assert sign.MINISIGN_KEY_ENV in str(caught.value)  # the hint says where the path came from


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_a_readable_key_file_is_used_in_place(tmp_path: Path) -> None:
    key = write(tmp_path / "minisign.key", minisign_key_text().encode())
    with sign._minisign_key_file(key_settings(minisign_key=str(key))) as path:
        assert path == key
    assert key.exists()


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def test_key_text_lives_only_in_a_private_folder_while_signing(temp_root: Path) -> None:
    text = "  " + minisign_key_text().replace("\n", "\r\n")
    with sign._minisign_key_file(key_settings(minisign_key_content=text)) as path:
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text() == minisign_key_text()  # normalised to the two lines minisign reads
    assert list(temp_root.iterdir()) == []


@pytest.mark.parametrize("stop", [Terminated(), KeyboardInterrupt(), SigningError("minisign failed")])
def test_key_text_is_removed_however_signing_ends(temp_root: Path, stop: BaseException) -> None:
    with pytest.raises(type(stop)), sign._minisign_key_file(key_settings(minisign_key_content=minisign_key_text())):
        raise stop
    assert list(temp_root.iterdir()) == []


def test_bad_key_text_is_refused_before_any_file_is_written(temp_root: Path) -> None:
    with (
        pytest.raises(SigningError, match="is not a minisign secret key"),
        sign._minisign_key_file(key_settings(minisign_key_content="junk")),
    ):
        pass
    assert list(temp_root.iterdir()) == []

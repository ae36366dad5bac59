"""Signing decisions: settings, command lines, key checks and error messages (no gpg run here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tooling.artifacts import sign
from tooling.errors import ConfigError

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
        ({"backends": ["gpg", "cosign"]}, "unknown signer 'cosign'"),
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
    with pytest.raises(sign.SigningError, match=message):
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
    assert error.exit_code == sign.SigningError.exit_code


def test_minisign_wrong_password_is_explained() -> None:
    assert "refused the password" in str(sign.explain_minisign_failure("Wrong password for that key", "k"))

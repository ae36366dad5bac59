from __future__ import annotations

import pytest

from tooling import proc


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


def test_dry_run_skips_mutating_commands_without_starting_them(capsys: pytest.CaptureFixture[str]) -> None:
    proc.set_dry_run(True)
    try:
        result = proc.run(["rm", "-rf", "/nonexistent"])
    finally:
        proc.set_dry_run(False)
    assert result.skipped and result.ok
    assert "+ rm -rf /nonexistent" in capsys.readouterr().err


def test_secret_env_names() -> None:
    assert proc.is_secret_name("GITHUB_TOKEN")
    assert proc.is_secret_name("minisign_password")
    assert not proc.is_secret_name("PATH")

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

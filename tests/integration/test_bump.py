"""`invoke bump` on throwaway repositories with real git: bumps, prereleases, auto, refusals."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool
from tests.integration.versioning_repo import (
    PYPROJECT,
    ScriptedRepo,
    config_outside,
    fixed_clock,
    make_repo,
    shallow_clone,
)
from tooling import proc
from tooling.config import ReleaseConfig
from tooling.errors import GitStateError, VersionError
from tooling.versioning.bump import plan_bump, run_bump
from tooling.versioning.commands import run_changelog, run_commit_lint, run_notes
from tooling.versioning.project import Project

__all__ = ["fixed_clock"]
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fixed_clock")]


def bump(repo: ScriptedRepo, part: str | None = None, pre: str | None = None, auto: bool = False) -> str:
    run_bump(repo.config(), part=part, pre=pre, auto=auto, dry_run=False)
    return repo.config().version


@pytest.mark.parametrize(("part", "expected"), [("major", "2.0.0"), ("minor", "1.3.0"), ("patch", "1.2.4")])
def test_each_bump_part(tmp_path: Path, part: str, expected: str) -> None:
    repo = make_repo(tmp_path / "repo")
    repo.commit("fix: handle empty files")
    assert bump(repo, part) == expected
    cargo = repo.read("Cargo.toml")
    assert f'version = "{expected}"   # trailing comment stays too' in cargo
    assert "# The version is bumped by `invoke bump`; keep this comment." in cargo
    lock = repo.read("Cargo.lock")
    assert f'name = "crcsum"\nversion = "{expected}"' in lock
    assert 'name = "clap"\nversion = "1.2.3"' in lock  # other packages untouched
    assert repo.git("cat-file", "-t", f"v{expected}") == "tag"  # annotated
    assert repo.git("rev-parse", f"v{expected}^{{commit}}") == repo.git("rev-parse", "HEAD")
    assert repo.git("log", "-1", "--format=%s") == f"chore(release): v{expected}"
    assert repo.git("status", "--porcelain") == ""
    changelog = repo.read("CHANGELOG.md")
    assert f"## [{expected}] - 2027-01-01" in changelog
    assert "- handle empty files" in changelog


def test_prerelease_sequence_and_notes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo", "1.3.0")
    repo.commit("feat(cli): add --json output")
    assert bump(repo, "minor", "beta") == "1.4.0-beta.1"
    repo.commit("fix(cli): escape quotes in --json output", author="Grace Hopper", email="grace@example.invalid")
    assert bump(repo, None, "beta") == "1.4.0-beta.2"
    capsys.readouterr()
    run_notes(repo.config(), "1.4.0-beta.2", None, proc.Runner())
    beta_notes = capsys.readouterr().out
    assert "# crcsum 1.4.0-beta.2" in beta_notes
    assert "**Prerelease.**" in beta_notes
    assert "changes since 1.4.0-beta.1" in beta_notes  # a prerelease compares with the tag before it
    assert "escape quotes" in beta_notes and "add --json output" not in beta_notes
    assert "cargo install --locked crcsum@1.4.0-beta.2" in beta_notes

    assert bump(repo, "minor") == "1.4.0"
    assert sorted(repo.tags()) == ["v1.3.0", "v1.4.0", "v1.4.0-beta.1", "v1.4.0-beta.2"]
    run_notes(repo.config(), "1.4.0", None, proc.Runner())
    stable = capsys.readouterr().out
    assert "Prerelease" not in stable
    assert "changes since 1.3.0." in stable  # not since the last beta
    added = stable.split("### Added")[1].split("###")[0]
    fixed = stable.split("### Fixed")[1].split("##")[0]
    assert "**cli:** add --json output" in added and "escape quotes" in fixed
    assert "Thanks to everyone who contributed to this release: Ada Lovelace, Grace Hopper." in stable
    assert "sha256sum --check --ignore-missing SHA256SUMS" in stable
    assert "gpg --verify SHA256SUMS.asc SHA256SUMS" in stable
    assert "`x86_64-pc-windows-gnu` (zip)" in stable
    changelog = repo.read("CHANGELOG.md")
    headings = re.findall(r"^## \[(.+?)\]", changelog, re.MULTILINE)
    assert headings == ["1.4.0", "1.4.0-beta.2", "1.4.0-beta.1"]


def scripted_history(repo: ScriptedRepo) -> None:
    repo.commit("fix(io): report unreadable files with their path")
    repo.commit("tweak things a bit")  # not conventional: must land under Other
    repo.commit(
        "feat(check): accept upper-case expected checksums", author="Grace Hopper", email="grace@example.invalid"
    )
    repo.commit("docs: explain exit codes")
    repo.commit("perf: read files in 64 KiB blocks")


def test_auto_bump_from_scripted_history(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", "1.2.3")
    scripted_history(repo)
    assert bump(repo, auto=True) == "1.3.0"
    section = repo.read("CHANGELOG.md").split("## [1.3.0] - 2027-01-01")[1]
    groups = {
        title: [line for line in body.splitlines() if line.startswith("- ")]
        for title, body in re.findall(r"^### (\w+)\n(.*?)(?=^### |\Z)", section, re.MULTILINE | re.DOTALL)
    }
    assert list(groups) == ["Added", "Changed", "Fixed", "Documentation", "Other"]
    assert groups["Added"][0].startswith("- **check:** accept upper-case expected checksums (")
    assert groups["Changed"][0].startswith("- read files in 64 KiB blocks (")
    assert groups["Fixed"][0].startswith("- **io:** report unreadable files with their path (")
    assert groups["Other"][0].startswith("- tweak things a bit (")


@pytest.mark.parametrize(("start", "expected"), [("1.2.3", "2.0.0"), ("0.4.1", "0.5.0")])
def test_auto_bump_breaking_change_and_migration_guide(tmp_path: Path, start: str, expected: str) -> None:
    repo = make_repo(tmp_path / "repo", start)
    repo.commit("fix: small thing")
    repo.commit(
        "feat(cli)!: print checksums in upper case by default\n\n"
        "BREAKING CHANGE: lower-case output now needs --lower; scripts comparing\n"
        "output with lower-case sums must pass --lower."
    )
    assert bump(repo, auto=True) == expected
    guide = repo.read(f"docs/migrations/{start}-to-{expected}.md")
    assert f"# Migrating crcsum from {start} to {expected}" in guide
    assert (
        "lower-case output now needs --lower; scripts comparing\noutput with lower-case sums must pass --lower."
        in guide
    )
    assert f"docs/migrations/{start}-to-{expected}.md" in repo.git("show", "--name-only", "--format=", "HEAD")
    assert "**BREAKING** **cli:** print checksums in upper case by default" in repo.read("CHANGELOG.md")


# --- refusals -----------------------------------------------------------------


def test_refuses_a_dirty_tree(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    repo.commit("fix: a")
    (repo.root / "src" / "main.rs").write_text("fn main() { println!(); }\n", encoding="utf-8")
    with pytest.raises(GitStateError, match=r"uncommitted changes: src/main.rs") as error:
        bump(repo, "patch")
    assert "commit or stash them first" in str(error.value)
    assert repo.config().version == "1.2.3" and "v1.2.4" not in repo.tags()


def test_refuses_an_existing_tag(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    repo.commit("fix: a")
    repo.tag("v1.2.4")
    with pytest.raises(GitStateError, match=r"tag v1\.2\.4 already exists") as error:
        bump(repo, "patch")
    assert "was released already" in str(error.value)
    assert repo.config().version == "1.2.3"


def test_refuses_a_branch_outside_the_policy(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    repo.git("checkout", "-q", "-b", "feature/json")
    repo.commit("feat: json")
    with pytest.raises(GitStateError, match=r"branch 'feature/json' may not release") as error:
        bump(repo, "minor")
    assert "merge into main" in str(error.value)


def test_release_branch_makes_patch_releases_only(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    repo.git("checkout", "-q", "-b", "release/1.2")
    repo.commit("fix: backported fix")
    with pytest.raises(GitStateError, match=r"branch 'release/1\.2' releases 1\.2\.x only, not 1\.3\.0"):
        bump(repo, "minor")
    assert bump(repo, "patch") == "1.2.4"
    assert repo.git("rev-parse", "--abbrev-ref", "HEAD") == "release/1.2"


def test_refuses_a_breaking_change_without_major(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    sha = repo.commit("refactor!: rename the check subcommand to verify")
    with pytest.raises(VersionError, match=r"1\.3\.0 contains breaking changes but is not a major release") as error:
        bump(repo, "minor")
    message = str(error.value)
    assert f"commit {sha[:7]}: refactor!: rename the check subcommand to verify" in message
    assert "acknowledged-breaking" in message and "--part major (2.0.0)" in message


def test_acknowledged_breaking_change_passes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", versioning='acknowledged-breaking = ["1.3.0"]')
    repo.commit("feat!: drop the deprecated --old flag")
    assert bump(repo, "minor") == "1.3.0"


def test_dry_run_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo")
    repo.commit("feat: new thing")
    head = repo.git("rev-parse", "HEAD")
    run_bump(repo.config(), part=None, pre=None, auto=True, dry_run=True)
    out = capsys.readouterr().out
    assert "next version: 1.3.0" in out and "# crcsum 1.3.0" in out and "- new thing" in out
    assert repo.git("rev-parse", "HEAD") == head and repo.tags() == ["v1.2.3"]
    assert repo.git("status", "--porcelain") == "" and not (repo.root / "CHANGELOG.md").exists()


def test_signed_tag_without_a_key_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GNUPGHOME", str(tmp_path / "empty-gnupg"))
    (tmp_path / "empty-gnupg").mkdir(mode=0o700)
    repo = make_repo(tmp_path / "repo", versioning='sign-tags = true\nsigning-key = "0xDEADBEEF"')
    repo.commit("fix: a")
    with pytest.raises(GitStateError, match=r"could not create the signed tag v1\.2\.4") as error:
        bump(repo, "patch")
    assert "sign-tags = false" in str(error.value)


def test_commit_lint_reports_offenders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo")
    repo.commit("fix: fine")
    bad = repo.commit("Updated stuff.")
    assert run_commit_lint(repo.config(), None) == VersionError.exit_code
    report = capsys.readouterr().out
    assert f"{bad[:7]} Updated stuff." in report
    assert 'subject is not "type(scope): description"' in report
    assert "1 of 2 commits since v1.2.3 break the conventional-commit rules." in report
    repo.git("tag", "-a", "v1.2.4", "-m", "x")
    repo.commit("docs: fine")
    assert run_commit_lint(repo.config(), None) == 0
    assert "all 1 commits since v1.2.4 follow" in capsys.readouterr().out


def test_invoke_bump_auto_dry_run_on_this_repository() -> None:
    invoke = Path(sys.executable).parent / "invoke"
    result = subprocess.run(
        [str(invoke), "bump", "--auto", "--dry-run"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    match = re.search(r"^next version: (\S+)$", result.stdout, re.MULTILINE)
    assert match, result.stdout
    assert f"# crcsum {match[1]}" in result.stdout
    assert "### Other" in result.stdout  # the early, non-conventional commits


def test_signed_tag_with_a_key_verifies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gpg = require_tool("gpg")
    # A short path: gpg-agent's socket name must fit its limit.
    home = Path(tempfile.mkdtemp(prefix="gpg-tag-", dir="/tmp"))
    home.chmod(0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    try:
        subprocess.run(
            [
                gpg,
                "--batch",
                "--passphrase",
                "",
                "--quick-gen-key",
                "Tagger <tagger@example.invalid>",
                "ed25519",
                "sign",
                "1d",
            ],
            capture_output=True,
            check=True,
        )
        listing = subprocess.run(
            [gpg, "--with-colons", "--list-secret-keys"], capture_output=True, text=True, check=True
        ).stdout
        fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
        repo = make_repo(tmp_path / "repo", versioning=f'sign-tags = true\nsigning-key = "{fingerprint}"')
        repo.commit("fix: a")
        assert bump(repo, "patch") == "1.2.4"
        verified = subprocess.run(
            ["git", "-C", str(repo.root), "tag", "-v", "v1.2.4"], capture_output=True, text=True, check=False
        )
        assert verified.returncode == 0, verified.stderr
        assert "Good signature" in verified.stderr
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)


# --- notes and changelog: first release, untagged versions -----------------------


def test_notes_and_changelog_of_the_first_release_tag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No earlier tag: the range is everything up to the tag (git-cliff used to fail on it)."""
    repo = make_repo(tmp_path / "repo", "0.1.0", tag=False)
    repo.commit("feat: checksum files")
    repo.tag("v0.1.0")
    repo.commit("fix: after the release")
    capsys.readouterr()
    run_notes(repo.config(), None, None, proc.Runner())
    notes = capsys.readouterr().out
    assert "# crcsum 0.1.0" in notes and "checksum files" in notes and "Initial import" in notes
    assert "after the release" not in notes
    run_changelog(repo.config(), "0.1.0", stdout=True, runner=proc.Runner())
    section = capsys.readouterr().out
    assert section.startswith("## [0.1.0] - 2026-01-01") and "- checksum files (" in section
    assert "after the release" not in section


def test_notes_for_a_version_without_a_tag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo", "1.2.3")
    repo.commit("feat: json output")
    with pytest.raises(VersionError, match=r"9\.9\.9 is not released: there is no tag v9\.9\.9") as error:
        run_notes(repo.config(), "9.9.9", None, proc.Runner())
    assert "--unreleased" in str(error.value)
    with pytest.raises(VersionError, match="is not released"):
        run_changelog(repo.config(), "9.9.9", stdout=True, runner=proc.Runner())
    capsys.readouterr()
    run_notes(repo.config(), "1.3.0", None, proc.Runner(), unreleased=True)
    captured = capsys.readouterr()
    assert "# crcsum 1.3.0" in captured.out and "json output" in captured.out
    assert "changes since 1.2.3" in captured.out
    assert "v1.3.0 is not tagged yet: notes of the commits since v1.2.3 up to HEAD" in captured.err


def test_default_notes_before_the_release_tag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`invoke notes` with Cargo.toml at an untagged version: the commits up to HEAD, as the workflow expects."""
    repo = make_repo(tmp_path / "repo", "1.2.3")
    repo.commit("fix: a crash")
    (repo.root / "Cargo.toml").write_text(repo.read("Cargo.toml").replace('"1.2.3"', '"1.2.4"'), encoding="utf-8")
    repo.git("commit", "-q", "-am", "chore: prepare 1.2.4")
    capsys.readouterr()
    run_notes(repo.config(), None, None, proc.Runner())
    assert "# crcsum 1.2.4" in capsys.readouterr().out


# --- shallow clones ----------------------------------------------------------------


def test_a_shallow_clone_is_refused_by_everything_that_reads_history(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "origin", "0.1.0")
    repo.commit("feat: a feature worth a minor release")
    repo.commit("fix: a fix")
    clone = shallow_clone(repo, tmp_path / "clone")
    config = clone.config()
    refusal = r"is a shallow clone: `invoke {}` reads the git history"
    with pytest.raises(GitStateError, match=refusal.format("bump")) as error:
        run_bump(config, part=None, pre=None, auto=True, dry_run=True)
    assert "0.1.1 where the whole history says 0.2.0" in error.value.message
    assert "git fetch --unshallow --tags" in str(error.value.hint)
    with pytest.raises(GitStateError, match=refusal.format("notes")):
        run_notes(config, None, None, proc.Runner())
    with pytest.raises(GitStateError, match=refusal.format("changelog")):
        run_changelog(config, None, stdout=True, runner=proc.Runner())
    with pytest.raises(GitStateError, match=refusal.format("commit-lint")):
        run_commit_lint(config, None)
    # The hint's command is the whole fix.
    clone.git("fetch", "-q", "--unshallow", "--tags")
    plan = plan_bump(Project.load(clone.config()), auto=True)
    assert str(plan.new) == "0.2.0"


# --- a release config kept outside the crate's repository ---------------------------


def test_release_config_outside_the_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo", "1.2.3")
    repo.commit("feat!: drop the --old flag\n\nBREAKING CHANGE: use --new instead.")
    config = config_outside(repo, tmp_path / "elsewhere")
    assert config.root == (tmp_path / "elsewhere").resolve()
    run_notes(config, "1.2.3", None, proc.Runner())
    assert "# crcsum 1.2.3" in capsys.readouterr().out
    run_bump(config, part="major", pre=None, auto=False, dry_run=False)
    assert repo.git("log", "-1", "--format=%s") == "chore(release): v2.0.0"
    assert "v2.0.0" in repo.tags() and repo.git("status", "--porcelain") == ""
    assert "## [2.0.0]" in repo.read("CHANGELOG.md")
    assert "use --new instead." in repo.read("docs/migrations/1.2.3-to-2.0.0.md")  # in the repository
    assert not (tmp_path / "elsewhere" / "docs").exists()


def test_bump_refuses_to_write_files_it_cannot_commit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", "1.2.3")
    repo.commit("fix: a")
    config = config_outside(repo, tmp_path / "elsewhere", versioning='changelog = "CHANGELOG.md"')
    with pytest.raises(GitStateError, match=r"CHANGELOG\.md is outside the crate's repository") as error:
        run_bump(config, part="patch", pre=None, auto=False, dry_run=False)
    assert "inside the repository" in str(error.value.hint)
    assert repo.config().version == "1.2.3" and not (tmp_path / "elsewhere" / "CHANGELOG.md").exists()


# --- commit-lint: exempt history ------------------------------------------------------


def test_commit_lint_since_exempts_the_history_before_the_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo", tag=False)
    old = repo.commit("Updated stuff.")
    assert run_commit_lint(repo.config(), None) == VersionError.exit_code
    repo.commit("fix: fine")
    exempt = make_repo_setting(repo, f'commit-lint-since = "{old}"')
    capsys.readouterr()
    assert run_commit_lint(exempt, None) == 0
    assert f"all 1 commits after {old[:7]} (commit-lint-since) follow" in capsys.readouterr().out
    bad = repo.commit("Another bad one")
    assert run_commit_lint(make_repo_setting(repo, f'commit-lint-since = "{old}"'), None) == VersionError.exit_code
    assert f"{bad[:7]} Another bad one" in capsys.readouterr().out


def make_repo_setting(repo: ScriptedRepo, versioning: str) -> ReleaseConfig:
    """The repository's config with [tool.release.versioning] replaced, without committing it."""
    text = PYPROJECT.format(versioning=versioning)
    (repo.root / "pyproject.toml").write_text(text, encoding="utf-8")
    return repo.config()


def test_commit_lint_passes_on_this_repository() -> None:
    """The rules hold for this repository's own history (older commits: tool.release.versioning.commit-lint-since)."""
    invoke = Path(sys.executable).parent / "invoke"
    result = subprocess.run([str(invoke), "commit-lint"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "follow the conventional-commit rules" in result.stdout

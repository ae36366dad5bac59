"""Release branches, backports and main's CHANGELOG.md follow-up, on throwaway repositories with real git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.git_remote import bare_repository, branch_file, branch_log, push_commit
from tests.integration.versioning_repo import ScriptedRepo, fixed_clock, make_repo
from tooling import proc
from tooling.errors import GitStateError
from tooling.git import GitRepo
from tooling.release.branches import (
    backport_trailer,
    create_release_branch,
    main_changelog_followup,
    run_backport,
)

__all__ = ["fixed_clock"]
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fixed_clock")]


# --- helpers -------------------------------------------------------------------------------------------------


def write_commit(repo: ScriptedRepo, path: str, content: str, message: str, *, author: str = "Ada Lovelace") -> str:
    """One commit setting `path` to `content`; its id."""
    file = repo.root / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(content, encoding="utf-8")
    repo.git("add", "--", path)
    repo.git("commit", "-q", "-m", message, author=author, email=f"{author.split()[0].lower()}@example.invalid")
    return repo.git("rev-parse", "HEAD")


def sha_of(repo: ScriptedRepo, ref: str) -> str:
    return repo.git("rev-parse", f"{ref}^{{commit}}")


def worktrees(repo: ScriptedRepo) -> list[str]:
    return [line for line in repo.git("worktree", "list", "--porcelain").splitlines() if line.startswith("worktree ")]


def release_line_repo(root: Path) -> ScriptedRepo:
    """main released 1.4.0 (tagged, release/1.4 made there), then a feature, a fix and an unrelated fix on main."""
    repo = make_repo(root, "1.4.0")
    repo.git("branch", "release/1.4", "v1.4.0")
    write_commit(repo, "src/feature.txt", "new feature\n", "feat: add the feature")
    write_commit(repo, "src/fix.txt", "fixed\n", "fix: stop crashing on empty input", author="Grace Hopper")
    write_commit(repo, "src/other.txt", "other\n", "fix: another fix")
    return repo


def state(repo: ScriptedRepo) -> tuple[str | None, str, str, str]:
    """(current branch, HEAD, release/1.4, status): what a refused or failed backport must leave as it was."""
    branch = repo.git("branch", "--show-current") or None
    return branch, sha_of(repo, "HEAD"), sha_of(repo, "release/1.4"), repo.git("status", "--porcelain")


def add_remote(repo: ScriptedRepo, bare: Path) -> None:
    repo.git("remote", "add", "origin", str(bare))


# --- release branches ---------------------------------------------------------------------------------------


def test_release_branch_is_created_at_the_tag_pushed_and_converges(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", "1.4.0")
    write_commit(repo, "src/later.txt", "later\n", "feat: work after the release")
    bare = bare_repository(tmp_path / "origin.git")
    add_remote(repo, bare)
    git = GitRepo(repo.root)
    tag_sha = sha_of(repo, "v1.4.0")

    detail = create_release_branch(git, "release/1.4", "v1.4.0", remote="origin")
    assert "created release/1.4 at v1.4.0" in detail and "pushed to origin" in detail
    assert sha_of(repo, "release/1.4") == tag_sha
    assert repo.git("branch", "--show-current") == "main"  # the checkout did not move
    assert branch_log(bare, "release/1.4")[0].sha == tag_sha
    assert branch_log(bare, "main") == []  # only the branch is pushed
    assert (
        "v1.4.0"
        not in subprocess.run(
            ["git", "--git-dir", str(bare), "tag"], capture_output=True, text=True, check=True
        ).stdout.split()
    )

    again = create_release_branch(git, "release/1.4", "v1.4.0", remote="origin")
    assert "release/1.4 exists at v1.4.0" in again and "on origin already" in again
    assert sha_of(repo, "release/1.4") == tag_sha


def test_release_branch_that_grew_is_kept_and_one_elsewhere_is_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", "1.4.0")
    repo.git("branch", "release/1.4", "v1.4.0")
    repo.git("checkout", "-q", "release/1.4")
    grown = write_commit(repo, "src/fix.txt", "fix\n", "fix: a fix on the line")
    repo.git("checkout", "-q", "main")
    write_commit(repo, "src/main.txt", "main\n", "feat: main moves on")
    git = GitRepo(repo.root)

    assert "grown from v1.4.0" in create_release_branch(git, "release/1.4", "v1.4.0", remote=None)
    assert sha_of(repo, "release/1.4") == grown

    repo.git("branch", "release/1.5", "main")  # made by hand from main, not at the 1.5.0 tag
    repo.git("checkout", "-q", "--detach", "v1.4.0")
    write_commit(repo, "src/side.txt", "side\n", "fix: a side line")
    repo.git("tag", "-a", "v1.5.0", "-m", "v1.5.0")
    repo.git("checkout", "-q", "main")
    with pytest.raises(GitStateError) as refused:
        create_release_branch(git, "release/1.5", "v1.5.0", remote=None)
    assert "does not contain v1.5.0" in refused.value.message
    assert refused.value.hint and "git branch -m release/1.5" in refused.value.hint
    assert sha_of(repo, "release/1.5") == sha_of(repo, "main")

    with pytest.raises(GitStateError, match="names no commit"):
        create_release_branch(git, "release/9.0", "v9.0.0", remote=None)
    with pytest.raises(GitStateError, match="no git remote named 'upstream'"):
        create_release_branch(git, "release/1.4", "v1.4.0", remote="upstream")


def test_release_branch_dry_run_changes_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", "1.4.0")
    bare = bare_repository(tmp_path / "origin.git")
    add_remote(repo, bare)
    detail = create_release_branch(
        GitRepo(repo.root, proc.Runner(dry_run=True)), "release/1.4", "v1.4.0", remote="origin"
    )
    assert "would create release/1.4" in detail and "would push to origin" in detail
    assert "release/1.4" not in repo.git("branch", "--list")
    assert branch_log(bare, "release/1.4") == []


# --- backports ------------------------------------------------------------------------------------------------


def test_backport_onto_the_latest_release_branch_in_a_worktree(tmp_path: Path) -> None:
    repo = release_line_repo(tmp_path / "repo")
    repo.git("branch", "release/1.3", "v1.4.0~0")  # an older line; the default is the highest one
    fix = sha_of(repo, "HEAD~1")
    before_head = sha_of(repo, "HEAD")
    before_branch = sha_of(repo, "release/1.4")

    assert run_backport(repo.config(), fix[:9], branch=None, dry_run=False) == 0

    assert repo.git("branch", "--show-current") == "main"
    assert sha_of(repo, "HEAD") == before_head
    assert repo.git("status", "--porcelain") == ""
    assert worktrees(repo) == [f"worktree {repo.root}"]
    assert sha_of(repo, "release/1.4~1") == before_branch  # exactly one new commit
    assert sha_of(repo, "release/1.3") == sha_of(repo, "v1.4.0")
    message = repo.git("log", "-1", "--format=%B", "release/1.4")
    assert message.splitlines()[0] == "fix: stop crashing on empty input"
    assert message.splitlines()[-1] == backport_trailer(fix)
    assert repo.git("log", "-1", "--format=%an", "release/1.4") == "Grace Hopper"
    assert repo.git("show", "release/1.4:src/fix.txt") == "fixed"
    tree = repo.git("ls-tree", "-r", "--name-only", "release/1.4").split()
    assert "src/feature.txt" not in tree  # only the one commit came over


def test_backport_to_a_named_branch_and_dry_run(tmp_path: Path) -> None:
    repo = release_line_repo(tmp_path / "repo")
    repo.git("branch", "release/1.3", "v1.4.0")
    fix = sha_of(repo, "HEAD~1")
    untouched = state(repo)

    assert run_backport(repo.config(), fix, branch="release/1.3", dry_run=True) == 0
    assert state(repo) == untouched
    assert sha_of(repo, "release/1.3") == sha_of(repo, "v1.4.0")

    assert run_backport(repo.config(), fix, branch="release/1.3", dry_run=False) == 0
    assert repo.git("log", "-1", "--format=%s", "release/1.3") == "fix: stop crashing on empty input"
    assert state(repo) == untouched  # release/1.4 included


def test_backport_on_the_checked_out_release_branch_moves_the_checkout(tmp_path: Path) -> None:
    repo = release_line_repo(tmp_path / "repo")
    fix = sha_of(repo, "HEAD~1")
    repo.git("checkout", "-q", "release/1.4")
    assert run_backport(repo.config(), fix, branch=None, dry_run=False) == 0
    assert repo.git("branch", "--show-current") == "release/1.4"
    assert backport_trailer(fix) in repo.git("log", "-1", "--format=%B")
    assert repo.read("src/fix.txt") == "fixed\n"
    assert repo.git("status", "--porcelain") == ""


def test_backport_refusals_change_nothing(tmp_path: Path) -> None:
    repo = release_line_repo(tmp_path / "repo")
    config = repo.config()
    fix = sha_of(repo, "HEAD~1")
    old = sha_of(repo, "v1.4.0")
    repo.git("checkout", "-q", "-b", "topic", "HEAD~2")
    write_commit(repo, "src/topic.txt", "topic\n", "fix: topic work")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "chore: merge topic", "topic")
    merge = sha_of(repo, "HEAD")
    untouched = state(repo)

    refusals = [
        ("deadbeef", None, "names no commit"),
        (merge, None, "is a merge commit"),
        (old, None, "is on release/1.4 already (it is part of its history)"),
        (fix, "main", "is not a release branch"),
        (fix, "release/9.9", "there is no local branch release/9.9"),
    ]
    for commit, branch, expected in refusals:
        with pytest.raises(GitStateError) as refused:
            run_backport(config, commit, branch=branch, dry_run=False)
        assert expected in refused.value.message, (commit, branch)
        assert state(repo) == untouched

    (repo.root / "src" / "main.rs").write_text("fn main() { changed() }\n", encoding="utf-8")
    with pytest.raises(GitStateError, match=r"uncommitted changes: src/main\.rs"):
        run_backport(config, fix, branch=None, dry_run=False)
    repo.git("checkout", "--", "src/main.rs")

    repo.git("branch", "-m", "release/1.4", "renamed")
    with pytest.raises(GitStateError, match="there is no release branch"):
        run_backport(config, fix, branch=None, dry_run=False)
    repo.git("branch", "-m", "renamed", "release/1.4")
    assert state(repo) == untouched


def test_backport_twice_is_refused_by_trailer_and_by_patch_id(tmp_path: Path) -> None:
    repo = release_line_repo(tmp_path / "repo")
    config = repo.config()
    fix = sha_of(repo, "HEAD~1")
    other = sha_of(repo, "HEAD")
    run_backport(config, fix, branch=None, dry_run=False)
    backported = sha_of(repo, "release/1.4")
    with pytest.raises(GitStateError) as refused:
        run_backport(config, fix, branch=None, dry_run=False)
    assert f"backported as {backported[:12]}" in refused.value.message

    # Picked by hand without a trailer: the same patch is recognised.
    repo.git("checkout", "-q", "release/1.4")
    repo.git("cherry-pick", other)
    by_hand = sha_of(repo, "HEAD")
    repo.git("checkout", "-q", "main")
    with pytest.raises(GitStateError, match="a commit there makes the same change"):
        run_backport(config, other, branch=None, dry_run=False)
    assert sha_of(repo, "release/1.4") == by_hand


def test_backport_conflict_leaves_everything_as_it_was(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", "1.4.0")
    write_commit(repo, "src/table.txt", "one\ntwo\nthree\n", "feat: add the table")
    repo.tag("v1.5.0")
    repo.git("branch", "release/1.5", "v1.5.0")
    repo.git("checkout", "-q", "release/1.5")
    write_commit(repo, "src/table.txt", "one\nTWO on the line\nthree\n", "fix: the line's own fix")
    repo.git("checkout", "-q", "main")
    fix = write_commit(repo, "src/table.txt", "one\ntwo, fixed on main\nthree\n", "fix: the main fix")
    branch_before = sha_of(repo, "release/1.5")
    head_before = sha_of(repo, "HEAD")

    with pytest.raises(GitStateError) as conflict:
        run_backport(repo.config(), fix, branch=None, dry_run=False)
    assert "conflicts in src/table.txt" in conflict.value.message
    assert conflict.value.hint and "git cherry-pick --continue" in conflict.value.hint
    assert f"--trailer 'Backported-from: {fix}'" in conflict.value.hint
    assert sha_of(repo, "release/1.5") == branch_before
    assert sha_of(repo, "HEAD") == head_before
    assert repo.git("status", "--porcelain") == ""
    assert worktrees(repo) == [f"worktree {repo.root}"]

    # The same conflict on the checked-out branch: the pick is aborted there too.
    repo.git("checkout", "-q", "release/1.5")
    with pytest.raises(GitStateError, match=r"conflicts in src/table\.txt"):
        run_backport(repo.config(), fix, branch=None, dry_run=False)
    assert sha_of(repo, "HEAD") == branch_before
    assert repo.git("status", "--porcelain") == ""
    assert not (repo.root / ".git" / "CHERRY_PICK_HEAD").exists()


# --- main's CHANGELOG.md after a patch from a release branch ----------------------------------------------


CHANGELOG_140 = "# Changelog\n\n## [1.4.0] - 2026-01-01\n\n### Features\n\n- the first line\n"
SECTION_150 = "## [1.5.0] - 2026-02-01\n\n### Features\n\n- the next line\n"
SECTION_141 = "## [1.4.1] - 2026-03-01\n\n### Bug Fixes\n\n- the backported fix\n"


def patched_repo(root: Path) -> ScriptedRepo:
    """main at 1.5.0 (sections 1.5.0, 1.4.0); release/1.4 released 1.4.1 (sections 1.4.1, 1.4.0), checked out."""
    repo = make_repo(root, "1.4.0", tag=False)
    write_commit(repo, "CHANGELOG.md", CHANGELOG_140, "chore(release): v1.4.0")
    repo.tag("v1.4.0")
    repo.git("branch", "release/1.4", "v1.4.0")
    changelog_150 = CHANGELOG_140.replace("## [1.4.0]", SECTION_150 + "\n## [1.4.0]")
    write_commit(repo, "CHANGELOG.md", changelog_150, "chore(release): v1.5.0")
    repo.git("checkout", "-q", "release/1.4")
    write_commit(repo, "src/fix.txt", "fixed\n", "fix: the backported fix")
    changelog_141 = CHANGELOG_140.replace("## [1.4.0]", SECTION_141 + "\n## [1.4.0]")
    write_commit(repo, "CHANGELOG.md", changelog_141, "chore(release): v1.4.1")
    repo.tag("v1.4.1")
    return repo


def section_order(text: str) -> list[str]:
    return [line.split("]")[0].removeprefix("## [") for line in text.splitlines() if line.startswith("## [")]


def test_followup_commits_the_section_on_local_main(tmp_path: Path) -> None:
    repo = patched_repo(tmp_path / "repo")
    main_before = sha_of(repo, "main")
    config = repo.config()

    dry = main_changelog_followup(
        config, "1.4.1", SECTION_141, mode="commit", remote=None, runner=proc.Runner(dry_run=True)
    )
    assert dry.startswith("would add 1.4.1")
    assert sha_of(repo, "main") == main_before

    detail = main_changelog_followup(config, "1.4.1", SECTION_141, mode="commit", remote=None, runner=proc.Runner())
    assert detail.startswith("added 1.4.1 to CHANGELOG.md on main")
    assert sha_of(repo, "main~1") == main_before
    assert repo.git("log", "-1", "--format=%s", "main") == "docs(changelog): add 1.4.1 from release/1.4"
    assert repo.git("diff", "--name-only", "main~1", "main") == "CHANGELOG.md"
    on_main = repo.git("show", "main:CHANGELOG.md")
    assert section_order(on_main) == ["1.5.0", "1.4.1", "1.4.0"]
    assert "- the backported fix" in on_main
    assert repo.git("branch", "--show-current") == "release/1.4"
    assert repo.git("status", "--porcelain") == ""
    assert worktrees(repo) == [f"worktree {repo.root}"]

    again = main_changelog_followup(config, "1.4.1", SECTION_141, mode="commit", remote=None, runner=proc.Runner())
    assert again == "CHANGELOG.md on main has 1.4.1 already"
    assert sha_of(repo, "main~1") == main_before


def test_followup_commits_on_the_remote_main_that_moved(tmp_path: Path) -> None:
    repo = patched_repo(tmp_path / "repo")
    bare = bare_repository(tmp_path / "origin.git")
    add_remote(repo, bare)
    repo.git("push", "-q", "origin", "main", "release/1.4")
    theirs = push_commit(bare, "main", "docs/guide.md", b"guide\n", tmp_path / "other", "docs: add a guide")
    local_main = sha_of(repo, "main")
    config = repo.config()

    detail = main_changelog_followup(config, "1.4.1", SECTION_141, mode="commit", remote="origin", runner=proc.Runner())
    assert detail.endswith("pushed to origin")
    log = branch_log(bare, "main")
    assert log[0].subject == "docs(changelog): add 1.4.1 from release/1.4"
    assert log[1].sha == theirs  # on top of the remote's newest main
    assert section_order(branch_file(bare, "main", "CHANGELOG.md").decode()) == ["1.5.0", "1.4.1", "1.4.0"]
    assert sha_of(repo, "main") == local_main  # the local main is left alone
    assert worktrees(repo) == [f"worktree {repo.root}"]

    again = main_changelog_followup(config, "1.4.1", SECTION_141, mode="commit", remote="origin", runner=proc.Runner())
    assert "has 1.4.1 already" in again
    assert len(branch_log(bare, "main")) == len(log)


def run_commands(text: str, cwd: Path) -> None:
    """Run printed instructions the way a maintainer pastes them into a shell."""
    require_tool("bash")
    result = subprocess.run(["bash", "-eu"], input=text, cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"the printed commands failed:\n{text}\n{result.stderr}"


def test_followup_print_mode_prints_commands_that_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = patched_repo(tmp_path / "repo")
    main_before = sha_of(repo, "main")
    config = repo.config()
    detail = main_changelog_followup(config, "1.4.1", SECTION_141, mode="print", remote=None, runner=proc.Runner())
    assert detail == "printed the commands that add 1.4.1 to CHANGELOG.md on main"
    printed = capsys.readouterr().out
    assert sha_of(repo, "main") == main_before  # printing changes nothing
    assert "git commit -m 'docs(changelog): add 1.4.1 from release/1.4' -- CHANGELOG.md" in printed
    assert "git push" not in printed

    run_commands(printed, tmp_path)
    assert repo.git("branch", "--show-current") == "release/1.4"  # the commands return to it
    assert sha_of(repo, "main~1") == main_before
    assert repo.git("log", "-1", "--format=%s", "main") == "docs(changelog): add 1.4.1 from release/1.4"
    assert section_order(repo.git("show", "main:CHANGELOG.md")) == ["1.5.0", "1.4.1", "1.4.0"]

    capsys.readouterr()
    again = main_changelog_followup(config, "1.4.1", SECTION_141, mode="print", remote=None, runner=proc.Runner())
    assert "has 1.4.1 already" in again
    assert capsys.readouterr().out == ""


def test_followup_print_mode_with_a_remote_pulls_and_pushes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = patched_repo(tmp_path / "repo")
    bare = bare_repository(tmp_path / "origin.git")
    add_remote(repo, bare)
    repo.git("push", "-q", "origin", "main", "release/1.4")
    main_changelog_followup(repo.config(), "1.4.1", SECTION_141, mode="print", remote="origin", runner=proc.Runner())
    printed = capsys.readouterr().out
    assert "git pull --ff-only origin main" in printed and "git push origin main" in printed
    run_commands(printed, tmp_path)
    assert branch_log(bare, "main")[0].subject == "docs(changelog): add 1.4.1 from release/1.4"
    assert section_order(branch_file(bare, "main", "CHANGELOG.md").decode()) == ["1.5.0", "1.4.1", "1.4.0"]

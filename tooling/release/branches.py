"""Release branches, backports onto them, and the main branch's CHANGELOG.md after a patch from one.

- After a stable X.Y.0 release (a major or a minor one), the release branch
  for X.Y (`release/X.Y` by default, tool.release.versioning.release-branches)
  is created at the release tag and pushed: later fixes of that line are
  backported there and released as X.Y.<patch> (`create_release_branch`).
- `invoke backport <commit> [--branch release/X.Y]` cherry-picks one commit
  onto a release branch in a temporary `git worktree`, so the user's checkout
  stays as it is, and records where it came from in a `Backported-from: <sha>`
  trailer (`run_backport`). It does not push.
- A patch release cut from a release branch writes its CHANGELOG.md section
  there; main's CHANGELOG.md gets the same section in a follow-up commit, or
  as printed commands, as tool.release.versioning.main-changelog says
  (`main_changelog_followup`).

The decisions are small pure functions; the git commands go through GitRepo,
whose Runner shows the changing ones in a dry run.
"""

from __future__ import annotations

import difflib
import re
import shlex
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import semver

from tooling import proc, ui
from tooling.config import ReleaseConfig
from tooling.errors import CommandError, ConfigError, GitStateError
from tooling.git import GitRepo, RawCommit
from tooling.versioning.branching import release_branch_regex
from tooling.versioning.changelog import has_section, upsert_section, write_changelog
from tooling.versioning.project import Project
from tooling.versioning.settings import VersioningConfig, parse_versioning
from tooling.versioning.versions import parse_version

TRAILER_KEY = "Backported-from"
MAIN_CHANGELOG_MODES = ("commit", "print")

# Where a commit says it came from: our trailer, and the line `git cherry-pick -x` adds.
_SOURCE_PATTERNS = (
    re.compile(rf"^{TRAILER_KEY}:\s*(?P<sha>[0-9a-f]{{40,64}})\s*$", re.MULTILINE | re.IGNORECASE),
    re.compile(r"^\(cherry picked from commit (?P<sha>[0-9a-f]{40,64})\)\s*$", re.MULTILINE),
)
# A version's section heading in CHANGELOG.md, as tooling/versioning/changelog.py writes it.


# --- pure decisions -------------------------------------------------------------------------------------------


def release_branch_for(version: semver.Version, versioning: VersioningConfig) -> str | None:
    """The release branch a release of `version` starts, or None (pure).

    A stable X.Y.0 (a major or a minor release) starts the line X.Y, whose
    fixes go to `release/X.Y` (the configured pattern); patches and
    prereleases start nothing.
    """
    if version.prerelease is not None or version.patch != 0:
        return None
    return versioning.release_branches.format(major=version.major, minor=version.minor)


def release_line(branch: str, versioning: VersioningConfig) -> tuple[int, int] | None:
    """(major, minor) of a release branch's name, or None when `branch` is not one (pure)."""
    match = release_branch_regex(versioning.release_branches).match(branch)
    return (int(match["major"]), int(match["minor"])) if match else None


def latest_release_branch(branches: Iterable[str], versioning: VersioningConfig) -> str | None:
    """The release branch of the highest line among `branches`, or None when there is none (pure).

    This is backport's default target: fixes usually go to the newest
    maintained line; an older line is named with --branch.
    """
    lines = [(line, name) for name in branches if (line := release_line(name, versioning)) is not None]
    return max(lines)[1] if lines else None


def backport_trailer(sha: str) -> str:
    """The trailer a backported commit carries: `Backported-from: <full sha>` (pure)."""
    return f"{TRAILER_KEY}: {sha}"


def backport_sources(message: str) -> set[str]:
    """The commits a message says it was backported or cherry-picked from (pure)."""
    return {match["sha"].lower() for pattern in _SOURCE_PATTERNS for match in pattern.finditer(message)}


def find_backport(commits: Iterable[RawCommit], sha: str) -> RawCommit | None:
    """The commit among `commits` that names `sha` as its origin, or None (pure)."""
    return next((commit for commit in commits if sha.lower() in backport_sources(commit.message)), None)


def push_remote(remotes: Sequence[str]) -> str:
    """The remote a hint tells people to push to: origin when there is one (or none at all), else the first."""
    return "origin" if "origin" in remotes or not remotes else remotes[0]


def main_changelog_wanted(version: semver.Version, branch: str | None, versioning: VersioningConfig) -> bool:
    """Does a release of `version` cut on `branch` need its CHANGELOG.md section added on main? (pure)

    Yes for a stable release made on a release branch: main never saw that
    section. Prereleases are left out: their sections belong on the line's branch.
    """
    if branch is None or branch == versioning.main_branch or version.prerelease is not None:
        return False
    return release_line(branch, versioning) is not None


def changelog_has_section(text: str, version: str) -> bool:
    """Does a CHANGELOG.md text hold a section for `version` (heading `## [1.4.3]` or `## [v1.4.3]`)? (pure)"""
    return has_section(text, version)


def followup_commit_message(version: str, branch: str) -> str:
    """The subject of the commit that adds a release branch's section to main (pure)."""
    return f"docs(changelog): add {version} from {branch}"


def changelog_patch(old: str, new: str, path: str) -> str:
    """A unified diff turning `old` into `new` that `git apply` accepts (pure); "" when equal."""
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    before = f"a/{path}" if old else "/dev/null"
    lines = []
    for line in difflib.unified_diff(old_lines, new_lines, fromfile=before, tofile=f"b/{path}"):
        # A last line without a newline needs git's marker, or the patch does not apply.
        lines.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(lines)


def heredoc_delimiter(text: str, base: str = "CHANGELOG_PATCH") -> str:
    """A here-document delimiter that no line of `text` equals (pure)."""
    taken = set(text.splitlines())
    delimiter = base
    while delimiter in taken:
        delimiter += "_"
    return delimiter


def followup_instructions(
    *,
    root: Path,
    main: str,
    back_to: str | None,
    changelog: str,
    patch: str,
    message: str,
    remote: str | None,
) -> list[str]:
    """The shell commands that add the section to main by hand (pure): switch, apply, commit, push, return."""
    delimiter = heredoc_delimiter(patch)
    commands = [f"cd {shlex.quote(str(root))}", f"git switch {shlex.quote(main)}"]
    if remote:
        commands.append(f"git pull --ff-only {shlex.quote(remote)} {shlex.quote(main)}")
    commands += [f"git apply <<'{delimiter}'", *patch.rstrip("\n").split("\n"), delimiter]
    commands.append(f"git commit -m {shlex.quote(message)} -- {shlex.quote(changelog)}")
    if remote:
        commands.append(f"git push {shlex.quote(remote)} {shlex.quote(main)}")
    if back_to:
        commands.append(f"git switch {shlex.quote(back_to)}")
    return commands


# --- release branches -----------------------------------------------------------------------------------------


def create_release_branch(repo: GitRepo, branch: str, tag: str, *, remote: str | None) -> str:
    """Create `branch` at the commit of `tag` and push it to `remote` when given; a one-line detail.

    Converges: a branch already at the tag's commit (or one that grew from it:
    fixes were committed on it since) is kept; a branch elsewhere is a
    GitStateError. Only the branch is pushed: the tag is the caller's.
    """
    sha = repo.commit_sha(tag)
    if sha is None:
        raise GitStateError(
            f"cannot create {branch}: the tag {tag} names no commit here",
            hint="create the release tag first (invoke bump), or fetch it: git fetch --tags",
        )
    short = sha[:12]
    dry = repo.runner.dry_run
    existing = repo.branch_sha(branch)
    if existing is None:
        repo.create_branch(branch, sha)
        parts = [f"{'would create' if dry else 'created'} {branch} at {tag} ({short})"]
    elif existing == sha:
        parts = [f"{branch} exists at {tag} ({short})"]
    elif repo.is_ancestor(sha, existing):
        parts = [f"{branch} exists, grown from {tag} ({short}) to {existing[:12]}"]
    else:
        raise GitStateError(
            f"branch {branch} exists at {existing[:12]}, which does not contain {tag} ({short})",
            hint=f"{branch} must start at {tag}: if the existing branch is a mistake, rename it "
            f"(git branch -m {branch} {branch}-old) and run again; otherwise set "
            "tool.release.versioning.release-branches to another pattern",
        )
    if remote:
        parts.append(_push_branch(repo, branch, existing or sha, remote))
    return "; ".join(parts)


def _require_remote(repo: GitRepo, remote: str) -> None:
    remotes = repo.remote_names()
    if remote not in remotes:
        raise GitStateError(
            f"there is no git remote named {remote!r} in {repo.root}"
            + (f" (remotes: {', '.join(remotes)})" if remotes else " (it has no remotes)"),
            hint=f"add it (git remote add {remote} <url>) or name one of the configured remotes",
        )


def _push_branch(repo: GitRepo, branch: str, local_sha: str, remote: str) -> str:
    """Push the local `branch` (at `local_sha`) to `remote` unless it is there already; a detail."""
    _require_remote(repo, remote)
    remote_sha = repo.remote_branch_sha(remote, branch)
    if remote_sha == local_sha:
        return f"on {remote} already"
    try:
        repo.push(remote, [f"refs/heads/{branch}:refs/heads/{branch}"])
    except CommandError as error:
        raise GitStateError(
            f"could not push {branch} to {remote}: {error.message}",
            hint=f"{remote} has {branch} at {remote_sha[:12]}: compare (git fetch {remote} && git log "
            f"{remote}/{branch}) and move or delete one of them, then run again"
            if remote_sha
            else f"check that you may push to {remote}, then run again",
        ) from error
    return f"{'would push' if repo.runner.dry_run else 'pushed'} to {remote}"


# --- backports --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackportPlan:
    """One commit to cherry-pick onto one release branch, every refusal checked."""

    sha: str
    subject: str
    branch: str
    branch_sha: str
    in_place: bool  # the branch is checked out in the user's tree: pick there rather than in a worktree
    default_branch: bool  # the branch was chosen, not named with --branch


def _pick_branch(repo: GitRepo, versioning: VersioningConfig, branch: str | None) -> tuple[str, str]:
    """(the target branch, its commit): the one named, else the latest release branch."""
    example = versioning.release_branches.format(major=1, minor=4)
    if branch is None:
        branch = latest_release_branch(repo.branches(), versioning)
        if branch is None:
            raise GitStateError(
                f"there is no release branch ({versioning.release_branches}) to backport to",
                hint=f"name one with --branch {example}; a branch that exists on the remote only is made "
                f"local with: git branch {example} origin/{example}",
            )
    elif release_line(branch, versioning) is None:
        raise GitStateError(
            f"{branch!r} is not a release branch: backports go to branches named {versioning.release_branches}",
            hint=f"e.g. --branch {example}, or set tool.release.versioning.release-branches",
        )
    sha = repo.branch_sha(branch)
    if sha is None:
        raise GitStateError(
            f"there is no local branch {branch}",
            hint=f"create it from the remote one (git branch {branch} origin/{branch}) or check the name",
        )
    return branch, sha


def plan_backport(repo: GitRepo, versioning: VersioningConfig, commit: str, branch: str | None) -> BackportPlan:
    """Check everything a backport needs (refusals are raised as GitStateError); nothing changes."""
    dirty = repo.dirty_paths()
    if dirty:
        raise GitStateError(
            "the working tree has uncommitted changes: " + ", ".join(dirty[:8]) + (" ..." if len(dirty) > 8 else ""),
            hint="commit or stash them first",
        )
    target, target_sha = _pick_branch(repo, versioning, branch)
    sha = repo.commit_sha(commit)
    if sha is None:
        raise GitStateError(
            f"{commit!r} names no commit in {repo.root}",
            hint="pass a commit id (git log --oneline shows them); fetch first if it is on the remote only",
        )
    if repo.is_ancestor(sha, target_sha):
        raise GitStateError(f"{sha[:12]} is on {target} already (it is part of its history)")
    parents = repo.parents(sha)
    if not parents:
        raise GitStateError(
            f"{sha[:12]} is a first commit (it has no parent): there is no change of its own to backport"
        )
    if len(parents) > 1:
        raise GitStateError(
            f"{sha[:12]} is a merge commit: a backport takes one change at a time",
            hint=f"backport the commits it merged one by one (git log --oneline {sha[:12]}^1..{sha[:12]}^2)",
        )
    found = find_backport(repo.log(sha, target_sha), sha)
    if found is not None:
        raise GitStateError(f"{sha[:12]} is on {target} already: backported as {found.sha[:12]}")
    if repo.has_equivalent_patch(target_sha, sha):
        raise GitStateError(
            f"{sha[:12]} is on {target} already: a commit there makes the same change",
            hint=f"nothing to do; git cherry -v {target} {sha[:12]} {sha[:12]}^ shows it",
        )
    (raw,) = repo.log(f"{sha}^", sha)
    subject = raw.message.splitlines()[0] if raw.message else ""
    in_place = repo.current_branch() == target
    return BackportPlan(sha, subject, target, target_sha, in_place, default_branch=branch is None)


def _conflict_error(plan: BackportPlan, conflicts: Sequence[str], output: str) -> GitStateError:
    trailer = backport_trailer(plan.sha)
    by_hand = (
        f"resolve it by hand: git switch {plan.branch} && git cherry-pick {plan.sha[:12]}, fix the files, "
        f"git add them, git cherry-pick --continue, then git commit --amend --no-edit --trailer {shlex.quote(trailer)}"
    )
    if conflicts:
        return GitStateError(
            f"{plan.sha[:12]} does not apply to {plan.branch}: conflicts in {', '.join(conflicts)}; "
            f"nothing was changed ({plan.branch} is still at {plan.branch_sha[:12]})",
            hint=by_hand,
        )
    detail = output.strip().splitlines()[-1] if output.strip() else "git cherry-pick failed"
    return GitStateError(
        f"{plan.sha[:12]} could not be cherry-picked onto {plan.branch}: {detail}; "
        f"nothing was changed ({plan.branch} is still at {plan.branch_sha[:12]})",
        hint=by_hand,
    )


def _cherry_pick(target: GitRepo, plan: BackportPlan) -> str:
    """Pick the commit onto the branch checked out in `target` and add the trailer; the new commit's id."""
    result = target.cherry_pick(plan.sha)
    if not result.ok:
        conflicts = target.conflicted_paths()
        target.cherry_pick_abort()
        raise _conflict_error(plan, conflicts, result.stderr or result.stdout)
    try:
        target.amend_trailers([backport_trailer(plan.sha)])
    except CommandError as error:
        # The branch moved with the pick: put it back, so a re-run starts from where the user was.
        target.reset_keep(plan.branch_sha)
        raise GitStateError(
            f"could not add the {TRAILER_KEY} trailer to the backport of {plan.sha[:12]}: {error.message}; "
            f"{plan.branch} is back at {plan.branch_sha[:12]}",
            hint="a commit-msg hook may have refused the message: check it, then run again",
        ) from error
    new = target.commit_sha("HEAD")
    assert new is not None  # a commit was just made
    return new


def apply_backport(repo: GitRepo, plan: BackportPlan) -> str:
    """Cherry-pick as planned (in a temporary worktree unless the branch is checked out here); the new id."""
    if plan.in_place:
        # The branch is the user's checkout (clean, checked): moving it is what they asked for.
        return _cherry_pick(repo, plan)
    with tempfile.TemporaryDirectory(prefix="backport-") as folder:
        path = Path(folder) / "worktree"
        try:
            repo.worktree_add_branch(path, plan.branch)
        except CommandError as error:
            raise GitStateError(
                f"could not check out {plan.branch} in a temporary worktree: {error.message}",
                hint=f"when {plan.branch} is checked out in another worktree (git worktree list), "
                "run the backport there or switch that worktree to another branch",
            ) from error
        try:
            return _cherry_pick(GitRepo(path, repo.runner), plan)
        finally:
            repo.worktree_remove(path)


def run_backport(config: ReleaseConfig, commit: str, *, branch: str | None, dry_run: bool) -> int:
    """`invoke backport <commit> [--branch release/X.Y]`: cherry-pick one commit onto a release branch.

    Without --branch the target is the highest existing release branch (the
    newest maintained line). Refuses a dirty tree, an unknown commit, a merge
    commit, and a commit that is on the branch already (in its history, named
    by a Backported-from trailer, or the same patch). The pick happens in a
    temporary worktree, so the current checkout is untouched; a conflict
    leaves the branch where it was. Nothing is pushed.
    """
    runner = proc.Runner(dry_run=dry_run)
    versioning = parse_versioning(config.versioning)
    repo = GitRepo.discover(config.crate_dir, runner)
    plan = plan_backport(repo, versioning, commit, branch)
    where = "in this checkout" if plan.in_place else "in a temporary worktree"
    rows = [
        ["commit", f"{plan.sha[:12]} {plan.subject}"],
        ["branch", plan.branch + (" (the latest release branch)" if plan.default_branch else "")],
        ["trailer", backport_trailer(plan.sha)],
    ]
    if not runner.allows(proc.Effect.LOCAL, f"cherry-pick {plan.sha[:12]} onto {plan.branch} {where}"):
        ui.summary(f"{config.name}: backport (dry run, nothing changed)", ["", ""], rows)
        return 0
    new = apply_backport(repo, plan)
    remote = push_remote(repo.remote_names())
    ui.say(f"backported {plan.sha[:12]} ({plan.subject}) onto {plan.branch} as {new[:12]}")
    ui.say(f"not pushed: git push {remote} {plan.branch}")
    rows.append(["new commit", new[:12]])
    ui.summary(f"{config.name}: backported onto {plan.branch}", ["", ""], rows)
    return 0


# --- main's CHANGELOG.md after a patch from a release branch ------------------------------------------------


def _main_ref(repo: GitRepo, main: str, remote: str | None, *, fetch: bool) -> str:
    """The commit of main the section is added to: the remote's (fetched first when `fetch`), else the local one."""
    if remote:
        _require_remote(repo, remote)
        tracking = f"refs/remotes/{remote}/{main}"
        if fetch:
            try:
                repo.fetch(remote, [f"+refs/heads/{main}:{tracking}"])
            except CommandError as error:
                raise GitStateError(
                    f"could not fetch {main} from {remote}: {error.message}",
                    hint=f"check that {remote} has a branch {main} (tool.release.versioning.main-branch)",
                ) from error
        sha = repo.commit_sha(tracking)
        if sha is not None:
            return sha
    sha = repo.branch_sha(main)
    if sha is None:
        raise GitStateError(
            f"there is no branch {main} here" + (f" nor {remote}/{main}" if remote else ""),
            hint=f"fetch it (git fetch origin {main}) or set tool.release.versioning.main-branch",
        )
    return sha


def _commit_on_main(
    repo: GitRepo, main: str, base: str, remote: str | None, changelog: str, version: str, section: str, message: str
) -> str:
    """Write the section on main in a temporary worktree, commit, push when `remote`; the new commit's id."""
    with tempfile.TemporaryDirectory(prefix="main-changelog-") as folder:
        path = Path(folder) / "main"
        try:
            if remote:
                # A detached checkout of the remote's main: the local main (if any) is left alone.
                repo.worktree_add(path, base)
            else:
                repo.worktree_add_branch(path, main)
        except CommandError as error:
            raise GitStateError(
                f"could not check out {main} in a temporary worktree: {error.message}",
                hint=f"when {main} is checked out elsewhere (git worktree list), switch that checkout to "
                'another branch, or set tool.release.versioning.main-changelog = "print"',
            ) from error
        try:
            checkout = GitRepo(path, repo.runner)
            file = path / changelog
            write_changelog(file, version, section)
            checkout.commit([file], message)
            new = checkout.commit_sha("HEAD")
            assert new is not None  # a commit was just made
        finally:
            repo.worktree_remove(path)
    if remote:
        try:
            repo.push(remote, [f"{new}:refs/heads/{main}"])
        except CommandError as error:
            raise GitStateError(
                f"could not push the CHANGELOG.md follow-up to {remote} {main}: {error.message}",
                hint=f"when {main} moved meanwhile, run again (it starts from {remote}'s {main} afresh); when "
                f'{main} is protected, set tool.release.versioning.main-changelog = "print"',
            ) from error
    return new


def main_changelog_followup(
    config: ReleaseConfig, version: str, section: str, *, mode: str, remote: str | None, runner: proc.Runner
) -> str:
    """Add the CHANGELOG.md section of `version` (a patch from its release branch) to main's; a one-line detail.

    mode "commit": in a temporary worktree of main (the remote's main, fetched
    first, when `remote` is given; the local one otherwise), insert the section
    in version order, commit `docs(changelog): add <version> from <branch>`
    and push to `remote` when given. mode "print": print to stdout the shell
    commands that do the same by hand. Either way nothing happens when main's
    CHANGELOG.md has the section already, so a re-run converges.
    """
    if mode not in MAIN_CHANGELOG_MODES:
        raise ConfigError(
            f"tool.release.versioning.main-changelog = {mode!r} is not one of {', '.join(MAIN_CHANGELOG_MODES)}",
            hint='use "commit" or "print"',
        )
    project = Project.load(config, runner)
    repo = project.repo
    versioning = project.versioning
    main = versioning.main_branch
    parsed = parse_version(version)
    branch = versioning.release_branches.format(major=parsed.major, minor=parsed.minor)
    changelog = project.in_repo(project.changelog_path)
    # Printing changes nothing, so it reads what is here; a commit starts from the remote's newest main.
    base = _main_ref(repo, main, remote, fetch=mode == "commit" and not runner.dry_run)
    current = repo.file_at(base, changelog) or ""
    if changelog_has_section(current, version):
        return f"{changelog} on {main} has {version} already"
    message = followup_commit_message(version, branch)
    if mode == "print":
        patch = changelog_patch(current, upsert_section(current, version, section), changelog)
        commands = followup_instructions(
            root=repo.root,
            main=main,
            back_to=repo.current_branch(),
            changelog=changelog,
            patch=patch,
            message=message,
            remote=remote,
        )
        print(f"# {changelog} on {main} lacks the section of {version} (released from {branch}); to add it:")
        print("\n".join(commands))
        return f"printed the commands that add {version} to {changelog} on {main}"
    target = f"{remote} {main}" if remote else main
    if not runner.allows(proc.Effect.LOCAL, f"commit {message!r} on {target}"):
        return f"would add {version} to {changelog} on {target}"
    new = _commit_on_main(repo, main, base, remote, changelog, version, section, message)
    return f"added {version} to {changelog} on {main} ({new[:12]})" + (f", pushed to {remote}" if remote else "")

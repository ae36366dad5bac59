"""Git queries and the few git writes a release makes, all through tooling.proc.

Queries run through proc.read (also in dry runs); commits and tags go
through the repository's Runner, which only shows them in a dry run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tooling import proc
from tooling.errors import CommandError, GitStateError

# Unit and record separators keep messages with any text intact.
_FIELD = "\x1f"
_RECORD = "\x1e"


@dataclass(frozen=True)
class RawCommit:
    sha: str
    author: str
    email: str
    message: str


def parse_log(output: str) -> list[RawCommit]:
    """The records printed by `git log --format=%H%x1f%an%x1f%ae%x1f%B%x1e` (pure)."""
    commits = []
    for record in output.split(_RECORD):
        record = record.lstrip("\n")
        if not record.strip():
            continue
        sha, author, email, message = record.split(_FIELD, 3)
        commits.append(RawCommit(sha.strip(), author, email, message.strip("\n")))
    return commits


class GitRepo:
    """One working tree; every method runs git with `-C <root>`."""

    def __init__(self, root: Path, runner: proc.Runner | None = None) -> None:
        self.root = root
        self.runner = runner or proc.Runner()

    def _git(self, *args: str, check: bool = True) -> proc.Result:
        """A query: runs in dry runs too.

        --no-optional-locks: a query must not rewrite the index (`git status`
        refreshes it otherwise), so a dry run leaves .git byte-identical.
        """
        return proc.read(["git", "--no-optional-locks", "-C", str(self.root), *args], check=check)

    def _change(self, *args: str, check: bool = True) -> proc.Result:
        """A write to the repository: only shown in a dry run."""
        return self.runner.run(["git", "-C", str(self.root), *args], capture=True, check=check)

    @classmethod
    def discover(cls, path: Path, runner: proc.Runner | None = None) -> GitRepo:
        """The repository containing `path`, or GitStateError."""
        result = proc.read(["git", "-C", str(path), "rev-parse", "--show-toplevel"], check=False)
        if not result.ok:
            raise GitStateError(
                f"{path} is not inside a git repository",
                hint="versions, tags and changelogs come from git history: run from a clone",
            )
        return cls(Path(result.stdout.strip()), runner)

    def current_branch(self) -> str | None:
        """The checked-out branch, or None on a detached HEAD."""
        result = self._git("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return result.stdout.strip() if result.ok else None

    def dirty_paths(self) -> list[str]:
        """Tracked files with changes, staged or not (untracked files do not count)."""
        output = self._git("status", "--porcelain", "--untracked-files=no").stdout
        return [line[3:] for line in output.splitlines() if line.strip()]

    def tags(self, *, merged_into: str | None = None) -> list[str]:
        """Every tag name, or only those reachable from `merged_into`."""
        args = ["tag", "--list"]
        if merged_into:
            args += ["--merged", merged_into]
        return [line.strip() for line in self._git(*args).stdout.splitlines() if line.strip()]

    def has_tag(self, name: str) -> bool:
        return self._git("rev-parse", "--verify", "--quiet", f"refs/tags/{name}", check=False).ok

    def has_commits(self) -> bool:
        return self._git("rev-parse", "--verify", "--quiet", "HEAD", check=False).ok

    def is_shallow(self) -> bool:
        """True in a shallow clone (e.g. actions/checkout's default depth of 1): part of the history is missing."""
        return self._git("rev-parse", "--is-shallow-repository").stdout.strip() == "true"

    def commit_sha(self, ref: str) -> str | None:
        """The full id of the commit `ref` names (a tag is peeled to its commit), or None when there is none."""
        result = self._git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False)
        return result.stdout.strip() if result.ok else None

    def log(self, since: str | None, until: str = "HEAD", *, exclude: Sequence[str] = ()) -> list[RawCommit]:
        """Commits reachable from `until` but not from `since` nor any of `exclude` (whole history when none).

        Oldest first.
        """
        revisions = [until, *(f"^{ref}" for ref in (since, *exclude) if ref)]
        output = self._git(
            "log",
            "--reverse",
            "--no-color",
            f"--format=%H{_FIELD}%an{_FIELD}%ae{_FIELD}%B{_RECORD}",
            "--end-of-options",
            *revisions,
        ).stdout
        return parse_log(output)

    def commit_timestamp(self, ref: str) -> int:
        """Committer time (Unix seconds) of the commit `ref` points at."""
        return int(self._git("log", "-1", "--format=%ct", f"{ref}^{{commit}}").stdout.strip())

    def commit(self, paths: Sequence[Path], message: str) -> None:
        """Commit exactly `paths` (added first) with `message`."""
        root = self.root.resolve()
        outside = [str(path) for path in paths if not path.resolve().is_relative_to(root)]
        if outside:
            raise GitStateError(
                f"cannot commit {', '.join(outside)}: outside the repository {root}",
                hint="a release commit holds files of the crate's repository only: point the configured "
                "paths (tool.release.versioning.changelog, migrations-dir) inside it",
            )
        relative = [str(path.resolve().relative_to(root)) for path in paths]
        self._change("add", "--", *relative)
        self._change("commit", "--quiet", "-m", message, "--", *relative)

    def create_tag(self, name: str, message: str, *, sign: bool, key: str | None = None) -> None:
        """An annotated tag on HEAD; GPG-signed when `sign` (with `key`, else git's user.signingkey)."""
        args = ["tag"]
        if sign:
            args += ["--local-user", key] if key else ["--sign"]
        else:
            args.append("--annotate")
        try:
            self._change(*args, "-m", message, name)
        except CommandError as error:
            if sign:
                raise GitStateError(
                    f"could not create the signed tag {name}: {error.message}",
                    hint="check that gpg has the signing key (tool.release.versioning.signing-key or "
                    "git config user.signingkey), or set tool.release.versioning.sign-tags = false",
                ) from error
            raise

    def worktree_add(self, path: Path, ref: str) -> None:
        """A detached checkout of `ref` at `path` (for building an older release)."""
        # A private checkout in a temporary folder: the working tree itself is untouched.
        proc.read(["git", "-C", str(self.root), "worktree", "add", "--force", "--detach", str(path), ref], echo=True)

    def worktree_remove(self, path: Path) -> None:
        proc.read(["git", "-C", str(self.root), "worktree", "remove", "--force", str(path)], check=False, echo=True)

    # --- branches, remotes and cherry-picks (release branches and backports, tooling/release/branches.py) ---

    def _remote_change(self, *args: str, check: bool = True) -> proc.Result:
        """A change elsewhere (a push): only shown in a dry run."""
        return self.runner.run(
            ["git", "-C", str(self.root), *args], effect=proc.Effect.REMOTE, capture=True, check=check
        )

    def branches(self) -> list[str]:
        """The names of the local branches."""
        output = self._git("for-each-ref", "--format=%(refname:short)", "refs/heads/").stdout
        return [line.strip() for line in output.splitlines() if line.strip()]

    def branch_sha(self, name: str) -> str | None:
        """The commit the local branch `name` points at, or None when there is no such branch."""
        return self.commit_sha(f"refs/heads/{name}")

    def create_branch(self, name: str, ref: str) -> None:
        """A new local branch `name` at `ref` (no upstream)."""
        self._change("branch", "--no-track", "--end-of-options", name, ref)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Is `ancestor` part of the history of `descendant` (the same commit included)?"""
        return self._git("merge-base", "--is-ancestor", ancestor, descendant, check=False).ok

    def parents(self, ref: str) -> list[str]:
        """The parents of the commit `ref` names: none for a root commit, two or more for a merge."""
        return self._git("log", "-1", "--format=%P", "--end-of-options", f"{ref}^{{commit}}").stdout.split()

    def has_equivalent_patch(self, branch: str, commit: str) -> bool:
        """Does `branch` hold a commit with the same patch id as `commit` (a cherry-pick of it)?

        `git cherry` marks with "-" each commit of commit^..commit whose change
        is already among the commits of `branch` that `commit` lacks.
        """
        output = self._git("cherry", branch, commit, f"{commit}^").stdout
        return any(line.startswith("- ") for line in output.splitlines())

    def remote_names(self) -> list[str]:
        """The configured remotes (`git remote`)."""
        return [line.strip() for line in self._git("remote").stdout.splitlines() if line.strip()]

    def remote_branch_sha(self, remote: str, branch: str) -> str | None:
        """The commit `branch` points at on `remote` (asks the remote), or None when it has no such branch."""
        output = self._git("ls-remote", "--heads", remote, f"refs/heads/{branch}").stdout
        for line in output.splitlines():
            sha, _, name = line.partition("\t")
            if name.strip() == f"refs/heads/{branch}":
                return sha.strip()
        return None

    def fetch(self, remote: str, refspecs: Sequence[str]) -> None:
        """`git fetch <remote> <refspecs>`: updates local refs, so it is a local change."""
        self._change("fetch", "--quiet", "--no-tags", remote, *refspecs)

    def push(self, remote: str, refspecs: Sequence[str]) -> proc.Result:
        """`git push <remote> <refspecs>` (a remote change: only shown in a dry run)."""
        return self._remote_change("push", "--porcelain", remote, *refspecs)

    def file_at(self, ref: str, path: str) -> str | None:
        """The text of `path` (relative to the repository root) in the commit `ref`, or None when it has none."""
        result = self._git("show", f"{ref}:{path}", check=False)
        return result.stdout if result.ok else None

    def worktree_add_branch(self, path: Path, branch: str) -> None:
        """A checkout of the branch `branch` at `path`: commits made there move the branch."""
        self._change("worktree", "add", "--quiet", str(path), branch)

    def cherry_pick(self, commit: str) -> proc.Result:
        """`git cherry-pick <commit>` on the checked-out branch; not checked: a conflict is the caller's to handle."""
        return self._change("cherry-pick", commit, check=False)

    def cherry_pick_abort(self) -> None:
        """Give up a stopped cherry-pick: the branch and the files return to where they were."""
        self._change("cherry-pick", "--abort", check=False)

    def conflicted_paths(self) -> list[str]:
        """Files left with merge conflicts (unmerged in the index)."""
        output = self._git("diff", "--name-only", "--diff-filter=U").stdout
        return [line.strip() for line in output.splitlines() if line.strip()]

    def amend_trailers(self, trailers: Sequence[str]) -> None:
        """Add `Key: value` trailers to HEAD's message (message, author and changes otherwise kept)."""
        args = [arg for trailer in trailers for arg in ("--trailer", trailer)]
        self._change("commit", "--amend", "--quiet", "--no-edit", *args)

    def reset_keep(self, ref: str) -> None:
        """Move the checked-out branch back to `ref`; `--keep` refuses rather than lose uncommitted changes."""
        self._change("reset", "--quiet", "--keep", ref)

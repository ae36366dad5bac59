"""winget: the release's manifests proposed to winget-pkgs as a pull request from a fork, over GitHub's REST API.

What `invoke package` left in dist/packages/winget/ (the three manifests of one
version under manifests/<letter>/<segments>/<version>/, see
tooling/packagers/winget.py) goes to the same path of a branch of the fork
(tool.release.publish.winget.fork), named <PackageIdentifier>-<version>, and
a pull request from it asks the upstream (tool.release.publish.winget.upstream)
to take it. No git runs here: everything is a REST call, through the GitHub
client of tooling/publish/github.py (its retries, its errors, its care for the
token, which comes from the variable named by token-env).

The run converges. It first looks, writing nothing:
1. the fork exists, is a fork of the upstream, and the token may push to it;
2. the upstream's default branch already holds these exact files (a pull
   request merged earlier): nothing to do;
3. the branch, the files in its version folder (compared by git's object
   names, so not one byte is fetched), and the open pull request from it.
Then it does only what is missing, in one of these shapes:
- no branch: sync the fork's default branch with the upstream
  (merge-upstream), make one commit with the three files on its head (blobs, a
  tree on the head's tree, a commit), create the branch there, open the pull
  request;
- the branch holds other files: one commit on top of it (a file the version
  folder no longer has is deleted), the branch moved there (a fast-forward),
  which updates the open pull request: no second one is opened;
- the branch is right: open the pull request if none is open; else nothing
  (UNCHANGED, no commit).
A dry run does the looking and shows the writes it would make.

Retries: reads, blobs, trees, commits (git names them by their content: a
second copy is the same object or an unused one), moving a branch and the
fork's sync are simply sent again. Creating the branch or the pull request is
never re-sent blindly: when its reply was lost, the branch or the open pull
request is looked for first.

winget-pkgs is on github.com, so its API is https://api.github.com whatever
GITHUB_API_URL says (a runner of a GitHub Enterprise server points that one at
its own server). RELEASE_WINGET_API_URL names another API root (tests point it
at a local fake); it is checked as every URL a token goes to.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from tooling import __version__, proc, ui
from tooling.errors import ConfigError, GitHubError, PublishError
from tooling.packagers import winget
from tooling.publish import github, retry
from tooling.publish.channels import PUBLISHED, UNCHANGED, WOULD_PUBLISH, ChannelJob, Outcome
from tooling.publish.github import Call, GitHub

CHANNEL = "winget"
TABLE = "tool.release.publish.winget"
PREFIX = f"{CHANNEL}: "
FILE_MODE = "100644"
# winget-pkgs' API, whatever GITHUB_API_URL says; this variable (not a setting: tests use it) names another.
API_URL = github.DEFAULT_API_URL
API_URL_VARIABLE = "RELEASE_WINGET_API_URL"

_CREDENTIAL_HINT = (
    "a token of the fork's owner that may push to the fork and open pull requests "
    "(a classic personal access token with the public_repo scope may do both)"
)
_RERUN_HINT = "run the same command again: it looks at what GitHub holds and continues from there"


# --- what is proposed (pure) --------------------------------------------------------------------


@dataclass(frozen=True)
class Manifests:
    """One version's manifests: repository path -> bytes, under manifests/<letter>/<segments>/<version>/."""

    identifier: str
    version: str
    folder: str
    files: Mapping[str, bytes]

    @property
    def branch(self) -> str:
        return branch_name(self.identifier, self.version)

    @property
    def title(self) -> str:
        """The pull request's title and the commit's message, in winget-pkgs' usual words."""
        return f"New version: {self.identifier} version {self.version}"


def branch_name(identifier: str, version: str) -> str:
    """<identifier>-<version> as a valid git branch name: what git refuses in a name becomes "-" (pure)."""
    name = re.sub(r"[^A-Za-z0-9._+-]+", "-", f"{identifier}-{version}")
    name = re.sub(r"\.{2,}", ".", name).strip(".-")
    return name.removesuffix(".lock")


def git_blob_name(data: bytes) -> str:
    """The name git (and so GitHub) gives a file's bytes: SHA-1 of "blob <size>\\0" and the bytes (pure)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _stale(problem: str) -> PublishError:
    return PublishError(
        f"{PREFIX}dist/packages/winget/ {problem}",
        hint="make it again with `invoke package` (winget among tool.release.packages.channels)",
    )


def manifests_from(files: Mapping[str, bytes], version: str) -> Manifests:
    """The manifests among `files` (paths from dist/packages/winget/), checked to be what the packager makes (pure)."""
    if not files:
        raise _stale("holds no manifests")
    folders = sorted({path.rpartition("/")[0] for path in files})
    if len(folders) != 1:
        raise _stale("holds manifests in more than one folder: " + ", ".join(folders))
    folder = folders[0]
    parts = folder.split("/")
    identifier, found_version = ".".join(parts[2:-1]), parts[-1]
    if len(parts) < 5 or winget.version_folder(identifier, found_version) != folder:
        raise _stale(f"has its manifests in {folder}/, not in manifests/<letter>/<segments>/<version>/")
    if found_version != version:
        raise _stale(f"holds the manifests of version {found_version}, and this release is {version}")
    try:
        head = yaml.safe_load(files.get(f"{folder}/{identifier}.yaml", b"").decode("utf-8")) or {}
    except (UnicodeDecodeError, yaml.YAMLError):
        head = {}
    locale = str(head.get("DefaultLocale", "")) if isinstance(head, dict) else ""
    expected = {f"{folder}/{identifier}{suffix.format(locale=locale)}" for _, suffix in winget.FILES}
    if not locale or set(files) != expected:
        raise _stale(f"does not hold the three manifests of {identifier} {version}: " + ", ".join(sorted(files)))
    return Manifests(identifier, version, folder, dict(sorted(files.items())))


def read_manifests(channel_dir: Path, version: str) -> Manifests:
    """The manifests in dist/packages/winget/ (`channel_dir`), checked (PublishError when absent or stale)."""
    root = channel_dir / "manifests"
    paths = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
    files: dict[str, bytes] = {}
    for path in paths:
        try:
            files[path.relative_to(channel_dir).as_posix()] = path.read_bytes()
        except OSError as error:
            raise _stale(f"has a file that cannot be read: {path}: {error.strerror or error}") from None
    return manifests_from(files, version)


def changes(local: Mapping[str, bytes], remote: Mapping[str, str]) -> dict[str, bytes | None]:
    """What a commit must do to make a folder holding `remote` (path -> git name) hold `local` (pure).

    path -> the bytes to write, or None for a file to delete; empty when the folder holds exactly `local`.
    """
    writes: dict[str, bytes | None] = {
        path: data for path, data in local.items() if remote.get(path) != git_blob_name(data)
    }
    writes.update({path: None for path in remote if path not in local})
    return dict(sorted(writes.items()))


def pull_body(manifests: Manifests, tag: str) -> str:
    """The pull request's description (pure)."""
    listed = "".join(f"- `{path}`\n" for path in manifests.files)
    return (
        f"{manifests.identifier} version {manifests.version}, released as {tag}.\n\n"
        f"The manifests:\n{listed}\n"
        f"Made by release-tooling {__version__}.\n"
    )


# --- where it goes (pure) --------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The fork, the upstream and the token (never shown: repr=False) from the channel's settings."""

    fork: str
    upstream: str
    token_variable: str
    token: str = field(repr=False)

    @property
    def fork_owner(self) -> str:
        return self.fork.partition("/")[0]


def target_of(settings: Mapping[str, Any], environ: Mapping[str, str]) -> Target:
    """The channel's settings checked: ConfigError for a missing or malformed one, GitHubError for no token."""
    fork = str(settings.get("fork") or "").strip()
    upstream = str(settings.get("upstream") or "").strip()
    if not fork:
        raise ConfigError(
            f"{PREFIX}{TABLE}.fork is not set: the pull request comes from a fork of {upstream or 'winget-pkgs'}",
            hint=f'fork {upstream or "winget-pkgs"} on GitHub, then set fork = "<you>/winget-pkgs" in [{TABLE}]',
        )
    for key, value in (("fork", fork), ("upstream", upstream)):
        if not github.REPOSITORY.match(value):
            raise ConfigError(
                f"{PREFIX}{TABLE}.{key} = {value!r} is not owner/repo", hint=f'e.g. {key} = "me/winget-pkgs"'
            )
    if fork.lower() == upstream.lower():
        raise ConfigError(
            f"{PREFIX}{TABLE}.fork is the upstream itself ({upstream})",
            hint=f"set fork to your fork of {upstream}: the pull request goes from there",
        )
    variable = str(settings.get("token-env") or "")
    token = environ.get(variable, "").strip() if variable else ""
    if not token:
        raise GitHubError(
            f"{PREFIX}no token: set {variable or 'the variable'} ({TABLE}.token-env) to open the pull request to "
            f"{upstream} from {fork}",
            hint=_CREDENTIAL_HINT,
        )
    return Target(fork, upstream, variable, token)


def api_url(environ: Mapping[str, str]) -> str:
    """The API winget-pkgs is reached through: RELEASE_WINGET_API_URL (checked), else GitHub's (pure)."""
    named = environ.get(API_URL_VARIABLE, "").strip()
    return github.check_api_url(named, API_URL_VARIABLE) if named else API_URL


def api_settings(target: Target, repository: str, environ: Mapping[str, str]) -> github.Settings:
    """The GitHub client's settings for `repository`: the API of `api_url`, our token; no other variable counts."""
    fixed = {"GITHUB_API_URL": api_url(environ), "GITHUB_REPOSITORY": repository, "GITHUB_TOKEN": target.token}
    return dataclasses.replace(github.settings_from_env(fixed), token_variable=target.token_variable)


# --- GitHub's replies, read (pure) ------------------------------------------------------------------


def _value(data: Any, key: str, kind: type, what: str) -> Any:
    found = data.get(key) if isinstance(data, Mapping) else None
    if not isinstance(found, kind):
        raise GitHubError(f"{PREFIX}GitHub's reply for {what} has no valid {key!r}", hint=_RERUN_HINT)
    return found


@dataclass(frozen=True)
class Repository:
    full_name: str
    default_branch: str

    @classmethod
    def from_json(cls, data: Any, what: str) -> Repository:
        return cls(_value(data, "full_name", str, what), _value(data, "default_branch", str, what))


def check_fork(data: Any, target: Target) -> Repository:
    """The fork's repository JSON checked: a fork of the upstream, which the token may push to."""
    fork = Repository.from_json(data, "the fork")
    # GitHub's parent is what was forked; source, the root of the fork network. Either may be the upstream.
    related = [
        str(data[key]["full_name"])
        for key in ("parent", "source")
        if isinstance(data.get(key), Mapping) and "full_name" in data[key]
    ]
    if data.get("fork") is not True or target.upstream.lower() not in {name.lower() for name in related}:
        what = f"a fork of {related[0]}" if data.get("fork") is True and related else "not a fork"
        raise PublishError(
            f"{PREFIX}{fork.full_name} is {what}, and the pull request must come from a fork of {target.upstream}",
            hint=f"fork {target.upstream} on GitHub and set {TABLE}.fork to it (or {TABLE}.upstream to its parent)",
        )
    permissions = data.get("permissions")
    if isinstance(permissions, Mapping) and permissions.get("push") is False:
        raise GitHubError(
            f"{PREFIX}the token in {target.token_variable} may not push to {fork.full_name}", hint=_CREDENTIAL_HINT
        )
    return fork


@dataclass(frozen=True)
class Pull:
    number: int
    html_url: str

    @classmethod
    def from_json(cls, data: Any) -> Pull:
        return cls(_value(data, "number", int, "a pull request"), str(data.get("html_url") or ""))


def folder_files(data: Any, folder: str) -> dict[str, str]:
    """A contents listing of `folder` as path -> git name of each file in it (pure)."""
    if not isinstance(data, list):
        raise GitHubError(f"{PREFIX}GitHub's listing of {folder} is not a list of files", hint=_RERUN_HINT)
    return {
        _value(item, "path", str, folder): _value(item, "sha", str, folder)
        for item in data
        if isinstance(item, Mapping) and item.get("type") == "file"
    }


# --- the decision (pure) --------------------------------------------------------------------------------


class Step(enum.Enum):
    """A write the run makes, in this order."""

    BRANCH = "create the branch, with one commit of the manifests on the fork's synced default branch"
    COMMIT = "commit the changed manifests on the branch"
    OPEN = "open the pull request"


# Each step in a few words, for the summary line.
STEP_SUMMARY = {Step.BRANCH: "create the branch", Step.COMMIT: "commit the changes", Step.OPEN: "open the pull request"}


def plan(branch_head: str | None, differs: bool, pull: Pull | None) -> tuple[Step, ...]:
    """The writes that make GitHub hold the manifests on the branch with an open pull request (pure)."""
    steps: list[Step] = []
    if branch_head is None:
        steps.append(Step.BRANCH)
    elif differs:
        steps.append(Step.COMMIT)
    if pull is None:
        steps.append(Step.OPEN)
    return tuple(steps)


def author_of(publish: Mapping[str, Any]) -> dict[str, str] | None:
    """The commit's author from [tool.release.publish]; None (the token's user) unless both are set (pure)."""
    name, email = str(publish.get("author-name") or ""), str(publish.get("author-email") or "")
    return {"name": name, "email": email} if name and email else None


# --- the effects: GitHub's API -------------------------------------------------------------------------------


class Remote:
    """The REST calls of this channel: `fork` and `upstream` are clients of the two repositories (one session)."""

    def __init__(self, fork: GitHub, upstream: GitHub, target: Target) -> None:
        self.fork = fork
        self.upstream = upstream
        self.target = target

    def _reply(self, gh: GitHub, call: Call, *, recover: Callable[[bool], Any] | None = None) -> Any:
        """The JSON GitHub answered (None for a 404 the call allows), or what `recover` found."""
        outcome = gh.send(call, recover=recover)
        if outcome.response is None:
            return outcome.recovered
        try:
            return outcome.response.json()
        except ValueError:
            raise GitHubError(
                gh.mask(f"{PREFIX}GitHub's reply to {call.label} ({outcome.response.status_code}) is not JSON"),
                hint=f"check {API_URL_VARIABLE}, if set: it must be the REST API's root",
            ) from None

    def _get(self, gh: GitHub, path: str, what: str, **params: str) -> Any:
        return self._reply(gh, Call("GET", gh.url(path), what, params=params or None, missing_ok=True))

    def _post(self, gh: GitHub, path: str, what: str, body: Mapping[str, Any]) -> Any:
        """A POST that is safe to send twice (git objects: the same content is the same object)."""
        return self._reply(gh, Call("POST", gh.url(path), what, json=body, expected=(201,)))

    # --- reading ---

    def repository(self, gh: GitHub, key: str) -> Any:
        """GET the fork's or the upstream's repository; PublishError naming the setting when it is not there."""
        data = self._get(gh, gh.settings.repo_path, f"repository {gh.settings.repository}")
        if data is None:
            raise PublishError(
                f"{PREFIX}{gh.settings.repository} ({TABLE}.{key}) does not exist, or the token in "
                f"{self.target.token_variable} cannot see it",
                hint=f"fork {self.target.upstream} on GitHub and set {TABLE}.fork to the fork"
                if key == "fork"
                else f"set {TABLE}.upstream to the repository the pull request goes to",
            )
        return data

    def folder(self, gh: GitHub, folder: str, ref: str) -> dict[str, str]:
        """The files in `folder` on `ref` (path -> git name); empty when there is no such folder."""
        path = f"{gh.settings.repo_path}/contents/{quote(folder)}"
        data = self._get(gh, path, f"{folder} on {gh.settings.repository}:{ref}", ref=ref)
        return {} if data is None else folder_files(data, folder)

    def branch_head(self, branch: str) -> str | None:
        """The commit the fork's `branch` points at; None when there is no such branch."""
        path = f"{self.fork.settings.repo_path}/git/ref/heads/{quote(branch, safe='')}"
        data = self._get(self.fork, path, f"branch {branch}")
        return None if data is None else str(_value(data.get("object"), "sha", str, f"branch {branch}"))

    def open_pull(self, branch: str) -> Pull | None:
        """The open pull request to the upstream from the fork's `branch`, if there is one."""
        head = f"{self.target.fork_owner}:{branch}"
        path = f"{self.upstream.settings.repo_path}/pulls"
        data = self._get(self.upstream, path, "the pull requests", head=head, state="open", per_page="100")
        if not isinstance(data, list):
            raise GitHubError(f"{PREFIX}GitHub's list of pull requests is not a list", hint=_RERUN_HINT)
        return Pull.from_json(data[0]) if data else None

    # --- writing ---

    def sync_fork(self, branch: str) -> None:
        """Bring the fork's `branch` up to the upstream's (a no-op when it is there already)."""
        call = Call(
            "POST", self.fork.url(f"{self.fork.settings.repo_path}/merge-upstream"), f"the sync of {branch}",
            json={"branch": branch}, expected=(200, 409, 422),
        )  # fmt: skip
        response = self.fork.send(call).response
        assert response is not None
        if response.status_code != 200:
            message, _ = github.reply_details(github.json_or_none(response))
            raise PublishError(
                f"{PREFIX}GitHub cannot sync {self.target.fork}:{branch} with {self.target.upstream} "
                f"({response.status_code}{': ' + message if message else ''})",
                hint=f"the fork's {branch} has commits of its own: on GitHub, sync the fork (discarding them), "
                "then run again",
            )

    def commit(self, parent: str, writes: Mapping[str, bytes | None], message: str, author: Any) -> str:
        """One commit on `parent` that writes (bytes) and deletes (None) files; its sha."""
        repo = self.fork.settings.repo_path
        base = self._get(self.fork, f"{repo}/git/commits/{parent}", f"commit {parent[:12]}")
        base_tree = _value(base.get("tree") if isinstance(base, Mapping) else None, "sha", str, "the commit")
        entries: list[dict[str, Any]] = []
        for path, data in writes.items():
            if data is None:
                entries.append({"path": path, "mode": FILE_MODE, "type": "blob", "sha": None})
                continue
            body = {"content": base64.b64encode(data).decode("ascii"), "encoding": "base64"}
            sha = _value(self._post(self.fork, f"{repo}/git/blobs", path, body), "sha", str, path)
            if sha != git_blob_name(data):
                raise GitHubError(f"{PREFIX}GitHub stored other bytes for {path} than were sent", hint=_RERUN_HINT)
            entries.append({"path": path, "mode": FILE_MODE, "type": "blob", "sha": sha})
        tree_body = {"base_tree": base_tree, "tree": entries}
        tree = _value(self._post(self.fork, f"{repo}/git/trees", "the tree", tree_body), "sha", str, "the tree")
        commit_body: dict[str, Any] = {"message": message, "tree": tree, "parents": [parent]}
        if author:
            commit_body["author"] = author
        made = self._post(self.fork, f"{repo}/git/commits", "the commit", commit_body)
        return str(_value(made, "sha", str, "the commit"))

    def create_branch(self, branch: str, sha: str) -> str:
        """Create the fork's `branch` at `sha`; a lost reply is looked for before sending again. The head it has."""
        call = Call(
            "POST", self.fork.url(f"{self.fork.settings.repo_path}/git/refs"), f"branch {branch}",
            json={"ref": f"refs/heads/{branch}", "sha": sha}, expected=(201,), creates=True,
        )  # fmt: skip
        made = self._reply(self.fork, call, recover=lambda uncertain: self.branch_head(branch))
        return made if isinstance(made, str) else str(_value(made.get("object"), "sha", str, f"branch {branch}"))

    def move_branch(self, branch: str, sha: str) -> None:
        """Fast-forward the fork's `branch` to `sha` (sent again as it is: moving it twice is moving it once)."""
        path = f"{self.fork.settings.repo_path}/git/refs/heads/{quote(branch, safe='')}"
        self._reply(
            self.fork, Call("PATCH", self.fork.url(path), f"branch {branch}", json={"sha": sha, "force": False})
        )

    def open_pull_request(self, manifests: Manifests, base: str, body: str) -> Pull:
        """Open the pull request; a lost reply is looked for (the open pull request of the branch) first."""
        payload = {
            "title": manifests.title,
            "head": f"{self.target.fork_owner}:{manifests.branch}",
            "base": base,
            "body": body,
            "maintainer_can_modify": True,
        }
        call = Call(
            "POST", self.upstream.url(f"{self.upstream.settings.repo_path}/pulls"), "the pull request",
            json=payload, expected=(201,), creates=True,
        )  # fmt: skip
        made = self._reply(self.upstream, call, recover=lambda uncertain: self.open_pull(manifests.branch))
        return made if isinstance(made, Pull) else Pull.from_json(made)


# --- the run ------------------------------------------------------------------------------------------------


def _channel_error(error: GitHubError, target: Target) -> GitHubError:
    """The client's error, saying it is winget's, the token masked.

    A refusal (403, which the client words "GitHub refused ...") gets this channel's hint: the client's
    speaks of a release's permissions, and here the token must push to the fork and open pull requests.
    """
    message = error.message if error.message.startswith(PREFIX) else PREFIX + error.message
    # The client's hints name GITHUB_API_URL, which winget does not read (see the module's docstring).
    hint = (error.hint or "").replace("GITHUB_API_URL", API_URL_VARIABLE)
    if "GitHub refused " in message:
        hint = f"the token in {target.token_variable} needs to be {_CREDENTIAL_HINT}"
    return GitHubError(proc.mask(message, [target.token]), hint=proc.mask(hint, [target.token]) or None)


@contextmanager
def connected(target: Target, environ: Mapping[str, str], clock: retry.Clock | None) -> Iterator[Remote]:
    """A Remote over one session for both repositories, closed afterwards."""
    fork = GitHub(api_settings(target, target.fork, environ), clock=clock)
    upstream = GitHub(api_settings(target, target.upstream, environ), session=fork.session, clock=clock)
    try:
        yield Remote(fork, upstream, target)
    finally:
        fork.close()


def publish(job: ChannelJob, *, clock: retry.Clock | None = None) -> Outcome:
    """Propose dist/packages/winget/'s manifests to the upstream: a branch of the fork and a pull request.

    clock: for tests (a retry clock that does not wait).
    """
    target = target_of(job.settings, job.environ)
    manifests = read_manifests(job.files, job.config.version)
    if job.config.publish.get("sign-commits"):
        ui.warn(f"{PREFIX}commits made through GitHub's API are not GPG-signed: sign-commits does not apply here")
    with connected(target, job.environ, clock) as remote:
        try:
            return converge(remote, job, manifests)
        except GitHubError as error:
            raise _channel_error(error, target) from None


def converge(remote: Remote, job: ChannelJob, manifests: Manifests) -> Outcome:
    """Look (read only), then make the writes `plan` asks for; see the module's docstring."""
    target = remote.target
    fork = check_fork(remote.repository(remote.fork, "fork"), target)
    upstream = Repository.from_json(remote.repository(remote.upstream, "upstream"), "the upstream")
    label = f"{manifests.identifier} {manifests.version}"
    merged = remote.folder(remote.upstream, manifests.folder, upstream.default_branch)
    if merged and not changes(manifests.files, merged):
        return Outcome(UNCHANGED, f"{label} is in {upstream.full_name} already")

    branch = manifests.branch
    pull = remote.open_pull(branch)
    head = remote.branch_head(branch)
    writes = changes(manifests.files, remote.folder(remote.fork, manifests.folder, branch) if head else {})
    steps = plan(head, bool(writes), pull)
    where = f"{fork.full_name}:{branch}"
    if not steps:
        assert pull is not None
        return Outcome(UNCHANGED, f"pull request #{pull.number} holds {label} already", pull.html_url)
    if job.runner.dry_run:
        for step in steps:
            job.runner.allows(proc.Effect.REMOTE, f"{step.value} ({where} -> {upstream.full_name})")
        return Outcome(WOULD_PUBLISH, f"{label}: would " + ", then ".join(STEP_SUMMARY[step] for step in steps))

    author = author_of(job.config.publish)
    if Step.BRANCH in steps:
        ui.say(f"{PREFIX}syncing {fork.full_name}:{fork.default_branch} with {upstream.full_name}")
        remote.sync_fork(fork.default_branch)
        base = remote.branch_head(fork.default_branch)
        if base is None:
            raise PublishError(f"{PREFIX}{fork.full_name} has no branch {fork.default_branch}", hint=_RERUN_HINT)
        commit = remote.commit(base, writes, manifests.title, author)
        ui.say(f"{PREFIX}creating {where} with the manifests of {label}")
        if remote.create_branch(branch, commit) != commit:
            raise PublishError(f"{PREFIX}{where} was made by someone else meanwhile", hint=_RERUN_HINT)
    if Step.COMMIT in steps:
        assert head is not None
        ui.say(f"{PREFIX}committing {len(writes)} changed manifest(s) on {where}")
        remote.move_branch(branch, remote.commit(head, writes, manifests.title, author))
    if Step.OPEN in steps:
        body = pull_body(manifests, job.tag)
        pull = remote.open_pull_request(manifests, upstream.default_branch, body)
        ui.say(f"{PREFIX}opened pull request #{pull.number}: {pull.html_url}")
        return Outcome(PUBLISHED, f"pull request #{pull.number} opened for {label}", pull.html_url)
    assert pull is not None
    return Outcome(PUBLISHED, f"pull request #{pull.number} updated: new commit on {where}", pull.html_url)

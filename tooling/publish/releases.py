"""A GitHub release that converges: preflight, a plan, parallel uploads, a re-check, then publish.

Entry point (`invoke publish` calls it):

    publish_release(*, assets, tag, version, commit, notes, repository, environ, runner,
                    replace=False, jobs=4, budget_seconds=600, name=None,
                    session=None, clock=None) -> PublishResult

    assets      LocalAsset(path, name, size, sha256) for every file to attach (from dist/manifest.json)
    tag         the release tag (it must end with `version`: v1.2.3 for 1.2.3)
    commit      the full sha of the release commit here (HEAD): the remote tag must point at it
    notes       the release notes (the release's body); name: its title (default: the tag)
    repository  the crate's repository URL or owner/repo, used when GITHUB_REPOSITORY is unset
    environ     where GITHUB_TOKEN/GH_TOKEN, GITHUB_API_URL, GITHUB_SERVER_URL, GITHUB_REPOSITORY come from
    runner      its dry_run: the read-only checks run, every write is only shown
    replace     replace assets on the draft that differ from dist/'s (else: an error naming them)
    jobs        uploads at once; budget_seconds: retry budget per request (tooling/publish/retry.py)
    session, clock: for tests (a Session with a fake transport mounted; a clock that does not wait)

The order, each step re-runnable (principle 4, "every step converges"):
1. Local checks: asset names GitHub keeps as given, no name twice, each file there with its size.
2. Preflight, read-only: the token is there and accepted, the repository reachable and writable, the
   tag on GitHub points at `commit`, no published release for the tag (one identical to ours is
   "already published": success, nothing written; any other is refused: published releases are
   never changed here, and GitHub's immutable releases cannot be), at most one draft (reused).
3. Plan (`plan_uploads`, pure): per asset skip (same size and sha256 on the draft), upload
   (missing, or an unfinished leftover to delete first), replace (differs, with --replace), or an
   error naming every differing asset. Without a digest from GitHub an asset cannot be shown to be
   ours: that is "differs" too (re-downloading to compare was judged not worth its cost and code).
4. A draft is created (or reused); uploads run in parallel, streamed from disk and hashed on the
   way. A request whose outcome is lost (no answer, a 5xx, a 422 already_exists) is never sent
   twice blindly: the assets are listed first, and one with our name, size and sha256 is taken as
   the lost upload's (`recovery_for`). An upload that failed does not stop the others.
5. Re-check: every asset on the draft, complete, with our size and sha256. Only then the draft is
   published: draft=false, prerelease for semver prereleases, make_latest "true" only when the
   version is the highest stable one among the repository's published releases (`latest_flag`).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import BinaryIO

import requests
import semver
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TransferSpeedColumn

from tooling import proc, ui
from tooling.errors import GitHubError, GitStateError, PublishError, ReleaseError, VerificationError, VersionError
from tooling.publish import github, retry
from tooling.publish.github import GitHub, RemoteAsset, RemoteRelease, RepositoryInfo
from tooling.versioning.versions import parse_version

DEFAULT_JOBS = 4
# Bytes per chunk when the body is iterated; requests reads it with read(n) in blocks of its own size.
CHUNK = 1 << 20
STOP_WAIT = 1.0  # seconds a stop waits for the uploads to end once their connections are cut
# Names GitHub stores as given. It renames others ("special characters, non-alphanumeric characters,
# and leading or trailing periods"), and a renamed asset would never match its local name again.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-](?:[A-Za-z0-9._-]*[A-Za-z0-9_-])?$")
_DIFFERS_HINT = "check which file is right; to upload dist/'s over the draft's, run again with --replace"


# --- the data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalAsset:
    """A file to attach to the release, as dist/manifest.json records it."""

    path: Path
    name: str
    size: int
    sha256: str


class ActionKind(Enum):
    SKIP = "skip"
    UPLOAD = "upload"
    REPLACE = "replace"


@dataclass(frozen=True)
class Action:
    """What to do with one local asset. `remote`: the asset to delete first (UPLOAD: a leftover; REPLACE)."""

    kind: ActionKind
    local: LocalAsset
    remote: RemoteAsset | None
    reason: str


@dataclass(frozen=True)
class RemoteFacts:
    """What the read-only preflight requests found."""

    repository: RepositoryInfo
    tag_commit: str | None
    published: RemoteRelease | None
    releases: tuple[RemoteRelease, ...]


@dataclass(frozen=True)
class Start:
    """Where publishing starts: the published release (to compare), or the draft to reuse, or neither."""

    published: RemoteRelease | None
    draft: RemoteRelease | None


@dataclass(frozen=True)
class AssetOutcome:
    """One row of the closing table."""

    name: str
    size: int
    action: str  # uploaded, replaced, skipped; "would ..." in a dry run
    seconds: float | None
    hashed_id: int | None = None  # the id GitHub gave the asset this run uploaded, its bytes hashed on the way


@dataclass(frozen=True)
class PublishResult:
    """What publish_release did (or, in a dry run, would do)."""

    repository: str
    tag: str
    url: str  # the release's page; "" in a dry run that would create it
    release_id: int | None
    created: bool  # a draft was created by this run
    published: bool  # this run published it
    already_published: bool  # it was published before, with exactly these assets
    prerelease: bool
    latest: bool
    dry_run: bool
    assets: tuple[AssetOutcome, ...]


# --- pure decisions -----------------------------------------------------------------------------


def tag_prefix(tag: str, version: str) -> str:
    """What stands before the version in the tag ("v" for v1.2.3); VersionError when the tag names another."""
    parse_version(version)
    if not tag.endswith(version) or not tag:
        raise VersionError(
            f"tag {tag!r} does not name version {version}",
            hint=f"tag the release as <prefix>{version}, e.g. v{version}",
        )
    return tag[: -len(version)]


def is_prerelease(version: str) -> bool:
    return parse_version(version).prerelease is not None


def latest_flag(version: str, release_tags: Iterable[str], prefix: str) -> bool:
    """Should this release be GitHub's "latest"? Only a stable version no lower than every other stable one (pure).

    release_tags: the tags of the repository's other published releases. Only those made of `prefix`
    and a semantic version count (another crate's tags or free-form ones do not); prereleases never
    count. Build metadata does not order versions (semver): 1.2.3+b ties with 1.2.3, and a tie is
    not "higher".
    """
    mine = parse_version(version)
    if mine.prerelease is not None:
        return False
    for tag in release_tags:
        if not tag.startswith(prefix):
            continue
        try:
            other = semver.Version.parse(tag[len(prefix) :])
        except ValueError:
            continue
        if other.prerelease is None and other > mine:
            return False
    return True


def check_asset_names(assets: Sequence[LocalAsset]) -> None:
    """Names GitHub keeps as given, none twice; PublishError naming each bad one (pure)."""
    problems = [
        f"{a.name!r}: GitHub would rename it (use letters, digits, '.', '_' and '-', not at the ends '.')"
        for a in assets
        if not _SAFE_NAME.match(a.name)
    ]
    seen: set[str] = set()
    for asset in assets:
        if asset.name in seen:
            problems.append(f"{asset.name!r}: two files would be uploaded under this name")
        seen.add(asset.name)
    if problems:
        raise PublishError(
            "cannot attach these files to a GitHub release:\n" + "\n".join(f"  {p}" for p in problems),
            hint="rename them where they are made (the archive name template, the SBOM's name)",
        )


def local_problems(assets: Sequence[LocalAsset], sizes: Mapping[str, int | None]) -> list[str]:
    """Files missing or not of the manifest's size; sizes: name -> size on disk, None when missing (pure)."""
    problems = []
    for asset in assets:
        found = sizes.get(asset.name)
        if found is None:
            problems.append(f"{asset.path}: missing")
        elif found != asset.size:
            problems.append(f"{asset.path}: {found} bytes, the manifest says {asset.size}")
    return problems


def asset_difference(local: LocalAsset, remote: RemoteAsset) -> str | None:
    """None when GitHub's asset is provably `local`'s file (same size and sha256); else how it differs (pure)."""
    if remote.size != local.size:
        return f"{remote.size} bytes on GitHub, {local.size} in dist/"
    if remote.sha256 is None:
        return "GitHub does not report its sha256 (an older server), so it cannot be shown to be the same file"
    if remote.sha256 != local.sha256.lower():
        return f"sha256 {remote.sha256[:16]}... on GitHub, {local.sha256[:16]}... in dist/"
    return None


def plan_uploads(local: Sequence[LocalAsset], remote: Sequence[RemoteAsset], replace: bool) -> list[Action]:
    """What to do with each local asset, given the draft's assets (pure).

    On the draft, same size and sha256: skip. Missing: upload. Left unfinished by a failed upload
    (state other than "uploaded"; GitHub says it can be deleted safely): delete it, upload. Differs
    (or cannot be shown to be the same): with `replace`, delete and upload; else PublishError naming
    every such asset, before anything is changed.
    """
    by_name = {asset.name: asset for asset in remote}
    actions: list[Action] = []
    conflicts: list[str] = []
    for asset in local:
        found = by_name.get(asset.name)
        if found is None:
            actions.append(Action(ActionKind.UPLOAD, asset, None, "not on the release"))
        elif not found.complete:
            actions.append(Action(ActionKind.UPLOAD, asset, found, f"an unfinished upload ({found.state}) is deleted"))
        else:
            difference = asset_difference(asset, found)
            if difference is None:
                actions.append(Action(ActionKind.SKIP, asset, found, "on the release already (same size and sha256)"))
            elif replace:
                actions.append(Action(ActionKind.REPLACE, asset, found, difference))
            else:
                conflicts.append(f"{asset.name}: {difference}")
    if conflicts:
        raise PublishError(
            f"{len(conflicts)} asset(s) on the release differ from dist/:\n" + "\n".join(f"  {c}" for c in conflicts),
            hint=_DIFFERS_HINT,
        )
    return actions


def extra_assets(local: Sequence[LocalAsset], remote: Sequence[RemoteAsset]) -> list[RemoteAsset]:
    """Assets on the release that dist/ does not have (left as they are, and reported) (pure)."""
    names = {asset.name for asset in local}
    return [asset for asset in remote if asset.name not in names]


class Recovery(Enum):
    DONE = "done"  # the lost attempt stored the file: nothing to send
    RESEND = "resend"  # nothing there: send it
    DELETE_THEN_RESEND = "delete-then-resend"  # a leftover under our name: delete it, send


def recovery_for(
    local: LocalAsset, remote: Sequence[RemoteAsset], *, uncertain: bool
) -> tuple[Recovery, RemoteAsset | None]:
    """After an upload's outcome was lost (or GitHub said the name is taken): what is there, and what next (pure).

    uncertain: one of OUR attempts may have reached GitHub. The name was free when we started
    (the plan saw it free, or deleted what was there), so a complete asset of our size without a
    digest can only be our own unproven upload: it is deleted and sent again. Without that, it is
    someone else's, and one that differs is never overwritten: PublishError.
    """
    found = next((asset for asset in remote if asset.name == local.name), None)
    if found is None:
        return Recovery.RESEND, None
    if not found.complete:
        return Recovery.DELETE_THEN_RESEND, found
    difference = asset_difference(local, found)
    if difference is None:
        return Recovery.DONE, found
    if found.sha256 is None and found.size == local.size and uncertain:
        return Recovery.DELETE_THEN_RESEND, found
    raise PublishError(
        f"{local.name} appeared on the release while it was being uploaded, and differs: {difference}",
        hint="another run may be publishing the same tag: let one finish, then run again (with --replace if needed)",
    )


def drafts_for(releases: Iterable[RemoteRelease], tag: str) -> list[RemoteRelease]:
    """The drafts of `tag`; PublishError when there are several (which one is ours cannot be told) (pure)."""
    drafts = [release for release in releases if release.draft and release.tag_name == tag]
    if len(drafts) > 1:
        listed = ", ".join(f"{d.id} ({d.html_url})" for d in drafts)
        raise PublishError(
            f"{len(drafts)} draft releases for {tag}: {listed}",
            hint="delete the extra drafts on GitHub (keep at most one), then run again",
        )
    return drafts


def preflight(facts: RemoteFacts, *, repository: str, tag: str, commit: str, token_variable: str) -> Start:
    """The read-only checks before any write, over what GitHub said (pure). Raises the first failure."""
    if facts.repository.can_push is False:
        raise GitHubError(
            f"the token in {token_variable} can read {repository} but not write to it",
            hint="give it write access to the repository's contents (`permissions: contents: write` in a workflow)",
        )
    if facts.tag_commit is None:
        raise GitStateError(
            f"tag {tag} is not on GitHub ({repository})",
            hint=f"push it first: git push origin {tag}",
        )
    if facts.tag_commit.lower() != commit.lower():
        raise GitStateError(
            f"tag {tag} on GitHub points at {facts.tag_commit}, but the release commit here is {commit.lower()}",
            hint=f"the tag was moved or made elsewhere: compare `git ls-remote origin refs/tags/{tag}` with "
            "`git rev-parse HEAD` and release from the commit the tag names",
        )
    if facts.published is not None:
        return Start(published=facts.published, draft=None)
    drafts = drafts_for(facts.releases, tag)
    return Start(published=None, draft=drafts[0] if drafts else None)


def check_published(release: RemoteRelease, local: Sequence[LocalAsset], remote: Sequence[RemoteAsset]) -> None:
    """A published release is left alone: fine when it holds exactly our assets, else PublishError (pure)."""
    try:
        actions = plan_uploads(local, remote, replace=False)
        differing = [f"{a.local.name}: {a.reason}" for a in actions if a.kind is not ActionKind.SKIP]
    except PublishError as error:
        differing = [error.message]
    if differing:
        immutable = " (an immutable release: GitHub lets nothing change its assets)" if release.immutable else ""
        raise PublishError(
            f"release {release.tag_name} is published already{immutable}: {release.html_url}\n"
            + "\n".join(f"  {line}" for line in differing),
            hint="a published release is never changed by this tool: release a new version, or delete this "
            "release on GitHub if it must be made again",
        )


def unfinished(local: Sequence[LocalAsset], remote: Sequence[RemoteAsset], hashed_here: Iterable[int]) -> list[str]:
    """What keeps the draft from being published: missing, unfinished or differing assets (pure).

    hashed_here: ids of assets this run uploaded and hashed while streaming; for them a missing
    digest (an older server) is no doubt, since the bytes sent were hashed on the way.
    """
    proven = set(hashed_here)
    by_name = {asset.name: asset for asset in remote}
    problems = []
    for asset in local:
        found = by_name.get(asset.name)
        if found is None:
            problems.append(f"{asset.name}: not on the release")
        elif not found.complete:
            problems.append(f"{asset.name}: its upload is unfinished ({found.state})")
        else:
            difference = asset_difference(asset, found)
            if difference is not None and not (
                found.sha256 is None and found.size == asset.size and found.id in proven
            ):
                problems.append(f"{asset.name}: {difference}")
    return problems


def publish_fields(*, tag: str, name: str, notes: str, prerelease: bool, latest: bool) -> dict[str, object]:
    """The PATCH that publishes the draft, its title and notes set again so a reused draft gets ours (pure)."""
    return {
        "tag_name": tag,
        "name": name,
        "body": notes,
        "draft": False,
        "prerelease": prerelease,
        # GitHub takes strings here; drafts and prereleases cannot be latest anyway.
        "make_latest": "true" if latest and not prerelease else "false",
    }


def uploaded_problem(local: LocalAsset, stored: RemoteAsset, streamed_sha256: str | None) -> ReleaseError | None:
    """What is wrong with an asset GitHub just stored from our bytes, if anything (pure).

    streamed_sha256: what we hashed while sending (None when unknown): if it is not the manifest's,
    the file changed after it was hashed, and GitHub holds something no manifest describes.
    """
    if stored.name != local.name:
        return PublishError(
            f"GitHub stored {local.name} as {stored.name}",
            hint="rename the file to letters, digits, '.', '_' and '-' where it is made",
        )
    if streamed_sha256 is not None and streamed_sha256 != local.sha256.lower():
        return VerificationError(
            f"{local.path} changed after it was hashed: sha256 {streamed_sha256} was sent, the manifest says "
            f"{local.sha256}",
            hint="make dist/ again (nothing may write to it between the build and the upload); "
            "the wrong upload was deleted",
        )
    if stored.size != local.size or (stored.sha256 is not None and stored.sha256 != local.sha256.lower()):
        return PublishError(
            f"GitHub stored {local.name} with {stored.size} bytes and sha256 {stored.sha256}, not "
            f"{local.size} and {local.sha256}: damaged on the way",
            hint="run again: the damaged upload was deleted",
        )
    return None


# --- effects ------------------------------------------------------------------------------------


class _ChunkReader:
    """A file's bytes for one upload attempt, read in chunks: each one hashed and counted on the bars."""

    def __init__(self, handle: BinaryIO, size: int, advance: Callable[[int], None], stop: threading.Event) -> None:
        self._handle = handle
        self._size = size
        self._advance = advance
        self._stop = stop
        self._hash = hashlib.sha256()
        self.sent = 0

    def read(self, amount: int = -1) -> bytes:
        if self._stop.is_set():
            raise github.Stopped
        data = self._handle.read(amount if amount and amount > 0 else -1)
        self._hash.update(data)
        self.sent += len(data)
        self._advance(len(data))
        return data

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK):
            yield chunk

    def close(self) -> None:
        self._handle.close()

    def sha256(self) -> str | None:
        """The hash of what was sent, when the whole file was."""
        return self._hash.hexdigest() if self.sent == self._size else None


class _Bars:
    """A bar per asset and one for all, fed from the upload threads; a retried upload starts its bar again."""

    def __init__(self, progress: Progress, actions: Sequence[Action]) -> None:
        self._progress = progress
        self._lock = threading.Lock()
        self._all = progress.add_task("all assets", total=sum(a.local.size for a in actions))
        self._tasks: dict[str, TaskID] = {
            a.local.name: progress.add_task(a.local.name, total=a.local.size) for a in actions
        }
        self._sent = dict.fromkeys(self._tasks, 0)

    def advance(self, name: str, amount: int) -> None:
        with self._lock:
            self._sent[name] += amount
            self._progress.advance(self._tasks[name], amount)
            self._progress.advance(self._all, amount)

    def restart(self, name: str) -> None:
        with self._lock:
            self._progress.advance(self._all, -self._sent[name])
            self._sent[name] = 0
            self._progress.update(self._tasks[name], completed=0)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=ui.console,
    )


def _sizes_on_disk(assets: Sequence[LocalAsset]) -> dict[str, int | None]:
    sizes: dict[str, int | None] = {}
    for asset in assets:
        try:
            sizes[asset.name] = asset.path.stat().st_size if asset.path.is_file() else None
        except OSError:
            sizes[asset.name] = None
    return sizes


def gather_facts(gh: GitHub, tag: str) -> RemoteFacts:
    """The read-only requests of the preflight (they run in a dry run too)."""
    repository = gh.repository()
    return RemoteFacts(
        repository=repository,
        tag_commit=gh.tag_commit(tag),
        published=gh.release_for_tag(tag),
        releases=tuple(gh.releases()),
    )


def _upload_one(gh: GitHub, release: RemoteRelease, action: Action, bars: _Bars) -> AssetOutcome:
    """Delete what must go, upload, check what GitHub stored; converge through `recovery_for` on a lost reply."""
    local = action.local
    started = time.monotonic()
    if action.remote is not None:
        gh.delete_asset(action.remote.id, local.name)
    readers: list[_ChunkReader] = []

    def open_body() -> _ChunkReader:
        bars.restart(local.name)
        try:
            handle = local.path.open("rb")
        except OSError as error:  # a ReleaseError, so that the other uploads go on (an OSError would stop them all)
            raise VerificationError(
                f"{local.path} cannot be read: {error.strerror or error}", hint="make dist/ again"
            ) from None
        size = os.fstat(handle.fileno()).st_size
        if size != local.size:
            handle.close()
            raise VerificationError(
                f"{local.path} is {size} bytes, the manifest says {local.size}: it changed after it was hashed",
                hint="make dist/ again",
            )
        reader = _ChunkReader(handle, local.size, lambda amount: bars.advance(local.name, amount), gh.stop)
        readers.append(reader)
        return reader

    def recover(uncertain: bool) -> RemoteAsset | None:
        decision, found = recovery_for(local, gh.assets(release.id), uncertain=uncertain)
        if decision is Recovery.DONE:
            return found
        if decision is Recovery.DELETE_THEN_RESEND and found is not None:
            gh.delete_asset(found.id, local.name)
        return None

    stored, recovered = gh.upload_asset(release.upload_url, name=local.name, body=open_body, recover=recover)
    if not recovered:
        problem = uploaded_problem(local, stored, readers[-1].sha256() if readers else None)
        if problem is not None:
            if stored.name == local.name:
                gh.delete_asset(stored.id, local.name)  # ours and wrong: a re-run uploads it again
            raise problem
    ui.say(f"{'replaced' if action.kind is ActionKind.REPLACE else 'uploaded'} {local.name}")
    return AssetOutcome(
        local.name,
        local.size,
        "replaced" if action.kind is ActionKind.REPLACE else "uploaded",
        time.monotonic() - started,
        # Only an upload whose bytes were hashed on the way (not one `recover` found) vouches for its asset id.
        hashed_id=None if recovered else stored.id,
    )


def _raise_collected(errors: Sequence[tuple[str, ReleaseError]]) -> None:
    """One error for several failed uploads: each shown, the first raised with a count of the others."""
    if not errors:
        return
    first_name, first = errors[0]
    if len(errors) == 1:
        raise first
    for name, error in errors[1:]:
        ui.error(f"{name}: {error.message}", error.hint)
    others = ", ".join(name for name, _ in errors[1:])
    raise type(first)(
        f"{first_name}: {first.message}\n  {len(errors) - 1} other upload(s) failed too: {others}", hint=first.hint
    )


def upload_all(gh: GitHub, release: RemoteRelease, actions: Sequence[Action], jobs: int) -> dict[str, AssetOutcome]:
    """Run the uploads and replacements, `jobs` at a time, with progress bars; every one runs to its end.

    A failure does not cancel the others (what they upload is kept and skipped by the next run); the
    failures are raised together afterwards. Ctrl-C or SIGTERM stops every upload and wait at once.
    """
    todo = [action for action in actions if action.kind is not ActionKind.SKIP]
    done: dict[str, AssetOutcome] = {}
    if not todo:
        return done
    errors: list[tuple[str, ReleaseError]] = []
    github.check_upload_url(release.upload_url)  # before any upload starts, once
    pool = ThreadPoolExecutor(max_workers=max(1, min(jobs, len(todo))), thread_name_prefix="upload")
    futures: dict[Future[AssetOutcome], Action] = {}
    # Everything from the first submit on is inside the try: a Ctrl-C can land anywhere, even inside
    # submit() while it starts a thread the pool then does not track. The abort reaches every worker,
    # tracked or not: Stopped at its next chunk read or retry wait, and a read blocked on a silent
    # server fails at once, its connection cut.
    try:
        with _progress() as progress:
            bars = _Bars(progress, todo)
            for action in todo:
                futures[pool.submit(_upload_one, gh, release, action, bars)] = action
            for future in as_completed(futures):
                name = futures[future].local.name
                try:
                    done[name] = future.result()
                except ReleaseError as error:
                    errors.append((name, error))
    except BaseException:
        gh.abort()
        pool.shutdown(wait=False, cancel_futures=True)
        wait(futures, timeout=STOP_WAIT)  # they end at once; a read through a proxy is not cut, so do not hang on one
        raise
    pool.shutdown(wait=True)
    _raise_collected(sorted(errors, key=lambda item: item[0]))
    return done


def _outcome_rows(outcomes: Sequence[AssetOutcome]) -> list[list[str]]:
    return [[o.name, str(o.size), o.action, "-" if o.seconds is None else f"{o.seconds:.1f}"] for o in outcomes]


def publish_release(
    *,
    assets: Sequence[LocalAsset],
    tag: str,
    version: str,
    commit: str,
    notes: str,
    repository: str | None,
    environ: Mapping[str, str],
    runner: proc.Runner,
    replace: bool = False,
    jobs: int = DEFAULT_JOBS,
    budget_seconds: float = retry.DEFAULT_BUDGET_SECONDS,
    name: str | None = None,
    session: requests.Session | None = None,
    clock: retry.Clock | None = None,
) -> PublishResult:
    """Make (or finish) the GitHub release of `tag` with `assets`, and publish it. See the module's docstring."""
    prefix = tag_prefix(tag, version)
    prerelease = is_prerelease(version)
    check_asset_names(assets)
    problems = local_problems(assets, _sizes_on_disk(assets))
    if problems:
        raise VerificationError(
            "the release files are not as dist/manifest.json records them:\n" + "\n".join(f"  {p}" for p in problems),
            hint="make dist/ again (invoke release builds it; never edit it by hand)",
        )
    settings = github.settings_from_env(environ, repository)
    gh = GitHub(
        settings, session=session, policy=retry.Policy(budget_seconds=budget_seconds), clock=clock, pool_size=jobs
    )
    try:
        with ui.group(f"GitHub release {tag} on {settings.repository}"):
            return _publish(
                gh, assets=assets, tag=tag, prefix=prefix, version=version, commit=commit, notes=notes,
                name=name or tag, prerelease=prerelease, runner=runner, replace=replace, jobs=jobs,
            )  # fmt: skip
    finally:
        gh.close()


def _publish(
    gh: GitHub,
    *,
    assets: Sequence[LocalAsset],
    tag: str,
    prefix: str,
    version: str,
    commit: str,
    notes: str,
    name: str,
    prerelease: bool,
    runner: proc.Runner,
    replace: bool,
    jobs: int,
) -> PublishResult:
    repository = gh.settings.repository
    facts = gather_facts(gh, tag)
    start = preflight(facts, repository=repository, tag=tag, commit=commit, token_variable=gh.settings.token_variable)
    others = [r.tag_name for r in facts.releases if not r.draft and r.tag_name != tag]
    latest = latest_flag(version, others, prefix)

    def result(release: RemoteRelease | None, outcomes: Iterable[AssetOutcome], **flags: bool) -> PublishResult:
        rows = tuple(outcomes)
        ui.summary(f"GitHub release {tag}", ["asset", "bytes", "action", "seconds"], _outcome_rows(rows))
        return PublishResult(
            repository=repository, tag=tag, url=release.html_url if release else "",
            release_id=release.id if release else None, prerelease=prerelease, latest=latest,
            dry_run=runner.dry_run, assets=rows, created=flags.get("created", False),
            published=flags.get("published", False), already_published=flags.get("already_published", False),
        )  # fmt: skip

    if start.published is not None:
        check_published(start.published, assets, gh.assets(start.published.id))
        ui.say(
            f"{tag} is published already with these {len(assets)} asset(s): nothing to do ({start.published.html_url})"
        )
        return result(
            start.published, (AssetOutcome(a.name, a.size, "skipped", None) for a in assets), already_published=True
        )

    draft = start.draft
    remote = gh.assets(draft.id) if draft is not None else []
    actions = plan_uploads(assets, remote, replace)
    for extra in extra_assets(assets, remote):
        ui.warn(f"{extra.name} is on the draft release {tag} but not in dist/: it is left as it is")
    skipped = {
        a.local.name: AssetOutcome(a.local.name, a.local.size, "skipped", None)
        for a in actions
        if a.kind is ActionKind.SKIP
    }
    ui.say(
        f"{tag}: {'draft ' + str(draft.id) + ' reused' if draft else 'no draft yet'}; "
        f"{len(actions) - len(skipped)} to upload, {len(skipped)} on it already"
    )
    write = runner.allows(proc.Effect.REMOTE)
    created = False
    if draft is None and runner.allows(
        proc.Effect.REMOTE, f"create the draft release {tag} on {repository} at {commit}"
    ):
        draft = _create_draft(gh, tag=tag, commit=commit, name=name, notes=notes, prerelease=prerelease)
        created = True
    if not write:
        for action in actions:
            if action.kind is not ActionKind.SKIP:
                verb = "replace" if action.kind is ActionKind.REPLACE else "upload"
                runner.allows(
                    proc.Effect.REMOTE, f"{verb} {action.local.name} ({action.local.size} bytes): {action.reason}"
                )
        runner.allows(proc.Effect.REMOTE, f"publish {tag} (prerelease: {_yes(prerelease)}, latest: {_yes(latest)})")
        would = [
            skipped.get(a.local.name) or AssetOutcome(a.local.name, a.local.size, f"would {a.kind.value}", None)
            for a in actions
        ]
        return result(draft, would)
    assert draft is not None  # created above when there was none
    done = upload_all(gh, draft, actions, jobs)
    outcomes = [skipped.get(a.local.name) or done[a.local.name] for a in actions]

    # Check again before the one step that cannot be undone (with immutable releases, nothing changes after it).
    remote = gh.assets(draft.id)
    # By the ids our uploads returned, not by name: an asset put under the same name since is not ours.
    missing = unfinished(assets, remote, {o.hashed_id for o in done.values() if o.hashed_id is not None})
    if missing:
        raise PublishError(
            f"not publishing {tag}: the draft is not complete\n" + "\n".join(f"  {p}" for p in missing),
            hint="run the same command again: it uploads what is missing",
        )
    fields = publish_fields(tag=tag, name=name, notes=notes, prerelease=prerelease, latest=latest)
    published = _publish_draft(gh, draft, fields)
    ui.say(f"published {tag}: {published.html_url}")
    return result(published, outcomes, created=created, published=True)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _create_draft(gh: GitHub, *, tag: str, commit: str, name: str, notes: str, prerelease: bool) -> RemoteRelease:
    """POST the draft; after a lost reply, the releases are listed and the draft it made is taken."""

    def recover(uncertain: bool) -> RemoteRelease | None:
        published = gh.release_for_tag(tag)
        if published is not None:  # GitHub's 422 already_exists: another run published the tag meanwhile
            raise PublishError(
                f"release {tag} was published by someone else while this run was making its draft: "
                f"{published.html_url}",
                hint="let one run publish a tag; run again to compare what was published with dist/",
            )
        drafts = drafts_for(gh.releases(), tag)
        return drafts[0] if drafts else None

    return gh.create_draft(tag=tag, commit=commit, name=name, body=notes, prerelease=prerelease, recover=recover)


def _publish_draft(gh: GitHub, draft: RemoteRelease, fields: Mapping[str, object]) -> RemoteRelease:
    """PATCH draft=false; after a lost reply, the release is read and a published one taken as done."""

    def recover(uncertain: bool) -> RemoteRelease | None:
        current = gh.release(draft.id)
        return None if current.draft else current

    published = gh.update_release(draft.id, fields, what=f"release {draft.tag_name}", recover=recover)
    if published.draft:
        raise GitHubError(
            f"GitHub left release {draft.tag_name} a draft after the request to publish it",
            hint="run the same command again",
        )
    return published

"""Chocolatey: push dist/packages/chocolatey/<id>.<version>.nupkg to a NuGet v2 feed.

The push is NuGet's documented one (the PackagePublish resource, the same
endpoint on v2 and v3 feeds): PUT <feed>/api/v2/package/ with the API key in
the X-NuGet-ApiKey header and a multipart/form-data body whose one part is
the .nupkg's bytes. The feed answers 201 or 202 (stored), 409 (that id and
version are there already: a version can never be replaced), 401 or 403 (the
key). `tool.release.publish.chocolatey.feed` may be the feed's root or its push
URL (…/api/v2/package), as NuGet's own client accepts either; the package is
always pushed to the root's /api/v2/package/, where NuGet's client pushes too.

Converging. The feed's OData entry of the package,
GET <feed>/api/v2/Packages(Id='<id>',Version='<version>'), carries
PackageHash (base64) and PackageHashAlgorithm (SHA512). Only an Atom <entry>
holding <m:properties> counts as the entry: any other reply (a 404, an HTML
page, JSON, an empty feed) is no entry. The preflight reads it: an entry with
our package's hash -> UNCHANGED, nothing sent; with another hash ->
PublishError (that version holds another package and cannot be replaced); no
entry, or one without a hash -> push. A 409 to the push is looked up the same
way, and then an entry without a hash (a package awaiting moderation shows
none) counts as done, with a warning saying so; no entry at all after a 409 is
a PublishError, since nothing shows whose package the feed holds.

Retries. A push is sent again after a 5xx, a 429 or no answer at all
(tooling/publish/retry.py decides how long to wait): that is safe because a
push that did get stored answers the retry 409, which the rule above turns
into success when the bytes are ours.

The key travels only in the X-NuGet-ApiKey header of the PUT (never in a URL,
never on a read, never over plain http except to this machine), and every
message this module makes is masked with it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
import xml.etree.ElementTree as ElementTree
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import quote

import requests

from tooling import __version__, proc, ui
from tooling.errors import ConfigError, PackageError, PublishError
from tooling.packagers import chocolatey
from tooling.publish import github, retry, urls
from tooling.publish.channels import PUBLISHED, UNCHANGED, WOULD_PUBLISH, ChannelJob, Outcome

CHANNEL = "chocolatey"
SETTING = "tool.release.publish.chocolatey"
PUSH_SUFFIX = "/api/v2/package"
ENTRY_PATH = "/api/v2/Packages(Id='{id}',Version='{version}')"
API_KEY_HEADER = "X-NuGet-ApiKey"
# nuget.org asks third-party clients to name the push protocol they speak; other feeds ignore it.
PROTOCOL_HEADERS = {"X-NuGet-Protocol-Version": "4.1.0"}
USER_AGENT = f"release-tooling/{__version__}"

READ_TIMEOUT = (10.0, 60.0)
PUSH_TIMEOUT = (10.0, 300.0)  # the reply comes after the feed has stored (and often checked) the package
PUSHED_STATUSES = (200, 201, 202)  # feeds differ in the success status they answer
CONFLICT = 409
REFUSED = (401, 403)
CHUNK = 64 * 1024

# The Atom and OData namespaces of a v2 feed's entry.
ATOM_NAMESPACE = "{http://www.w3.org/2005/Atom}"
METADATA_NAMESPACE = "{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}"
DATA_NAMESPACE = "{http://schemas.microsoft.com/ado/2007/08/dataservices}"
# PackageHashAlgorithm -> hashlib name; feeds write SHA512 (older ones SHA256).
HASH_ALGORITHMS = {"SHA512": "sha512", "SHA256": "sha256"}

_RERUN_HINT = "run the same command again: it looks at what the feed holds and continues from there"


# --- the feed --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Feed:
    """Where a NuGet v2 feed lives: its root URL, without a trailing slash."""

    root: str

    @property
    def push_url(self) -> str:
        # With the trailing slash, as NuGet's own client sends it.
        return f"{self.root}{PUSH_SUFFIX}/"

    def entry_url(self, package_id: str, version: str) -> str:
        """The OData entry of one package version (quotes doubled, as OData escapes them)."""
        path = ENTRY_PATH.format(id=package_id.replace("'", "''"), version=version.replace("'", "''"))
        return self.root + quote(path, safe="/()=',")


def feed_from_setting(value: str) -> Feed:
    """The feed named by tool.release.publish.chocolatey.feed (its root or its push URL); ConfigError (pure)."""
    text = value.strip()
    example = 'feed = "https://nuget.example.org/api/v2/package"'
    if not text:
        raise ConfigError(
            f"{CHANNEL}: {SETTING}.feed is not set, and Chocolatey packages have no default feed",
            hint=f"set the NuGet v2 feed to push to in [{SETTING}], e.g. {example}",
        )
    try:
        parts = urls.check_secret_url(text, f"{SETTING}.feed", carries="the API key")
    except ConfigError as error:
        raise ConfigError(f"{CHANNEL}: {error.message}", hint=error.hint) from None
    if parts.query or parts.fragment:
        raise ConfigError(f"{CHANNEL}: {SETTING}.feed = {text!r} has a query or fragment", hint=f"e.g. {example}")
    root = text.rstrip("/")
    if root.lower().endswith(PUSH_SUFFIX):
        root = root[: -len(PUSH_SUFFIX)]
    return Feed(root)


# --- the package -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Package:
    """The .nupkg to push: where it is, what its nuspec calls it, and its bytes' hash."""

    path: Path
    id: str
    version: str
    sha512: str  # base64, as feeds show PackageHash

    def hash_as(self, algorithm: str) -> str | None:
        """This package's hash the way a feed writes it with `algorithm`; None for an algorithm we do not know."""
        name = HASH_ALGORITHMS.get(algorithm.strip().upper())
        if name is None:
            return None
        digest = hashlib.new(name)
        try:
            with self.path.open("rb") as stream:
                for chunk in iter(lambda: stream.read(CHUNK), b""):
                    digest.update(chunk)
        except OSError as error:
            raise unreadable(self.path, error) from None
        return base64.b64encode(digest.digest()).decode()


def unreadable(path: Path, error: OSError) -> PublishError:
    """The error for a package file that cannot be read (pure)."""
    return PublishError(
        f"{CHANNEL}: cannot read {path}: {error.strerror or error}", hint="make the packages again: invoke package"
    )


def expected_file_name(job: ChannelJob) -> str:
    """<id>.<NuGet version>.nupkg, as the chocolatey packager names it for this release (pure)."""
    settings = job.config.packages.get(CHANNEL, {})
    package_id = str(settings.get("id") or job.config.name.lower())
    return f"{package_id}.{chocolatey.nuget_version(job.config.version)}.nupkg"


def nupkg_identity(data: bytes, name: str) -> tuple[str, str]:
    """(id, version) from the nuspec at the top of a .nupkg; PublishError when it is no package (pure)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            nuspecs = [entry for entry in archive.namelist() if entry.endswith(".nuspec") and "/" not in entry]
            if len(nuspecs) != 1:
                raise PublishError(
                    f"{CHANNEL}: {name} holds {len(nuspecs)} .nuspec files at its top, not one",
                    hint="make the package again: invoke package",
                )
            metadata = chocolatey.nuspec_metadata(archive.read(nuspecs[0]))
    except (zipfile.BadZipFile, ElementTree.ParseError) as error:
        raise PublishError(f"{CHANNEL}: {name} is not a readable .nupkg: {error}", hint="invoke package") from None
    except PackageError as error:
        raise PublishError(f"{CHANNEL}: {name}: {error.message}", hint="invoke package") from None
    return metadata["id"], metadata["version"]


def find_package(job: ChannelJob) -> Package:
    """The release's .nupkg in job.files, read and checked: the file the packager made for this version."""
    name = expected_file_name(job)
    path = job.files / name
    if not path.is_file():
        found = sorted(p.name for p in job.files.glob("*.nupkg")) if job.files.is_dir() else []
        raise PublishError(
            f"{CHANNEL}: {path} does not exist" + (f" (the folder holds {', '.join(found)})" if found else ""),
            hint="make the packages for this version first: invoke package",
        )
    try:
        data = path.read_bytes()
    except OSError as error:
        raise unreadable(path, error) from None
    package_id, version = nupkg_identity(data, name)
    if f"{package_id}.{version}.nupkg".lower() != name.lower():
        raise PublishError(
            f"{CHANNEL}: {name} holds package {package_id} {version}, not the one its name says",
            hint="make the packages again: invoke package",
        )
    return Package(path, package_id, version, base64.b64encode(hashlib.sha512(data).digest()).decode())


# --- what the feed says ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Remote:
    """The feed's entry of the package: its hash, or neither (a real entry that shows none)."""

    hash: str | None
    algorithm: str | None


def entry_hash(document: bytes) -> Remote | None:
    """The package's entry read from the feed's reply (pure): None unless it is one.

    An entry is an Atom <entry> holding OData's <m:properties>; anything else
    (an HTML page, JSON, an empty feed, a login page answered 200) says nothing
    about the package and counts as no entry. An entry gives its PackageHash and
    PackageHashAlgorithm, both None when it shows no hash.

    The entry comes from the network: a document with a DTD (the vehicle of
    entity-expansion attacks) is not parsed at all, and expat, which parses
    the rest, resolves no external entities.
    """
    if b"<!DOCTYPE" in document or b"<!ENTITY" in document:
        return None
    try:
        root = ElementTree.fromstring(document)  # noqa: S314 - no DTD (refused above); expat fetches nothing
    except ElementTree.ParseError:
        return None
    properties = root.find(f".//{METADATA_NAMESPACE}properties") if root.tag == f"{ATOM_NAMESPACE}entry" else None
    if properties is None:
        return None
    found = {element.tag: (element.text or "").strip() for element in properties if isinstance(element.tag, str)}
    package_hash = found.get(f"{DATA_NAMESPACE}PackageHash") or None
    algorithm = found.get(f"{DATA_NAMESPACE}PackageHashAlgorithm") or ("SHA512" if package_hash else None)
    return Remote(package_hash, algorithm)


def same_package(package: Package, remote: Remote) -> bool | None:
    """Is the feed's package ours? None when the feed shows no hash we can compute (pure apart from hashing)."""
    if remote.hash is None or remote.algorithm is None:
        return None
    ours = package.hash_as(remote.algorithm)
    return None if ours is None else ours == remote.hash


def conflict_error(package: Package, feed: Feed) -> PublishError:
    return PublishError(
        f"{CHANNEL}: the feed {feed.root} holds {package.id} {package.version} already, and it is another package "
        "than dist/'s (its hash differs); a version on a NuGet feed cannot be replaced",
        hint="release a new version; if the feed's package is the right one, nothing needs doing "
        "(leave chocolatey out of this run with --skip chocolatey)",
    )


# --- the HTTP side -------------------------------------------------------------------------------------


class MultipartBody:
    """A multipart/form-data body with one file part, read from the file as requests sends it.

    It has a length, so requests sends a Content-Length rather than a chunked
    body (which some feeds refuse), and the file is never read whole into memory.
    """

    def __init__(self, path: Path, field: str = "package") -> None:
        self.boundary = secrets.token_hex(16)
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        head = (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{path.name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._length = len(head) + path.stat().st_size + len(tail)
        self._pieces: list[IO[bytes]] = [io.BytesIO(head), path.open("rb"), io.BytesIO(tail)]

    def __len__(self) -> int:
        return self._length

    def read(self, amount: int = -1) -> bytes:
        chunks = []
        while self._pieces and (amount < 0 or amount > 0):
            chunk = self._pieces[0].read(amount)
            if not chunk:
                self._pieces.pop(0).close()
                continue
            chunks.append(chunk)
            if amount > 0:
                amount -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        for piece in self._pieces:
            piece.close()
        self._pieces = []


@dataclass
class FeedClient:
    """Requests to one feed, each retried on transient faults by the policy in retry.py."""

    session: requests.Session
    api_key: str = field(repr=False)
    policy: retry.Policy
    clock: retry.Clock

    def mask(self, text: str) -> str:
        return proc.mask(text, [self.api_key])

    def send(self, method: str, url: str, what: str, *, push: Path | None = None) -> tuple[requests.Response, bool]:
        """Send until the feed gives an answer that is not transient; PublishError when the budget runs out.

        Returns the answer, and whether an earlier try may have taken effect (it got a 5xx or no answer).
        """
        attempts = retry.Attempts(self.policy, self.clock)
        uncertain = False
        while True:
            response, failure = self._attempt(method, url, push)
            status = None if response is None else response.status_code
            headers = {} if response is None else dict(response.headers)
            if response is not None and not retry.is_transient(status, headers):
                return response, uncertain
            uncertain = uncertain or status is None or status >= 500
            step = attempts.after_failure(status=status, headers=headers)
            problem = failure or f"the feed answered {status}"
            if not isinstance(step, retry.Wait):
                reason = step.reason if isinstance(step, retry.GiveUp) else "not retried"
                raise PublishError(self.mask(f"{CHANNEL}: {what}: {problem}; gave up: {reason}"), hint=_RERUN_HINT)
            ui.warn(self.mask(f"{CHANNEL}: {what}: {problem}; trying again in {step.seconds:.1f} s"))
            attempts.sleep(step.seconds)

    def _attempt(self, method: str, url: str, push: Path | None) -> tuple[requests.Response | None, str | None]:
        try:
            body = MultipartBody(push) if push is not None else None
        except OSError as error:
            assert push is not None
            raise unreadable(push, error) from None
        headers = {"User-Agent": USER_AGENT}
        if body is not None:
            # The key goes with the push only: reads need none, and so never carry it.
            headers |= {API_KEY_HEADER: self.api_key, "Content-Type": body.content_type, **PROTOCOL_HEADERS}
            headers["Content-Length"] = str(len(body))
        else:
            headers["Accept"] = "application/atom+xml, application/xml"
        try:
            response = self.session.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=PUSH_TIMEOUT if body is not None else READ_TIMEOUT,
                # A redirected PUT would be re-sent without its body; reads may follow.
                allow_redirects=body is None,
            )
        except requests.RequestException as error:
            timeout = PUSH_TIMEOUT if body is not None else READ_TIMEOUT
            return None, github.describe_failure(error, github.Call(method, url, "", timeout=timeout))
        finally:
            if body is not None:
                body.close()
        return response, None

    def entry(self, feed: Feed, package: Package) -> Remote | None:
        """The feed's entry of the package; None when it has none (404) or answers something else than an entry."""
        what = f"looking up {package.id} {package.version}"
        try:
            response, _ = self.send("GET", feed.entry_url(package.id, package.version), what)
        except PublishError as error:  # the lookup is a help, not a condition: the push decides
            ui.warn(error.message)
            return None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            ui.warn(f"{CHANNEL}: {what} on {feed.root}: the feed answered {response.status_code}; pushing decides")
            return None
        return entry_hash(response.content)


# --- the publisher ------------------------------------------------------------------------------------


def _decide(package: Package, feed: Feed, remote: Remote, *, pushed_here: bool) -> Outcome:
    """The outcome when the feed holds the package's version: ours -> done; another -> error; unknown -> done.

    Unknown (an entry without a hash we can compute) is decided only after the feed answered a push 409.
    """
    same = same_package(package, remote)
    if same is False:
        raise conflict_error(package, feed)
    state = PUBLISHED if pushed_here else UNCHANGED
    if same is None:
        ui.warn(
            f"{CHANNEL}: {feed.root} holds {package.id} {package.version} already and shows no hash to compare "
            "(a package awaiting moderation shows none): taken as this release's package"
        )
        return Outcome(state, f"{package.id} {package.version} is on the feed (not compared)")
    detail = "pushed (an earlier try was stored)" if pushed_here else "on the feed already, identical"
    return Outcome(state, f"{package.id} {package.version} {detail}")


def publish(
    job: ChannelJob,
    *,
    session: requests.Session | None = None,
    policy: retry.Policy | None = None,
    clock: retry.Clock | None = None,
) -> Outcome:
    """Push the release's .nupkg to the feed, unless the feed holds it already."""
    feed = feed_from_setting(str(job.settings.get("feed", "")))
    package = find_package(job)
    variable = str(job.settings["api-key-env"])
    api_key = job.secret("api-key-env")
    client = FeedClient(session or requests.Session(), api_key, policy or retry.Policy(), clock or retry.Clock())
    try:
        # Preflight, read-only: is this version there already? Only an entry whose hash can be compared
        # decides here; without one, the push does (a 409 says the version is there).
        remote = client.entry(feed, package)
        if remote is not None and same_package(package, remote) is not None:
            return _decide(package, feed, remote, pushed_here=False)
        if not api_key:
            raise ConfigError(
                f"{CHANNEL}: no API key: {variable} is not set",
                hint=f"set {variable} to an API key of the feed {feed.root} that may push {package.id}",
            )
        if not job.runner.allows(proc.Effect.REMOTE, f"push {package.path.name} to {feed.push_url}"):
            return Outcome(WOULD_PUBLISH, f"{package.id} {package.version} would be pushed to {feed.root}")
        return _push(client, feed, package, variable)
    finally:
        if session is None:  # ours to close
            client.session.close()


def _push(client: FeedClient, feed: Feed, package: Package, variable: str) -> Outcome:
    what = f"pushing {package.path.name}"
    ui.say(f"{CHANNEL}: {what} to {feed.push_url}")
    response, uncertain = client.send("PUT", feed.push_url, what, push=package.path)
    status = response.status_code
    if status in PUSHED_STATUSES:
        return Outcome(PUBLISHED, f"{package.id} {package.version} pushed to {feed.root}")
    if status == CONFLICT:
        remote = client.entry(feed, package)
        if remote is None:
            raise PublishError(
                f"{CHANNEL}: the feed {feed.root} answered 409 (it holds {package.id} {package.version} already) "
                "but shows no entry of it, so it cannot be compared with dist/'s",
                hint="look at the package on the feed: if it is this release's, leave chocolatey out of this run "
                "(--skip chocolatey); if not, release a new version",
            )
        # After a try whose fate is unknown, the copy the feed holds may be this run's own push.
        return _decide(package, feed, remote, pushed_here=uncertain)
    said = client.mask(response.text.strip()[:300])
    if status in REFUSED:
        raise PublishError(
            f"{CHANNEL}: the feed {feed.root} refused the API key in {variable} ({status}): {said}",
            hint=f"set {variable} to a valid API key of that feed that may push {package.id}",
        )
    raise PublishError(
        client.mask(f"{CHANNEL}: the feed {feed.root} did not accept {package.path.name} ({status}): {said}"),
        hint="a 400 means the feed found the package invalid: its message above says why",
    )

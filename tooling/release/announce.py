"""The announcement of a release: a Markdown text, a short plain-text post, and an optional webhook post.

`announcement_input` gathers what the texts say (pure): the release page, a
few highlights, the migration guide's link, and the command that upgrades
each channel the release reaches, made with the channels' own naming
functions (tooling/packagers/) so the formula, package and identifier names
are the ones published, prerelease tracks included.

`render_announcements` renders announcement.md.j2 and post.txt.j2 from
tooling/resources/announce/, or the project's files of the same name in
tool.release.announce.templates (relative to the config file). The post must
stay under POST_LIMIT characters (the limit of the usual social sites): a
longer one loses highlights from the end, then upgrade lines from the end,
and a template still too long without any is a ConfigError naming it.

`post_webhook` sends the post to a Slack or Discord webhook by the rules the
uploads follow: the URL (a secret: whoever holds it can post) comes from the
environment variable tool.release.announce.webhook-env, must be https (plain
http only to this machine), never appears in a message, and a transient
failure is retried as tooling/publish/retry.py decides.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
import requests

from tooling import __version__, proc, resources, ui
from tooling.config import ReleaseConfig
from tooling.errors import ConfigError, PublishError
from tooling.packagers import aur, chocolatey, deb, homebrew, registry, rpm, scoop, snap, winget
from tooling.packagers.base import Archive, Release, choose_archives
from tooling.packagers.release import download_url, planned_platforms, planned_release, url_template
from tooling.publish import github, installers, retry, urls
from tooling.versioning.notes import environment
from tooling.versioning.settings import parse_versioning

ANNOUNCEMENT = "announcement.md"
POST = "post.txt"
TEMPLATE_SUFFIX = ".j2"
DEFAULT_TEMPLATES = resources.resource_path("announce")

# The post must be shorter than this (Mastodon's default limit; others allow more).
POST_LIMIT = 500

# The order the upgrade lines are listed in, and so the order they survive a shortening in:
# the commands that serve the most people first.
CHANNEL_ORDER = (
    installers.INSTALL_SH,
    installers.INSTALL_PS1,
    "homebrew",
    "scoop",
    "winget",
    "chocolatey",
    "cargo",
    "binstall",
    "aur",
    "deb",
    "rpm",
    "snap",
)

# How the texts name each channel's line.
CHANNEL_LABELS: Mapping[str, str] = {
    installers.INSTALL_SH: "Linux/macOS",
    installers.INSTALL_PS1: "Windows",
    "homebrew": "Homebrew",
    "scoop": "Scoop",
    "winget": "winget",
    "chocolatey": "Chocolatey",
    "cargo": "Cargo",
    "binstall": "cargo-binstall",
    "aur": "Arch (AUR)",
    "deb": "Debian/Ubuntu",
    "rpm": "Fedora/RHEL",
    "snap": "Snap",
}

SETTING = "tool.release.announce"
NO_WEBHOOK = "no webhook configured"
WEBHOOK_FIELDS = {"slack": "text", "discord": "content"}  # the JSON key each service reads the text from
USER_AGENT = f"release-tooling/{__version__}"
WEBHOOK_TIMEOUT = (10.0, 30.0)  # (connect, read) seconds
REFUSED_URL = (401, 403, 404, 410)  # the URL is wrong or was revoked
REFUSED_BODY = (400, 413, 422)  # the service did not take the JSON
_ANSWER_LIMIT = 200  # characters of a refusal's body shown in the error

_SCP_URL = re.compile(r"^[\w.-]+@([\w.-]+):(.+)$")  # git@host:owner/repo.git


# --- what the announcement says (pure) ---------------------------------------------------------------


@dataclass(frozen=True)
class AnnouncementInput:
    """Everything the announcement templates see."""

    name: str
    version: str
    tag: str
    previous: str | None  # the version this release follows
    prerelease: bool
    release_url: str  # the release's page
    highlights: tuple[str, ...]  # change subjects, one line each
    migration_guide_url: str | None
    upgrade_commands: Mapping[str, str]  # channel -> command, in CHANNEL_ORDER


@dataclass(frozen=True)
class Upgrade:
    """One upgrade line of the texts."""

    channel: str
    label: str
    command: str


def repository_web_url(repository: str) -> str:
    """The repository's web address from the crate's repository URL (https, ssh or git@host:path form; pure)."""
    text = repository.strip().removesuffix("/").removesuffix(".git")
    if not text:
        raise ConfigError(
            "the announcement links to the release page, and the crate has no repository",
            hint="set repository in Cargo.toml's [package] or in [tool.release.metadata]",
        )
    scp = _SCP_URL.match(text)
    if scp:
        text = f"https://{scp.group(1)}/{scp.group(2)}"
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port
    except ValueError:  # a malformed host or port
        host, port = None, None
    if not host or parts.scheme not in ("https", "http", "ssh", "git"):
        raise ConfigError(
            f"the crate's repository {repository!r} is not a URL the release page can be found from",
            hint="set repository in Cargo.toml or [tool.release.metadata] to its https:// address",
        )
    if parts.scheme in ("ssh", "git"):
        # ssh://git@host/owner/repo and git://host/owner/repo: the web serves them over https, without user or port.
        return f"https://{host}{parts.path}"
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}{parts.path}"


def release_page(repository_url: str, tag: str) -> str:
    """<repository>/releases/tag/<tag> (pure)."""
    return f"{repository_url}/releases/tag/{quote(tag)}"


def guide_link(repository_url: str, tag: str, guide: str) -> str:
    """<repository>/blob/<tag>/<guide>, the guide as the release's tree holds it (pure)."""
    path = PurePosixPath(guide.replace("\\", "/")).as_posix().lstrip("/")
    return f"{repository_url}/blob/{quote(tag)}/{quote(path)}"


def one_line(text: str) -> str:
    return " ".join(text.split())


def tap_name(config: ReleaseConfig) -> str:
    """The tap as `brew` names it (owner/name), from the tap's repository or tool.release.packages.homebrew.tap.

    "" when neither says: the formula is then named alone. brew reads owner/name as the
    repository owner/homebrew-name, so the prefix is dropped from the repository's name.
    """
    repository = str(config.publish.get("homebrew", {}).get("repository") or "").strip()
    if repository:
        path = repository.split("://", 1)[1] if "://" in repository else repository.rpartition(":")[2]
        segments = [s for s in path.removesuffix("/").removesuffix(".git").split("/") if s]
        # ssh and https URLs start with the host: only the last two segments are the tap.
        tap = "/".join(segments[-2:]) if len(segments) >= 2 else ""
    else:
        tap = str(config.packages.get("homebrew", {}).get("tap") or "").strip()
    owner, _, name = tap.partition("/")
    return f"{owner}/{name.removeprefix('homebrew-')}" if owner and name else ""


def _first_archive(config: ReleaseConfig, release: Release, channel: str) -> Archive | None:
    """The archive the channel's first platform is made from, as the packages step chooses it."""
    settings = config.packages.get(channel, {})
    planned = planned_platforms(t.triple for t in config.targets)
    chosen = choose_archives(registry.load(channel), release.archives, planned, settings, allow_partial=True)
    return chosen[0] if chosen else None


def _winget_identifier(release: Release, settings: Mapping[str, Any]) -> str:
    if not str(settings.get("identifier") or ""):
        raise ConfigError(
            "winget is a channel of the release, and tool.release.packages.winget.identifier is not set",
            hint='set it to the package\'s winget identifier, e.g. identifier = "Ann.MyTool"',
        )
    return winget.identifier(release, settings)


def channel_command(config: ReleaseConfig, release: Release, channel: str, tag: str) -> str | None:
    """The command that upgrades `channel` to `release` (a new install for a separate prerelease track); pure.

    None when the channel has nothing to install on the release's targets.
    """
    pre = release.prerelease
    settings = config.packages.get(channel, {})
    pinned = f"{release.name}@{release.version}" if pre else release.name  # cargo skips prereleases unless named
    if channel in installers.NAMES:
        if not installers.builds_for(release, channel):
            return None
        url = download_url(
            url_template(config), repository=release.repository, tag=tag, version=release.version, file=channel
        )
        if channel == installers.INSTALL_SH:
            return f"curl -fsSL {url} | sh"
        return f'powershell -ExecutionPolicy Bypass -c "irm {url} | iex"'
    if channel == "homebrew":
        formula = homebrew.formula_name(release, settings)
        tap = tap_name(config)
        # A prerelease track is a formula of its own: installed, not upgraded.
        return f"brew {'install' if pre else 'upgrade'} {tap + '/' if tap else ''}{formula}"
    if channel == "scoop":
        return f"scoop {'install' if pre else 'update'} {scoop.manifest_name(release, settings)}"
    if channel == "winget":
        identifier = _winget_identifier(release, settings)
        separate = pre and settings.get("prerelease") == "separate"
        return f"winget {'install' if separate else 'upgrade'} --id {identifier}"
    if channel == "chocolatey":
        return f"choco upgrade {chocolatey.package_id(release, settings)}" + (" --pre" if pre else "")
    if channel == "cargo":
        named = str(config.publish.get("cargo", {}).get("registry") or "")
        return f"cargo install --locked {pinned}" + (f" --registry {named}" if named else "")
    if channel == "binstall":
        return f"cargo binstall {pinned}"
    if channel == "aur":
        return f"yay -S {aur.package_name(release, settings)}"
    if channel == "snap":
        # A prerelease snap has grade devel, which the store takes on its edge and beta channels only.
        return f"sudo snap refresh {snap.snap_name(release, settings)}" + (
            " --beta" if snap.grade(release, settings) == "devel" else ""
        )
    archive = _first_archive(config, release, channel)
    if archive is None:
        return None
    if channel == "deb":
        return f"sudo apt install ./{deb.package_stem(release, settings, archive)}.deb"
    if channel == "rpm":
        return f"sudo dnf install ./{rpm.rpm_file(release, settings, archive)}"
    return None


def announced_channels(config: ReleaseConfig, version: str) -> tuple[str, ...]:
    """The channels the release of `version` reaches, in CHANNEL_ORDER (pure).

    The package channels the packages step makes for this version (a prerelease
    skips those set to "skip"), cargo when `invoke publish` pushes the crate, and
    the install scripts when they are released.
    """
    reached = set(registry.planned_channels(config.packages, version))
    if "cargo" in config.publish.get("channels", ()):
        reached.add("cargo")
    if config.install_scripts:
        reached.update(installers.NAMES)
    return tuple(name for name in CHANNEL_ORDER if name in reached)


def upgrade_commands(config: ReleaseConfig, version: str, tag: str) -> dict[str, str]:
    """{channel: command} for every channel the release of `version` reaches, in CHANNEL_ORDER (pure)."""
    # The channels' naming functions read the version from the release they package.
    release = planned_release(dataclasses.replace(config, version=version))
    commands = {}
    for channel in announced_channels(config, version):
        command = channel_command(config, release, channel, tag)
        if command is not None:
            commands[channel] = command
    return commands


def announcement_input(
    config: ReleaseConfig,
    *,
    version: str,
    previous: str | None,
    highlights: Sequence[str],
    migration_guide: str | None,
) -> AnnouncementInput:
    """What the announcement of `version` says (pure).

    migration_guide: the guide's path relative to the repository (as the release notes name it), or None.
    """
    tag = parse_versioning(config.versioning).tag_prefix + version
    repository = repository_web_url(config.package.repository)
    return AnnouncementInput(
        name=config.name,
        version=version,
        tag=tag,
        previous=previous,
        prerelease=registry.is_prerelease(version),
        release_url=release_page(repository, tag),
        highlights=tuple(line for line in (one_line(h) for h in highlights) if line),
        migration_guide_url=guide_link(repository, tag, migration_guide) if migration_guide else None,
        upgrade_commands=upgrade_commands(config, version, tag),
    )


# --- the texts ------------------------------------------------------------------------------------


def template_dirs(config: ReleaseConfig) -> list[Path]:
    """Search order: tool.release.announce.templates (relative to the config file), then the packaged defaults."""
    configured = str(config.announce.get("templates") or "")
    if not configured:
        return [DEFAULT_TEMPLATES]
    folder = config.root / configured
    if not folder.is_dir():
        raise ConfigError(
            f"{SETTING}.templates: {folder} is not a folder",
            hint=f"point it at a folder holding {ANNOUNCEMENT}{TEMPLATE_SUFFIX} and/or {POST}{TEMPLATE_SUFFIX} "
            "(relative to the config file), or remove the setting",
        )
    return [folder, DEFAULT_TEMPLATES]


def template_context(data: AnnouncementInput, highlights: Sequence[str], upgrades: Sequence[Upgrade]) -> dict[str, Any]:
    """The variables of announcement.md.j2 and post.txt.j2."""
    return {
        "name": data.name,
        "version": data.version,
        "tag": data.tag,
        "previous": data.previous,
        "prerelease": data.prerelease,
        "release_url": data.release_url,
        "highlights": list(highlights),
        "migration_guide_url": data.migration_guide_url,
        "upgrades": list(upgrades),
    }


def upgrades_of(data: AnnouncementInput) -> list[Upgrade]:
    return [
        Upgrade(channel, CHANNEL_LABELS.get(channel, channel), cmd) for channel, cmd in data.upgrade_commands.items()
    ]


def _template_error(where: str, error: Exception) -> ConfigError:
    return ConfigError(
        f"announce: the template {where} could not be rendered: {error}",
        hint=f"compare it with the packaged default ({DEFAULT_TEMPLATES}), or remove the override",
    )


def load_template(env: jinja2.Environment, file: str) -> jinja2.Template:
    """The template `file` (an override first); a broken one is a ConfigError naming it."""
    try:
        return env.get_template(file)
    except jinja2.TemplateSyntaxError as error:
        raise _template_error(error.filename or file, error) from error
    except (jinja2.TemplateError, OSError, UnicodeDecodeError) as error:
        raise _template_error(file, error) from error


def render_text(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    """`template` rendered with `context`, without surrounding blank space."""
    try:
        return template.render(**context).strip()
    except jinja2.TemplateError as error:
        raise _template_error(template.filename or str(template.name), error) from error


def fit_post(
    render: Callable[[Sequence[str], Sequence[Upgrade]], str],
    highlights: Sequence[str],
    upgrades: Sequence[Upgrade],
    template: str,
) -> str:
    """The longest post under POST_LIMIT: highlights dropped from the end first, then upgrade lines (pure).

    template: the template's file, for the error when even the post without either is too long.
    """
    kept_highlights, kept_upgrades = list(highlights), list(upgrades)
    while True:
        text = render(kept_highlights, kept_upgrades)
        if len(text) < POST_LIMIT:
            return text
        if kept_highlights:
            kept_highlights.pop()
        elif kept_upgrades:
            kept_upgrades.pop()
        else:
            raise ConfigError(
                f"announce: the post rendered from {template} has {len(text)} characters without any highlight "
                f"or upgrade line, and a post must have fewer than {POST_LIMIT}",
                hint="shorten the template (the release page's link says the rest), or remove the override",
            )


def render_announcements(config: ReleaseConfig, data: AnnouncementInput) -> dict[str, str]:
    """{"announcement.md": Markdown, "post.txt": the short post (fewer than POST_LIMIT characters)}."""
    env = environment(template_dirs(config))
    upgrades = upgrades_of(data)
    markdown = load_template(env, ANNOUNCEMENT + TEMPLATE_SUFFIX)
    post = load_template(env, POST + TEMPLATE_SUFFIX)

    def render_post(highlights: Sequence[str], lines: Sequence[Upgrade]) -> str:
        return render_text(post, template_context(data, highlights, lines))

    return {
        ANNOUNCEMENT: render_text(markdown, template_context(data, data.highlights, upgrades)) + "\n",
        POST: fit_post(render_post, data.highlights, upgrades, post.filename or POST + TEMPLATE_SUFFIX),
    }


# --- the webhook ---------------------------------------------------------------------------------


def webhook_payload(webhook_format: str, text: str) -> dict[str, str]:
    """The JSON body the service takes: Slack {"text": ...}, Discord {"content": ...} (pure)."""
    if webhook_format not in WEBHOOK_FIELDS:
        raise ConfigError(
            f"{SETTING}.webhook-format = {webhook_format!r} is not a webhook format",
            hint="formats: " + ", ".join(WEBHOOK_FIELDS),
        )
    return {WEBHOOK_FIELDS[webhook_format]: text}


def url_secrets(url: str) -> tuple[str, ...]:
    """What of the webhook URL must never be shown: the URL (as given and as repr shows it), its path and query.

    The path (or the query) is where the services put the secret part; a server's error page may echo it alone.
    """
    found = [url, repr(url)[1:-1]]
    try:
        parts = urlsplit(url)
    except ValueError:
        return tuple(found)
    found += [part for part in (parts.path, parts.query) if part.strip("/")]
    return tuple(found)


def check_webhook_url(url: str, variable: str) -> None:
    """ConfigError unless the webhook URL is https (or loopback http) without a user part; it never shows the URL."""
    try:
        urls.check_secret_url(url, variable, carries="the announcement")
    except ConfigError as error:
        secrets = url_secrets(url)
        raise ConfigError(
            proc.mask(error.message, secrets),
            hint=proc.mask(error.hint or "", secrets) or f"set {variable} to the webhook's https:// URL",
        ) from None


@dataclass(frozen=True)
class Webhook:
    """Where the post goes: the URL (a secret, never shown), the variable holding it, and the service's format."""

    url: str = field(repr=False)
    variable: str
    format: str

    @property
    def where(self) -> str:
        """How messages name the webhook: by its variable, never by its URL."""
        return f"the {self.format} webhook in {self.variable}"

    def mask(self, text: str) -> str:
        """`text` with every part of the URL that may hold the secret masked: the last line of defence."""
        return proc.mask(text, url_secrets(self.url))


def _attempt(
    session: requests.Session, url: str, payload: Mapping[str, str]
) -> tuple[requests.Response | None, str | None, bool]:
    """One POST: (the answer, or None and what went wrong, and whether that is a configuration mistake)."""
    try:
        response = session.post(
            url,
            json=dict(payload),
            headers={"User-Agent": USER_AGENT},
            timeout=WEBHOOK_TIMEOUT,
            # A redirect would carry the body to an address nobody checked.
            allow_redirects=False,
        )
    except github.CONFIGURATION_ERRORS as error:
        return None, f"the request cannot be made ({type(error).__name__})", True
    except requests.RequestException as error:
        # In our words: requests' own text holds the URL.
        return None, github.describe_failure(error, github.Call("POST", url, "", timeout=WEBHOOK_TIMEOUT)), False
    return response, None, False


def refusal_hint(status: int, hook: Webhook) -> str:
    """What to do about a final answer that is not a success (pure)."""
    if status in REFUSED_URL:
        return f"the webhook URL in {hook.variable} is wrong or was revoked: set it to the webhook's current URL"
    if status in REFUSED_BODY:
        return (
            f'the service did not take {{"{WEBHOOK_FIELDS[hook.format]}": ...}}: check that '
            f"{SETTING}.webhook-format ({hook.format}) is the service's"
        )
    if 300 <= status < 400:
        return f"the webhook URL redirects: set {hook.variable} to the URL it leads to"
    return "run the release's announce step again later"


def post_webhook(
    config: ReleaseConfig,
    text: str,
    environ: Mapping[str, str],
    runner: proc.Runner,
    *,
    session: requests.Session | None = None,
    policy: retry.Policy | None = None,
    clock: retry.Clock | None = None,
) -> str:
    """Post `text` to the webhook named by tool.release.announce.webhook-env; a one-line detail of what happened.

    Nothing is sent when the variable is unset or empty (NO_WEBHOOK), or in a dry run (which
    shows the body). A URL that is not https (or loopback http) is a ConfigError; a post the
    service refuses, or one still failing when the retry budget is spent, a PublishError. No
    message holds the URL.
    """
    variable = str(config.announce.get("webhook-env") or "")
    url = environ.get(variable, "").strip() if variable else ""
    if not url:
        return NO_WEBHOOK
    hook = Webhook(url, variable, str(config.announce.get("webhook-format") or "slack"))
    payload = webhook_payload(hook.format, text)
    check_webhook_url(url, variable)
    if not runner.allows(proc.Effect.REMOTE, f"post the announcement ({len(text)} characters) to {hook.where}"):
        ui.say(f"the body would be: {json.dumps(payload, ensure_ascii=False)}")
        return f"would post to {hook.where} (dry run)"
    own = session is None
    client = session or requests.Session()
    try:
        tries = _send(client, hook, payload, policy or retry.Policy(), clock or retry.Clock())
    finally:
        if own:
            client.close()
    return f"posted to {hook.where}" + (f" (after {tries} tries)" if tries > 1 else "")


def _send(
    session: requests.Session, hook: Webhook, payload: Mapping[str, str], policy: retry.Policy, clock: retry.Clock
) -> int:
    """POST until the service answers something final; the tries a success took, or PublishError.

    A post that got no answer or a 5xx is sent again although it may have been
    taken (a webhook cannot be asked): a repeated announcement is the lesser
    harm than a missing one, and the services answer their rate limits with 429.
    """
    attempts = retry.Attempts(policy, clock)
    while True:
        response, failure, final = _attempt(session, hook.url, payload)
        if final:
            raise ConfigError(
                hook.mask(f"announce: posting to {hook.where}: {failure}"),
                hint=f"set {hook.variable} to the webhook's https:// URL",
            )
        status = None if response is None else response.status_code
        headers = {} if response is None else dict(response.headers)
        answer = "" if response is None else hook.mask(one_line(response.text)[:_ANSWER_LIMIT])
        if response is not None:
            response.close()
        if status is not None and 200 <= status < 300:
            return attempts.tries + 1
        if status is not None and not retry.is_transient(status, headers, answer):
            raise PublishError(
                hook.mask(f"announce: {hook.where} refused the post ({status})" + (f": {answer}" if answer else "")),
                hint=refusal_hint(status, hook),
            )
        step = attempts.after_failure(status=status, headers=headers, message=answer)
        problem = failure or f"it answered {status}"
        if not isinstance(step, retry.Wait):
            reason = step.reason if isinstance(step, retry.GiveUp) else "not retried"
            raise PublishError(
                hook.mask(f"announce: posting to {hook.where}: {problem}; gave up: {reason}"),
                hint="run the release's announce step again later; the service may be down",
            )
        ui.warn(hook.mask(f"announce: posting to {hook.where}: {problem}; trying again in {step.seconds:.1f} s"))
        attempts.sleep(step.seconds)

"""Homebrew taps, Scoop buckets and the AUR: a channel's files committed to its git repository and pushed.

Each of these channels is a git repository users read from: the tap holds
Formula/<name>.rb, the bucket bucket/<name>.json, the AUR package repository
PKGBUILD and .SRCINFO at its root. Publishing is one commit on the configured
branch, made with the real git in a throwaway clone under job.scratch:

1. preflight, read-only: the author ([tool.release.publish] author-name and
   author-email), the repository URL (the setting, else the tap's, bucket's or
   package's default), the credential, the signing key, the files in
   dist/packages/<channel>/; then `git ls-remote`, which also proves the
   repository is reachable and (for a private one) that the credential reads it;
2. a shallow fetch of the branch, the files written over it, `git add`: when
   nothing is staged the branch holds these files already, and the channel is
   UNCHANGED: no commit, no push (this runs in a dry run too, so a dry run says
   whether anything would change);
3. the commit ("chore(release): <crate> <version>", by the configured author,
   GPG-signed with tool.release.sign.gpg-key when sign-commits is on) and the
   push. A push refused because the branch moved since the fetch is retried
   once after `git pull --rebase`; when the rebase leaves nothing to push (the
   same files arrived meanwhile) the channel is UNCHANGED.

An empty remote (a new AUR package) gets the first commit of the branch. A
remote that has branches but not the configured one is an error: pushing an
unrelated branch into a tap would be a mistake.

Commands that touch only the throwaway clone count as reads (proc.Effect.READ):
they change nothing of the user's and let a dry run tell what would change. The
commit is a local write and the push a remote one: a dry run shows both and
runs neither.

Credentials, never in a URL, an argument or a file outside job.scratch:
- https (taps, buckets): the token from settings["token-env"] reaches git
  through GIT_ASKPASS, a script in job.scratch (0700) that prints the token
  from the environment variable TOKEN_VARIABLE; the script holds no secret.
  Plain http is accepted only to this machine (loopback), as for the GitHub API.
- ssh (the AUR): the key from settings["ssh-key-env"], its text or the path of
  a key file, written to job.scratch (0600) and used by
  GIT_SSH_COMMAND="ssh -i <key> -o IdentitiesOnly=yes ...", with a known-hosts
  file of its own (StrictHostKeyChecking=accept-new) and no ssh config read.
  The AUR's default URL names the package .SRCINFO's pkgbase names: the name
  tooling/packagers/aur.py chose for the files being pushed.
- local paths and file:// URLs (mirrors, tests) need none.
The credential files are deleted when the channel is done, however it ends.
git's own configuration does not leak in: no global or system config, no
terminal prompts, messages in the C locale (failures are recognised by them).

Failures. Each is one error naming the channel: ConfigError for a setting or
variable to set (checked before anything runs), PublishError when the remote
refuses (a rejected credential, no such repository or branch, a hook that
declines the commit, a rebase that conflicts, a branch that keeps moving, a
fault that outlasts the retries), SigningError when gpg cannot sign the commit,
CommandError for any other git failure; git's output is quoted masked. A
network-ish failure (no connection, a timeout, an HTTP 429 or 5xx, a dropped
connection) of ls-remote, fetch, pull or push is tried again with backoff
(tooling.publish.retry's full jitter, within a time budget): each of them is
safe to repeat, a push of the same commit included.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tooling import config_schema, files, proc, ui
from tooling.artifacts import sign
from tooling.errors import CommandError, ConfigError, PublishError, ReleaseError, SigningError
from tooling.publish import github, retry, urls
from tooling.publish.channels import PUBLISHED, UNCHANGED, WOULD_PUBLISH, ChannelJob, Outcome

# The environment variable the askpass script reads the token from (secret-named, so proc masks it).
TOKEN_VARIABLE = "RELEASE_GIT_TOKEN"  # noqa: S105 - the variable's name, not a token
# The user name sent with a token: GitHub accepts any; this one is what its own apps use.
TOKEN_USERNAME = "x-access-token"  # noqa: S105 - a fixed user name, not a secret
REMOTE = "origin"
GPG_SCRIPT = "gpg.sh"  # git's gpg.program, in the private folder
GPG_LOG = "gpg.log"  # what gpg said while signing, beside it

# Commands that change only the throwaway clone in job.scratch: they run in a dry run too.
SCRATCH = proc.Effect.READ
# A git command that hangs (a server that accepts and never answers) ends here; stalls end sooner (below).
COMMAND_TIMEOUT = 600.0
# An http transfer slower than 1 byte/s for this long is a stall, and a stall is retried.
HTTP_STALL_SECONDS = "60"
SSH_CONNECT_TIMEOUT = "30"

# Retries of one git command: a network fault usually passes within a minute or two.
POLICY = retry.Policy(budget_seconds=300.0, base_delay=2.0, max_delay=30.0)

_HOMEBREW_PREFIX = "homebrew-"
_PRIVATE_KEY_MARK = "PRIVATE KEY-----"
_OUTPUT_LIMIT = 1500
_REMOTE_REMARKS = 8  # lines of "remote: ..." an error quotes


# --- what git said -------------------------------------------------------------------------------

# Kinds of failure, recognised by git's (C locale) messages: regular expressions over the lower-cased
# output, checked in this order. A refused credential also ends in "the remote end hung up", which alone
# would be a network fault; an HTTP 4xx other than 429 is final even inside an "RPC failed" line.
AUTH = "auth"
MISSING = "missing"
MOVED = "moved"
REJECTED = "rejected"  # the remote's own rules (a hook, a protected branch) refused the commit
TRANSIENT = "transient"
OTHER = "other"

FAILURE_PATTERNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        AUTH,
        (
            r"authentication failed",
            r"could not read (username|password)",
            r"terminal prompts disabled",
            r"invalid (username or password|credentials)",
            r"permission denied \(publickey",
            r"permission denied, please try again",
            r"too many authentication failures",
            r"returned error: 40[13]\b",
            r"permission to \S+ denied",  # GitHub: "Permission to owner/repo.git denied to user."
            r"write access to repository not granted",
            r"host key verification failed",
        ),
    ),
    (
        MISSING,
        (
            r"repository not found",
            r"does not appear to be a git repository",
            r"returned error: 404\b",
        ),
    ),
    (MOVED, (r"\(fetch first\)", r"non-fast-forward")),
    (REJECTED, (r"\[remote rejected\]", r"hook declined", r"protected branch")),
    (OTHER, (r"returned error: 4(?!29)\d\d",)),
    (
        TRANSIENT,
        (
            r"could not resolve (host|hostname)",
            r"temporary failure in name resolution",
            r"name or service not known",
            r"connection refused",
            r"connection timed out",
            r"operation timed out",
            r"timed out after",
            r"operation too slow",
            r"connection reset",
            r"connection closed by",
            r"closed by remote host",
            r"broken pipe",
            r"early eof",
            r"the remote end hung up unexpectedly",
            r"unexpected disconnect",
            r"rpc failed",
            r"kex_exchange_identification",
            r"network is unreachable",
            r"no route to host",
            r"ssl_read|ssl connect error|gnutls",
            r"http/2 stream",
            r"returned error: (429|5\d\d)\b",
            r"service unavailable|bad gateway|gateway time",
        ),
    ),
)


def failure_kind(output: str) -> str:
    """What a failed git command's output says went wrong: AUTH, MISSING, MOVED, REJECTED, TRANSIENT or OTHER."""
    text = output.lower()
    for kind, patterns in FAILURE_PATTERNS:
        if any(re.search(pattern, text) for pattern in patterns):
            return kind
    return OTHER


def output_of(result: proc.Result) -> str:
    """What a command printed, stderr first (git writes its errors there)."""
    return "\n".join(part for part in (result.stderr.strip(), result.stdout.strip()) if part)


def remote_heads(ls_remote: str) -> dict[str, str]:
    """branch -> commit from `git ls-remote <url> refs/heads/*` (pure)."""
    heads = {}
    for line in ls_remote.splitlines():
        sha, _, ref = line.strip().partition("\t")
        if ref.startswith("refs/heads/"):
            heads[ref.removeprefix("refs/heads/")] = sha
    return heads


def staged_changes(name_status: str) -> list[tuple[str, str]]:
    """(status letter, path) from `git diff --cached --name-status` (pure)."""
    changes = []
    for line in name_status.splitlines():
        status, _, path = line.partition("\t")
        if path:
            changes.append((status.strip()[:1], path.strip()))
    return changes


def changes_text(changes: Sequence[tuple[str, str]]) -> str:
    """The changes as the summary shows them: Formula/crcsum.rb (new), bucket/x.json (changed) (pure)."""
    words = {"A": "new", "M": "changed", "D": "removed"}
    return ", ".join(f"{path} ({words.get(status, 'changed')})" for status, path in changes)


# --- the channels --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GitChannel:
    """One git-hosted channel: what it is called, which files it commits, and how it is reached."""

    name: str
    noun: str  # how messages name the repository: "tap", "bucket", "AUR package"
    credential: str  # the settings key naming the secret's variable: "token-env" (https) or "ssh-key-env" (ssh)
    place: Callable[[Path], dict[str, Path]]  # repository path -> file in dist/packages/<channel>/
    default_repository: Callable[[ChannelJob, Mapping[str, Path]], str]


def _missing_files(channel: str, folder: Path, what: str) -> PublishError:
    return PublishError(
        f"{channel}: {folder} holds no {what} to publish",
        hint=f"make the channel's files first: `invoke package` with {channel} in tool.release.packages.channels",
    )


def homebrew_files(folder: Path) -> dict[str, Path]:
    """Formula/<name>.rb for every formula the packager made (pure apart from listing the folder)."""
    found = {f"Formula/{path.name}": path for path in sorted((folder / "Formula").glob("*.rb")) if path.is_file()}
    if not found:
        raise _missing_files("homebrew", folder / "Formula", "formula (*.rb)")
    return found


def scoop_files(folder: Path) -> dict[str, Path]:
    """bucket/<name>.json for every app manifest the packager made."""
    found = {f"bucket/{path.name}": path for path in sorted(folder.glob("*.json")) if path.is_file()}
    if not found:
        raise _missing_files("scoop", folder, "app manifest (*.json)")
    return found


def aur_files(folder: Path) -> dict[str, Path]:
    """PKGBUILD and .SRCINFO at the repository's root: the AUR refuses a push without both."""
    wanted = ("PKGBUILD", ".SRCINFO")
    missing = [name for name in wanted if not (folder / name).is_file()]
    if missing:
        raise _missing_files("aur", folder, " and ".join(missing))
    return {name: folder / name for name in wanted}


def read_channel_file(path: Path, channel: str) -> bytes:
    """A file of dist/packages/<channel>/, or a PublishError naming it when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as error:
        raise PublishError(
            f"{channel}: cannot read {path}: {error.strerror or error}",
            hint=f"make the channel's files again: `invoke package` with {channel} in tool.release.packages.channels",
        ) from None


def server_url(environ: Mapping[str, str]) -> str:
    """The GitHub server taps and buckets live on: GITHUB_SERVER_URL (GitHub Enterprise), else github.com."""
    given = environ.get("GITHUB_SERVER_URL", "").strip()
    return github.check_api_url(given, "GITHUB_SERVER_URL") if given else github.DEFAULT_SERVER_URL


def tap_repository(tap: str) -> str:
    """owner/homebrew-name for a tap: `brew tap owner/name` reads the repository owner/homebrew-name (pure)."""
    owner, _, name = tap.partition("/")
    return f"{owner}/{name if name.startswith(_HOMEBREW_PREFIX) else _HOMEBREW_PREFIX + name}"


def _github_repository(job: ChannelJob, key: str, value: str) -> str:
    """https://<server>/<owner/name>.git for [tool.release.packages.<channel>] `key`, or the ConfigError to set it."""
    setting = f"tool.release.packages.{job.channel}.{key}"
    if not value:
        raise ConfigError(
            f"{job.channel}: no repository to push to: {setting} is not set",
            hint=f"set {setting} (owner/name), or tool.release.publish.{job.channel}.repository to the git URL",
        )
    if not github.REPOSITORY.match(value):
        example = config_schema.CHANNEL_TABLES[job.channel].fields[key].example
        raise ConfigError(f"{setting} = {value!r} is not owner/name", hint=f"e.g. {key} = {example}")
    return f"{server_url(job.environ)}/{value}.git"


def homebrew_repository(job: ChannelJob, placed: Mapping[str, Path]) -> str:
    tap = str(job.config.packages.get("homebrew", {}).get("tap") or "").strip()
    return _github_repository(job, "tap", tap_repository(tap) if github.REPOSITORY.match(tap) else tap)


def scoop_repository(job: ChannelJob, placed: Mapping[str, Path]) -> str:
    return _github_repository(job, "bucket", str(job.config.packages.get("scoop", {}).get("bucket") or "").strip())


def srcinfo_pkgbase(text: str) -> str | None:
    """The pkgbase .SRCINFO names: the AUR package (and repository) name the packager chose (pure)."""
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "pkgbase" and value.strip():
            return value.strip()
    return None


def aur_repository(job: ChannelJob, placed: Mapping[str, Path]) -> str:
    """The AUR's git URL of the package named in .SRCINFO (tooling/packagers/aur.py chose that name)."""
    name = srcinfo_pkgbase(read_channel_file(placed[".SRCINFO"], job.channel).decode("utf-8", errors="replace"))
    if not name:
        raise PublishError(
            f"aur: {placed['.SRCINFO']} names no pkgbase", hint="make it again with `invoke package` (aur channel)"
        )
    default = config_schema.PUBLISHER_TABLES["aur"].fields["repository"].default_text
    return default.replace("<package>", name)


CHANNELS: Mapping[str, GitChannel] = {
    "homebrew": GitChannel("homebrew", "tap", "token-env", homebrew_files, homebrew_repository),
    "scoop": GitChannel("scoop", "bucket", "token-env", scoop_files, scoop_repository),
    "aur": GitChannel("aur", "AUR package", "ssh-key-env", aur_files, aur_repository),
}


# --- the plan: every setting checked before anything runs ------------------------------------------

HTTPS, SSH, LOCAL = "https", "ssh", "local"
TRANSPORT_OF_CREDENTIAL = {"token-env": HTTPS, "ssh-key-env": SSH}


def transport(url: str) -> str:
    """How git reaches `url`: HTTPS (http(s)://), SSH (ssh://, user@host:path) or LOCAL (a path, file://) (pure).

    As git reads it: without "://", a colon before the first slash makes the short ssh form, unless what
    precedes it is a single letter (a Windows drive).
    """
    scheme, found, _ = url.partition("://")
    if not found:
        head = url.split("/", 1)[0]
        return SSH if ":" in head and len(head.partition(":")[0]) > 1 else LOCAL
    kind = {"https": HTTPS, "http": HTTPS, "ssh": SSH, "git+ssh": SSH, "ssh+git": SSH, "file": LOCAL}.get(
        scheme.lower()
    )
    if kind is None:
        raise ConfigError(f"cannot push to {url!r}: git URLs here are https://, ssh://, file:// or a path")
    return kind


@dataclass(frozen=True)
class Credential:
    """What authenticates the push: a token (https), an ssh key (its text or a file), or nothing (local)."""

    kind: str  # HTTPS, SSH or LOCAL
    variable: str  # the environment variable it came from ("" for LOCAL)
    secret: str = field(default="", repr=False)  # the token, or the key's text (read from its file if need be)

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.secret,) if self.secret else ()


def check_url(channel: GitChannel, url: str, setting: str) -> str:
    """The transport of `url`, or a ConfigError (pure).

    No secret in it: no user part at all in an https URL (the token comes from its variable), no
    password in an ssh one (whose user, e.g. aur@, stays); no plain http off this machine.
    """
    variable = f"tool.release.publish.{channel.name}.{channel.credential}"
    parts = urls.split(url, setting)
    if parts.password is not None:
        # The URL holds a secret: it is not repeated here.
        raise ConfigError(
            f"{setting} holds a password or token inside the URL",
            hint=f"remove it from the URL and put it in the variable {variable} names",
        )
    kind = transport(url)
    wanted = TRANSPORT_OF_CREDENTIAL[channel.credential]
    if kind not in (wanted, LOCAL):
        raise ConfigError(
            f"{channel.name}: {url} is reached over {kind}, but this channel pushes over {wanted}",
            hint=f"set {setting} to an {wanted} URL" + (" (https://...)" if wanted == HTTPS else " (ssh://...)"),
        )
    if kind == HTTPS:
        urls.check_secret_url(url, setting)
    return kind


def read_credential(channel: GitChannel, job: ChannelJob, kind: str, url: str) -> Credential:
    """The credential for `url` from the variable the settings name, or the ConfigError saying what to set."""
    if kind == LOCAL:
        return Credential(LOCAL, "")
    variable = str(job.settings[channel.credential])
    value = job.secret(channel.credential)
    if kind == HTTPS:
        if not value.strip():
            raise ConfigError(
                f"{channel.name}: no token to push to the {channel.noun} {url}: {variable} is not set",
                hint=f"set {variable} to a token that may push to it (GitHub: a fine-grained token with "
                f"Contents: read and write on that repository)",
            )
        return Credential(HTTPS, variable, value.strip())
    if not value.strip():
        raise ConfigError(
            f"{channel.name}: no ssh key to push to the {channel.noun} {url}: {variable} is not set",
            hint=f"set {variable} to the private key (its text, or the path of its file) of the account "
            "that maintains the package",
        )
    if _PRIVATE_KEY_MARK in value:
        return Credential(SSH, variable, value)
    try:
        # A key file is read and written again into job.scratch (0600): ssh refuses one whose modes are
        # too open, and would then say only "Permission denied". A value that is no path at all (a key
        # pasted wrongly, too long for a file name) fails here too.
        path = Path(value.strip()).expanduser()
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
    except (OSError, UnicodeDecodeError, ValueError):
        text = ""
    if _PRIVATE_KEY_MARK not in text:
        # Neither the value nor the path it may be is shown: it may be a key pasted wrongly.
        raise ConfigError(
            f"{channel.name}: the value of {variable} is neither an ssh private key nor a readable file",
            hint=f"set {variable} to the whole private key file's text, or to the path of a key file this user "
            "can read",
        )
    return Credential(SSH, variable, text)


@dataclass(frozen=True)
class Signing:
    """Who signs the commit: gpg, its key, and the passphrase from the environment (never shown)."""

    program: str
    key: str
    passphrase: str = field(default="", repr=False)


def read_signing(job: ChannelJob) -> Signing | None:
    """The GPG key commits are signed with when sign-commits is on; ConfigError when no key is named (pure)."""
    if not job.config.publish.get("sign-commits"):
        return None
    settings = sign.sign_settings(job.config.sign, job.environ, job.config.root, backends=("gpg",))
    if not settings.gpg_key:
        raise ConfigError(
            f"{job.channel}: tool.release.publish.sign-commits is on, but no GPG key is named",
            hint=f"set tool.release.sign.gpg-key (or {sign.GPG_KEY_ENV}) to the key's fingerprint, "
            "or turn sign-commits off",
        )
    return Signing(settings.gpg_program, settings.gpg_key, settings.gpg_passphrase)


def release_version(job: ChannelJob) -> str:
    """The version the tag names: the tag without tool.release.versioning.tag-prefix (pure)."""
    prefix = str(job.config.versioning.get("tag-prefix", "v"))
    if prefix and job.tag.startswith(prefix) and len(job.tag) > len(prefix):
        return job.tag[len(prefix) :]
    return job.config.version


def commit_message(job: ChannelJob) -> str:
    """The conventional commit's message: chore(release): <crate> <version> (pure)."""
    return f"chore(release): {job.config.name} {release_version(job)}"


def read_author(job: ChannelJob) -> tuple[str, str]:
    """(name, e-mail) of the commit's author from [tool.release.publish], or the ConfigError naming what to set."""
    name = str(job.config.publish.get("author-name") or "").strip()
    email = str(job.config.publish.get("author-email") or "").strip()
    missing = [key for key, value in (("author-name", name), ("author-email", email)) if not value]
    if missing:
        keys = " and ".join(f"tool.release.publish.{key}" for key in missing)
        raise ConfigError(
            f"{job.channel}: {keys} must be set: commits to taps, buckets and the AUR need an author",
            hint='e.g. author-name = "Release Bot", author-email = "release-bot@example.org"',
        )
    return name, email


@dataclass(frozen=True)
class Plan:
    """Everything the push needs, checked: nothing has run yet."""

    channel: GitChannel
    url: str
    branch: str
    files: Mapping[str, bytes]  # repository path -> content
    author: tuple[str, str]
    message: str
    credential: Credential
    signing: Signing | None

    @property
    def secrets(self) -> tuple[str, ...]:
        passphrase = (self.signing.passphrase,) if self.signing and self.signing.passphrase else ()
        return (*self.credential.secrets, *passphrase)

    @property
    def where(self) -> str:
        return f"{self.branch} of {self.url}"


def make_plan(channel: GitChannel, job: ChannelJob) -> Plan:
    """The checked plan of one channel's push (reads dist/ and the settings; runs nothing)."""
    author = read_author(job)
    placed = channel.place(job.files)
    setting = f"tool.release.publish.{channel.name}.repository"
    url = str(job.settings.get("repository") or "").strip() or channel.default_repository(job, placed)
    kind = check_url(channel, url, setting)
    branch = str(job.settings.get("branch") or "").strip()
    if not branch:
        raise ConfigError(f"tool.release.publish.{channel.name}.branch is empty", hint='e.g. branch = "main"')
    return Plan(
        channel=channel,
        url=url,
        branch=branch,
        files={path: read_channel_file(source, channel.name) for path, source in placed.items()},
        author=author,
        message=commit_message(job),
        credential=read_credential(channel, job, kind, url),
        signing=read_signing(job),
    )


# --- the environment git runs in -------------------------------------------------------------------


def askpass_script() -> str:
    """The GIT_ASKPASS helper: the user name, then the token read from TOKEN_VARIABLE; it holds no secret (pure)."""
    return (
        "#!/bin/sh\n"
        "# git asks for the user name, then for the password: the token, read from the environment.\n"
        'case "$1" in\n'
        f"  Username*) printf '%s\\n' {TOKEN_USERNAME} ;;\n"
        f"  *) printf '%s\\n' \"${TOKEN_VARIABLE}\" ;;\n"
        "esac\n"
    )


def gpg_script(signing: Signing, passphrase_file: Path | None, log: Path) -> str:
    """gpg.program for git: gpg without a terminal, the passphrase (if any) read from its 0600 file (pure).

    gpg's own messages go to `log`: some git versions swallow them, and they say why signing failed.
    """
    argv = [signing.program, "--batch", "--no-tty", "--pinentry-mode", "loopback", "--logger-file", str(log)]
    if passphrase_file is not None:
        argv += ["--passphrase-file", str(passphrase_file)]
    return "#!/bin/sh\n" + "exec " + shlex.join(argv) + ' "$@"\n'


def ssh_command(key_file: Path, known_hosts: Path) -> str:
    """GIT_SSH_COMMAND: only this key, no ssh config, no prompt, hosts remembered in job.scratch (pure)."""
    return shlex.join(
        [
            "ssh",
            "-F",
            os.devnull,  # neither ~/.ssh/config nor the system's: the push is the same on every machine
            "-i",
            str(key_file),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=accept-new",
            "-o",
            f"UserKnownHostsFile={known_hosts}",
            "-o",
            f"ConnectTimeout={SSH_CONNECT_TIMEOUT}",
            "-o",
            "ServerAliveInterval=15",
        ]
    )


# Every git command: no global or system config, no prompt, messages in the C locale (failures are
# recognised by git's English messages).
GIT_ENV: Mapping[str, str] = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
}
# Commands over http(s): a transfer slower than a byte a second for HTTP_STALL_SECONDS is a stall (retried).
HTTP_ENV: Mapping[str, str] = {"GIT_HTTP_LOW_SPEED_LIMIT": "1", "GIT_HTTP_LOW_SPEED_TIME": HTTP_STALL_SECONDS}


def identity_env(author: tuple[str, str]) -> dict[str, str]:
    """The author and committer of the commits made (the commit, and a rebase's new one) (pure)."""
    name, email = author
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


def git_argv(work: Path, *args: str) -> list[str]:
    """git on the throwaway clone: --git-dir and --work-tree win over a GIT_DIR inherited from a hook (pure)."""
    return ["git", f"--git-dir={work / '.git'}", f"--work-tree={work}", *args]


def credential_env(credential: Credential, helper: str) -> dict[str, str]:
    """The variables that hand the credential to git, for the commands that reach the remote (pure).

    helper: the askpass script's path (https), or the ssh command (ssh).
    """
    if credential.kind == HTTPS:
        return {**HTTP_ENV, "GIT_ASKPASS": helper, TOKEN_VARIABLE: credential.secret}
    if credential.kind == SSH:
        return {"GIT_SSH_COMMAND": helper}
    return {}


def _write_script(path: Path, text: str) -> Path:
    """Create the helper script `path` (new, never through a link), runnable and readable by this user only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, files.PRIVATE_FOLDER_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    path.chmod(files.PRIVATE_FOLDER_MODE)  # 0700 whatever the umask: git must be able to run it
    return path


def prepare_credentials(plan: Plan, private: Path) -> dict[str, str]:
    """Write the askpass script, the ssh key and known-hosts file, the gpg wrapper into `private` (0700)."""
    private.mkdir(mode=files.PRIVATE_FOLDER_MODE)
    private.chmod(files.PRIVATE_FOLDER_MODE)
    env: dict[str, str] = {}
    credential = plan.credential
    if credential.kind == HTTPS:
        askpass = _write_script(private / "askpass.sh", askpass_script())
        env.update(credential_env(credential, str(askpass)))
    elif credential.kind == SSH:
        # OpenSSH refuses a key without its final newline, or with the CRLFs of a pasted secret.
        key = files.write_private(private / "ssh-key", credential.secret.replace("\r\n", "\n").strip() + "\n")
        known_hosts = files.write_private(private / "known_hosts", "")
        env.update(credential_env(credential, ssh_command(key, known_hosts)))
    if plan.signing is not None:
        passphrase = None
        if plan.signing.passphrase:
            passphrase = files.write_private(private / "gpg-passphrase", plan.signing.passphrase + "\n")
        _write_script(private / GPG_SCRIPT, gpg_script(plan.signing, passphrase, private / GPG_LOG))
    return env


# --- retries -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Retrying:
    """How network faults are retried: the policy and the clock (tests pass one that does not wait)."""

    policy: retry.Policy = POLICY
    clock: retry.Clock = field(default_factory=retry.Clock)


def with_retries(
    run: Callable[[], proc.Result], *, channel: str, what: str, retrying: Retrying, secrets: Sequence[str]
) -> proc.Result:
    """`run()` until it succeeds or fails for a reason other than the network; PublishError past the budget."""
    attempts = retry.Attempts(retrying.policy, retrying.clock)
    while True:
        result = run()
        if result.ok or failure_kind(output_of(result)) != TRANSIENT:
            return result
        step = attempts.after_failure(status=None)  # no answer, as far as retry's rules go: a network fault
        reason = telling_line(proc.mask(output_of(result), secrets))
        if not isinstance(step, retry.Wait):
            give_up = step.reason if isinstance(step, retry.GiveUp) else "not retried"
            raise PublishError(
                f"{channel}: {what} failed: {reason} ({give_up})",
                hint="the network or the server is failing: run the same command again later; "
                "it starts from what the remote holds then",
            )
        ui.warn(f"{channel}: {what} failed ({reason}); trying again in {step.seconds:.1f} s ({step.cause})")
        attempts.sleep(step.seconds)


def telling_line(text: str) -> str:
    """The line of git's output that says what went wrong (pure).

    The first line showing the failure's kind ("Permission denied (publickey)", "Connection refused",
    "returned error: 502"), else the first fatal:/error: line, else the last line.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for _kind, patterns in FAILURE_PATTERNS:
        for line in lines:
            if any(re.search(pattern, line.lower()) for pattern in patterns):
                return line
    for line in lines:
        if line.lower().startswith(("fatal:", "error:")):
            return line
    return lines[-1] if lines else "no output"


# --- errors --------------------------------------------------------------------------------------


def explain(plan: Plan, what: str, result: proc.Result) -> ReleaseError:
    """One error for a git command that failed, naming the channel and what to do (output masked)."""
    channel = plan.channel
    text = proc.mask(output_of(result), plan.secrets)
    line = telling_line(text)
    kind = failure_kind(text)
    setting = f"tool.release.publish.{channel.name}.repository"
    if kind == AUTH and plan.credential.kind != LOCAL:
        credential = plan.credential
        what_it_is = "ssh key" if credential.kind == SSH else "token"
        article = "an" if credential.kind == SSH else "a"
        return PublishError(
            f"{channel.name}: the {channel.noun} {plan.url} refused the {what_it_is} in {credential.variable} "
            f"({what}: {line})",
            hint=f"set {credential.variable} to {article} {what_it_is} that may push to it"
            + (" (GitHub: Contents: read and write on that repository)" if credential.kind == HTTPS else "")
            + (
                " (the key of the package's maintainer account, without a passphrase)" if credential.kind == SSH else ""
            ),
        )
    if kind == MISSING:
        via = f"; {plan.credential.variable} must be able to see it" if plan.credential.variable else ""
        return PublishError(
            f"{channel.name}: no {channel.noun} repository at {plan.url} ({what}: {line})",
            hint=f"check {setting} (or the tap/bucket it is made from){via}",
        )
    if kind == REJECTED:
        said = [line.strip() for line in text.splitlines() if line.strip().lower().startswith("remote:")]
        return PublishError(
            f"{channel.name}: the {channel.noun} {plan.url} refused the commit ({line})"
            + "".join(f"\n  {remark}" for remark in said[:_REMOTE_REMARKS]),
            hint=f"the repository's own rules refused it (see what it said): check that {setting} is the "
            f"{channel.noun} you maintain and that {plan.branch} accepts pushes",
        )
    return CommandError(f"{channel.name}: {what} failed for {plan.url}:\n{text[-_OUTPUT_LIMIT:]}")


# --- the clone -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clone:
    """The throwaway clone of the channel's repository in job.scratch, and the git commands run on it."""

    plan: Plan
    job: ChannelJob
    work: Path
    private: Path  # the credential files (0700), removed at the end
    remote_env: Mapping[str, str]  # the credential: for the commands that reach the remote
    commit_env: Mapping[str, str]  # author and committer, GNUPGHOME: for the commands that make commits
    retrying: Retrying

    def git(
        self,
        *args: str,
        effect: proc.Effect = SCRATCH,
        check: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> proc.Result:
        result = self.job.runner.run(
            git_argv(self.work, *args),
            effect=effect,
            env={**GIT_ENV, **(env or {})},
            capture=True,
            check=False,
            secrets=self.plan.secrets,
            timeout=COMMAND_TIMEOUT,
        )
        if check and not result.ok:
            raise explain(self.plan, f"git {args[0]}", result)
        return result

    def remote(self, *args: str, effect: proc.Effect = SCRATCH, commits: bool = False) -> proc.Result:
        """A command that reaches the remote: network faults retried, the final result returned unchecked."""
        env = {**self.remote_env, **(self.commit_env if commits else {})}
        return with_retries(
            lambda: self.git(*args, effect=effect, check=False, env=env),
            channel=self.plan.channel.name,
            what=f"git {args[0]}",
            retrying=self.retrying,
            secrets=self.plan.secrets,
        )

    def checked_remote(self, *args: str) -> proc.Result:
        result = self.remote(*args)
        if not result.ok:
            raise explain(self.plan, f"git {args[0]}", result)
        return result

    def start(self, gpg_program: Path | None) -> dict[str, str]:
        """An empty repository pointing at the remote, then the remote's branches (ls-remote)."""
        branch = self.plan.branch
        self.git("init", "--quiet", f"--initial-branch={branch}")
        self.git("remote", "add", REMOTE, self.plan.url)
        if self.plan.signing is not None and gpg_program is not None:
            self.git("config", "gpg.program", str(gpg_program))
            self.git("config", "user.signingKey", self.plan.signing.key)
            self.git("config", "commit.gpgSign", "true")  # the commit, and a rebase's new one
        return remote_heads(self.checked_remote("ls-remote", REMOTE, "refs/heads/*").stdout)

    def check_out(self, heads: Mapping[str, str]) -> None:
        """The branch's tip, shallow; an empty remote starts the branch; a missing branch is an error."""
        branch = self.plan.branch
        if branch in heads:
            self.checked_remote("fetch", "--quiet", "--depth=1", "--no-tags", REMOTE, branch)
            self.git("checkout", "--quiet", "-B", branch, f"{REMOTE}/{branch}")
            return
        if heads:
            channel = self.plan.channel
            raise PublishError(
                f"{channel.name}: the {channel.noun} {self.plan.url} has no branch {branch!r} "
                f"(it has {', '.join(sorted(heads))})",
                hint=f"set tool.release.publish.{channel.name}.branch to the branch users read",
            )
        ui.say(f"{self.plan.channel.name}: {self.plan.url} is empty: its first commit starts {branch}")

    def stage(self) -> list[tuple[str, str]]:
        """The channel's files written over the checkout and staged; what changed."""
        for relative, content in self.plan.files.items():
            target = self.work / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        self.git("add", "--", *self.plan.files)
        return staged_changes(self.git("diff", "--cached", "--name-status", "--no-renames").stdout)

    def commit(self) -> None:
        """The release commit, by the configured author; signed when asked (a gpg failure explained as such)."""
        message = ("commit", "--quiet", "--no-verify", "--message", self.plan.message)
        result = self.git(*message, effect=proc.Effect.LOCAL, env=self.commit_env, check=False)
        if result.ok:
            return
        if self.plan.signing is not None and "gpg" in output_of(result).lower():
            log = self.private / GPG_LOG
            said = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
            text = proc.mask(said + "\n" + output_of(result), self.plan.secrets)
            why = sign.explain_gpg_failure(text, self.plan.signing.key)
            raise SigningError(f"{self.plan.channel.name}: cannot sign the commit: {why.message}", hint=why.hint)
        raise explain(self.plan, "git commit", result)

    def ahead(self) -> int:
        """How many commits HEAD has that the remote's branch (as last fetched) has not."""
        result = self.git("rev-list", "--count", f"{REMOTE}/{self.plan.branch}..HEAD")
        return int(result.stdout.strip() or "0")

    def push(self) -> proc.Result:
        return self.remote(
            "push", "--porcelain", REMOTE, f"HEAD:refs/heads/{self.plan.branch}", effect=proc.Effect.REMOTE
        )


def _moved(result: proc.Result) -> bool:
    return not result.ok and failure_kind(output_of(result)) == MOVED


def web_url(plan: Plan) -> str:
    """Where people see the published files: the repository's page (https), the AUR's package page (pure)."""
    parts = urlsplit(plan.url)
    if transport(plan.url) == HTTPS:
        return plan.url.removesuffix(".git")
    if plan.channel.name == "aur" and parts.hostname:
        return f"https://{parts.hostname}/packages/{Path(parts.path).name.removesuffix('.git')}"
    return ""


def push_with_rebase(clone: Clone, plan: Plan) -> str:
    """Push; when the branch moved meanwhile, rebase onto it and push once more. PUBLISHED or UNCHANGED."""
    result = clone.push()
    if result.ok:
        return PUBLISHED
    if not _moved(result):
        raise explain(plan, "git push", result)
    ui.say(f"{plan.channel.name}: {plan.where} moved since the fetch: rebasing onto it and pushing again")
    rebased = clone.remote("pull", "--quiet", "--rebase", REMOTE, plan.branch, effect=proc.Effect.LOCAL, commits=True)
    if not rebased.ok:
        if failure_kind(output_of(rebased)) in (AUTH, MISSING, TRANSIENT):
            raise explain(plan, "git pull --rebase", rebased)
        raise PublishError(
            f"{plan.channel.name}: {plan.where} changed the same files meanwhile, and the rebase stopped: "
            + telling_line(proc.mask(output_of(rebased), plan.secrets)),
            hint="run the same command again: it starts from what the branch holds then",
        )
    if clone.ahead() == 0:
        return UNCHANGED  # the same files arrived meanwhile: the rebase left nothing to push
    result = clone.push()
    if result.ok:
        return PUBLISHED
    if _moved(result):
        raise PublishError(
            f"{plan.channel.name}: {plan.where} moved again while we pushed",
            hint="someone else is pushing to it right now: run the same command again in a moment",
        )
    raise explain(plan, "git push", result)


def publish_git(channel: GitChannel, job: ChannelJob, retrying: Retrying | None = None) -> Outcome:
    """Commit the channel's files to its repository and push them (the module docstring tells how).

    Every error it raises is masked with the credential's raw value as well, whatever the message
    (a backstop: the messages are written not to hold it).
    """
    try:
        return _publish_git(channel, job, retrying)
    except ReleaseError as error:
        secrets = [job.secret(channel.credential)]
        masked = proc.mask(error.message, secrets)
        hint = proc.mask(error.hint, secrets) if error.hint else None
        if masked == error.message and hint == error.hint:
            raise
        raise type(error)(masked, hint=hint) from None


def _publish_git(channel: GitChannel, job: ChannelJob, retrying: Retrying | None) -> Outcome:
    plan = make_plan(channel, job)
    if plan.signing is not None:
        sign.check_gpg_key(sign.SignSettings(("gpg",), plan.signing.key, plan.signing.program, ""))
    root = job.scratch / f"git-{channel.name}"
    if root.exists():
        shutil.rmtree(root)  # a leftover of an earlier run: the clone starts afresh
    work, private = root / "repository", root / "private"
    work.mkdir(parents=True)
    try:
        remote_env = prepare_credentials(plan, private)
        commit_env = identity_env(plan.author)
        if plan.signing is not None and "GNUPGHOME" in job.environ:
            commit_env["GNUPGHOME"] = job.environ["GNUPGHOME"]
        clone = Clone(plan, job, work, private, remote_env, commit_env, retrying or Retrying())
        clone.check_out(clone.start(private / GPG_SCRIPT if plan.signing else None))
        changes = clone.stage()
        url = web_url(plan)
        if not changes:
            return Outcome(UNCHANGED, f"{', '.join(plan.files)} already on {plan.where}", url)
        clone.commit()
        if job.runner.dry_run:
            clone.push()  # shown, not run
            return Outcome(WOULD_PUBLISH, f"would commit {changes_text(changes)} to {plan.where} and push", url)
        state = push_with_rebase(clone, plan)
        if state == UNCHANGED:
            return Outcome(UNCHANGED, f"{', '.join(plan.files)} arrived on {plan.where} meanwhile", url)
        sha = clone.git("rev-parse", "--short", "HEAD").stdout.strip()
        return Outcome(PUBLISHED, f"{changes_text(changes)} committed ({sha}) and pushed to {plan.where}", url)
    finally:
        shutil.rmtree(private, ignore_errors=True)  # the key, the passphrase: gone however the run ends


def publish_homebrew(job: ChannelJob, *, retrying: Retrying | None = None) -> Outcome:
    """Formula/<name>.rb committed to the Homebrew tap."""
    return publish_git(CHANNELS["homebrew"], job, retrying)


def publish_scoop(job: ChannelJob, *, retrying: Retrying | None = None) -> Outcome:
    """bucket/<name>.json committed to the Scoop bucket."""
    return publish_git(CHANNELS["scoop"], job, retrying)


def publish_aur(job: ChannelJob, *, retrying: Retrying | None = None) -> Outcome:
    """PKGBUILD and .SRCINFO committed to the AUR package's repository."""
    return publish_git(CHANNELS["aur"], job, retrying)

"""The git channels' decisions, without git: which files go where, which URL, which credential and how it
reaches git, what each git failure means, and when a command is tried again.

The channels' files are rendered from tests/packager_fixtures.py (the AUR's .SRCINFO, which makepkg makes,
is written here in makepkg's form). tests/integration/test_publish_git_channels.py pushes them for real.
"""

from __future__ import annotations

import dataclasses
import shlex
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.packager_fixtures import channel_release, channel_settings
from tooling import proc
from tooling.config import ReleaseConfig, load_config
from tooling.config_schema import PUBLISHER_TABLES, check_table
from tooling.errors import CommandError, ConfigError, PublishError
from tooling.packagers import aur, homebrew, scoop
from tooling.publish import git_channels, retry
from tooling.publish.channels import ChannelJob
from tooling.publish.git_channels import (
    AUTH,
    CHANNELS,
    HTTPS,
    LOCAL,
    MISSING,
    MOVED,
    OTHER,
    REJECTED,
    SSH,
    TRANSIENT,
    Credential,
    Plan,
    Retrying,
    Signing,
)

TOKEN = "canary-unit-token-2b8e41"
KEY_TEXT = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\r\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\r\n"
    "-----END OPENSSH PRIVATE KEY-----"
)
AUTHOR = {"author-name": "Release Bot", "author-email": "release-bot@example.invalid"}


# --- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/packages/ with the homebrew, scoop and aur files of the fixture release."""
    folder = tmp_path_factory.mktemp("dist") / "packages"
    for module in (homebrew, scoop, aur):
        settings = channel_settings(module.NAME)
        for name, content in module.render(channel_release(module.NAME, settings), settings).items():
            (folder / module.NAME / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / module.NAME / name).write_bytes(content)
    name = aur.package_name(channel_release("aur", channel_settings("aur")), channel_settings("aur"))
    (folder / "aur" / ".SRCINFO").write_text(f"pkgbase = {name}\n\tpkgdesc = x\n\tpkgver = 1.2.0\n\npkgname = {name}\n")
    return folder


@pytest.fixture(scope="module")
def base_config() -> ReleaseConfig:
    return load_config(ROOT)


def config_with(base: ReleaseConfig, *, publish: dict[str, Any] | None = None, **packages: Any) -> ReleaseConfig:
    merged_packages = {**base.packages, **{k: {**base.packages[k], **v} for k, v in packages.items()}}
    return dataclasses.replace(base, publish={**base.publish, **AUTHOR, **(publish or {})}, packages=merged_packages)


def job_for(
    channel: str,
    config: ReleaseConfig,
    packages: Path,
    environ: dict[str, str] | None = None,
    tag: str = "v1.2.0",
    **settings: str,
) -> ChannelJob:
    table = check_table(PUBLISHER_TABLES[channel], {k.replace("_", "-"): v for k, v in settings.items()})
    return ChannelJob(
        channel, packages / channel, config, table, tag, environ or {}, proc.Runner(), packages.parent / "scratch"
    )


# --- which files go where ------------------------------------------------------------------------------


def test_each_channel_places_its_files_where_its_users_look(packages: Path) -> None:
    assert git_channels.homebrew_files(packages / "homebrew") == {
        "Formula/crcsum.rb": packages / "homebrew" / "Formula" / "crcsum.rb"
    }
    assert git_channels.scoop_files(packages / "scoop") == {"bucket/crcsum.json": packages / "scoop" / "crcsum.json"}
    assert git_channels.aur_files(packages / "aur") == {
        "PKGBUILD": packages / "aur" / "PKGBUILD",
        ".SRCINFO": packages / "aur" / ".SRCINFO",
    }


@pytest.mark.parametrize(
    ("channel", "expected"),
    [("homebrew", r"^homebrew: .*Formula holds no formula"), ("scoop", r"^scoop: .* holds no app manifest")],
)
def test_a_channel_without_its_files_is_one_error_saying_how_to_make_them(
    tmp_path: Path, channel: str, expected: str
) -> None:
    with pytest.raises(PublishError, match=expected) as caught:
        CHANNELS[channel].place(tmp_path)
    assert "invoke package" in str(caught.value)


def test_the_aur_needs_both_pkgbuild_and_srcinfo(tmp_path: Path) -> None:
    (tmp_path / "PKGBUILD").write_text("pkgname=x\n")
    with pytest.raises(PublishError, match=r"^aur: .* holds no \.SRCINFO to publish"):
        git_channels.aur_files(tmp_path)


# --- which repository ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tap", "repository"),
    [("me/homebrew-tap", "me/homebrew-tap"), ("me/tap", "me/homebrew-tap"), ("me/homebrew-x", "me/homebrew-x")],
)
def test_a_tap_is_the_repository_brew_tap_reads(tap: str, repository: str) -> None:
    assert git_channels.tap_repository(tap) == repository


def test_default_repositories_come_from_the_tap_the_bucket_and_the_aur_package(
    base_config: ReleaseConfig, packages: Path
) -> None:
    config = config_with(base_config, homebrew={"tap": "me/tap"}, scoop={"bucket": "me/scoop-bucket"})
    plan = git_channels.make_plan(
        CHANNELS["homebrew"], job_for("homebrew", config, packages, {"HOMEBREW_TAP_TOKEN": TOKEN})
    )
    assert plan.url == "https://github.com/me/homebrew-tap.git"
    enterprise = {"SCOOP_BUCKET_TOKEN": TOKEN, "GITHUB_SERVER_URL": "https://git.example.invalid/"}
    plan = git_channels.make_plan(CHANNELS["scoop"], job_for("scoop", config, packages, enterprise))
    assert plan.url == "https://git.example.invalid/me/scoop-bucket.git"
    plan = git_channels.make_plan(CHANNELS["aur"], job_for("aur", config, packages, {"AUR_SSH_KEY": KEY_TEXT}))
    # The name the AUR packager chose, on the AUR's ssh remote as the configuration reference documents it.
    name = aur.package_name(channel_release("aur", channel_settings("aur")), channel_settings("aur"))
    default = PUBLISHER_TABLES["aur"].fields["repository"].default_text
    assert plan.url == default.replace("<package>", name) and plan.url.startswith("ssh://")
    assert plan.url.endswith(f"/{name}.git") and git_channels.transport(plan.url) == SSH


@pytest.mark.parametrize(("channel", "key"), [("homebrew", "tap"), ("scoop", "bucket")])
def test_no_tap_or_bucket_and_no_repository_is_a_config_error_naming_both_settings(
    base_config: ReleaseConfig, packages: Path, channel: str, key: str
) -> None:
    config = config_with(base_config, **{channel: {key: ""}})
    with pytest.raises(ConfigError) as caught:
        git_channels.make_plan(CHANNELS[channel], job_for(channel, config, packages, {}))
    assert (
        caught.value.message == f"{channel}: no repository to push to: tool.release.packages.{channel}.{key} is not set"
    )
    assert f"tool.release.publish.{channel}.repository" in str(caught.value.hint)


def test_a_tap_that_is_not_owner_slash_name_is_refused(base_config: ReleaseConfig, packages: Path) -> None:
    config = config_with(base_config, homebrew={"tap": "https://example.invalid/me/tap"})
    with pytest.raises(ConfigError, match=r"tool\.release\.packages\.homebrew\.tap = .* is not owner/name"):
        git_channels.make_plan(CHANNELS["homebrew"], job_for("homebrew", config, packages, {}))


def test_srcinfo_pkgbase() -> None:
    assert git_channels.srcinfo_pkgbase("pkgbase = crcsum-bin\n\tpkgver = 1\npkgname = crcsum-bin\n") == "crcsum-bin"
    assert git_channels.srcinfo_pkgbase("pkgname = x\n") is None


# --- URLs and transports ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://github.com/me/homebrew-tap.git", HTTPS),
        ("http://127.0.0.1:8080/tap.git", HTTPS),
        ("ssh://aur@aur.example.invalid/crcsum-bin.git", SSH),
        ("git+ssh://git@example.invalid/x.git", SSH),
        ("aur@aur.example.invalid:crcsum-bin.git", SSH),
        ("example.invalid:me/tap.git", SSH),
        ("file:///srv/git/tap.git", LOCAL),
        ("/srv/git/tap.git", LOCAL),
        ("../tap.git", LOCAL),
        ("C:/git/tap.git", LOCAL),
    ],
)
def test_transport_reads_urls_as_git_does(url: str, kind: str) -> None:
    assert git_channels.transport(url) == kind


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ConfigError, match="https://, ssh://, file:// or a path"):
        git_channels.transport("ftp://example.invalid/tap.git")


def test_a_token_inside_the_url_is_refused_without_repeating_it() -> None:
    with pytest.raises(ConfigError) as caught:
        git_channels.check_url(CHANNELS["homebrew"], f"https://me:{TOKEN}@example.invalid/tap.git", "the setting")
    assert TOKEN not in str(caught.value)
    assert "holds a password or token" in caught.value.message and "token-env" in str(caught.value.hint)


@pytest.mark.parametrize("url", [f"https://{TOKEN}@example.invalid/o/tap.git", f"http://{TOKEN}@127.0.0.1:8080/t.git"])
def test_any_user_part_of_an_https_url_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(ConfigError, match="user name or a secret inside the URL") as caught:
        git_channels.check_url(CHANNELS["homebrew"], url, "tool.release.publish.homebrew.repository")
    assert TOKEN not in str(caught.value)


def test_an_ssh_url_keeps_its_user() -> None:
    url = "ssh://aur@aur.example.invalid/crcsum-bin.git"
    assert git_channels.check_url(CHANNELS["aur"], url, "tool.release.publish.aur.repository") == SSH


@pytest.mark.parametrize(
    ("url", "problem"),
    [("https://[x/tap.git", "its host is malformed"), ("https://example.invalid:99999/tap.git", "its port")],
)
def test_a_malformed_url_is_a_config_error_naming_the_setting(url: str, problem: str) -> None:
    setting = "tool.release.publish.homebrew.repository"
    with pytest.raises(ConfigError, match=f"{setting} is not a valid URL: {problem}"):
        git_channels.check_url(CHANNELS["homebrew"], url, setting)


def test_a_channel_file_that_cannot_be_read_is_a_publish_error_naming_it(
    base_config: ReleaseConfig, packages: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    config = config_with(base_config, homebrew={"tap": "me/tap"})
    job = job_for("homebrew", config, packages, {"HOMEBREW_TAP_TOKEN": TOKEN})
    with pytest.raises(PublishError, match=r"^homebrew: cannot read .*crcsum\.rb: Permission denied"):
        git_channels.make_plan(CHANNELS["homebrew"], job)
    with pytest.raises(PublishError, match=r"^aur: cannot read .*\.SRCINFO: Permission denied"):
        git_channels.make_plan(CHANNELS["aur"], job_for("aur", config, packages, {"AUR_SSH_KEY": KEY_TEXT}))


@pytest.mark.parametrize(
    ("channel", "url", "expected"),
    [
        ("homebrew", "git@example.invalid:me/homebrew-tap.git", "reached over ssh, but this channel pushes over https"),
        ("aur", "https://example.invalid/crcsum-bin.git", "reached over https, but this channel pushes over ssh"),
        ("scoop", "http://example.invalid/bucket.git", "would send the token unencrypted"),
    ],
)
def test_urls_a_channel_cannot_push_to_safely_are_config_errors(channel: str, url: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        git_channels.check_url(CHANNELS[channel], url, f"tool.release.publish.{channel}.repository")


def test_local_remotes_need_no_credential(base_config: ReleaseConfig, packages: Path, tmp_path: Path) -> None:
    job = job_for("aur", config_with(base_config), packages, {}, repository=(tmp_path / "x.git").as_uri())
    plan = git_channels.make_plan(CHANNELS["aur"], job)
    assert plan.credential == Credential(LOCAL, "") and plan.secrets == ()


# --- author, message, signing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("author", "missing"),
    [
        (
            {"author-name": "", "author-email": ""},
            "tool.release.publish.author-name and tool.release.publish.author-email",
        ),
        ({"author-name": "Bot", "author-email": ""}, "tool.release.publish.author-email"),
    ],
)
def test_commits_need_an_author(
    base_config: ReleaseConfig, packages: Path, author: dict[str, str], missing: str
) -> None:
    config = dataclasses.replace(base_config, publish={**base_config.publish, **author})
    with pytest.raises(ConfigError) as caught:
        git_channels.make_plan(CHANNELS["scoop"], job_for("scoop", config, packages, {"SCOOP_BUCKET_TOKEN": TOKEN}))
    assert caught.value.message == f"scoop: {missing} must be set: commits to taps, buckets and the AUR need an author"


def test_the_message_is_a_conventional_commit_naming_the_crate_and_the_tagged_version(
    base_config: ReleaseConfig, packages: Path
) -> None:
    config = config_with(base_config)
    job = job_for("aur", config, packages, tag="v2.0.0-rc.1")
    assert git_channels.commit_message(job) == f"chore(release): {config.name} 2.0.0-rc.1"
    prefixed = dataclasses.replace(config, versioning={**config.versioning, "tag-prefix": "crcsum-v"})
    assert git_channels.release_version(job_for("aur", prefixed, packages, tag="crcsum-v3.1.4")) == "3.1.4"


def test_signing_needs_a_key(base_config: ReleaseConfig, packages: Path) -> None:
    config = config_with(base_config, publish={"sign-commits": True})
    with pytest.raises(ConfigError) as caught:
        git_channels.read_signing(job_for("aur", config, packages))
    assert "sign-commits is on, but no GPG key is named" in caught.value.message
    assert "tool.release.sign.gpg-key" in str(caught.value.hint)
    signing = git_channels.read_signing(
        job_for("aur", config, packages, {"RELEASE_GPG_KEY": "ABCD1234", "RELEASE_GPG_PASSPHRASE": "secret phrase"})
    )
    assert signing == Signing("gpg", "ABCD1234", "secret phrase") and "secret phrase" not in repr(signing)
    assert git_channels.read_signing(job_for("aur", config_with(base_config), packages)) is None


# --- credentials ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "environ", "expected"),
    [
        ("homebrew", {}, r"^homebrew: no token to push to the tap .*: HOMEBREW_TAP_TOKEN is not set\n"),
        (
            "scoop",
            {"SCOOP_BUCKET_TOKEN": "  "},
            r"^scoop: no token to push to the bucket .*: SCOOP_BUCKET_TOKEN is not set\n",
        ),
        ("aur", {}, r"^aur: no ssh key to push to the AUR package .*: AUR_SSH_KEY is not set\n"),
    ],
)
def test_a_missing_credential_names_the_channel_and_the_variable(
    base_config: ReleaseConfig, packages: Path, channel: str, environ: dict[str, str], expected: str
) -> None:
    config = config_with(base_config, homebrew={"tap": "me/tap"}, scoop={"bucket": "me/bucket"})
    with pytest.raises(ConfigError, match=expected):
        git_channels.make_plan(CHANNELS[channel], job_for(channel, config, packages, environ))


def test_the_variable_named_in_the_settings_is_the_one_read(base_config: ReleaseConfig, packages: Path) -> None:
    config = config_with(base_config, homebrew={"tap": "me/tap"})
    job = job_for("homebrew", config, packages, {"MY_TAP_TOKEN": f" {TOKEN}\n"}, token_env="MY_TAP_TOKEN")
    plan = git_channels.make_plan(CHANNELS["homebrew"], job)
    assert plan.credential == Credential(HTTPS, "MY_TAP_TOKEN", TOKEN) and TOKEN not in repr(plan)


def test_an_ssh_key_is_its_text_or_a_file(base_config: ReleaseConfig, packages: Path, tmp_path: Path) -> None:
    config = config_with(base_config)
    text = git_channels.make_plan(CHANNELS["aur"], job_for("aur", config, packages, {"AUR_SSH_KEY": KEY_TEXT}))
    assert text.credential == Credential(SSH, "AUR_SSH_KEY", KEY_TEXT) and text.secrets == (KEY_TEXT,)
    key_file = tmp_path / "id_ed25519"
    key_file.write_text(KEY_TEXT)
    key_file.chmod(0o644)  # too open for ssh: the publisher writes its own 0600 copy
    path = git_channels.make_plan(CHANNELS["aur"], job_for("aur", config, packages, {"AUR_SSH_KEY": str(key_file)}))
    unix = KEY_TEXT.replace("\r\n", "\n")  # as Python reads the file back
    assert path.credential == Credential(SSH, "AUR_SSH_KEY", unix) and path.secrets == (unix,)
    (tmp_path / "not-a-key").write_text("hello\n")
    for wrong in ("b3BlbnNza-garbled", str(tmp_path / "not-a-key")):
        with pytest.raises(ConfigError) as caught:
            git_channels.make_plan(CHANNELS["aur"], job_for("aur", config, packages, {"AUR_SSH_KEY": wrong}))
        assert "the value of AUR_SSH_KEY is neither an ssh private key nor a readable file" in caught.value.message
        assert "b3BlbnNza" not in str(caught.value)  # a mangled key is not repeated either
        assert "not-a-key" not in str(caught.value)  # nor the path it may be


def test_a_key_pasted_wrongly_is_never_repeated_even_when_it_is_too_long_for_a_path(
    base_config: ReleaseConfig, packages: Path
) -> None:
    """A key without its BEGIN line, on one line: as a path it is too long (ENAMETOOLONG), and still not shown."""
    pasted = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ" * 40
    job = job_for("aur", config_with(base_config), packages, {"AUR_SSH_KEY": pasted})
    with pytest.raises(ConfigError, match="the value of AUR_SSH_KEY is neither an ssh private key nor a readable file"):
        git_channels.make_plan(CHANNELS["aur"], job)
    with pytest.raises(ConfigError) as caught:
        git_channels.publish_aur(job)
    assert pasted[:40] not in str(caught.value)


def test_every_error_of_a_channel_is_masked_with_the_credentials_value(
    base_config: ReleaseConfig, packages: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backstop: should a message ever carry the variable's value, the channel's error does not."""
    config = config_with(base_config, homebrew={"tap": "me/tap"})
    job = job_for("homebrew", config, packages, {"HOMEBREW_TAP_TOKEN": TOKEN})

    def leaky(channel: Any, job: ChannelJob) -> Plan:
        raise PublishError(f"homebrew: something said {TOKEN}", hint=f"not {TOKEN}")

    monkeypatch.setattr(git_channels, "make_plan", leaky)
    with pytest.raises(PublishError) as caught:
        git_channels.publish_homebrew(job)
    assert TOKEN not in str(caught.value) and caught.value.message == "homebrew: something said ***"


def test_the_askpass_script_reads_the_token_from_the_environment_and_holds_none() -> None:
    script = git_channels.askpass_script()
    assert script.startswith("#!/bin/sh\n")
    assert f'"${git_channels.TOKEN_VARIABLE}"' in script and git_channels.TOKEN_USERNAME in script
    assert proc.is_secret_name(git_channels.TOKEN_VARIABLE)  # so the runner never shows its value


def test_the_ssh_command_uses_only_the_given_key_and_its_own_known_hosts() -> None:
    command = shlex.split(git_channels.ssh_command(Path("/scratch dir/key"), Path("/scratch dir/known_hosts")))
    assert command[0] == "ssh" and command[command.index("-i") + 1] == "/scratch dir/key"
    options = {command[i + 1] for i, word in enumerate(command) if word == "-o"}
    assert {
        "IdentitiesOnly=yes",
        "BatchMode=yes",
        "StrictHostKeyChecking=accept-new",
        "UserKnownHostsFile=/scratch dir/known_hosts",
    } <= options
    assert command[command.index("-F") + 1] == "/dev/null"


def test_git_runs_without_outside_config_on_the_clone_it_names() -> None:
    assert git_channels.GIT_ENV["GIT_CONFIG_GLOBAL"] == "/dev/null"
    assert git_channels.GIT_ENV["GIT_CONFIG_NOSYSTEM"] == "1" and git_channels.GIT_ENV["GIT_TERMINAL_PROMPT"] == "0"
    argv = git_channels.git_argv(Path("/s/repository"), "status")
    assert argv == ["git", "--git-dir=/s/repository/.git", "--work-tree=/s/repository", "status"]


def plan_with(credential: Credential, signing: Signing | None = None) -> Plan:
    return Plan(
        CHANNELS["aur" if credential.kind == SSH else "homebrew"],
        "https://example.invalid/tap.git",
        "main",
        {},
        ("Bot", "bot@example.invalid"),
        "chore(release): x 1.0.0",
        credential,
        signing,
    )


def file_modes(folder: Path) -> dict[str, int]:
    return {path.name: stat.S_IMODE(path.stat().st_mode) for path in folder.iterdir()}


def test_https_credentials_are_an_askpass_script_and_a_variable(tmp_path: Path) -> None:
    env = git_channels.prepare_credentials(plan_with(Credential(HTTPS, "HOMEBREW_TAP_TOKEN", TOKEN)), tmp_path / "p")
    assert env[git_channels.TOKEN_VARIABLE] == TOKEN and env["GIT_ASKPASS"] == str(tmp_path / "p" / "askpass.sh")
    assert stat.S_IMODE((tmp_path / "p").stat().st_mode) == 0o700
    assert file_modes(tmp_path / "p") == {"askpass.sh": 0o700}
    assert TOKEN not in (tmp_path / "p" / "askpass.sh").read_text()


def test_ssh_key_text_is_written_0600_with_unix_line_ends(tmp_path: Path) -> None:
    env = git_channels.prepare_credentials(plan_with(Credential(SSH, "AUR_SSH_KEY", KEY_TEXT)), tmp_path / "p")
    assert file_modes(tmp_path / "p") == {"ssh-key": 0o600, "known_hosts": 0o600}
    assert (tmp_path / "p" / "ssh-key").read_text() == KEY_TEXT.replace("\r\n", "\n") + "\n"
    assert str(tmp_path / "p" / "ssh-key") in shlex.split(env["GIT_SSH_COMMAND"])
    assert KEY_TEXT.splitlines()[1].strip() not in " ".join(env.values())


def test_a_passphrase_reaches_gpg_through_a_private_file(tmp_path: Path) -> None:
    signing = Signing("gpg", "ABCD", "a long passphrase")
    git_channels.prepare_credentials(plan_with(Credential(LOCAL, ""), signing), tmp_path / "p")
    assert file_modes(tmp_path / "p") == {"gpg.sh": 0o700, "gpg-passphrase": 0o600}
    script = (tmp_path / "p" / "gpg.sh").read_text()
    assert "a long passphrase" not in script and "--pinentry-mode loopback" in script
    assert f"--logger-file {tmp_path / 'p' / 'gpg.log'}" in script
    assert f"--passphrase-file {tmp_path / 'p' / 'gpg-passphrase'}" in script


# --- what git said ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "kind"),
    [
        ("fatal: Authentication failed for 'https://example.invalid/tap.git/'", AUTH),
        (
            "remote: Permission to me/tap.git denied to bot.\n"
            "fatal: unable to access '...': The requested URL returned error: 403",
            AUTH,
        ),
        ("git@example.invalid: Permission denied (publickey).\nfatal: Could not read from remote repository.", AUTH),
        ("fatal: could not read Username for 'https://example.invalid': terminal prompts disabled", AUTH),
        ("remote: Repository not found.\nfatal: repository 'https://example.invalid/x.git/' not found", MISSING),
        ("fatal: '/srv/x.git' does not appear to be a git repository", MISSING),
        ("! [rejected]        HEAD -> main (fetch first)\nerror: failed to push some refs", MOVED),
        ("!\tHEAD:refs/heads/main\t[rejected] (non-fast-forward)", MOVED),
        ("! [remote rejected] HEAD -> master (pre-receive hook declined)", REJECTED),
        ("ssh: connect to host example.invalid port 22: Connection refused", TRANSIENT),
        ("fatal: unable to access 'https://example.invalid/': Could not resolve host: example.invalid", TRANSIENT),
        ("error: RPC failed; HTTP 502 curl 22 The requested URL returned error: 502", TRANSIENT),
        ("fatal: unable to access '...': The requested URL returned error: 429", TRANSIENT),
        (
            "error: RPC failed; curl 18 transfer closed with outstanding read data remaining\nfatal: early EOF",
            TRANSIENT,
        ),
        (
            "fatal: unable to access '...': Operation too slow. Less than 1 bytes/sec transferred the last 60 seconds",
            TRANSIENT,
        ),
        ("kex_exchange_identification: read: Connection reset by peer", TRANSIENT),
        ("error: RPC failed; HTTP 413 curl 22 The requested URL returned error: 413", OTHER),
        ("fatal: bad object HEAD", OTHER),
    ],
)
def test_failure_kinds(output: str, kind: str) -> None:
    assert git_channels.failure_kind(output) == kind


def test_the_telling_line_is_the_one_that_says_what_happened() -> None:
    output = "fatal: Could not read from remote repository.\nbot@example.invalid: Permission denied (publickey).\n"
    assert git_channels.telling_line(output) == "bot@example.invalid: Permission denied (publickey)."
    assert git_channels.telling_line("hint: x\nfatal: bad object HEAD\n") == "fatal: bad object HEAD"
    assert git_channels.telling_line("") == "no output"


def test_remote_heads_and_staged_changes() -> None:
    assert git_channels.remote_heads("a1\trefs/heads/main\nb2\trefs/heads/dev\nc3\trefs/tags/v1\n") == {
        "main": "a1",
        "dev": "b2",
    }
    changes = git_channels.staged_changes("A\tFormula/crcsum.rb\nM\tbucket/crcsum.json\n")
    assert changes == [("A", "Formula/crcsum.rb"), ("M", "bucket/crcsum.json")]
    assert git_channels.changes_text(changes) == "Formula/crcsum.rb (new), bucket/crcsum.json (changed)"


def result(returncode: int, stderr: str = "") -> proc.Result:
    return proc.Result(("git", "push"), returncode, "", stderr)


def test_errors_name_the_channel_and_the_variable_and_never_show_the_secret() -> None:
    plan = plan_with(Credential(HTTPS, "HOMEBREW_TAP_TOKEN", TOKEN))
    refused = git_channels.explain(plan, "git push", result(128, f"fatal: Authentication failed for {TOKEN}"))
    assert isinstance(refused, PublishError) and TOKEN not in str(refused)
    assert refused.message.startswith("homebrew: the tap https://example.invalid/tap.git refused the token")
    assert "set HOMEBREW_TAP_TOKEN" in str(refused.hint)
    missing = git_channels.explain(plan, "git ls-remote", result(128, "remote: Repository not found."))
    assert isinstance(missing, PublishError) and "tool.release.publish.homebrew.repository" in str(missing.hint)
    other = git_channels.explain(plan, "git push", result(1, f"error: something odd {TOKEN}"))
    assert isinstance(other, CommandError) and "something odd ***" in other.message
    ssh = git_channels.explain(
        plan_with(Credential(SSH, "AUR_SSH_KEY", KEY_TEXT)), "git push", result(128, "Permission denied (publickey).")
    )
    assert "refused the ssh key in AUR_SSH_KEY" in ssh.message and "an ssh key" in str(ssh.hint)


# --- retries ---------------------------------------------------------------------------------------------


class Script:
    """Results handed out in order, one per try."""

    def __init__(self, *results: proc.Result) -> None:
        self.results: Iterator[proc.Result] = iter(results)
        self.tries = 0

    def __call__(self) -> proc.Result:
        self.tries += 1
        return next(self.results)


def quick(budget: float = 300.0) -> tuple[Retrying, list[float]]:
    """A Retrying whose sleeps only advance a fake clock, and the list of waits."""
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    clock = retry.Clock(monotonic=lambda: now[0], wall=lambda: 0.0, sleep=sleep, draw=lambda: 1.0)
    return Retrying(retry.Policy(budget_seconds=budget, base_delay=2.0, max_delay=8.0), clock), waits


def test_network_faults_are_tried_again_with_growing_waits() -> None:
    script = Script(
        result(128, "fatal: unable to access '...': Could not resolve host: example.invalid"),
        result(128, "ssh: connect to host x port 22: Connection refused"),
        result(0),
    )
    retrying, waits = quick()
    done = git_channels.with_retries(script, channel="aur", what="git fetch", retrying=retrying, secrets=())
    assert done.ok and script.tries == 3 and waits == [2.0, 4.0]


def test_other_failures_are_returned_at_once() -> None:
    for output in ("fatal: Authentication failed", "! [rejected] HEAD -> main (fetch first)", "fatal: bad object"):
        script = Script(result(128, output))
        retrying, waits = quick()
        done = git_channels.with_retries(script, channel="aur", what="git push", retrying=retrying, secrets=())
        assert not done.ok and script.tries == 1 and waits == []


def test_a_fault_that_outlasts_the_budget_is_one_error_with_the_secret_masked() -> None:
    script = Script(*[result(128, f"fatal: unable to access 'https://x:{TOKEN}@h/': Connection refused")] * 10)
    retrying, waits = quick(budget=10.0)
    with pytest.raises(PublishError) as caught:
        git_channels.with_retries(script, channel="scoop", what="git push", retrying=retrying, secrets=(TOKEN,))
    assert caught.value.message.startswith("scoop: git push failed: fatal: unable to access 'https://x:***@h/'")
    assert "retry budget 10 s" in caught.value.message and TOKEN not in str(caught.value)
    # Waits of 2 and 4 s; the next (8 s) would end past the 10 s budget, so it is not started.
    assert waits == [2.0, 4.0] and script.tries == 3

"""The release announcement: what it says, the texts it renders, the post's length, and the webhook post.

The webhook is exercised against a stand-in session here (statuses, headers and bodies chosen per
test); tests/integration/test_release_announce.py posts to a real local HTTP server.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from tooling import proc
from tooling.config import ReleaseConfig, build_config
from tooling.errors import ConfigError, PublishError
from tooling.publish import retry
from tooling.release import announce
from tooling.release.announce import POST_LIMIT, Upgrade

REPOSITORY = "https://github.com/ann/crcsum"
SECRET_PATH = "/services/T0AAA/B0BBB/canary-webhook-secret-5d1e"
HOOK_URL = "https://hooks.example.org" + SECRET_PATH
VARIABLE = "RELEASE_WEBHOOK_URL"

ALL_PACKAGES = ["homebrew", "scoop", "chocolatey", "winget", "binstall", "deb", "rpm", "snap", "aur"]


def make_config(tmp_path: Path, **table: Any) -> ReleaseConfig:
    """A crate with every target, every channel and the install scripts, changed by `table`."""
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "main.rs").write_text("fn main() {}\n")
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "crcsum"\nversion = "1.2.0"\ndescription = "Print CRC-32 checksums"\n'
        f'license = "MIT"\nrepository = "{REPOSITORY}.git"\nauthors = ["Ann <ann@example.org>"]\n'
    )
    base: dict[str, Any] = {
        "crate": "Cargo.toml",
        "install-scripts": True,
        "packages": {
            "channels": ALL_PACKAGES,
            "homebrew": {"tap": "ann/homebrew-tap"},
            "scoop": {"bucket": "ann/scoop-bucket"},
            "winget": {"identifier": "Ann.Crcsum"},
        },
        "publish": {"channels": ["homebrew", "scoop", "cargo"]},
    }
    return build_config({**base, **table}, tmp_path, {})


def data_for(config: ReleaseConfig, version: str = "1.2.0", **changes: Any) -> announce.AnnouncementInput:
    arguments: dict[str, Any] = {
        "version": version,
        "previous": "1.1.0",
        "highlights": ["add --json output", "read files over 4 GiB"],
        "migration_guide": "docs/migrations/1.1.0-to-1.2.0.md",
        **changes,
    }
    return announce.announcement_input(config, **arguments)


@pytest.fixture
def config(tmp_path: Path) -> ReleaseConfig:
    return make_config(tmp_path)


# --- what the announcement says ---------------------------------------------------------------


def test_input_links_the_release_page_and_the_guide_at_the_tag(config: ReleaseConfig) -> None:
    data = data_for(config)
    assert (data.name, data.version, data.tag, data.previous, data.prerelease) == (
        "crcsum",
        "1.2.0",
        "v1.2.0",
        "1.1.0",
        False,
    )
    assert data.release_url == f"{REPOSITORY}/releases/tag/v1.2.0"
    assert data.migration_guide_url == f"{REPOSITORY}/blob/v1.2.0/docs/migrations/1.1.0-to-1.2.0.md"
    assert data.highlights == ("add --json output", "read files over 4 GiB")


def test_input_follows_the_tag_prefix_and_tidies_highlights(tmp_path: Path) -> None:
    config = make_config(tmp_path, versioning={"tag-prefix": "crcsum-v"})
    data = data_for(config, highlights=["  two\n lines ", "", "   "], migration_guide=None)
    assert data.tag == "crcsum-v1.2.0"
    assert data.release_url == f"{REPOSITORY}/releases/tag/crcsum-v1.2.0"
    assert data.migration_guide_url is None
    assert data.highlights == ("two lines",)
    assert data.upgrade_commands["install.sh"].endswith("/releases/download/crcsum-v1.2.0/install.sh | sh")


def test_a_stable_release_upgrades_every_channel_in_order(config: ReleaseConfig) -> None:
    commands = data_for(config).upgrade_commands
    download = f"{REPOSITORY}/releases/download/v1.2.0"
    assert list(commands) == [
        "install.sh",
        "install.ps1",
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
    ]
    assert commands == {
        "install.sh": f"curl -fsSL {download}/install.sh | sh",
        "install.ps1": f'powershell -ExecutionPolicy Bypass -c "irm {download}/install.ps1 | iex"',
        "homebrew": "brew upgrade ann/tap/crcsum",
        "scoop": "scoop update crcsum",
        "winget": "winget upgrade --id Ann.Crcsum",
        "chocolatey": "choco upgrade crcsum",
        "cargo": "cargo install --locked crcsum",
        "binstall": "cargo binstall crcsum",
        "aur": "yay -S crcsum-bin",
        "deb": "sudo apt install ./crcsum_1.2.0_amd64.deb",
        "rpm": "sudo dnf install ./crcsum-1.2.0-1.x86_64.rpm",
        "snap": "sudo snap refresh crcsum",
    }


def test_a_prerelease_names_each_channels_track(config: ReleaseConfig) -> None:
    data = data_for(config, "1.3.0-beta.1")
    commands = data.upgrade_commands
    assert data.prerelease
    # winget and aur skip prereleases by default; homebrew and scoop publish them under a name of their own.
    assert "winget" not in commands and "aur" not in commands
    assert commands["homebrew"] == "brew install ann/tap/crcsum-beta"
    assert commands["scoop"] == "scoop install crcsum-beta"
    assert commands["chocolatey"] == "choco upgrade crcsum --pre"
    assert commands["cargo"] == "cargo install --locked crcsum@1.3.0-beta.1"
    assert commands["binstall"] == "cargo binstall crcsum@1.3.0-beta.1"
    assert commands["deb"] == "sudo apt install ./crcsum_1.3.0~beta.1_amd64.deb"
    assert commands["rpm"] == "sudo dnf install ./crcsum-1.3.0~beta.1-1.x86_64.rpm"
    assert commands["snap"] == "sudo snap refresh crcsum --beta"


def test_separate_prerelease_tracks_and_own_names(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        packages={
            "channels": ["homebrew", "winget", "aur", "deb", "chocolatey"],
            "homebrew": {"formula": "crc", "prerelease": "skip"},
            "winget": {"identifier": "Ann.Crcsum", "prerelease": "separate"},
            "aur": {"package": "crc-bin", "prerelease": "separate"},
            "deb": {"package": "crc-tools", "linux-libc": "gnu"},
            "chocolatey": {"id": "crc.portable"},
        },
        publish={"channels": ["cargo"], "cargo": {"registry": "my-registry"}, "homebrew": {}},
        **{"install-scripts": False},
    )
    assert data_for(config, "2.0.0-rc.1").upgrade_commands == {
        "winget": "winget install --id Ann.Crcsum.Rc",
        "chocolatey": "choco upgrade crc.portable --pre",
        "cargo": "cargo install --locked crcsum@2.0.0-rc.1 --registry my-registry",
        "aur": "yay -S crc-beta-bin",  # the AUR names every prerelease track -beta
        "deb": "sudo apt install ./crc-tools_2.0.0~rc.1_amd64.deb",
    }
    assert data_for(config).upgrade_commands["homebrew"] == "brew upgrade crc"


def test_only_what_the_release_reaches(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        targets=["aarch64-unknown-linux-musl", "x86_64-pc-windows-gnu"],
        packages={"channels": ["deb", "rpm", "scoop"], "scoop": {"bucket": "ann/b"}},
        publish={"channels": []},
    )
    commands = data_for(config).upgrade_commands
    # deb and rpm are made for arm64 alone: the only Linux target.
    assert list(commands) == ["install.sh", "install.ps1", "scoop", "deb", "rpm"]
    assert commands["deb"] == "sudo apt install ./crcsum_1.2.0_arm64.deb"
    assert commands["rpm"] == "sudo dnf install ./crcsum-1.2.0-1.aarch64.rpm"
    linux_only = make_config(tmp_path, targets=["x86_64-unknown-linux-musl"], packages={}, publish={})
    assert list(data_for(linux_only).upgrade_commands) == ["install.sh"]


def test_install_scripts_come_from_the_download_url(tmp_path: Path) -> None:
    config = make_config(tmp_path, packages={"download-url": "https://dl.example.org/{version}/{file}"})
    assert data_for(config).upgrade_commands["install.sh"] == "curl -fsSL https://dl.example.org/1.2.0/install.sh | sh"


def test_the_tap_comes_from_its_repository_when_set(tmp_path: Path) -> None:
    config = make_config(tmp_path, publish={"homebrew": {"repository": "git@github.com:ann/homebrew-tools.git"}})
    assert announce.tap_name(config) == "ann/tools"
    https = make_config(tmp_path, publish={"homebrew": {"repository": "https://git.example.org/ann/homebrew-x.git"}})
    assert announce.tap_name(https) == "ann/x"
    none = make_config(tmp_path, packages={"channels": ["homebrew"]})
    assert data_for(none).upgrade_commands["homebrew"] == "brew upgrade crcsum"


def test_winget_without_identifier_is_a_config_error(tmp_path: Path) -> None:
    config = make_config(tmp_path, packages={"channels": ["winget"]})
    with pytest.raises(ConfigError, match=r"packages\.winget\.identifier") as caught:
        data_for(config)
    assert caught.value.hint


@pytest.mark.parametrize(
    ("given", "web"),
    [
        ("https://github.com/ann/crcsum.git", REPOSITORY),
        ("https://github.com/ann/crcsum/", REPOSITORY),
        ("git@github.com:ann/crcsum.git", REPOSITORY),
        ("ssh://git@github.com/ann/crcsum.git", REPOSITORY),
        ("https://git.example.org:8443/ann/crcsum", "https://git.example.org:8443/ann/crcsum"),
    ],
)
def test_repository_web_url(given: str, web: str) -> None:
    assert announce.repository_web_url(given) == web


@pytest.mark.parametrize("given", ["", "   ", "ann/crcsum", "ftp://example.org/x", "https://[x", "https://h:99999/x"])
def test_no_release_page_without_a_repository_url(given: str) -> None:
    with pytest.raises(ConfigError) as caught:
        announce.repository_web_url(given)
    assert "repository" in caught.value.message and caught.value.hint


def test_tags_and_guides_are_quoted_in_links() -> None:
    assert announce.release_page(REPOSITORY, "v1.0.0+build.5") == f"{REPOSITORY}/releases/tag/v1.0.0%2Bbuild.5"
    assert announce.guide_link(REPOSITORY, "v2.0.0", "docs\\migrations/1 to 2.md") == (
        f"{REPOSITORY}/blob/v2.0.0/docs/migrations/1%20to%202.md"
    )


# --- the texts ------------------------------------------------------------------------------------


def test_both_texts_say_what_the_input_says(config: ReleaseConfig) -> None:
    data = data_for(config, highlights=["add --json output"])
    texts = announce.render_announcements(config, data)
    assert set(texts) == {"announcement.md", "post.txt"}
    markdown = texts["announcement.md"]
    assert markdown.startswith("# crcsum 1.2.0\n") and markdown.endswith("```\n")
    assert "following 1.1.0" in markdown
    assert data.release_url in markdown and f"]({data.migration_guide_url})" in markdown
    assert "- add --json output" in markdown
    for upgrade in announce.upgrades_of(data):
        assert f"{upgrade.label}:\n\n```\n{upgrade.command}\n```" in markdown
    assert "Prerelease" not in markdown
    post = texts["post.txt"]
    assert post.startswith("crcsum 1.2.0 is out.") and post.endswith(data.release_url)
    assert len(post) < POST_LIMIT


def test_a_prerelease_says_so(config: ReleaseConfig) -> None:
    texts = announce.render_announcements(config, data_for(config, "1.3.0-beta.1", previous=None))
    assert "> **Prerelease.**" in texts["announcement.md"] and "## Try it" in texts["announcement.md"]
    assert "following" not in texts["announcement.md"]
    assert "(a prerelease, for testing)" in texts["post.txt"]


def test_a_short_post_keeps_everything(tmp_path: Path) -> None:
    config = make_config(tmp_path, packages={}, publish={"channels": ["cargo"]}, **{"install-scripts": False})
    data = data_for(config, migration_guide=None)
    post = announce.render_announcements(config, data)["post.txt"]
    assert post == (
        "crcsum 1.2.0 is out.\n\n- add --json output\n- read files over 4 GiB\n\n"
        f"Cargo: cargo install --locked crcsum\n\n{data.release_url}"
    )


def test_a_long_post_loses_highlights_from_the_end_first(tmp_path: Path) -> None:
    config = make_config(tmp_path, packages={}, publish={"channels": ["cargo"]}, **{"install-scripts": False})
    highlights = [f"change number {n:02d}: made something about the checksums better" for n in range(20)]
    data = data_for(config, highlights=highlights)
    post = announce.render_announcements(config, data)["post.txt"]
    assert len(post) < POST_LIMIT
    kept = [line[2:] for line in post.splitlines() if line.startswith("- ")]
    assert kept and kept == highlights[: len(kept)] and len(kept) < len(highlights)
    # The upgrade line and the links stay while highlights can go.
    assert "cargo install --locked crcsum" in post and post.endswith(data.release_url)
    assert data.migration_guide_url and data.migration_guide_url in post


def test_then_upgrade_lines_from_the_end(config: ReleaseConfig) -> None:
    data = data_for(config, highlights=["a highlight that goes first"])
    post = announce.render_announcements(config, data)["post.txt"]
    assert len(post) < POST_LIMIT
    assert "a highlight that goes first" not in post
    shown = [u.channel for u in announce.upgrades_of(data) if f"{u.label}: {u.command}" in post]
    assert shown and shown == list(data.upgrade_commands)[: len(shown)] and len(shown) < len(data.upgrade_commands)


def test_fit_post_drops_highlights_then_upgrades_one_at_a_time() -> None:
    calls: list[tuple[int, int]] = []

    def render(highlights: Sequence[str], upgrades: Sequence[Upgrade]) -> str:
        calls.append((len(highlights), len(upgrades)))
        return "x" * (100 * len(highlights) + 150 * len(upgrades) + 10)

    upgrades = [Upgrade(str(n), str(n), "cmd") for n in range(4)]
    text = announce.fit_post(render, ["h"] * 3, upgrades, "post.txt.j2")
    assert calls == [(3, 4), (2, 4), (1, 4), (0, 4), (0, 3)]
    assert len(text) == 460


def test_a_post_too_long_without_highlights_or_upgrades_names_its_template(tmp_path: Path) -> None:
    folder = tmp_path / "announce-templates"
    folder.mkdir()
    (folder / "post.txt.j2").write_text("{{ name }} " + "very " * 120 + "{{ release_url }}\n")
    config = make_config(tmp_path, announce={"templates": "announce-templates"})
    with pytest.raises(ConfigError) as caught:
        announce.render_announcements(config, data_for(config))
    assert str(folder / "post.txt.j2") in caught.value.message
    assert f"fewer than {POST_LIMIT}" in caught.value.message and caught.value.hint


def test_overrides_replace_only_their_own_template(tmp_path: Path) -> None:
    folder = tmp_path / "packaging" / "announce"
    folder.mkdir(parents=True)
    (folder / "announcement.md.j2").write_text(
        "{{ name }} {{ version }} ({{ tag }}){% for u in upgrades %} [{{ u.channel }}]{% endfor %}\n"
    )
    config = make_config(tmp_path, announce={"templates": "packaging/announce"}, packages={}, publish={})
    texts = announce.render_announcements(config, data_for(config))
    assert texts["announcement.md"] == "crcsum 1.2.0 (v1.2.0) [install.sh] [install.ps1]\n"
    assert texts["post.txt"].startswith("crcsum 1.2.0 is out.")  # the packaged default


def test_a_missing_template_folder_is_a_config_error(tmp_path: Path) -> None:
    config = make_config(tmp_path, announce={"templates": "nowhere"})
    with pytest.raises(ConfigError, match=r"tool\.release\.announce\.templates") as caught:
        announce.render_announcements(config, data_for(config))
    assert caught.value.hint and "post.txt.j2" in caught.value.hint


@pytest.mark.parametrize("text", ["{% if %}\n", "{{ no_such_variable }}\n"])
def test_a_broken_override_names_its_file(tmp_path: Path, text: str) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "announcement.md.j2").write_text(text)
    config = make_config(tmp_path, announce={"templates": "t"})
    with pytest.raises(ConfigError, match=r"announcement\.md\.j2") as caught:
        announce.render_announcements(config, data_for(config))
    assert caught.value.hint


# --- the webhook ---------------------------------------------------------------------------------------


def test_payload_shapes() -> None:
    assert announce.webhook_payload("slack", "hi") == {"text": "hi"}
    assert announce.webhook_payload("discord", "hi") == {"content": "hi"}
    with pytest.raises(ConfigError, match="webhook-format"):
        announce.webhook_payload("teams", "hi")


def reply(status: int, body: str = "", headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode()
    response.headers = CaseInsensitiveDict(headers or {})
    return response


class Session:
    """Answers each post with the next of `replies` (a Response, or an exception to raise); records the posts."""

    def __init__(self, *replies: requests.Response | Exception) -> None:
        self.replies = list(replies)
        self.posts: list[dict[str, Any]] = []

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        self.posts.append({"url": url, **kwargs})
        if not self.replies:
            raise AssertionError("no more posts expected")
        answer = self.replies.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class Clock:
    """retry.Clock's effects, recorded: no test waits."""

    def __init__(self) -> None:
        self.slept: list[float] = []
        self.now = 1000.0

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> retry.Clock:
        return retry.Clock(monotonic=lambda: self.now, wall=lambda: self.now, sleep=self.sleep, draw=lambda: 0.5)


def post(
    config: ReleaseConfig,
    session: Session,
    *,
    url: str | None = HOOK_URL,
    dry_run: bool = False,
    clock: Clock | None = None,
    text: str = "crcsum 1.2.0 is out.",
) -> str:
    environ = {} if url is None else {VARIABLE: url}
    return announce.post_webhook(
        config,
        text,
        environ,
        proc.Runner(dry_run=dry_run),
        session=session,  # type: ignore[arg-type]
        policy=retry.Policy(budget_seconds=60.0),
        clock=(clock or Clock()).clock(),
    )


def assert_secret_absent(*texts: str) -> None:
    for text in texts:
        assert "canary-webhook-secret" not in text and "T0AAA" not in text and "hooks.example.org" not in text


@pytest.mark.parametrize("url", [None, "", "   "])
def test_no_webhook_sends_nothing(config: ReleaseConfig, url: str | None) -> None:
    session = Session()
    assert post(config, session, url=url) == announce.NO_WEBHOOK
    assert session.posts == []


def test_slack_and_discord_bodies(tmp_path: Path) -> None:
    for webhook_format, key in (("slack", "text"), ("discord", "content")):
        config = make_config(tmp_path, announce={"webhook-format": webhook_format})
        session = Session(reply(204))
        assert post(config, session, text="hello") == f"posted to the {webhook_format} webhook in {VARIABLE}"
        (sent,) = session.posts
        assert sent["url"] == HOOK_URL and sent["json"] == {key: "hello"}
        assert sent["allow_redirects"] is False


def test_the_variable_is_configurable(tmp_path: Path) -> None:
    config = make_config(tmp_path, announce={"webhook-env": "CHAT_HOOK"})
    session = Session(reply(200, "ok"))
    environ = {"CHAT_HOOK": HOOK_URL, VARIABLE: "https://elsewhere.example.org/x"}
    detail = announce.post_webhook(config, "hi", environ, proc.Runner(), session=session)  # type: ignore[arg-type]
    assert detail == "posted to the slack webhook in CHAT_HOOK"
    assert session.posts[0]["url"] == HOOK_URL


def test_dry_run_sends_nothing_and_shows_the_body(config: ReleaseConfig, capsys: pytest.CaptureFixture[str]) -> None:
    session = Session()
    detail = post(config, session, dry_run=True, text="crcsum 1.2.0 is out.")
    assert detail == f"would post to the slack webhook in {VARIABLE} (dry run)"
    assert session.posts == []
    out, err = capsys.readouterr()
    assert json.dumps({"text": "crcsum 1.2.0 is out."}) in out + err
    assert "would post the announcement" in out + err
    assert_secret_absent(out, err, detail)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.org" + SECRET_PATH,  # plain http off this machine
        "https://user:canary-webhook-secret@hooks.example.org/x",  # a user part
        "ftp://hooks.example.org" + SECRET_PATH,
        "https://hooks.example.org:99999" + SECRET_PATH,  # a port that is no port
        "hooks.example.org" + SECRET_PATH,
    ],
)
def test_urls_a_post_may_not_go_to(config: ReleaseConfig, url: str) -> None:
    session = Session()
    with pytest.raises(ConfigError) as caught:
        post(config, session, url=url)
    assert session.posts == []
    assert VARIABLE in caught.value.message and caught.value.hint
    assert_secret_absent(caught.value.message, caught.value.hint or "")


def test_loopback_http_is_allowed(config: ReleaseConfig) -> None:
    session = Session(reply(200))
    assert post(config, session, url="http://127.0.0.1:8080/hook").startswith("posted")


def test_a_transient_failure_is_retried_after_what_the_server_asks(
    config: ReleaseConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    session = Session(
        reply(503, f"down: {SECRET_PATH}", {"Retry-After": "3"}),
        requests.exceptions.ConnectionError(f"cannot reach {HOOK_URL}"),
        reply(200, "ok"),
    )
    detail = post(config, session, clock=clock)
    assert detail == f"posted to the slack webhook in {VARIABLE} (after 3 tries)"
    assert len(session.posts) == 3
    assert clock.slept[0] == 3.0  # Retry-After; then a backoff below the first ceiling
    assert len(clock.slept) == 2 and 0 <= clock.slept[1] <= 1.0
    out, err = capsys.readouterr()
    assert "trying again" in out + err
    assert_secret_absent(out, err)


@pytest.mark.parametrize(
    ("status", "hint_says"),
    [(404, "revoked"), (403, "revoked"), (400, "webhook-format"), (302, "redirects"), (418, "again")],
)
def test_a_refusal_is_final_and_explained(config: ReleaseConfig, status: int, hint_says: str) -> None:
    session = Session(reply(status, f"no such hook {SECRET_PATH} at {HOOK_URL}"))
    with pytest.raises(PublishError) as caught:
        post(config, session)
    assert len(session.posts) == 1
    assert f"({status})" in caught.value.message and VARIABLE in caught.value.message
    assert hint_says in (caught.value.hint or "")
    assert_secret_absent(caught.value.message, caught.value.hint or "")


def test_giving_up_when_the_budget_is_spent(config: ReleaseConfig) -> None:
    session = Session(*[reply(500, HOOK_URL)] * 3, reply(429, "", {"Retry-After": "120"}))
    with pytest.raises(PublishError, match="gave up") as caught:
        post(config, session)
    assert "120 s" in caught.value.message and caught.value.hint
    assert_secret_absent(caught.value.message, caught.value.hint or "")


def test_a_url_requests_cannot_use_is_a_config_error(config: ReleaseConfig) -> None:
    session = Session(requests.exceptions.InvalidURL(HOOK_URL))
    with pytest.raises(ConfigError) as caught:
        post(config, session)
    assert len(session.posts) == 1
    assert_secret_absent(caught.value.message, caught.value.hint or "")


def test_every_part_of_the_url_that_may_hold_the_secret_is_masked() -> None:
    hook = announce.Webhook(HOOK_URL + "?token=canary-query-secret", VARIABLE, "slack")
    text = hook.mask(f"{hook.url} | {SECRET_PATH} | token=canary-query-secret | {hook.url!r}")
    assert_secret_absent(text)
    assert "canary-query-secret" not in text
    assert "hooks.example.org" not in repr(hook)

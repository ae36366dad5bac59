"""The winget publisher's decisions, without GitHub: which files, which branch, which writes, which errors.

The manifests are rendered from the fixture release (tests/packager_fixtures.py), as `invoke package` would.
The whole run against a local GitHub is in tests/integration/test_publish_winget_pr.py.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.packager_fixtures import VERSION, channel_release, channel_settings, fixture_release
from tooling import proc
from tooling.config import load_config
from tooling.config_schema import PUBLISHER_TABLES, check_table
from tooling.errors import ConfigError, GitHubError, PublishError
from tooling.packagers import winget
from tooling.publish import winget_pr
from tooling.publish.channels import ChannelJob
from tooling.publish.winget_pr import Pull, Step, Target, changes, git_blob_name, manifests_from, plan

IDENTIFIER = "Crcsum.Crcsum"
FOLDER = f"manifests/c/Crcsum/Crcsum/{VERSION}"
TOKEN = "ghp_C4naryT0kenValue0123456789abcdefXYZ"
FORK, UPSTREAM = "me/winget-pkgs", "microsoft/winget-pkgs"


def rendered(**release_changes: Any) -> dict[str, bytes]:
    """The three manifests of the fixture release, as the packages step renders them."""
    table = channel_settings("winget", identifier=IDENTIFIER)
    return winget.CHANNEL.render(channel_release("winget", table, fixture_release(**release_changes)), table)


def settings(**values: str) -> dict[str, Any]:
    """[tool.release.publish.winget], checked, defaults filled in."""
    return check_table(PUBLISHER_TABLES["winget"], {"fork": FORK, **values})


def target() -> Target:
    return winget_pr.target_of(settings(), {"WINGET_TOKEN": TOKEN})


def fork_json(**fields: Any) -> dict[str, Any]:
    parent = {"full_name": UPSTREAM}
    return {"full_name": FORK, "default_branch": "master", "fork": True, "parent": parent, "source": parent, **fields}


# --- what is proposed ------------------------------------------------------------------------------


def test_the_rendered_manifests_are_read_with_their_identifier_version_and_branch() -> None:
    manifests = manifests_from(rendered(), VERSION)
    assert (manifests.identifier, manifests.version, manifests.folder) == (IDENTIFIER, VERSION, FOLDER)
    assert sorted(manifests.files) == [
        f"{FOLDER}/{IDENTIFIER}.installer.yaml",
        f"{FOLDER}/{IDENTIFIER}.locale.en-US.yaml",
        f"{FOLDER}/{IDENTIFIER}.yaml",
    ]
    assert manifests.files == rendered()
    assert manifests.branch == f"{IDENTIFIER}-{VERSION}"
    assert manifests.title == f"New version: {IDENTIFIER} version {VERSION}"


def test_the_manifests_are_read_from_the_channels_folder(tmp_path: Path) -> None:
    for path, data in rendered().items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    assert winget_pr.read_manifests(tmp_path, VERSION).files == rendered()
    with pytest.raises(PublishError, match="winget: dist/packages/winget/ holds no manifests"):
        winget_pr.read_manifests(tmp_path / "absent", VERSION)


def test_a_separate_prerelease_package_is_read_too() -> None:
    table = channel_settings("winget", identifier=IDENTIFIER, prerelease="separate")
    release = channel_release("winget", table, fixture_release("2.0.0-beta.1"))
    manifests = manifests_from(winget.CHANNEL.render(release, table), "2.0.0-beta.1")
    assert manifests.identifier == f"{IDENTIFIER}.Beta"
    assert manifests.branch == f"{IDENTIFIER}.Beta-2.0.0-beta.1"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda files: {}, "holds no manifests"),
        (lambda files: {**files, "manifests/o/Other/Tool/1.0/Other.Tool.yaml": b"x"}, "more than one folder"),
        (lambda files: {k: v for k, v in files.items() if "installer" not in k}, "does not hold the three"),
        (lambda files: {**files, f"{FOLDER}/{IDENTIFIER}.locale.de-DE.yaml": b"x"}, "does not hold the three"),
        (lambda files: {k.replace("manifests/c/", "manifests/x/"): v for k, v in files.items()}, "not in manifests/"),
        (lambda files: {k.replace("manifests/c/", ""): v for k, v in files.items()}, "not in manifests/"),
    ],
)
def test_a_folder_that_is_not_what_the_packager_makes_is_refused(change: Any, problem: str) -> None:
    with pytest.raises(PublishError, match=problem) as caught:
        manifests_from(change(rendered()), VERSION)
    assert caught.value.message.startswith("winget: ") and "invoke package" in (caught.value.hint or "")


def test_manifests_of_another_version_are_refused() -> None:
    with pytest.raises(PublishError, match=f"holds the manifests of version {VERSION}, and this release is 9.9.9"):
        manifests_from(rendered(), "9.9.9")


@pytest.mark.parametrize(
    ("identifier", "version", "branch"),
    [
        ("Ann.MyTool", "1.2.0", "Ann.MyTool-1.2.0"),
        ("Ann.MyTool", "1.2.0-rc.1+build.5", "Ann.MyTool-1.2.0-rc.1+build.5"),
        ("Ann.MyTool", "1.0 beta~1", "Ann.MyTool-1.0-beta-1"),
        ("Ann.MyTool", "1..2^3", "Ann.MyTool-1.2-3"),
        ("Ann.MyTool", "1.0.", "Ann.MyTool-1.0"),
        ("Ann.MyTool", "2.lock", "Ann.MyTool-2"),
    ],
)
def test_the_branch_is_identifier_dash_version_as_git_allows(identifier: str, version: str, branch: str) -> None:
    assert winget_pr.branch_name(identifier, version) == branch


def test_git_blob_names_are_gits() -> None:
    # `printf 'hello\n' | git hash-object --stdin`, and git's name of the empty file.
    assert git_blob_name(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"
    assert git_blob_name(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def test_changes_write_what_differs_and_delete_what_is_extra() -> None:
    local = {"a.yaml": b"a\n", "b.yaml": b"b\n"}
    same = {path: git_blob_name(data) for path, data in local.items()}
    assert changes(local, same) == {}
    assert changes(local, {}) == local
    assert changes(local, {**same, "b.yaml": git_blob_name(b"old\n")}) == {"b.yaml": b"b\n"}
    assert changes(local, {**same, "c.yaml": "0" * 40}) == {"c.yaml": None}


def test_the_pull_request_body_names_the_tag_and_every_file() -> None:
    manifests = manifests_from(rendered(), VERSION)
    body = winget_pr.pull_body(manifests, f"v{VERSION}")
    assert f"released as v{VERSION}" in body
    assert all(f"`{path}`" in body for path in manifests.files)


# --- the decision ------------------------------------------------------------------------------------


PULL = Pull(7, "https://example.invalid/pull/7")


@pytest.mark.parametrize(
    ("head", "differs", "pull", "steps"),
    [
        (None, True, None, (Step.BRANCH, Step.OPEN)),  # first run
        ("c" * 40, False, PULL, ()),  # second run: nothing
        ("c" * 40, True, PULL, (Step.COMMIT,)),  # changed manifests: the same pull request's branch moves
        ("c" * 40, False, None, (Step.OPEN,)),  # a run stopped before the pull request, or it was closed
        ("c" * 40, True, None, (Step.COMMIT, Step.OPEN)),
        (None, True, PULL, (Step.BRANCH,)),  # the branch was deleted under an open pull request
    ],
)
def test_plan_writes_only_what_is_missing(head: str | None, differs: bool, pull: Pull | None, steps: Any) -> None:
    assert plan(head, differs, pull) == steps


def test_the_author_is_set_only_when_both_name_and_email_are() -> None:
    assert winget_pr.author_of({"author-name": "Bot", "author-email": "bot@example.invalid"}) == {
        "name": "Bot",
        "email": "bot@example.invalid",
    }
    assert winget_pr.author_of({"author-name": "Bot", "author-email": ""}) is None


# --- settings and credentials ------------------------------------------------------------------------


def test_the_target_comes_from_the_settings_and_the_named_variable() -> None:
    found = winget_pr.target_of(settings(**{"token-env": "MY_TOKEN"}), {"MY_TOKEN": f" {TOKEN}\n"})
    assert (found.fork, found.upstream, found.token_variable, found.token) == (FORK, UPSTREAM, "MY_TOKEN", TOKEN)
    assert found.fork_owner == "me"
    assert TOKEN not in repr(found)


def test_no_fork_setting_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"^winget: tool\.release\.publish\.winget\.fork is not set") as caught:
        winget_pr.target_of(check_table(PUBLISHER_TABLES["winget"], {}), {"WINGET_TOKEN": TOKEN})
    assert "fork = " in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"fork": "winget-pkgs"}, r"fork = 'winget-pkgs' is not owner/repo"),
        ({"upstream": "https://example.invalid/x/y"}, "upstream = .* is not owner/repo"),
        ({"fork": "Microsoft/Winget-Pkgs"}, "fork is the upstream itself"),
    ],
)
def test_a_malformed_setting_is_a_config_error(values: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        winget_pr.target_of(settings(**values), {"WINGET_TOKEN": TOKEN})


@pytest.mark.parametrize("environ", [{}, {"WINGET_TOKEN": "  "}, {"GITHUB_TOKEN": TOKEN}])
def test_no_token_names_the_variable_to_set(environ: dict[str, str]) -> None:
    with pytest.raises(GitHubError, match=r"^winget: no token: set WINGET_TOKEN \(tool\.release\.publish\.winget"):
        winget_pr.target_of(settings(), environ)


def test_the_api_is_githubs_unless_named_and_the_token_is_only_ours() -> None:
    environ = {"GITHUB_REPOSITORY": "acme/tool", "GITHUB_TOKEN": "ghp_someone_elses", "GH_TOKEN": "x"}
    found = winget_pr.api_settings(target(), FORK, environ)
    assert (found.api_url, found.repository, found.token, found.token_variable) == (
        "https://api.github.com",
        FORK,
        TOKEN,
        "WINGET_TOKEN",
    )
    local = winget_pr.api_settings(target(), UPSTREAM, {"RELEASE_WINGET_API_URL": "http://127.0.0.1:8080/"})
    assert (local.api_url, local.repository) == ("http://127.0.0.1:8080", UPSTREAM)
    with pytest.raises(ConfigError, match=r"RELEASE_WINGET_API_URL = 'http://example\.invalid' would send the token"):
        winget_pr.api_settings(target(), FORK, {"RELEASE_WINGET_API_URL": "http://example.invalid"})


def test_a_github_enterprise_api_url_does_not_lead_winget_away_from_github() -> None:
    """winget-pkgs is on github.com: GITHUB_API_URL and GITHUB_SERVER_URL of an Enterprise runner are not read."""
    enterprise = {
        "GITHUB_API_URL": "https://ghe.example.invalid/api/v3",
        "GITHUB_SERVER_URL": "https://ghe.example.invalid",
    }
    found = winget_pr.api_settings(target(), UPSTREAM, enterprise)
    assert (found.api_url, found.repository) == ("https://api.github.com", UPSTREAM)


# --- GitHub's replies, judged ----------------------------------------------------------------------------


def test_a_fork_of_the_upstream_passes() -> None:
    assert winget_pr.check_fork(fork_json(), target()) == winget_pr.Repository(FORK, "master")
    # A fork of a fork of the upstream: its source is the upstream.
    assert winget_pr.check_fork(fork_json(parent={"full_name": "you/winget-pkgs"}), target()).full_name == FORK


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"fork": False, "parent": None, "source": None}, f"{FORK} is not a fork"),
        ({"parent": {"full_name": "x/y"}, "source": {"full_name": "x/y"}}, f"{FORK} is a fork of x/y"),
    ],
)
def test_a_repository_that_is_no_fork_of_the_upstream_is_refused(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(PublishError, match=f"^winget: {problem}, and the pull request must come from a fork") as caught:
        winget_pr.check_fork(fork_json(**fields), target())
    assert "tool.release.publish.winget.fork" in (caught.value.hint or "")


def test_a_token_that_may_not_push_to_the_fork_is_refused() -> None:
    with pytest.raises(GitHubError, match="the token in WINGET_TOKEN may not push to me/winget-pkgs"):
        winget_pr.check_fork(fork_json(permissions={"admin": False, "pull": True, "push": False}), target())


def test_a_folder_listing_keeps_files_only() -> None:
    listing = [
        {"type": "file", "path": f"{FOLDER}/a.yaml", "sha": "1" * 40},
        {"type": "dir", "path": f"{FOLDER}/sub", "sha": "2" * 40},
    ]
    assert winget_pr.folder_files(listing, FOLDER) == {f"{FOLDER}/a.yaml": "1" * 40}
    with pytest.raises(GitHubError, match="is not a list of files"):
        winget_pr.folder_files({"type": "file"}, FOLDER)


def test_a_client_error_says_winget_once_and_a_refusal_gets_this_channels_hint() -> None:
    refused = GitHubError(f"GitHub refused the pull request in {UPSTREAM}: POST ... (403 Forbidden) {TOKEN}", hint="x")
    error = winget_pr._channel_error(refused, target())
    assert error.message.startswith("winget: GitHub refused") and TOKEN not in error.message
    assert "WINGET_TOKEN" in (error.hint or "") and "open pull requests" in (error.hint or "")
    again = winget_pr._channel_error(error, target())
    assert again.message.count("winget: ") == 1


# --- the run, up to the first request -------------------------------------------------------------------


def job(tmp_path: Path, **changes: Any) -> ChannelJob:
    config = dataclasses.replace(load_config(ROOT, {}), version=VERSION)
    for path, data in rendered().items():
        (tmp_path / "winget" / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "winget" / path).write_bytes(data)
    base = ChannelJob(
        channel="winget",
        files=tmp_path / "winget",
        config=config,
        settings=settings(),
        tag=f"v{VERSION}",
        # An address nothing listens on: these tests must fail before any request.
        environ={"WINGET_TOKEN": TOKEN, "RELEASE_WINGET_API_URL": "http://127.0.0.1:9"},
        runner=proc.Runner(),
        scratch=tmp_path / "scratch",
    )
    return dataclasses.replace(base, **changes)


def test_settings_and_files_are_checked_before_github_is_asked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="fork is not set"):
        winget_pr.publish(job(tmp_path, settings=settings(fork="")))
    with pytest.raises(GitHubError, match="no token"):
        winget_pr.publish(job(tmp_path, environ={}))
    with pytest.raises(PublishError, match="holds no manifests"):
        winget_pr.publish(job(tmp_path, files=tmp_path / "empty"))


def test_a_manifest_that_cannot_be_read_is_a_publish_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = job(tmp_path).files

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(PublishError, match=r"^winget: .* cannot be read: .*\.yaml: Permission denied") as caught:
        winget_pr.read_manifests(files, VERSION)
    assert "invoke package" in (caught.value.hint or "")

"""The winget publisher against a local GitHub: the manifests `invoke package` made, proposed to winget-pkgs.

The fake GitHub of tests/github_fake holds the upstream (its default branch is "master", as winget-pkgs'
is, with files of its own) and the token user's fork of it; it checks every request and reply against
GitHub's OpenAPI description. Each test copies dist/packages/winget/ of the session's release folder
(`package_dist`) and publishes it with the repository's own configuration, then checks what GitHub
ends up holding: one pull request whose branch holds exactly the rendered bytes, nothing written by
a second run, the same pull request updated after a change, faults survived without a duplicate, a
rejected token explained once, and the token nowhere in the output or in any file.
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
import random
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, require_tool
from tests.github_fake import FakeGitHub, Faults, running_fake_github
from tests.github_fake.state import RepoState, fake_sha
from tooling import proc
from tooling.config import load_config
from tooling.config_schema import PUBLISHER_TABLES, check_table
from tooling.errors import ConfigError, GitHubError, PublishError
from tooling.publish import retry
from tooling.publish.channels import PUBLISHED, UNCHANGED, WOULD_PUBLISH, ChannelJob, Outcome, load
from tooling.publish.winget_pr import git_blob_name, publish

pytestmark = pytest.mark.integration

UPSTREAM = str(PUBLISHER_TABLES["winget"].fields["upstream"].default)  # the configuration's default
UPSTREAM_BRANCH = "master"
VARIABLE = "WINGET_TOKEN"
# What the upstream holds before any run: another package's manifest and a file at the top.
UPSTREAM_FILES = {
    "README.md": b"# the community repository\n",
    "manifests/o/Other/Tool/1.0.0/Other.Tool.yaml": b"PackageIdentifier: Other.Tool\nPackageVersion: 1.0.0\n",
}
WRITES = ("POST", "PATCH", "PUT", "DELETE")
NO_WAIT = retry.Clock(sleep=lambda seconds: None)


def give_up_at_once() -> retry.Clock:
    """A clock on which every look is 1000 s after the last: a request's second failure is past its retry budget."""
    later = itertools.count(0, 1000)
    return retry.Clock(sleep=lambda seconds: None, monotonic=lambda: float(next(later)))


@pytest.fixture(scope="module")
def built_dist(package_dist: Path) -> Path:
    """The session's release folder, never changed here (each test copies its winget folder)."""
    return package_dist


@dataclass
class Scene:
    """The fake GitHub with the upstream and the fork, the channel's files and a job to publish them."""

    gh: FakeGitHub
    upstream: RepoState
    fork: RepoState
    files: Path
    job: ChannelJob

    def manifests(self) -> dict[str, bytes]:
        """dist/packages/winget/'s files as repository paths -> bytes."""
        return {p.relative_to(self.files).as_posix(): p.read_bytes() for p in self.files.rglob("*") if p.is_file()}

    def branch(self) -> str:
        """The branch of the (first) pull request."""
        return self.upstream.pulls[1].head_ref

    def writes(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.gh.requests if r.method in WRITES]

    def run(self, **changes: object) -> Outcome:
        return publish(dataclasses.replace(self.job, **changes), clock=NO_WAIT)  # type: ignore[arg-type]


@pytest.fixture
def scene(built_dist: Path, tmp_path: Path) -> Iterator[Scene]:
    files = tmp_path / "dist" / "packages" / "winget"
    shutil.copytree(built_dist / "packages" / "winget", files)
    owner, name = UPSTREAM.split("/")
    with running_fake_github() as gh:
        upstream = gh.add_repo(
            owner, name, default_branch=UPSTREAM_BRANCH, branches={UPSTREAM_BRANCH: fake_sha("upstream")}
        )
        upstream.commit_files(UPSTREAM_BRANCH, UPSTREAM_FILES, "the upstream's content")
        fork = gh.add_fork(upstream, gh.login)
        fork.push = True
        config = load_config(ROOT)
        settings = check_table(PUBLISHER_TABLES["winget"], {"fork": fork.full_name})
        job = ChannelJob(
            channel="winget",
            files=files,
            config=config,
            settings=settings,
            tag=f"v{config.version}",
            environ={VARIABLE: gh.token, "RELEASE_WINGET_API_URL": gh.api_url},
            runner=proc.Runner(),
            scratch=tmp_path / "scratch",
        )
        yield Scene(gh, upstream, fork, files, job)


def assert_proposed(scene: Scene, pull_number: int = 1) -> None:
    """One open pull request; its branch = the upstream's files plus exactly the manifests, byte for byte."""
    (pull,) = scene.upstream.open_pulls()
    assert (pull.number, pull.base_ref) == (pull_number, UPSTREAM_BRANCH)
    assert pull.head_repo is scene.fork and pull.head_label == f"{scene.gh.login}:{pull.head_ref}"
    assert scene.fork.files(pull.head_ref) == scene.upstream.files() | scene.manifests()


# --- publishing ----------------------------------------------------------------------------------


def test_the_channel_is_found_by_name() -> None:
    assert load("winget") is publish


def test_the_first_run_syncs_the_fork_and_opens_one_pull_request_with_the_rendered_files(scene: Scene) -> None:
    scene.upstream.commit_files(UPSTREAM_BRANCH, {"NEWS.md": b"upstream moved on since the fork\n"})
    outcome = scene.run()

    (pull,) = scene.upstream.pulls.values()
    version = scene.job.config.version
    assert outcome.state == PUBLISHED and outcome.url == f"{scene.gh.api_url}/{UPSTREAM}/pull/1"
    assert pull.title == f"New version: Crcsum.Crcsum version {version}"
    assert scene.branch() == f"Crcsum.Crcsum-{version}"
    assert f"released as v{version}" in (pull.body or "")
    folder = f"manifests/c/Crcsum/Crcsum/{version}/"
    assert sorted(scene.manifests()) == [
        f"{folder}Crcsum.Crcsum.{name}" for name in ("installer.yaml", "locale.en-US.yaml", "yaml")
    ]
    assert_proposed(scene)
    # The fork was synced first, and the manifests are one commit on top of the upstream's head.
    assert scene.fork.branches[UPSTREAM_BRANCH] == scene.upstream.branches[UPSTREAM_BRANCH]
    commit = scene.fork.objects.commits[scene.fork.branches[scene.branch()]]
    assert commit.parents == (scene.upstream.branches[UPSTREAM_BRANCH],)
    assert commit.message == pull.title
    assert len(scene.gh.calls("git/create-commit")) == 1 and len(scene.gh.calls("pulls/create")) == 1


def test_a_second_run_changes_nothing(scene: Scene) -> None:
    scene.run()
    head, writes = scene.fork.branches[scene.branch()], len(scene.writes())
    outcome = scene.run()
    assert outcome.state == UNCHANGED and outcome.url.endswith("/pull/1")
    assert "#1" in outcome.detail
    assert len(scene.writes()) == writes  # not one write: no sync, no commit, no pull request
    assert scene.fork.branches[scene.branch()] == head
    assert_proposed(scene)


def test_a_changed_manifest_updates_the_same_pull_requests_branch(scene: Scene) -> None:
    scene.run()
    old_head = scene.fork.branches[scene.branch()]
    (locale,) = scene.files.rglob("*.locale.*.yaml")
    text = locale.read_text(encoding="utf-8")
    assert "ShortDescription: " in text
    locale.write_text(text.replace("ShortDescription: ", "ShortDescription: Now with more checksums. "), "utf-8")

    outcome = scene.run()
    assert outcome.state == PUBLISHED and "#1" in outcome.detail
    assert_proposed(scene)  # still the one pull request, its branch holding the new bytes
    new_head = scene.fork.objects.commits[scene.fork.branches[scene.branch()]]
    assert new_head.parents == (old_head,)  # a fast-forward of the pull request's branch
    assert len(scene.gh.calls("pulls/create")) == 1
    assert len(scene.gh.calls("git/create-blob")) == 3 + 1  # the first run's three, then only the changed one
    assert scene.run().state == UNCHANGED


def test_a_version_folder_with_a_file_too_many_loses_it(scene: Scene) -> None:
    scene.run()
    stray = f"{next(iter(scene.manifests())).rpartition('/')[0]}/Crcsum.Crcsum.locale.de-DE.yaml"
    scene.fork.commit_files(scene.branch(), {stray: b"PackageLocale: de-DE\n"})
    assert scene.run().state == PUBLISHED
    assert stray not in scene.fork.files(scene.branch())
    assert_proposed(scene)


def test_manifests_merged_upstream_already_are_left_alone(scene: Scene) -> None:
    scene.upstream.commit_files(UPSTREAM_BRANCH, scene.manifests(), "merged earlier")
    outcome = scene.run()
    assert outcome.state == UNCHANGED and UPSTREAM in outcome.detail
    assert scene.writes() == [] and scene.upstream.pulls == {}


def test_a_run_that_gave_up_before_the_pull_request_is_finished_by_the_next(scene: Scene) -> None:
    scene.gh.faults = Faults(schedule={"pulls/create": ["500", "500"]})
    with pytest.raises(GitHubError, match=r"(?s)winget: .*gave up"):
        publish(scene.job, clock=give_up_at_once())
    head = scene.fork.branches[f"Crcsum.Crcsum-{scene.job.config.version}"]
    assert scene.upstream.pulls == {}

    assert scene.run().state == PUBLISHED
    assert_proposed(scene)
    assert scene.fork.branches[scene.branch()] == head  # the branch was right: no second commit
    assert len(scene.gh.calls("git/create-commit")) == 1


def test_a_closed_pull_request_is_followed_by_a_new_one(scene: Scene) -> None:
    scene.run()
    scene.upstream.pulls[1].state = "closed"
    assert scene.run().state == PUBLISHED
    assert [(p.number, p.state) for p in scene.upstream.pulls.values()] == [(1, "closed"), (2, "open")]
    assert scene.upstream.pulls[2].head_ref == scene.upstream.pulls[1].head_ref


# --- faults --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["500", "502", "drop", "lost", "lost_drop", "429"])
def test_a_fault_on_opening_the_pull_request_ends_with_exactly_one(scene: Scene, kind: str) -> None:
    scene.gh.faults = Faults(schedule={"pulls/create": [kind]}, retry_after=0)
    assert scene.run().state == PUBLISHED
    assert_proposed(scene)
    assert len(scene.gh.calls("pulls/create")) == (1 if kind.startswith("lost") else 2)
    assert scene.gh.faults.pending() == {}


@pytest.mark.parametrize("kind", ["500", "drop", "lost", "lost_drop"])
def test_a_fault_on_creating_the_branch_is_recovered(scene: Scene, kind: str) -> None:
    scene.gh.faults = Faults(schedule={"git/create-ref": [kind]})
    assert scene.run().state == PUBLISHED
    assert_proposed(scene)
    assert len(scene.gh.calls("git/create-ref")) == (1 if kind.startswith("lost") else 2)


def test_random_faults_everywhere_still_end_with_one_pull_request(scene: Scene) -> None:
    scene.gh.faults = Faults(rates={"500": 0.15, "drop": 0.1, "lost": 0.1, "lost_drop": 0.05}, seed=11)
    assert scene.run().state == PUBLISHED
    assert sum(scene.gh.faults.injected.values()) >= 3
    assert_proposed(scene)
    scene.gh.faults = Faults()
    assert scene.run().state == UNCHANGED


# --- refusals ------------------------------------------------------------------------------------


def test_a_rejected_token_is_one_error_naming_winget_and_the_variable(
    scene: Scene, capfd: pytest.CaptureFixture[str]
) -> None:
    canary = "ghp_" + "".join(random.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=36))
    with pytest.raises(GitHubError) as caught:
        scene.run(environ={**scene.job.environ, VARIABLE: canary})
    text = str(caught.value)
    assert text.startswith("winget: ") and VARIABLE in text and "401" in text
    captured = capfd.readouterr()
    assert canary not in text + captured.out + captured.err
    assert [r.status for r in scene.gh.requests] == [401]  # the first look; nothing written, nothing retried


def test_a_fork_of_another_repository_is_refused_before_any_write(scene: Scene) -> None:
    other = scene.gh.add_repo("someone", "other-pkgs")
    stray = scene.gh.add_fork(other, scene.gh.login, "other-pkgs")
    settings = {**scene.job.settings, "fork": stray.full_name}
    with pytest.raises(PublishError, match=f"a fork of someone/other-pkgs.*must come from a fork of {UPSTREAM}"):
        scene.run(settings=settings)
    assert scene.writes() == []


def test_a_missing_fork_is_named_with_its_setting(scene: Scene) -> None:
    settings = {**scene.job.settings, "fork": f"{scene.gh.login}/no-such-fork"}
    with pytest.raises(PublishError, match=r"no-such-fork \(tool\.release\.publish\.winget\.fork\) does not exist"):
        scene.run(settings=settings)
    assert scene.writes() == []


def test_no_fork_setting_is_a_config_error(scene: Scene) -> None:
    settings = {**scene.job.settings, "fork": ""}
    with pytest.raises(ConfigError, match=r"tool\.release\.publish\.winget\.fork is not set"):
        scene.run(settings=settings)
    assert scene.gh.requests == []


def test_a_fork_that_went_its_own_way_is_explained(scene: Scene) -> None:
    scene.fork.commit_files(UPSTREAM_BRANCH, {"MINE.md": b"a commit only the fork has\n"})
    scene.upstream.commit_files(UPSTREAM_BRANCH, {"THEIRS.md": b"a commit only the upstream has\n"})
    with pytest.raises(PublishError, match=r"cannot sync .* with .*409") as caught:
        scene.run()
    assert "sync the fork" in (caught.value.hint or "")
    assert scene.upstream.pulls == {}


def test_a_token_that_may_not_push_to_the_fork_is_refused(scene: Scene) -> None:
    scene.fork.push = False
    with pytest.raises(GitHubError, match=f"winget: the token in {VARIABLE} may not push"):
        scene.run()
    assert scene.writes() == []


# --- secrets and dry runs ---------------------------------------------------------------------------


def test_the_token_appears_in_no_output_and_no_file(
    scene: Scene, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    scene.gh.faults = Faults(schedule={"pulls/create": ["lost"], "git/create-blob": ["500"]})
    scene.run()
    scene.run()
    scene.gh.faults = Faults(schedule={"repos/get": ["503", "503"]})
    with pytest.raises(GitHubError) as caught:
        publish(scene.job, clock=give_up_at_once())
    captured = capfd.readouterr()
    token = scene.gh.token
    assert "winget: syncing" in captured.err and "trying again" in captured.err  # the output that was searched
    assert token not in captured.out + captured.err + str(caught.value)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path


def test_a_dry_run_only_looks(scene: Scene, capfd: pytest.CaptureFixture[str]) -> None:
    outcome = scene.run(runner=proc.Runner(dry_run=True))
    assert outcome.state == WOULD_PUBLISH
    assert outcome.detail.endswith("would create the branch, then open the pull request")
    assert {r.method for r in scene.gh.requests} == {"GET"}
    assert scene.upstream.pulls == {} and set(scene.fork.branches) == {UPSTREAM_BRANCH}
    err = capfd.readouterr().err
    assert "would create the branch" in err and "would open the pull request" in err


def test_a_dry_run_after_a_change_shows_the_commit(scene: Scene, capfd: pytest.CaptureFixture[str]) -> None:
    scene.run()
    (locale,) = scene.files.rglob("*.locale.*.yaml")
    locale.write_bytes(locale.read_bytes() + b"# edited\n")
    requests_before = len(scene.gh.requests)
    assert scene.run(runner=proc.Runner(dry_run=True)).state == WOULD_PUBLISH
    assert {r.method for r in scene.gh.requests[requests_before:]} == {"GET"}
    assert "would commit the changed manifests" in capfd.readouterr().err


# --- the fake's git, checked against git itself --------------------------------------------------------


def test_the_fakes_object_names_are_gits(scene: Scene, tmp_path: Path) -> None:
    git = require_tool("git")
    scene.run()
    files = scene.fork.files(scene.branch())
    work = tmp_path / "work"
    for path, data in files.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_bytes(data)
    env = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin:/usr/local/bin"}
    for argv in ([git, "init", "-q", str(work)], [git, "-C", str(work), "add", "-A"]):
        subprocess.run(argv, check=True, env=env)
    tree = subprocess.run([git, "-C", str(work), "write-tree"], check=True, env=env, capture_output=True, text=True)
    assert scene.fork.tree_of(scene.branch()) == tree.stdout.strip()
    assert all(sha == git_blob_name(scene.fork.objects.blobs[sha]) for sha in scene.fork.objects.blobs)


def test_the_fake_refuses_what_github_refuses(scene: Scene) -> None:
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {scene.gh.token}", "Accept": "application/vnd.github+json"})
    fork = f"{scene.gh.api_url}/repos/{scene.fork.full_name}"
    pulls = f"{scene.gh.api_url}/repos/{UPSTREAM}/pulls"
    head = scene.fork.branches[UPSTREAM_BRANCH]

    synced = session.post(f"{fork}/merge-upstream", json={"branch": UPSTREAM_BRANCH})
    assert synced.json()["merge_type"] == "none"  # not behind
    ref = {"ref": "refs/heads/topic", "sha": head}
    assert session.post(f"{fork}/git/refs", json=ref).status_code == 201
    assert session.post(f"{fork}/git/refs", json=ref).json()["message"] == "Reference already exists"
    pull = {"title": "t", "head": f"{scene.gh.login}:topic", "base": UPSTREAM_BRANCH}
    assert "No commits between" in session.post(pulls, json=pull).json()["errors"][0]["message"]

    moved = scene.fork.commit_files("topic", {"x.txt": b"x\n"})
    assert session.post(pulls, json=pull).status_code == 201
    assert "already exists" in session.post(pulls, json=pull).json()["errors"][0]["message"]
    backwards = session.patch(f"{fork}/git/refs/heads/topic", json={"sha": head})
    assert backwards.json()["message"] == "Update is not a fast forward"
    assert session.patch(f"{fork}/git/refs/heads/topic", json={"sha": head, "force": True}).status_code == 200
    assert session.patch(f"{fork}/git/refs/heads/topic", json={"sha": moved}).status_code == 200

    listed = session.get(pulls, params={"head": f"{scene.gh.login}:topic", "state": "all"}).json()
    assert [(p["number"], p["head"]["sha"], p["base"]["ref"]) for p in listed] == [(1, moved, UPSTREAM_BRANCH)]
    assert session.get(pulls, params={"head": "someone:topic"}).json() == []
    closed = session.patch(f"{pulls}/1", json={"state": "closed"}).json()
    assert closed["state"] == "closed" and session.get(pulls).json() == []

    file = session.get(f"{fork}/contents/x.txt", params={"ref": "topic"}).json()
    assert (file["type"], base64.b64decode(file["content"]), file["sha"]) == ("file", b"x\n", git_blob_name(b"x\n"))
    assert session.get(f"{fork}/contents/x.txt").status_code == 404  # not on the default branch
    both = {"tree": [{"path": "y", "mode": "100644", "type": "blob", "sha": git_blob_name(b"x\n"), "content": "x"}]}
    assert session.post(f"{fork}/git/trees", json=both).status_code == 422

"""`invoke publish` against a local GitHub: what a maintainer relies on when the release goes out.

Every test runs `invoke publish` as a user does (a subprocess in the repository, the token in
GITHUB_TOKEN, GITHUB_API_URL pointing at the fake GitHub of tests/github_fake, which checks each
request and reply against GitHub's OpenAPI description) over a copy of the session's release
folder (`package_dist`), and checks the release GitHub ends up holding: every release file of
dist/manifest.json attached once, byte for byte, then published; re-runs after a crash, an
interruption or random faults finish the job without a duplicate; the token never appears in
any output or file; refusals end with their documented exit codes and change nothing.

Test-side instrumentation (the fake stays as it is): `Scene` counts every asset the server stores
(wrapping `state.add_asset`, so an upload whose reply was lost counts too), records the JSON body
of each API request (the publishing PATCH carries make_latest, which the fake's state does not
keep) and can slow uploads down so a run can be stopped half-way.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import ROOT, require_tool
from tests.github_fake import FakeGitHub, Faults, running_fake_github
from tooling.errors import TERMINATED_EXIT, GitHubError, GitStateError, PublishError

pytestmark = pytest.mark.integration

OWNER, REPO = "acme", "crcsum"
INVOKE = str(Path(sys.executable).parent / "invoke")
# The kinds of dist/manifest.json a GitHub release carries (the top of dist/ only).
RELEASE_KINDS = ("archive", "sbom", "installer", "checksum", "signature")
UPLOAD = "repos/upload-release-asset"
CREATE = "repos/create-release"
UPDATE = "repos/update-release"
NOTES = "The notes of this release, from a file.\n"
# A run under random faults: the seed, the retry budget per request, and the wall-clock bound (that test
# waits for real: each retry backs off up to 2**try seconds with full jitter; it took 10-17 s here).
FAULT_SEED = 3
FAULTY_BUDGET_SECONDS = 60
FAULTY_WALL_SECONDS = 60
# Variables of the caller's environment that would point a run elsewhere (a real token, CI's summary).
FOREIGN_VARIABLES = ("GITHUB_", "GH_", "RELEASE_DIST_DIR")


# --- the release folder --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built_dist(package_dist: Path) -> Path:
    """The session's release folder, never changed here (each test copies it)."""
    return package_dist


@pytest.fixture
def dist(built_dist: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "dist"
    shutil.copytree(built_dist, copy, symlinks=True)
    return copy


@dataclass(frozen=True)
class Expected:
    """An asset as the release must hold it: the local file's size and sha256."""

    size: int
    sha256: str


def release_files(dist: Path) -> dict[str, Expected]:
    """The files of dist/manifest.json a GitHub release attaches, each checked against the file on disk."""
    manifest = json.loads((dist / "manifest.json").read_text(encoding="utf-8"))
    files = {
        a["path"]: Expected(a["size"], a["sha256"])
        for a in manifest["artifacts"]
        if a["kind"] in RELEASE_KINDS and "/" not in a["path"]
    }
    for name, expected in files.items():
        data = (dist / name).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (expected.size, expected.sha256), name
    assert {"archive", "sbom", "installer", "checksum"} <= {
        a["kind"] for a in manifest["artifacts"] if a["path"] in files
    }
    return files


def tag_of(dist: Path) -> str:
    return "v" + str(json.loads((dist / "manifest.json").read_text(encoding="utf-8"))["version"])


def head_commit(repository: Path = ROOT) -> str:
    """What `invoke publish` compares the remote tag with: HEAD of the crate's repository."""
    git = require_tool("git")
    return subprocess.run([git, "-C", str(repository), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip


# --- the fake GitHub, instrumented ---------------------------------------------------------------


def canary_token() -> str:
    """A token shaped like a personal access token, unique to one test: found anywhere, it leaked."""
    return "ghp_CANARY" + secrets.token_hex(16)


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def explain(self) -> str:
        return f"exit {self.returncode} after {self.seconds:.1f} s\n--- stdout\n{self.stdout[-3000:]}\n" \
               f"--- stderr\n{self.stderr[-6000:]}"  # fmt: skip


@dataclass
class Scene:
    """One fake repository with the release tag at HEAD, a release folder, and how to run `invoke publish`."""

    gh: FakeGitHub
    dist: Path
    tmp: Path
    tag: str
    commit: str
    stored: Counter[str] = field(default_factory=Counter)  # asset name -> times the server stored it
    bodies: list[tuple[str, str, Any]] = field(default_factory=list)  # (method, path, JSON body) of API calls
    upload_delay: float = 0.0
    tokens: set[str] = field(default_factory=set)  # the fake's token and every token a run was given

    def __post_init__(self) -> None:
        self.tokens.add(self.gh.token)
        self.notes = self.tmp / "notes.md"
        self.notes.write_text(NOTES, encoding="utf-8")
        self.step_summary = self.tmp / "step-summary.md"
        state, serve = self.gh.state, self.gh.serve
        add_asset = state.add_asset

        def counting_add_asset(release: Any, name: str, data: bytes, **options: Any) -> Any:
            self.stored[name] += 1
            return add_asset(release, name, data, **options)

        def recording_serve(method: str, target: str, headers: Message, body: bytes) -> Any:
            if "/uploads/" in target and self.upload_delay:
                time.sleep(self.upload_delay)  # before storing: a stopped client may leave it in flight
            elif body and headers.get("Content-Type", "").startswith("application/json"):
                self.bodies.append((method, urlsplit(target).path, json.loads(body)))
            return serve(method, target, headers, body)

        state.add_asset = counting_add_asset  # type: ignore[method-assign]
        self.gh.serve = recording_serve  # type: ignore[method-assign]

    def env(self, token: str | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_VARIABLES)}
        env |= {
            "GITHUB_API_URL": self.gh.api_url,
            "GITHUB_REPOSITORY": f"{OWNER}/{REPO}",
            "GITHUB_STEP_SUMMARY": str(self.step_summary),
        }
        if token is not None:
            self.tokens.add(token)
            env["GITHUB_TOKEN"] = token
        return env | dict(extra or {})

    def argv(self, *options: str, notes: bool = True) -> list[str]:
        given = ["--notes", str(self.notes)] if notes else []
        return [INVOKE, "publish", "--dist", str(self.dist), "--unsigned", *given, *options]

    def publish(
        self, *options: str, token: str | None = "", notes: bool = True, cwd: Path = ROOT,
        extra_env: Mapping[str, str] | None = None, timeout: float = 120,
    ) -> Run:  # fmt: skip
        """Run `invoke publish` to its end. token "": the fake's own; None: no token at all."""
        self.step_summary.unlink(missing_ok=True)
        env = self.env(self.gh.token if token == "" else token, extra_env)
        started = time.monotonic()
        done = subprocess.run(self.argv(*options, notes=notes), cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)  # fmt: skip
        run = Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)
        self.assert_no_leak(run)
        return run

    def assert_no_leak(self, run: Run) -> None:
        """No token given to any run so far is in this run's output or in any file of the test's folders."""
        for token in self.tokens:
            assert token not in run.output, "the token leaked into the output:\n" + run.explain()
        leaked = [str(path) for path in files_holding(self.tmp, [t.encode() for t in self.tokens])]
        assert not leaked, f"the token leaked into {leaked}"

    # --- what GitHub holds ---

    def releases(self) -> list[Any]:
        return list(self.gh.state.releases.values())

    def release(self) -> Any:
        """The one release of the tag (a second one would be a duplicate)."""
        releases = self.releases()
        assert [r.tag_name for r in releases] == [self.tag], "expected exactly one release"
        return releases[0]

    def assets(self) -> dict[str, Expected]:
        """The release's assets by name, each name once, all stored completely."""
        assets = self.gh.state.assets_of(self.release().id)
        names = [a.name for a in assets]
        assert len(names) == len(set(names)), f"an asset name twice: {sorted(names)}"
        assert all(a.state == "uploaded" for a in assets)
        return {a.name: Expected(len(a.data), a.digest.removeprefix("sha256:")) for a in assets}

    def assert_released(self, expected: Mapping[str, Expected]) -> None:
        """Published, with exactly the release files, byte for byte, each stored by the server once."""
        release = self.release()
        assert (release.draft, release.prerelease) == (False, False)
        assert release.published_at is not None
        assert self.assets() == expected
        assert {name: n for name, n in self.stored.items() if n != 1} == {}, "an asset was stored twice"

    def writes(self, since: int = 0) -> list[str]:
        """The requests that change something (all but GET), from request number `since` on."""
        return [f"{r.method} {r.operation_id}" for r in self.gh.requests[since:] if r.method != "GET"]

    def summary_table(self, title: str) -> list[dict[str, str]]:
        """The rows of the Markdown table `title` the run appended to $GITHUB_STEP_SUMMARY."""
        sections = self.step_summary.read_text(encoding="utf-8").split("### ")
        found = [section for section in sections if section.startswith(title + "\n")]
        assert len(found) == 1, f"no single table {title!r} in the step summary:\n{sections}"
        lines = [line.strip().strip("|") for line in found[0].splitlines() if line.startswith("| ")]
        header, *rows = [[cell.strip() for cell in line.split(" | ")] for line in lines]
        return [dict(zip(header, row, strict=True)) for row in rows]

    def asset_actions(self) -> dict[str, str]:
        """asset -> what the run did with it (uploaded, skipped ...), from its GitHub release table."""
        return {row["asset"]: row["action"] for row in self.summary_table(f"GitHub release {self.tag}")}

    def github_step(self) -> dict[str, str]:
        """The GitHub release's row of the closing table of every publish step."""
        rows = self.summary_table(f"{REPO} {self.tag.removeprefix('v')}: published")
        return next(row for row in rows if row["channel"] == "github")

    def publishing_patch(self) -> dict[str, Any]:
        patches = [body for method, _, body in self.bodies if method == "PATCH" and body.get("draft") is False]
        assert len(patches) == 1, patches
        return dict(patches[0])


def files_holding(folder: Path, needles: list[bytes]) -> Iterator[Path]:
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(needle in data for needle in needles):
                yield path


@pytest.fixture
def scene(dist: Path, tmp_path: Path) -> Iterator[Scene]:
    """The fake repository acme/crcsum with the tag at HEAD, its token a canary."""
    with running_fake_github(owner=OWNER, repo=REPO) as gh:
        gh.token = canary_token()
        tag, commit = tag_of(dist), head_commit()
        gh.state.add_tag(tag, commit, message=f"Release {tag}")
        yield Scene(gh, dist, tmp_path, tag, commit)


def upload_names(scene: Scene) -> list[str]:
    return [parse_qs(urlsplit(r.path).query)["name"][0] for r in scene.gh.calls(UPLOAD)]


# --- a clean release, and a re-run ---------------------------------------------------------------


def test_a_clean_release_attaches_every_release_file_once_and_publishes_it(scene: Scene) -> None:
    expected = release_files(scene.dist)
    run = scene.publish()
    assert run.returncode == 0, run.explain()
    scene.assert_released(expected)
    release = scene.release()
    assert (release.name, release.body, release.target_commitish) == (scene.tag, NOTES, scene.commit)
    # The only stable release of the repository: GitHub is told it is the latest.
    patch = scene.publishing_patch()
    assert (patch["draft"], patch["prerelease"], patch["make_latest"]) == (False, False, "true")
    assert scene.asset_actions() == dict.fromkeys(expected, "uploaded")
    assert scene.github_step()["detail"] == "published as latest release"
    assert f"published {scene.tag}" in run.stderr
    assert sorted(upload_names(scene)) == sorted(expected)
    assert [c.status for c in scene.gh.calls(CREATE)] == [201]

    # Nothing left to do: a second run changes nothing (dist/manifest.json says the release is done) ...
    before = len(scene.gh.requests)
    again = scene.publish()
    assert again.returncode == 0, again.explain()
    assert scene.writes(before) == []
    assert scene.github_step()["state"] == "done earlier"
    # ... and one told to check GitHub again finds every asset there and only reads.
    checked = scene.publish("--only", "github")
    assert checked.returncode == 0, checked.explain()
    assert scene.writes(before) == []
    assert "published already" in checked.stderr
    assert scene.asset_actions() == dict.fromkeys(expected, "skipped")
    scene.assert_released(expected)


def test_without_notes_the_release_body_is_what_invoke_notes_renders(scene: Scene, tmp_path: Path) -> None:
    """The notes come from git history. This repository has no release tag, so `invoke notes` needs one:
    the test runs in a clone of HEAD with the tag made there (the clone imports this checkout's tooling)."""
    git = require_tool("git")
    require_tool("git-cliff", "invoke notes renders the history with git-cliff")
    clone = tmp_path / "clone"
    subprocess.run([git, "clone", "-q", str(ROOT), str(clone)], check=True)
    subprocess.run([git, "-C", str(clone), "tag", scene.tag], check=True)
    rendered = tmp_path / "rendered.md"
    made = subprocess.run([INVOKE, "notes", "--output", str(rendered)], cwd=clone, env=scene.env(None),
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert made.returncode == 0, made.stderr

    run = scene.publish(notes=False, cwd=clone)
    assert run.returncode == 0, run.explain()
    scene.assert_released(release_files(scene.dist))
    body = scene.release().body
    assert body.strip() == rendered.read_text(encoding="utf-8").strip()
    assert "## " in body  # rendered sections, not an empty body


# --- interrupted runs converge ---------------------------------------------------------------------


def test_a_run_that_fails_half_way_leaves_a_draft_and_the_rerun_finishes_it(scene: Scene) -> None:
    expected = release_files(scene.dist)
    half = len(expected) // 2
    # About half the uploads go through; then the server fails every upload until the budget is spent.
    scene.gh.faults = Faults(schedule={UPLOAD: ["ok"] * half + ["503"] * 1000})
    first = scene.publish("--retry-budget", "1")
    assert first.returncode == GitHubError.exit_code, first.explain()
    assert "gave up" in first.stderr and "503" in first.stderr
    assert "run the same command again" in first.stderr
    assert "Traceback" not in first.output
    release = scene.release()
    assert release.draft, "a release missing assets was published"
    assert len(scene.assets()) == half

    scene.gh.faults = Faults()
    second = scene.publish()
    assert second.returncode == 0, second.explain()
    scene.assert_released(expected)
    assert Counter(scene.asset_actions().values()) == {"skipped": half, "uploaded": len(expected) - half}
    assert [c.status for c in scene.gh.calls(CREATE)] == [201], "the re-run made a second draft"


def test_a_run_stopped_by_sigterm_mid_upload_is_finished_by_the_rerun(scene: Scene) -> None:
    expected = release_files(scene.dist)
    scene.upload_delay = 0.3  # each upload takes a while: the run is stopped with some in flight
    env = scene.env(scene.gh.token)
    process = subprocess.Popen(scene.argv("--jobs", "2"), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(scene.gh.state.assets) < len(expected) // 2 and process.poll() is None:
            assert time.monotonic() < deadline, "uploads did not start"
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    first = Run(process.returncode, stdout, stderr, 0.0)
    scene.assert_no_leak(first)
    assert first.returncode == TERMINATED_EXIT, first.explain()
    assert "error: terminated" in first.stderr and "Traceback" not in first.output
    assert scene.release().draft
    time.sleep(2 * scene.upload_delay)  # an upload the server was still handling lands now, reply unread
    assert 0 < len(scene.assets()) < len(expected)

    scene.upload_delay = 0.0
    second = scene.publish()
    assert second.returncode == 0, second.explain()
    scene.assert_released(expected)


# --- faults ------------------------------------------------------------------------------------------


def test_random_faults_on_every_request_still_give_a_complete_release_in_bounded_time(scene: Scene) -> None:
    """30% 5xx (a third of them after the server did the work) and 10% dropped connections (half of them
    after it did the work), on every request, the reads of the preflight and of each recovery included.

    One upload at a time: the seeded faults then fall on the same requests in every run (with parallel
    uploads, the threads' order would decide which request draws which fault, and a long unlucky streak
    would make the test a lottery). This seed injects about 17 faults of every kind, at most two in a row
    on one request. Parallel uploads meet faults in the lost-reply and interrupted-run tests."""
    expected = release_files(scene.dist)
    rates = {"500": 0.1, "503": 0.1, "lost": 0.1, "drop": 0.05, "lost_drop": 0.05}
    scene.gh.faults = Faults(rates=rates, seed=FAULT_SEED)
    budget = ["--retry-budget", str(FAULTY_BUDGET_SECONDS), "--jobs", "1"]
    run = scene.publish(*budget, timeout=FAULTY_WALL_SECONDS + 60)
    assert run.returncode == 0, run.explain()
    assert run.seconds < FAULTY_WALL_SECONDS, f"took {run.seconds:.0f} s"
    scene.assert_released(expected)
    injected = scene.gh.faults.injected
    assert set(injected) == set(rates) and sum(injected.values()) >= 10, f"too few faults to mean much: {injected}"
    assert "trying again" in run.stderr


@pytest.mark.parametrize("create_fault", ["lost", "lost_drop", "422_exists"])
def test_lost_replies_never_make_a_second_release_or_a_second_copy_of_an_asset(scene: Scene, create_fault: str) -> None:
    """The server stored the release or the file but its reply was lost (or it said "already exists"):
    the run looks before sending again, so each is stored exactly once."""
    expected = release_files(scene.dist)
    uploads = ["lost", "ok", "lost_drop", "422_exists", "lost", "ok", "lost_drop", "lost", "422_exists"]
    scene.gh.faults = Faults(schedule={CREATE: [create_fault], UPLOAD: uploads, UPDATE: ["lost_drop"]})
    run = scene.publish("--retry-budget", "60")
    assert run.returncode == 0, run.explain()
    assert scene.gh.faults.pending() == {}, "not every scheduled fault was met"
    scene.assert_released(expected)  # one release, each asset stored once
    assert [b["draft"] for m, _, b in scene.bodies if m == "POST"] == [True] * len(scene.gh.calls(CREATE))
    # Every upload whose reply was lost was found on the release, not sent again.
    assert len(scene.gh.calls(UPLOAD)) == len(expected) + uploads.count("422_exists")


# --- the token never shows ---------------------------------------------------------------------------


def test_the_token_appears_in_no_output_or_file_even_when_runs_fail(scene: Scene) -> None:
    """Scene.publish checks every run of every test; this one adds the failing runs."""
    wrong = canary_token()
    rejected = scene.publish(token=wrong)
    assert rejected.returncode == GitHubError.exit_code, rejected.explain()
    assert "GITHUB_TOKEN" in rejected.stderr  # the variable is named, its value never

    scene.gh.faults = Faults(rates={"500": 1.0})
    storm = scene.publish("--retry-budget", "1")
    assert storm.returncode == GitHubError.exit_code, storm.explain()
    assert "gave up" in storm.stderr

    scene.gh.faults = Faults(schedule={UPLOAD: ["500"] * 1000})
    failed_uploads = scene.publish("--retry-budget", "1", "--jobs", "8")
    assert failed_uploads.returncode == GitHubError.exit_code, failed_uploads.explain()
    assert scene.tokens == {wrong, scene.gh.token}
    for run in (rejected, storm, failed_uploads):
        assert "ghp_CANARY" not in run.output
    assert not list(files_holding(scene.tmp, [b"ghp_CANARY"]))


# --- a dry run ----------------------------------------------------------------------------------------


def test_a_dry_run_only_reads_and_says_what_it_would_upload(scene: Scene) -> None:
    expected = release_files(scene.dist)
    run = scene.publish("--dry-run", token=None, extra_env={"GH_TOKEN": scene.gh.token})
    assert run.returncode == 0, run.explain()
    assert scene.gh.requests, "the dry run made no read-only checks"
    assert scene.writes() == []
    assert (scene.gh.state.releases, scene.gh.state.assets) == ({}, {})
    assert f"would create the draft release {scene.tag}" in run.stderr
    for name, asset in expected.items():
        assert f"would upload {name} ({asset.size} bytes)" in run.stderr
    assert f"would publish {scene.tag}" in run.stderr
    assert scene.asset_actions() == dict.fromkeys(expected, "would upload")


# --- refusals --------------------------------------------------------------------------------------


def test_without_a_token_nothing_is_sent(scene: Scene) -> None:
    run = scene.publish(token=None)
    assert run.returncode == GitHubError.exit_code, run.explain()
    assert "no GitHub token" in run.stderr and "GITHUB_TOKEN" in run.stderr
    assert scene.gh.requests == []


def test_a_rejected_token_is_named_by_its_variable(scene: Scene) -> None:
    run = scene.publish(token=canary_token())
    assert run.returncode == GitHubError.exit_code, run.explain()
    assert "GitHub rejected the token in GITHUB_TOKEN" in run.stderr
    assert scene.writes() == [] and scene.releases() == []


def test_a_tag_missing_on_github_is_refused_before_any_write(scene: Scene) -> None:
    del scene.gh.state.tags[scene.tag]
    run = scene.publish()
    assert run.returncode == GitStateError.exit_code, run.explain()
    assert f"tag {scene.tag} is not on GitHub" in run.stderr and f"git push origin {scene.tag}" in run.stderr
    assert scene.writes() == [] and scene.releases() == []


def test_a_tag_on_another_commit_is_refused_naming_both(scene: Scene) -> None:
    elsewhere = hashlib.sha1(b"another commit", usedforsecurity=False).hexdigest()
    scene.gh.state.add_tag(scene.tag, elsewhere)
    run = scene.publish()
    assert run.returncode == GitStateError.exit_code, run.explain()
    assert elsewhere in run.stderr and scene.commit in run.stderr
    assert scene.writes() == [] and scene.releases() == []


def test_a_published_release_with_a_different_asset_is_left_alone(scene: Scene) -> None:
    expected = release_files(scene.dist)
    files = {name: (scene.dist / name).read_bytes() for name in expected}
    files["install.sh"] = b"#!/bin/sh\necho someone else's installer\n"
    scene.gh.state.add_release(scene.tag, assets=files)
    scene.stored.clear()
    run = scene.publish()
    assert run.returncode == PublishError.exit_code, run.explain()
    assert "published already" in run.stderr and "install.sh" in run.stderr
    assert scene.writes() == []
    assert scene.assets()["install.sh"].size == len(files["install.sh"])


def test_a_differing_draft_asset_is_refused_by_name_and_replaced_with_replace(scene: Scene) -> None:
    expected = release_files(scene.dist)
    stale = b"#!/bin/sh\necho an older installer\n"
    draft = scene.gh.state.add_release(scene.tag, draft=True, assets={"install.sh": stale})
    scene.stored.clear()

    refused = scene.publish()
    assert refused.returncode == PublishError.exit_code, refused.explain()
    assert "install.sh" in refused.stderr and "--replace" in refused.stderr
    assert scene.writes() == []
    assert [a.data for a in scene.gh.state.assets_of(draft.id)] == [stale] and draft.draft

    replaced = scene.publish("--replace")
    assert replaced.returncode == 0, replaced.explain()
    assert "DELETE repos/delete-release-asset" in scene.writes()
    scene.assert_released(expected)
    assert scene.release().id == draft.id, "the draft was not reused"
    assert scene.asset_actions()["install.sh"] == "replaced"

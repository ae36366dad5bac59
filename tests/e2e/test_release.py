"""`invoke release` from start to published release, as a maintainer runs it, on a throwaway repository.

One story, told in order by the tests of this module (each builds on the one before):
a repository holding the sample crate at 1.0.0 (untagged), a local bare git remote as `origin`, the
tests' own GitHub (tests/github_fake, every request checked against GitHub's OpenAPI description) and
a local advisory database for the deny gate. Then:

1. gates stop a release before anything changes: a dirty tree, an advisory for a locked crate;
2. `invoke release --bump minor` makes 1.1.0: commit, tag, release branch, GitHub release, announcement;
3. a fix released with `--bump patch` meets upload faults and stops; `--resume` finishes it, each asset
   stored once, after re-checking what the first run made;
4. `--pre beta` releases 1.2.0-beta.1 as a prerelease; `invoke promote` makes 1.2.0 from its commit and its
   very binaries;
5. a removed flag with `--bump minor` is stopped by the breaking-change gate, and nothing is published.

Every release builds one target (x86_64-unknown-linux-gnu) in the cargo target folder the sample's other
tests use, so only the crate itself is compiled again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, require_tool
from tests.github_fake import FakeGitHub, Faults, running_fake_github
from tooling.build.plan import default_target_dir
from tooling.config import load_config
from tooling.errors import GateError, GitHubError

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

OWNER, REPO = "acme", "crcsum"
INVOKE = str(Path(sys.executable).parent / "invoke")
TRIPLE = "x86_64-unknown-linux-gnu"
UPLOAD = "repos/upload-release-asset"
RELEASE_KINDS = ("archive", "sbom", "installer", "checksum")
GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}

PYPROJECT = """\
[project]
name = "crcsum-release"
version = "0"

[tool.release]
crate = "Cargo.toml"
targets = ["x86_64-unknown-linux-gnu"]
dist-dir = "dist"
install-scripts = true

[tool.release.packages]
channels = ["deb"]

[tool.release.packages.deb]
linux-libc = "gnu"
depends = ["libc6 (>= 2.17)"]

[tool.release.gates]
advisory-db = "../advisory-db"

[tool.release.regression]
runs = "7"
max-time-increase = "50%"
"""


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, text=True,
                            check=False)  # fmt: skip
    assert result.returncode == 0, f"git {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout.strip()


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    def explain(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-8000:]}"


@dataclass
class Story:
    """The repository, its remote, the fake GitHub and the advisory database of the whole module."""

    repo: Path
    remote: Path
    advisory_db: Path
    gh: FakeGitHub
    target_dir: Path
    stored: Counter[str] = field(default_factory=Counter)  # "<tag>/<asset>" -> times the server stored it

    @property
    def dist(self) -> Path:
        return self.repo / "dist"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GH_", "RELEASE_"))}
        return (
            env
            | GIT_ENV
            | {
                "GITHUB_API_URL": self.gh.api_url,
                "GITHUB_REPOSITORY": f"{OWNER}/{REPO}",
                "GITHUB_TOKEN": self.gh.token,
                "CARGO_TARGET_DIR": str(self.target_dir),
            }
        )

    def invoke(self, *args: str, timeout: float = 900) -> Run:
        env = self.env()
        done = subprocess.run([INVOKE, *args], cwd=self.repo, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)  # fmt: skip
        run = Run(done.returncode, done.stdout, done.stderr)
        assert self.gh.token not in run.stdout + run.stderr, "the token leaked into the output"
        assert "Traceback" not in run.stderr, run.explain()
        return run

    def use_advisories(self, kind: str) -> None:
        """The advisory database at ../advisory-db: `vulnerable` (roff 1.1.1 affected) or `patched`."""
        if self.advisory_db.exists():
            shutil.rmtree(self.advisory_db)
        shutil.copytree(ROOT / "tests" / "fixtures" / "advisory-db" / kind, self.advisory_db)
        git("init", "--quiet", cwd=self.advisory_db)
        git("add", ".", cwd=self.advisory_db)
        git("-c", "user.name=RustSec", "-c", "user.email=rustsec@example.invalid", "commit", "--quiet", "-m",
            "advisories", cwd=self.advisory_db)  # fmt: skip

    def commit(self, path: str, text: str, message: str) -> None:
        (self.repo / path).write_text(text, encoding="utf-8")
        git("add", path, cwd=self.repo)
        git("commit", "--quiet", "-m", message, cwd=self.repo)

    def state(self) -> dict[str, Any]:
        return dict(json.loads((self.dist / "release-state.json").read_text(encoding="utf-8")))

    def statuses(self) -> dict[str, str]:
        return {step["name"]: step["status"] for step in self.state()["steps"]}

    def releases(self) -> dict[str, Any]:
        return {release.tag_name: release for release in self.gh.state.releases.values()}

    def assets(self, tag: str) -> dict[str, bytes]:
        assets = self.gh.state.assets_of(self.releases()[tag].id)
        names = [asset.name for asset in assets]
        assert len(names) == len(set(names)), f"an asset twice on {tag}: {sorted(names)}"
        return {asset.name: asset.data for asset in assets}

    def release_files(self, dist: Path | None = None) -> dict[str, bytes]:
        """The files dist/manifest.json says the GitHub release carries, read from dist/."""
        folder = dist or self.dist
        record = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        return {
            a["path"]: (folder / a["path"]).read_bytes()
            for a in record["artifacts"]
            if a["kind"] in RELEASE_KINDS and "/" not in a["path"]
        }

    def remote_refs(self) -> str:
        return git("for-each-ref", "--format=%(refname) %(objectname)", cwd=self.remote)

    def clean(self) -> None:
        run = self.invoke("clean")
        assert run.returncode == 0, run.explain()


def sync_tags_from_remote(gh: FakeGitHub, remote: Path) -> None:
    """The fake GitHub learns the tags pushed to `origin`, as github.com does when a tag is pushed."""
    serve = gh.serve

    def serve_with_tags(method: str, target: str, headers: Message, body: bytes) -> Any:
        listed = subprocess.run(["git", "for-each-ref", "--format=%(refname:short) %(*objectname) %(objectname)",
                                 "refs/tags"], cwd=remote, capture_output=True, text=True, check=True)  # fmt: skip
        for line in listed.stdout.splitlines():
            name, *shas = line.split()
            if name not in gh.state.tags:
                gh.state.add_tag(name, shas[0], message=f"Release {name}")
        return serve(method, target, headers, body)

    gh.serve = serve_with_tags  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    for tool in ("git", "cargo", "cargo-deny", "dpkg-deb", "dpkg", "git-cliff"):
        require_tool(tool)
    top = tmp_path_factory.mktemp("e2e")
    repo = top / "crcsum"
    shutil.copytree(ROOT / "sample", repo, ignore=shutil.ignore_patterns("target", "CHANGELOG.md"))
    manifest = repo / "Cargo.toml"
    text = manifest.read_text(encoding="utf-8").replace('version = "0.1.0"', 'version = "1.0.0"', 1)
    manifest.write_text(text.replace("https://example.invalid/crcsum.git", f"https://github.com/{OWNER}/{REPO}"))
    lock = repo / "Cargo.lock"
    lock.write_text(lock.read_text(encoding="utf-8").replace(
        'name = "crcsum"\nversion = "0.1.0"', 'name = "crcsum"\nversion = "1.0.0"'), encoding="utf-8")  # fmt: skip
    (repo / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (repo / "tasks.py").write_text("from tooling.invoke_tasks import namespace  # noqa: F401\n", encoding="utf-8")
    (repo / ".gitignore").write_text("/dist/\n/dist-*/\n/target/\n__pycache__/\n", encoding="utf-8")
    git("init", "--quiet", "--initial-branch=main", cwd=repo)
    git("config", "user.name", "Crcsum Maintainer", cwd=repo)
    git("config", "user.email", "maintainer@example.invalid", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "--quiet", "-m", "feat: crcsum prints CRC-32 checksums", cwd=repo)
    remote = top / "origin.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(remote), cwd=top)
    git("remote", "add", "origin", str(remote), cwd=repo)
    git("push", "--quiet", "origin", "main", cwd=repo)
    # The cargo target folder of the sample's other tests: warm, so only crcsum itself compiles again.
    target_dir = default_target_dir(load_config(ROOT, {}))
    with running_fake_github(owner=OWNER, repo=REPO) as gh:
        sync_tags_from_remote(gh, remote)
        add_asset = gh.state.add_asset

        def counting_add_asset(release: Any, name: str, data: bytes, **options: Any) -> Any:
            story.stored[f"{release.tag_name}/{name}"] += 1
            return add_asset(release, name, data, **options)

        gh.state.add_asset = counting_add_asset  # type: ignore[method-assign]
        story = Story(repo, remote, top / "advisory-db", gh, target_dir)
        story.use_advisories("patched")
        yield story


# --- 1. gates stop a release before anything changes ---------------------------------------------


def test_a_dirty_tree_stops_the_release_and_changes_nothing(story: Story) -> None:
    head = git("rev-parse", "HEAD", cwd=story.repo)
    (story.repo / "src" / "main.rs").write_text("// work in progress\n", encoding="utf-8")
    try:
        run = story.invoke("release", "--bump", "minor")
    finally:
        git("checkout", "--", "src/main.rs", cwd=story.repo)
    assert run.returncode == GateError.exit_code, run.explain()
    assert "gate clean-tree: the working tree has uncommitted changes: src/main.rs" in run.stderr
    assert "commit or stash them" in run.stderr
    assert git("rev-parse", "HEAD", cwd=story.repo) == head and git("tag", cwd=story.repo) == ""
    assert story.releases() == {} and not story.dist.exists()


def test_an_advisory_for_a_locked_crate_stops_the_release_naming_it(story: Story) -> None:
    story.use_advisories("vulnerable")
    try:
        run = story.invoke("release", "--bump", "minor", "--skip", "cargo-test", "--skip", "cargo-package")
    finally:
        story.use_advisories("patched")
    assert run.returncode == GateError.exit_code, run.explain()
    assert "gate deny" in run.stderr and "roff 1.1.1" in run.stderr and "RUSTSEC-2099-0001" in run.stderr
    assert "--skip deny" in run.stderr
    assert git("tag", cwd=story.repo) == "" and story.releases() == {} and not story.dist.exists()


# --- 2. a minor release from start to published --------------------------------------------------


def test_release_bump_minor_publishes_a_complete_release(story: Story) -> None:
    run = story.invoke("release", "--bump", "minor", "--unsigned", "--json")
    assert run.returncode == 0, run.explain()
    report = json.loads(run.stdout[run.stdout.index("{") :])
    assert (report["version"], report["tag"], report["result"]) == ("1.1.0", "v1.1.0", "released")
    steps = {step["name"]: step for step in report["steps"]}
    assert {name: step["status"] for name, step in steps.items()} == dict.fromkeys(steps, "done"), steps
    assert steps["breaking"]["detail"] == "first release: nothing to compare"
    assert "advisories, licenses, bans: ok" in steps["deny"]["detail"]
    assert "installs ran" in steps["install-test"]["detail"]

    # The release commit and tag, pushed with the branch; release/1.1 made at the tag and pushed.
    tag_commit = git("rev-parse", "v1.1.0^{commit}", cwd=story.repo)
    assert git("log", "-1", "--format=%s", "v1.1.0", cwd=story.repo) == "chore(release): v1.1.0"
    assert 'version = "1.1.0"' in (story.repo / "Cargo.toml").read_text(encoding="utf-8")
    assert "## [1.1.0]" in (story.repo / "CHANGELOG.md").read_text(encoding="utf-8")
    refs = story.remote_refs()
    assert f"refs/heads/main {tag_commit}" in refs and f"refs/heads/release/1.1 {tag_commit}" in refs
    assert "refs/tags/v1.1.0 " in refs

    # GitHub holds the published release with exactly the release files, byte for byte, each stored once.
    release = story.releases()["v1.1.0"]
    assert (release.draft, release.prerelease, release.target_commitish) == (False, False, tag_commit)
    assert story.assets("v1.1.0") == story.release_files()
    assert all(story.stored[f"v1.1.0/{name}"] == 1 for name in story.assets("v1.1.0"))
    assert "Skipped checks" not in release.body

    # The announcement: markdown and a short post, outside the release files.
    post = (story.dist / "announce" / "post.txt").read_text(encoding="utf-8")
    assert "1.1.0" in post and len(post) < 500
    assert "announce/post.txt" not in story.release_files()
    verified = story.invoke("verify", "--no-signatures")
    assert verified.returncode == 0, verified.explain()


# --- 3. a fault during upload, and --resume ------------------------------------------------------


def test_a_release_stopped_by_upload_faults_is_finished_by_resume_without_duplicates(story: Story) -> None:
    story.clean()
    story.commit("README.md", "crcsum: CRC-32 checksums.\n", "fix: say what crcsum prints")
    # Two uploads go through, then the server fails every upload until the retry budget is spent.
    story.gh.faults = Faults(schedule={UPLOAD: ["ok"] * 2 + ["503"] * 1000})
    first = story.invoke("release", "--bump", "patch", "--unsigned", "--retry-budget", "1",
                         "--skip", "cargo-test", "--skip", "cargo-package")  # fmt: skip
    story.gh.faults = Faults()
    assert first.returncode == GitHubError.exit_code, first.explain()
    statuses = story.statuses()
    assert statuses["publish-github"] == "failed" and statuses["push"] == "done" and statuses["verify"] == "done"
    assert "announce" not in statuses
    assert story.releases()["v1.1.1"].draft, "a release missing assets was published"

    # A file the first run made changed behind its back: --resume refuses to trust it.
    sums = story.dist / "SHA256SUMS"
    original = sums.read_bytes()
    sums.write_bytes(original + b"\n")
    refused = story.invoke("release", "--resume")
    assert refused.returncode != 0 and "SHA256SUMS (checksum) changed" in refused.stderr, refused.explain()
    sums.write_bytes(original)

    resumed = story.invoke("release", "--resume")
    assert resumed.returncode == 0, resumed.explain()
    assert "resuming the release of crcsum 1.1.1 at publish-github" in resumed.stderr
    assert all(status in ("done", "skipped") for status in story.statuses().values())
    release = story.releases()["v1.1.1"]
    assert not release.draft and story.assets("v1.1.1") == story.release_files()
    assert {name: n for name, n in story.stored.items() if n != 1} == {}, "an asset was stored twice"
    # The gates skipped by name are written into the notes.
    assert "Skipped checks" in release.body and "`cargo-test`" in release.body and "`cargo-package`" in release.body
    # A patch release makes no release branch; the regression gate compared with 1.1.0's binaries.
    assert "release/1.1 " in story.remote_refs() and "release/1.2" not in story.remote_refs()
    steps = {step["name"]: step for step in story.state()["steps"]}
    assert "within the limits" in steps["regression"]["detail"]

    # The gate alone, as a pull request's CI job runs it: the baseline is the latest release before HEAD
    # (v1.1.0), built for this machine from its tag; a second run finds that build in the cache.
    gate = story.invoke("regression")
    assert gate.returncode == 0, gate.explain()
    assert "build the baseline v1.1.0" in gate.stderr and "regression gate against dist" in gate.stderr
    again = story.invoke("regression")
    assert again.returncode == 0 and "baseline v1.1.0" in again.stderr and "kept in" in again.stderr, again.explain()


# --- 4. a beta, and its promotion -----------------------------------------------------------------


def binary_of(archive: Path) -> bytes:
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/crcsum"))
        extracted = tar.extractfile(member)
        assert extracted is not None
        return extracted.read()


def test_a_beta_is_a_prerelease_and_promote_ships_its_binaries_as_the_stable_release(story: Story) -> None:
    story.clean()
    story.commit("README.md", "crcsum: CRC-32 checksums of files.\n", "feat: document the file arguments")
    beta = story.invoke("release", "--bump", "minor", "--pre", "beta", "--unsigned",
                        "--skip", "cargo-test", "--skip", "cargo-package")  # fmt: skip
    assert beta.returncode == 0, beta.explain()
    release = story.releases()["v1.2.0-beta.1"]
    assert (release.draft, release.prerelease) == (False, True)
    assert "release/1.2" not in story.remote_refs(), "a prerelease makes no release branch"
    beta_binary = binary_of(story.dist / f"crcsum-1.2.0-beta.1-{TRIPLE}.tar.gz")

    promoted = story.invoke("promote", "v1.2.0-beta.1", "--unsigned")
    assert promoted.returncode == 0, promoted.explain()
    aside = story.repo / "dist-1.2.0-beta.1"
    assert (aside / "manifest.json").is_file(), "the beta's folder is kept beside dist/"
    stable = story.releases()["v1.2.0"]
    assert (stable.draft, stable.prerelease) == (False, False)
    assert story.assets("v1.2.0") == story.release_files()
    # Nothing rebuilt: the stable archive carries the beta's very binary.
    assert binary_of(story.dist / f"crcsum-1.2.0-{TRIPLE}.tar.gz") == beta_binary
    beta_commit = git("rev-parse", "v1.2.0-beta.1^{commit}", cwd=story.repo)
    assert git("rev-parse", "v1.2.0^{commit}~1", cwd=story.repo) == beta_commit
    steps = {step["name"]: step for step in story.state()["steps"]}
    assert steps["build"]["status"] == "done" and "release/1.2" in story.remote_refs()
    shutil.rmtree(aside)


# --- 5. a breaking change without a major bump ---------------------------------------------------


def test_a_removed_flag_needs_a_major_bump_and_nothing_is_published(story: Story) -> None:
    story.clean()
    main_rs = (story.repo / "src" / "main.rs").read_text(encoding="utf-8")
    flag = "    /// Print checksums in upper-case hexadecimal.\n    #[arg(long)]\n    upper: bool,\n"
    without_upper = main_rs.replace(flag, "").replace("cli.upper", "false")
    assert without_upper != main_rs
    story.commit("src/main.rs", without_upper, "refactor: always print lower-case checksums")
    head = git("rev-parse", "HEAD", cwd=story.repo)
    releases = set(story.releases())
    run = story.invoke("release", "--bump", "minor", "--skip", "cargo-test", "--skip", "cargo-package")
    assert run.returncode == GateError.exit_code, run.explain()
    assert "gate breaking" in run.stderr and "--upper" in run.stderr
    assert "--part major" in run.stderr or "acknowledged-breaking" in run.stderr
    assert git("rev-parse", "HEAD", cwd=story.repo) == head and "v1.3.0" not in git("tag", cwd=story.repo)
    assert set(story.releases()) == releases and not story.dist.exists()

"""`invoke promote`: the stable version of a prerelease, its tag and commit, the gates it carries over, and
the prerelease's binaries laid out (byte for byte) as prebuilt inputs of the stable release.

The prerelease's folders are fake build output (tests/artifact_fixtures.py);
the one git question a promotion asks (which commit a tag and HEAD are) is
answered by a stand-in project.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import semver

from tests.artifact_fixtures import make_dist
from tooling import manifest, proc
from tooling.artifacts import fence, prebuilt
from tooling.config import ReleaseConfig
from tooling.errors import GateError, GitStateError, ManifestError, VersionError
from tooling.release import promote
from tooling.release.state import DONE, FAILED, SKIPPED, ReleaseState, StepRecord, save_state
from tooling.targets import get_target

PRERELEASE = "1.3.0-beta.1"
STABLE = "1.3.0"
TAG = f"v{PRERELEASE}"
TRIPLES = ("x86_64-unknown-linux-gnu", "x86_64-pc-windows-gnu")
HEAD = "1" * 40
OTHER = "2" * 40


# --- versions, tags, commits --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prerelease", "stable"),
    [("1.3.0-beta.2", "1.3.0"), ("2.0.0-rc.1", "2.0.0"), ("0.9.1-alpha.3+build.7", "0.9.1")],
)
def test_stable_of_a_prerelease_is_its_release_version(prerelease: str, stable: str) -> None:
    assert promote.stable_of(semver.Version.parse(prerelease)) == semver.Version.parse(stable)


def test_a_stable_release_cannot_be_promoted() -> None:
    with pytest.raises(VersionError, match=re.escape("1.3.0 is a stable release already")) as caught:
        promote.stable_of(semver.Version.parse("1.3.0"))
    assert caught.value.hint is not None
    assert "prerelease tag" in caught.value.hint


def test_parse_prerelease_tag() -> None:
    assert promote.parse_prerelease_tag("v1.3.0-beta.2", "v") == semver.Version.parse("1.3.0-beta.2")
    assert promote.parse_prerelease_tag("crcsum-v1.3.0-rc.1", "crcsum-v") == semver.Version.parse("1.3.0-rc.1")


@pytest.mark.parametrize(("tag", "prefix"), [("1.3.0-beta.2", "v"), ("release-1.3.0", "v"), ("vnext", "v")])
def test_parse_prerelease_tag_refuses_what_is_no_release_tag(tag: str, prefix: str) -> None:
    with pytest.raises(VersionError) as caught:
        promote.parse_prerelease_tag(tag, prefix)
    assert caught.value.hint


def test_check_commit_is_the_tags_commit_when_head_is_it() -> None:
    assert promote.check_commit(TAG, HEAD, HEAD) == HEAD


def test_check_commit_refuses_a_missing_tag() -> None:
    with pytest.raises(GitStateError, match=re.escape(f"there is no tag {TAG}")) as caught:
        promote.check_commit(TAG, None, HEAD)
    assert caught.value.hint is not None
    assert "git fetch --tags" in caught.value.hint


def test_check_commit_refuses_another_head() -> None:
    with pytest.raises(GitStateError, match=re.escape(f"HEAD is not the commit of {TAG} ({HEAD[:12]})")) as caught:
        promote.check_commit(TAG, HEAD, OTHER)
    assert caught.value.hint is not None
    assert f"git switch -c <release branch> {TAG}" in caught.value.hint


def test_carried_gates_are_those_that_judged_the_code_and_binaries() -> None:
    passed = {
        "preflight": "crcsum 1.2.0 → 1.3.0-beta.1",
        "cargo-test": "passed",
        "cargo-package": "passed",
        "deny": "no advisories",
        "breaking": "no breaking change",
        "regression": "within the limits against v1.2.0",
        "build": "2 binary files",
    }
    assert promote.carried_gates(passed) == {
        "cargo-test": "passed",
        "cargo-package": "passed",
        "regression": "within the limits against v1.2.0",
    }
    assert promote.carried_gates({"deny": "ok"}) == {}


# --- the prerelease's binaries as prebuilt inputs ---------------------------------------------


def prerelease_dist(dist: Path) -> manifest.Manifest:
    """A prerelease's folder: per-target binaries with partial manifests, and the merged manifest."""
    make_dist(dist, TRIPLES, version=PRERELEASE)
    record = manifest.merge(manifest.read(dist / triple / manifest.MANIFEST_NAME) for triple in TRIPLES)
    manifest.write(dist / manifest.MANIFEST_NAME, record)
    return record


def binary_of(triple: str) -> str:
    return get_target(triple).executable("crcsum")


def test_prepare_prebuilt_copies_each_targets_binaries_byte_for_byte(tmp_path: Path) -> None:
    source = tmp_path / "dist-prerelease"
    record = prerelease_dist(source)
    folder = promote.prepare_prebuilt(source, record, STABLE, tmp_path / "promotion")
    assert folder == tmp_path / "promotion"
    assert sorted(p.name for p in folder.iterdir()) == sorted(TRIPLES)
    for triple in TRIPLES:
        name = binary_of(triple)
        assert sorted(p.name for p in (folder / triple).iterdir()) == sorted([name, manifest.MANIFEST_NAME])
        assert (folder / triple / name).read_bytes() == (source / triple / name).read_bytes()


def test_prepare_prebuilt_labels_the_partial_manifests_with_the_stable_version(tmp_path: Path) -> None:
    source = tmp_path / "dist-prerelease"
    record = prerelease_dist(source)
    folder = promote.prepare_prebuilt(source, record, STABLE, tmp_path / "promotion")
    for triple in TRIPLES:
        partial = manifest.read(folder / triple / manifest.MANIFEST_NAME)
        original = manifest.read(source / triple / manifest.MANIFEST_NAME)
        assert (partial.name, partial.version) == ("crcsum", STABLE)
        assert partial.artifacts == original.artifacts  # same paths, hashes and targets
    # The prerelease's folder is left as it was.
    assert manifest.read(source / TRIPLES[0] / manifest.MANIFEST_NAME).version == PRERELEASE


def test_the_prepared_folders_are_what_the_prebuilt_import_accepts(tmp_path: Path) -> None:
    source = tmp_path / "dist-prerelease"
    record = prerelease_dist(source)
    folder = promote.prepare_prebuilt(source, record, STABLE, tmp_path / "promotion")
    dist = tmp_path / "dist"
    dist.mkdir()
    for triple in TRIPLES:
        partial, incoming = prebuilt.check_prebuilt(dist, folder / triple)
        assert partial.version == STABLE
        assert [item.destination for item in incoming] == [fence.inside(dist, f"{triple}/{binary_of(triple)}")]


def test_prepare_prebuilt_replaces_an_earlier_preparation(tmp_path: Path) -> None:
    source = tmp_path / "dist-prerelease"
    record = prerelease_dist(source)
    stale = tmp_path / "promotion" / "aarch64-apple-darwin" / "crcsum"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"from an earlier try")
    folder = promote.prepare_prebuilt(source, record, STABLE, tmp_path / "promotion")
    assert sorted(p.name for p in folder.iterdir()) == sorted(TRIPLES)


def test_a_folder_without_binaries_cannot_be_promoted(tmp_path: Path) -> None:
    source = tmp_path / "dist-prerelease"
    source.mkdir()
    (source / "SHA256SUMS").write_text("")
    record = manifest.Manifest("crcsum", PRERELEASE)
    record.add(manifest.describe_file(source, source / "SHA256SUMS", kind="checksum", target=None, step="checksum"))
    with pytest.raises(ManifestError, match="holds no binaries to promote") as caught:
        promote.prepare_prebuilt(source, record, STABLE, tmp_path / "promotion")
    assert caught.value.hint is not None
    assert not (tmp_path / "promotion").exists()


def test_a_missing_partial_manifest_is_a_manifest_error(tmp_path: Path) -> None:
    source = tmp_path / "dist-prerelease"
    record = prerelease_dist(source)
    (source / TRIPLES[1] / manifest.MANIFEST_NAME).unlink()
    with pytest.raises(ManifestError):
        promote.prepare_prebuilt(source, record, STABLE, tmp_path / "promotion")


# --- preparing a promotion ----------------------------------------------------------------------


class StandInProject:
    """What a promotion asks of the project: the tag prefix and two commits."""

    versioning = SimpleNamespace(tag_prefix="v")
    repo = SimpleNamespace(commit_sha=lambda ref: {TAG: HEAD, "HEAD": HEAD}.get(ref))

    @classmethod
    def load(cls, config: Any, runner: Any) -> StandInProject:
        return cls()


def promotion_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReleaseConfig:
    """dist/ holds a finished prerelease (state included); the cache is under tmp_path."""
    monkeypatch.setattr(promote, "Project", StandInProject)
    monkeypatch.setenv("RELEASE_CACHE_DIR", str(tmp_path / "cache"))
    dist = tmp_path / "dist"
    prerelease_dist(dist)
    state = ReleaseState(
        "crcsum",
        PRERELEASE,
        TAG,
        commit=HEAD,
        skipped_by_name=["regression"],
        steps=[
            StepRecord("preflight", DONE, detail="crcsum 1.2.0 → 1.3.0-beta.1"),
            StepRecord("cargo-test", DONE, detail="passed"),
            StepRecord("cargo-package", FAILED, detail="did not package"),
            StepRecord("regression", SKIPPED, detail="skipped with --skip"),
            StepRecord("deny", DONE, detail="no advisories"),
        ],
    )
    save_state(dist, state)
    return cast(ReleaseConfig, SimpleNamespace(dist_dir=dist, name="crcsum", root=tmp_path, sign={}))


def test_a_promotion_moves_the_prerelease_aside_and_carries_only_its_passed_gates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = promotion_setup(tmp_path, monkeypatch)
    binaries = {t: (tmp_path / "dist" / t / binary_of(t)).read_bytes() for t in TRIPLES}
    promotion = promote.prepare_promotion(
        config, TAG, source=None, unsigned=True, environ={}, runner=proc.Runner(dry_run=False)
    )
    assert (promotion.prerelease, promotion.stable) == (semver.Version.parse(PRERELEASE), semver.Version.parse(STABLE))
    assert (promotion.tag, promotion.commit) == (TAG, HEAD)
    assert promotion.carried == {"cargo-test": f"passed for {TAG}: passed"}
    assert not (tmp_path / "dist").exists()
    assert (tmp_path / f"dist-{PRERELEASE}" / manifest.MANIFEST_NAME).is_file()
    assert promotion.prebuilt == tmp_path / "cache" / "promotions" / "crcsum" / STABLE
    for triple, data in binaries.items():
        assert (promotion.prebuilt / triple / binary_of(triple)).read_bytes() == data


def test_a_promotion_refuses_a_prerelease_folder_of_another_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = promotion_setup(tmp_path, monkeypatch)
    other = tmp_path / "other"
    make_dist(other, TRIPLES[:1], version="1.3.0-beta.2")
    record = manifest.read(other / TRIPLES[0] / manifest.MANIFEST_NAME)
    manifest.write(other / manifest.MANIFEST_NAME, record)
    with pytest.raises(ManifestError, match=re.escape(f"not the prerelease {PRERELEASE}")):
        promote.prepare_promotion(config, TAG, source=other, unsigned=True, environ={}, runner=proc.Runner())
    assert (tmp_path / "dist").is_dir()  # a folder given with --from leaves dist/ alone


def test_a_dry_run_promotion_of_the_prerelease_in_dist_moves_nothing_and_says_how(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = promotion_setup(tmp_path, monkeypatch)
    with pytest.raises(GateError, match="a dry run would have to move it") as caught:
        promote.prepare_promotion(config, TAG, source=None, unsigned=True, environ={}, runner=proc.Runner(dry_run=True))
    assert (tmp_path / "dist" / manifest.MANIFEST_NAME).is_file()
    assert not (tmp_path / f"dist-{PRERELEASE}").exists()
    assert caught.value.hint is not None and "--from" in caught.value.hint


def test_move_aside_refuses_to_overwrite_an_earlier_folder(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (tmp_path / f"dist-{PRERELEASE}").mkdir()
    with pytest.raises(GateError, match="exists already") as caught:
        promote.move_aside(dist, semver.Version.parse(PRERELEASE), proc.Runner())
    assert dist.is_dir()
    assert caught.value.hint is not None
    assert f"--from {tmp_path / f'dist-{PRERELEASE}'}" in caught.value.hint

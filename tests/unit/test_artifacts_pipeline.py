"""The artifact chain: step order, run-once, manifests, prebuilt imports, the fence around dist/,
and check before sign."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.artifact_fixtures import make_dist, release_dist
from tests.conftest import ROOT
from tooling import manifest, proc
from tooling.artifacts import checksum, fence, prebuilt
from tooling.artifacts import dist as artifact_dist
from tooling.artifacts import sign as artifact_sign
from tooling.artifacts import steps as artifacts
from tooling.build.toolchain import SystemFacts
from tooling.config import ReleaseConfig, load_config
from tooling.errors import FenceError, ManifestError, VerificationError
from tooling.plan import LOCK_NAME

TRIPLES = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-musl", "x86_64-pc-windows-msvc"]


def recording_steps(log: list[str]) -> dict[str, tuple[tuple[str, ...], object]]:
    def make(name: str):  # type: ignore[no-untyped-def]
        return lambda context: log.append(name)

    return {name: (pre, make(name)) for name, (pre, _) in artifacts.STEPS.items()}


# A Linux machine with no Rust at all: the plan places every target elsewhere or skips it.
NO_RUST_HERE = SystemFacts(host_os="linux", host_arch="x86_64", installs=())
NO_SBOM = {**artifacts.STEPS, "sbom": ((), lambda context: None)}  # the SBOM needs cargo: integration tests cover it


def repo_config() -> ReleaseConfig:
    """This repository's config without what needs the real binaries or adds files (completions, man page,
    package channels, install scripts)."""
    config = load_config(ROOT, {})
    return dataclasses.replace(
        config, completions=(), man=(), packages={**config.packages, "channels": []}, install_scripts=False
    )


def context(tmp_path: Path, **options: object) -> artifacts.ChainRun:
    """A chain run over tmp_path/dist on a described machine (no probing in unit tests)."""
    config = artifacts.with_dist(repo_config(), str(tmp_path / "dist"))
    run = artifacts.ChainRun(config, artifacts.Options(**options))  # type: ignore[arg-type]
    run._facts = NO_RUST_HERE
    return run


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_package_runs_the_whole_chain_in_order_once(tmp_path: Path) -> None:
    log: list[str] = []
    ctx = context(tmp_path)
    steps = recording_steps(log)
    artifacts.run_step("checksum", ctx, steps)  # type: ignore[arg-type]
    artifacts.run_step("package", ctx, steps)  # type: ignore[arg-type]
    artifacts.run_step("build", ctx, steps)  # type: ignore[arg-type]
    assert log == ["build", "archive", "sbom", "installers", "checksum", "packages", "sign", "package"]


def test_shared_context_remembers_steps_across_option_sets(tmp_path: Path) -> None:
    config = artifacts.with_dist(repo_config(), str(tmp_path / "dist"))
    runner = proc.Runner()
    first = artifacts.shared_context(config, artifacts.Options(targets=("x86_64-*",)), runner)
    first.done.append("build")
    second = artifacts.shared_context(config, artifacts.Options(), runner)
    assert "build" in second.done


def test_merging_partials_rejects_two_different_files_at_one_path(tmp_path: Path) -> None:
    make_dist(tmp_path / "a", TRIPLES[:1])
    make_dist(tmp_path / "b", TRIPLES[:1])
    (tmp_path / "b" / TRIPLES[0] / "crcsum").write_bytes(b"other")
    other = manifest.read(tmp_path / "b" / TRIPLES[0] / "manifest.json")
    other.add(
        manifest.describe_file(
            tmp_path / "b", tmp_path / "b" / TRIPLES[0] / "crcsum", kind="binary", target=TRIPLES[0], step="build"
        )
    )
    with pytest.raises(ManifestError, match="different contents"):
        artifact_dist.merge_partials([manifest.read(tmp_path / "a" / TRIPLES[0] / "manifest.json"), other], None)


def test_merge_manifests_combines_every_target(tmp_path: Path) -> None:
    dist = release_dist(tmp_path / "dist", TRIPLES)
    merged = artifact_dist.merge_manifests(dist, [], proc.Runner())
    assert sorted({a.target for a in merged.artifacts}) == sorted(TRIPLES)
    assert manifest.read(dist / "manifest.json").artifacts == merged.artifacts


def test_merge_manifests_refuses_a_folder_the_tool_did_not_make(tmp_path: Path) -> None:
    dist = release_dist(tmp_path / "dist", TRIPLES, marked=False)
    with pytest.raises(FenceError, match=r"refusing to write into .*no \.release-dist marker"):
        artifact_dist.merge_manifests(dist, [], proc.Runner())
    assert not (dist / "manifest.json").exists()


def test_prebuilt_folders_are_imported_after_checking_hashes(tmp_path: Path) -> None:
    ci = make_dist(tmp_path / "ci", TRIPLES[:2])
    dist = tmp_path / "dist"
    folders = prebuilt.find_prebuilt(ci)
    assert [f.name for f in folders] == sorted(TRIPLES[:2])
    for folder in folders:
        prebuilt.import_prebuilt(dist, folder)
    assert (dist / TRIPLES[0] / "crcsum").read_bytes() == (ci / TRIPLES[0] / "crcsum").read_bytes()
    assert (dist / TRIPLES[0] / "crcsum").stat().st_mode & 0o777 == 0o755
    (ci / TRIPLES[1] / "crcsum").write_bytes(b"tampered")
    before = snapshot(dist)
    with pytest.raises(ManifestError, match="differs from its manifest"):
        prebuilt.import_prebuilt(dist, ci / TRIPLES[1])
    assert snapshot(dist) == before  # the good copy from the first import is still there


def rewrite_partial(folder: Path, change: dict[str, object]) -> None:
    """Edit every entry of a build job's manifest as a hostile pull request could."""
    path = folder / manifest.MANIFEST_NAME
    data = json.loads(path.read_text())
    for entry in data["artifacts"]:
        entry.update(change)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"target": "../.."}, ManifestError, r"target '\.\./\.\.' is not a row of the target table"),
        ({"path": "../../PRECIOUS.txt"}, FenceError, r"climbs out with '\.\.'"),
        ({"path": "/tmp/PRECIOUS.txt"}, FenceError, "is absolute"),
        ({"path": "aarch64-unknown-linux-gnu/crcsum"}, ManifestError, "not <triple>/<file name> of its own target"),
        ({"kind": "archive"}, ManifestError, "records binaries only"),
    ],
)
def test_a_hostile_prebuilt_manifest_is_refused_before_anything_is_written(
    tmp_path: Path, change: dict[str, object], error: type[Exception], message: str
) -> None:
    ci = make_dist(tmp_path / "ci", TRIPLES[:1])
    rewrite_partial(ci / TRIPLES[0], change)
    dist = tmp_path / "dist"
    with pytest.raises(error, match=message):
        prebuilt.import_prebuilt(dist, ci / TRIPLES[0])
    assert not dist.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ci"]


def test_a_prebuilt_binary_that_is_a_link_is_refused(tmp_path: Path) -> None:
    ci = make_dist(tmp_path / "ci", TRIPLES[:1])
    secret = tmp_path / "secret"
    binary = ci / TRIPLES[0] / "crcsum"
    secret.write_bytes(binary.read_bytes())  # the same bytes: only the link gives it away
    binary.unlink()
    binary.symlink_to(secret)
    with pytest.raises(ManifestError, match="not a regular file"):
        prebuilt.import_prebuilt(tmp_path / "dist", ci / TRIPLES[0])


def test_a_prebuilt_binary_of_the_wrong_architecture_is_refused(tmp_path: Path) -> None:
    ci = release_dist(tmp_path / "ci", ["x86_64-unknown-linux-musl"], marked=False)
    folder = ci / "aarch64-unknown-linux-musl"
    (ci / "x86_64-unknown-linux-musl").rename(folder)
    rewrite_partial(folder, {"target": "aarch64-unknown-linux-musl", "path": "aarch64-unknown-linux-musl/crcsum"})
    ctx = context(tmp_path, prebuilt=(folder,), allow_partial=True)
    with pytest.raises(VerificationError, match="architecture: expected aarch64, found x86_64"):
        artifacts.run_step("build", ctx)
    assert not ctx.dist.exists()  # the run made dist/ and, having made nothing, removed it again


def test_unsigned_chain_on_fake_binaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    ctx = context(tmp_path, skip_build=True, unsigned=True, allow_partial=True)
    release_dist(ctx.dist, TRIPLES)
    artifacts.run_step("package", ctx, NO_SBOM)

    names = sorted(p.name for p in ctx.dist.iterdir() if p.is_file())
    assert names == [
        LOCK_NAME,
        fence.MARKER_NAME,
        "SHA256SUMS",
        "crcsum-0.1.0-aarch64-unknown-linux-musl.tar.gz",
        "crcsum-0.1.0-aarch64-unknown-linux-musl.tar.gz.sha256",
        "crcsum-0.1.0-x86_64-pc-windows-msvc.zip",
        "crcsum-0.1.0-x86_64-pc-windows-msvc.zip.sha256",
        "crcsum-0.1.0-x86_64-unknown-linux-gnu.tar.gz",
        "crcsum-0.1.0-x86_64-unknown-linux-gnu.tar.gz.sha256",
        "manifest.json",
        "plan.json",
    ]
    assert (ctx.dist / LOCK_NAME).read_text() == ""  # the lock is free again and names no run
    sums = checksum.parse_sums((ctx.dist / "SHA256SUMS").read_text())
    record = json.loads((ctx.dist / "manifest.json").read_text())
    by_path = {a["path"]: a for a in record["artifacts"]}
    for name, digest in sums.items():
        assert by_path[name]["sha256"] == digest
        assert by_path[name]["step"] == "archive"
        assert by_path[name + ".sha256"]["kind"] == "checksum"
    assert by_path["x86_64-pc-windows-msvc/crcsum.exe"]["kind"] == "binary"


def packaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, triples: Sequence[str] = TRIPLES) -> Path:
    """An unsigned, complete-for-its-targets dist/ made by the chain."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    ctx = context(tmp_path, skip_build=True, unsigned=True, allow_partial=True)
    release_dist(ctx.dist, triples)
    artifacts.run_step("package", ctx, NO_SBOM)
    return ctx.dist


def test_a_truncated_binary_stops_the_chain_before_any_archive_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = packaged(tmp_path, monkeypatch)
    binary = dist / TRIPLES[0] / "crcsum"
    binary.write_bytes(binary.read_bytes()[:1000])
    before = snapshot(dist)
    again = context(tmp_path, skip_build=True, unsigned=True, allow_partial=True)
    with pytest.raises(VerificationError) as caught:
        artifacts.run_step("package", again, NO_SBOM)
    assert f"{TRIPLES[0]}/crcsum: differs from its build job's manifest (1,000 bytes" in caught.value.message
    assert "nothing was archived, summed or signed" in caught.value.message
    assert snapshot(dist) == before


def test_a_binary_of_another_architecture_is_named_before_archiving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = packaged(tmp_path, monkeypatch, ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"])
    x86 = (dist / "x86_64-unknown-linux-musl" / "crcsum").read_bytes()
    (dist / "aarch64-unknown-linux-musl" / "crcsum").write_bytes(x86)
    before = snapshot(dist)
    again = context(tmp_path, skip_build=True, unsigned=True, allow_partial=True)
    with pytest.raises(VerificationError) as caught:
        artifacts.run_step("archive", again, NO_SBOM)
    assert "aarch64-unknown-linux-musl/crcsum: architecture: expected aarch64, found x86_64" in caught.value.message
    assert snapshot(dist) == before


def test_nothing_is_signed_when_an_archive_changed_after_it_was_summed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    ctx = context(tmp_path, skip_build=True, backends=("minisign",), check_signatures=False, allow_partial=True)
    release_dist(ctx.dist, TRIPLES[:1])
    artifacts.run_step("checksum", ctx, NO_SBOM)
    archive_file = ctx.dist / "crcsum-0.1.0-x86_64-unknown-linux-gnu.tar.gz"
    data = bytearray(archive_file.read_bytes())
    data[-40] ^= 0xFF  # same size: only a hash shows it
    archive_file.write_bytes(bytes(data))

    def must_not_sign(*args: object, **kwargs: object) -> None:
        raise AssertionError("signed a folder that does not verify")

    monkeypatch.setattr(artifact_sign, "sign_files", must_not_sign)
    with pytest.raises(VerificationError, match=r"tar\.gz: content differs from manifest\.json"):
        artifacts.run_step("sign", ctx, NO_SBOM)
    assert not list(ctx.dist.glob("*.minisig"))


def test_switching_format_removes_the_stale_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = context(tmp_path, skip_build=True, unsigned=True)
    release_dist(first.dist, TRIPLES[:1])
    artifacts.run_step("checksum", first, NO_SBOM)
    second = context(tmp_path, skip_build=True, unsigned=True, unix_format="tar.xz")
    artifacts.run_step("checksum", second, NO_SBOM)
    names = sorted(p.name for p in second.dist.iterdir() if p.is_file())
    assert "crcsum-0.1.0-x86_64-unknown-linux-gnu.tar.xz" in names
    assert not [n for n in names if ".tar.gz" in n]
    assert "tar.gz" not in (second.dist / "SHA256SUMS").read_text()


def test_a_manifest_path_outside_dist_is_never_deleted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = packaged(tmp_path, monkeypatch, TRIPLES[:1])
    precious = tmp_path / "PRECIOUS.txt"
    precious.write_text("must survive")
    record = json.loads((dist / "manifest.json").read_text())
    stale = dict(record["artifacts"][0], path="../PRECIOUS.txt", kind="archive", target=TRIPLES[0])
    record["artifacts"].append(stale)
    (dist / "manifest.json").write_text(json.dumps(record))
    again = context(tmp_path, skip_build=True, unsigned=True, allow_partial=True)
    with pytest.raises(FenceError, match=r"'\.\./PRECIOUS\.txt' climbs out"):
        artifacts.run_step("archive", again, NO_SBOM)
    assert precious.read_text() == "must survive"


def test_a_link_in_dist_pointing_outside_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = packaged(tmp_path, monkeypatch, TRIPLES[:1])
    outside = tmp_path / "elsewhere.tar.gz"
    outside.write_bytes(b"not ours")
    record = manifest.read(dist / "manifest.json")
    target = dist / "crcsum-0.1.0-x86_64-unknown-linux-gnu.tar.gz"
    target.unlink()
    target.symlink_to(outside)
    with pytest.raises(FenceError, match="outside"):
        artifact_dist.remove_artifacts(dist, record, lambda a: a.kind == "archive")
    assert outside.read_bytes() == b"not ours"


def test_clean_keeps_build_folders_when_asked(tmp_path: Path) -> None:
    dist = release_dist(tmp_path / "dist", TRIPLES[:1])
    (dist / "SHA256SUMS").write_text("")
    artifact_dist.clean(dist, keep_builds=True, runner=proc.Runner())
    assert sorted(p.name for p in dist.iterdir()) == sorted([TRIPLES[0], fence.MARKER_NAME, LOCK_NAME])
    artifact_dist.clean(dist, keep_builds=False, runner=proc.Runner())
    assert not dist.exists()


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: (d / "notes.txt").write_text("mine"), r"no \.release-dist marker, so this tool did not make it"),
        (lambda d: (d / "Cargo.toml").write_text("[package]"), "it holds Cargo.toml"),
        (lambda d: (d / ".git").mkdir(), "it holds .git"),
    ],
)
def test_clean_refuses_a_folder_the_tool_did_not_make(tmp_path: Path, setup: object, message: str) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    setup(folder)  # type: ignore[operator]
    before = snapshot(folder)
    with pytest.raises(FenceError, match=message):
        artifact_dist.clean(folder, keep_builds=False, runner=proc.Runner())
    assert folder.is_dir() and snapshot(folder) == before


@pytest.mark.parametrize(
    ("dist_dir", "message"),
    [
        ("", "it is the project root"),
        (".", "it is the project root"),
        ("sample", "it is the crate's folder"),
        ("..", "it holds the project root"),
        ("/", "it is the root of the file system"),
    ],
)
def test_the_dist_folder_may_not_be_the_project(dist_dir: str, message: str) -> None:
    config = repo_config()
    chosen = str((ROOT / dist_dir).resolve()) if dist_dir != "/" else "/"
    with pytest.raises(FenceError, match=message):
        artifacts.with_dist(config, chosen)


def test_writing_into_a_foreign_folder_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    ctx = context(tmp_path, skip_build=True, unsigned=True, allow_partial=True)
    release_dist(ctx.dist, TRIPLES[:1], marked=False)
    before = snapshot(ctx.dist)
    with pytest.raises(FenceError, match="refusing to write into"):
        artifacts.run_step("archive", ctx, NO_SBOM)
    assert snapshot(ctx.dist) == before


def test_a_second_run_fails_at_once_naming_the_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    ctx = context(tmp_path, skip_build=True, unsigned=True, allow_partial=True)
    release_dist(ctx.dist, TRIPLES[:1])
    # Another open file description in this process conflicts with flock like another process would.
    holder = os.open(ctx.dist / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(holder, b"4242\n")
        with pytest.raises(FenceError, match=r"another run \(pid 4242\) is using") as caught:
            artifacts.run_step("archive", ctx, NO_SBOM)
        assert "kill 4242" in str(caught.value.hint)
        with pytest.raises(FenceError, match="pid 4242"):
            artifact_dist.clean(ctx.dist, keep_builds=False, runner=proc.Runner())
    finally:
        os.close(holder)
    assert not list(ctx.dist.glob("*.tar.gz"))
    artifacts.run_step("archive", ctx, NO_SBOM)  # free again
    assert list(ctx.dist.glob("*.tar.gz"))


def test_a_dry_run_refuses_a_foreign_folder_but_creates_nothing(tmp_path: Path) -> None:
    dry = artifacts.ChainRun(
        artifacts.with_dist(repo_config(), str(tmp_path / "dist")),
        artifacts.Options(skip_build=True),
        proc.Runner(dry_run=True),
    )
    dry._facts = NO_RUST_HERE
    artifacts.run_step("archive", dry, NO_SBOM)
    assert not dry.dist.exists()
    dry.dist.mkdir()
    (dry.dist / "mine.txt").write_text("x")
    with pytest.raises(FenceError):
        artifacts.run_step("checksum", dry, NO_SBOM)


def test_a_run_removes_what_a_killed_run_half_wrote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    ctx = context(tmp_path, skip_build=True, unsigned=True, allow_partial=True)
    release_dist(ctx.dist, TRIPLES[:1])
    half = ctx.dist / "crcsum-0.1.0-x86_64-unknown-linux-gnu.tar.gz.tmp"
    half.write_bytes(b"\x1f\x8b half an archive")
    artifacts.run_step("archive", ctx, NO_SBOM)
    assert not half.exists()
    assert (ctx.dist / "crcsum-0.1.0-x86_64-unknown-linux-gnu.tar.gz").is_file()

"""The artifact chain: step order, run-once, manifests, prebuilt imports, and an unsigned run on fake binaries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.artifact_fixtures import make_dist
from tests.conftest import ROOT
from tooling import manifest, proc
from tooling.artifacts import checksum, prebuilt
from tooling.artifacts import dist as artifact_dist
from tooling.artifacts import steps as artifacts
from tooling.build.toolchain import SystemFacts
from tooling.config import load_config
from tooling.errors import ManifestError

TRIPLES = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-musl", "x86_64-pc-windows-msvc"]


def recording_steps(log: list[str]) -> dict[str, tuple[tuple[str, ...], object]]:
    def make(name: str):  # type: ignore[no-untyped-def]
        return lambda context: log.append(name)

    return {name: (pre, make(name)) for name, (pre, _) in artifacts.STEPS.items()}


# A Linux machine with no Rust at all: the plan places every target elsewhere or skips it.
NO_RUST_HERE = SystemFacts(host_os="linux", host_arch="x86_64", installs=())


def context(tmp_path: Path, **options: object) -> artifacts.ChainRun:
    """A chain run over tmp_path/dist on a described machine (no probing in unit tests)."""
    config = artifacts.with_dist(load_config(ROOT, {}), str(tmp_path / "dist"))
    run = artifacts.ChainRun(config, artifacts.Options(**options))  # type: ignore[arg-type]
    run._facts = NO_RUST_HERE
    return run


def test_package_runs_the_whole_chain_in_order_once(tmp_path: Path) -> None:
    log: list[str] = []
    ctx = context(tmp_path)
    steps = recording_steps(log)
    artifacts.run_step("checksum", ctx, steps)  # type: ignore[arg-type]
    artifacts.run_step("package", ctx, steps)  # type: ignore[arg-type]
    artifacts.run_step("build", ctx, steps)  # type: ignore[arg-type]
    assert log == ["build", "archive", "sbom", "checksum", "sign", "package"]


def test_shared_context_remembers_steps_across_option_sets(tmp_path: Path) -> None:
    config = artifacts.with_dist(load_config(ROOT, {}), str(tmp_path / "dist"))
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
    dist = make_dist(tmp_path / "dist", TRIPLES)
    merged = artifact_dist.merge_manifests(dist, [], proc.Runner())
    assert sorted({a.target for a in merged.artifacts}) == sorted(TRIPLES)
    assert manifest.read(dist / "manifest.json").artifacts == merged.artifacts


def test_prebuilt_folders_are_imported_after_checking_hashes(tmp_path: Path) -> None:
    ci = make_dist(tmp_path / "ci", TRIPLES[:2])
    dist = tmp_path / "dist"
    folders = prebuilt.find_prebuilt(ci)
    assert [f.name for f in folders] == sorted(TRIPLES[:2])
    for folder in folders:
        prebuilt.import_prebuilt(dist, folder)
    assert (dist / TRIPLES[0] / "crcsum").read_bytes() == (ci / TRIPLES[0] / "crcsum").read_bytes()
    (ci / TRIPLES[1] / "crcsum").write_bytes(b"tampered")
    with pytest.raises(ManifestError, match="differs from its manifest"):
        prebuilt.import_prebuilt(dist, ci / TRIPLES[1])


def test_unsigned_chain_on_fake_binaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    ctx = context(tmp_path, skip_build=True, unsigned=True, allow_partial=True)
    make_dist(ctx.dist, TRIPLES)
    # The SBOM step needs cargo: integration tests cover it; here it is left out of the chain.
    steps = {**artifacts.STEPS, "sbom": ((), lambda context: None)}
    artifacts.run_step("package", ctx, steps)

    names = sorted(p.name for p in ctx.dist.iterdir() if p.is_file())
    assert names == [
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
    sums = checksum.parse_sums((ctx.dist / "SHA256SUMS").read_text())
    record = json.loads((ctx.dist / "manifest.json").read_text())
    by_path = {a["path"]: a for a in record["artifacts"]}
    for name, digest in sums.items():
        assert by_path[name]["sha256"] == digest
        assert by_path[name]["step"] == "archive"
        assert by_path[name + ".sha256"]["kind"] == "checksum"
    assert by_path["x86_64-pc-windows-msvc/crcsum.exe"]["kind"] == "binary"


def test_switching_format_removes_the_stale_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    steps = {**artifacts.STEPS, "sbom": ((), lambda context: None)}
    first = context(tmp_path, skip_build=True, unsigned=True)
    make_dist(first.dist, TRIPLES[:1])
    artifacts.run_step("checksum", first, steps)
    second = context(tmp_path, skip_build=True, unsigned=True, unix_format="tar.xz")
    artifacts.run_step("checksum", second, steps)
    names = sorted(p.name for p in second.dist.iterdir() if p.is_file())
    assert "crcsum-0.1.0-x86_64-unknown-linux-gnu.tar.xz" in names
    assert not [n for n in names if ".tar.gz" in n]
    assert "tar.gz" not in (second.dist / "SHA256SUMS").read_text()


def test_clean_keeps_build_folders_when_asked(tmp_path: Path) -> None:
    dist = make_dist(tmp_path / "dist", TRIPLES[:1])
    (dist / "SHA256SUMS").write_text("")
    artifact_dist.clean(dist, keep_builds=True, runner=proc.Runner())
    assert [p.name for p in dist.iterdir()] == [TRIPLES[0]]
    artifact_dist.clean(dist, keep_builds=False, runner=proc.Runner())
    assert not dist.exists()

"""The fence around dist/: which paths may name a file inside it, which folders may be it, when it may be written or
deleted, and how a manifest that tries to leave it is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tooling import manifest
from tooling.artifacts import fence
from tooling.errors import FenceError, ManifestError

SHA = "0" * 64


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("crcsum-1.0.0-x86_64-unknown-linux-gnu.tar.gz", None),
        ("x86_64-unknown-linux-gnu/crcsum", None),
        ("SHA256SUMS.asc", None),
        ("", "is empty"),
        ("/etc/passwd", "is absolute"),
        ("../PRECIOUS.txt", "climbs out with '..'"),
        ("x86_64-unknown-linux-gnu/../../PRECIOUS.txt", "climbs out with '..'"),
        ("a/./b", "has a '.' segment"),
        (".", "has a '.' segment"),
        ("a//b", "has an empty segment"),
        ("folder/", "has an empty segment"),
        ("..\\..\\PRECIOUS.txt", "backslash"),
        ("C:/Windows/evil.dll", "colon"),
        ("a\x00b", "NUL"),
    ],
)
def test_which_paths_can_name_a_file_inside_dist(path: str, problem: str | None) -> None:
    found = fence.path_problem(path)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_check_relative_names_the_source_and_the_path() -> None:
    with pytest.raises(FenceError, match=r"the path '\.\./x' climbs out .* \(in dist/manifest\.json\)") as caught:
        fence.check_relative("../x", "dist/manifest.json")
    assert "invoke clean" in str(caught.value.hint)


def test_inside_follows_links_and_refuses_what_leaves(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "x86_64-unknown-linux-gnu").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    assert fence.inside(dist, "x86_64-unknown-linux-gnu/crcsum") == dist / "x86_64-unknown-linux-gnu" / "crcsum"
    assert fence.inside(dist, "not-yet-made.tar.gz") == dist / "not-yet-made.tar.gz"
    (dist / "escape").symlink_to(outside)
    (dist / "escape.tar.gz").symlink_to(outside / "file")
    (dist / "self").symlink_to(dist)
    (dist / "sibling.tar.gz").symlink_to(dist / "x86_64-unknown-linux-gnu")  # stays inside: fine
    for path in ("escape/file", "escape.tar.gz", "self"):
        with pytest.raises(FenceError, match=r"outside|link"):
            fence.inside(dist, path)
    assert fence.inside(dist, "sibling.tar.gz") == dist / "sibling.tar.gz"
    with pytest.raises(FenceError, match="is absolute"):
        fence.inside(dist, str(outside))


def test_a_triple_must_be_a_row_of_the_target_table() -> None:
    assert fence.check_triple("aarch64-apple-darwin", "m.json") == "aarch64-apple-darwin"
    for bad in ("../..", "x86_64-unknown-linux-gnu/..", "riscv64gc-unknown-linux-gnu", 7, None):
        with pytest.raises(ManifestError, match=r"target .* \(in m\.json\)") as caught:
            fence.check_triple(bad, "m.json")
        assert "x86_64-unknown-linux-gnu" in str(caught.value.hint) or not isinstance(bad, str)


@pytest.mark.parametrize(
    ("entries", "folder", "expected"),
    [
        ([("x86_64-unknown-linux-gnu/crcsum", "x86_64-unknown-linux-gnu", "binary")], "x86_64-unknown-linux-gnu", []),
        ([("x86_64-unknown-linux-gnu/crcsum", "x86_64-unknown-linux-gnu", "binary")], None, []),
        ([("crcsum", "x86_64-unknown-linux-gnu", "binary")], None, ["not <triple>/<file name>"]),
        ([("x86_64-unknown-linux-gnu/sub/crcsum", "x86_64-unknown-linux-gnu", "binary")], None, ["not <triple>"]),
        ([("aarch64-apple-darwin/crcsum", "x86_64-unknown-linux-gnu", "binary")], None, ["of its own target"]),
        ([("x86_64-unknown-linux-gnu/crcsum", None, "binary")], None, ["of its own target None"]),
        ([("x86_64-unknown-linux-gnu/a.tar.gz", "x86_64-unknown-linux-gnu", "archive")], None, ["binaries only"]),
        (
            [("x86_64-unknown-linux-gnu/crcsum", "x86_64-unknown-linux-gnu", "binary")],
            "aarch64-apple-darwin",
            ["does not match its folder aarch64-apple-darwin/"],
        ),
        ([], None, ["lists no binary"]),
    ],
)
def test_a_build_jobs_manifest_lists_only_its_own_binaries(
    entries: list[tuple[str, str | None, str]], folder: str | None, expected: list[str]
) -> None:
    found = fence.partial_problems(entries, folder)
    assert len(found) == len(expected)
    for problem, text in zip(found, expected, strict=True):
        assert text in problem


def test_which_folders_may_be_dist() -> None:
    project = Path("/work/project")
    protected = {"the project root": project, "the crate's folder": project / "crate", "your home folder": Path("/h")}
    assert fence.dist_dir_problem(project / "dist", protected, ()) is None
    assert fence.dist_dir_problem(project / "crate" / "dist", protected, ()) is None
    cases = {
        project: "it is the project root",
        project / "crate": "it is the crate's folder",
        Path("/work"): "it holds the project root (/work/project)",
        Path("/h"): "it is your home folder",
        Path("/"): "it is the root of the file system",
    }
    for folder, problem in cases.items():
        assert fence.dist_dir_problem(folder, protected, ()) == problem
    assert "it holds Cargo.toml" in str(fence.dist_dir_problem(Path("/other"), protected, ("Cargo.toml",)))
    assert "it holds .git" in str(fence.dist_dir_problem(Path("/other"), protected, (".git",)))
    with pytest.raises(FenceError, match="refusing to use /work/project as the dist folder") as caught:
        fence.check_dist_dir(project, protected, ())
    assert "tool.release.dist-dir" in str(caught.value.hint)


def test_the_tool_writes_only_into_its_own_or_an_empty_folder() -> None:
    assert fence.write_problem([], marked=False) is None
    assert fence.write_problem(["manifest.json", fence.MARKER_NAME], marked=True) is None
    problem = fence.write_problem([f"file{i}" for i in range(7)], marked=False)
    assert problem is not None and "file0, file1, file2, file3, file4 ..." in problem
    with pytest.raises(FenceError, match="refusing to write into /x") as caught:
        fence.check_writable(Path("/x"), ["notes.txt"], marked=False)
    assert fence.MARKER_NAME in str(caught.value.hint)


def test_clean_deletes_only_a_marked_folder() -> None:
    fence.check_deletable(Path("/x"), marked=True)
    with pytest.raises(FenceError, match="refusing to delete /x") as caught:
        fence.check_deletable(Path("/x"), marked=False)
    assert "delete it yourself" in str(caught.value.hint)


def entry(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "path": "x86_64-unknown-linux-gnu/crcsum",
        "kind": "binary",
        "target": "x86_64-unknown-linux-gnu",
        "size": 3,
        "sha256": SHA,
        "step": "build",
    }
    return {**base, **changes}


def manifest_text(*entries: dict[str, object]) -> str:
    return json.dumps({"schema": 1, "name": "crcsum", "version": "1.0.0", "artifacts": list(entries)})


def test_a_good_manifest_reads_back() -> None:
    record = manifest.Manifest.from_json(manifest_text(entry(signatures=["a.asc"], facts={"x": 1})), "m.json")
    assert record.artifacts[0].signatures == ("a.asc",)
    assert record.artifacts[0].facts == {"x": 1}


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        (manifest_text(entry(path="../PRECIOUS.txt")), FenceError, r"the path '\.\./PRE.*m\.json: artifacts\[0\]\)"),
        (manifest_text(entry(path="/etc/passwd")), FenceError, "is absolute"),
        (manifest_text(entry(signatures=["../../x.asc"])), FenceError, r"artifacts\[0\]\.signatures"),
        (manifest_text(entry(target="../..")), ManifestError, "is not a row of the target table"),
        (manifest_text(entry(sha256="abc")), ManifestError, r"sha256 must be a lowercase SHA-256"),
        (manifest_text(entry(size=-1)), ManifestError, "size must be a size in bytes"),
        (manifest_text(entry(size=True)), ManifestError, "size must be a size in bytes"),
        (manifest_text(entry(surprise=1)), ManifestError, "unknown field"),
        (manifest_text({"path": "a"}), ManifestError, "lacks 'kind'"),
        (manifest_text(entry(), entry()), ManifestError, "twice"),
        (manifest_text("not an object"), ManifestError, "is not an object"),  # type: ignore[arg-type]
        ("[]", ManifestError, "not a JSON object"),
        ("{", ManifestError, "not JSON"),
        ('{"name": "a", "version": "1", "artifacts": {}}', ManifestError, "'artifacts' must be a list"),
    ],
)
def test_a_bad_manifest_is_refused_naming_the_file(text: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        manifest.Manifest.from_json(text, "m.json")


def test_reading_a_manifest_that_is_not_text_or_not_a_file(tmp_path: Path) -> None:
    binary = tmp_path / "manifest.json"
    binary.write_bytes(b'{"name": "\xff\xfe"}')
    with pytest.raises(ManifestError, match="not UTF-8"):
        manifest.read(binary)
    folder = tmp_path / "folder.json"
    folder.mkdir()
    with pytest.raises(ManifestError, match="cannot read the manifest"):
        manifest.read(folder)

"""A dry run changes nothing: dist/, the git repository and the config files stay byte-identical.

A real release folder is made once (the host target's real build, packaged
unsigned); then every command that can change something runs with --dry-run
(or invoke's own --dry), and a snapshot taken before is compared with one
taken after each of them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

HOST = "x86_64-unknown-linux-gnu"
BIN = Path(sys.executable).parent


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(argv)} failed ({result.returncode}):\n{output[-4000:]}"
    assert "Traceback" not in output
    return result


def tree_digest(root: Path, names: list[str]) -> dict[str, str]:
    """{relative path: sha256} of the named files under root (a missing one is recorded as such)."""
    digests = {}
    for name in names:
        path = root / name
        if path.is_symlink():
            digests[name] = "link:" + os.readlink(path)
        elif path.is_file():
            digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            digests[name] = "absent" if not path.exists() else "dir"
    return digests


def snapshot(dist: Path, extra: list[Path]) -> dict[str, object]:
    """Everything a dry run must leave alone: dist/, the repository's state and files, other outputs."""
    git = ["git", "-C", str(ROOT)]
    listed = subprocess.run(
        [*git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], capture_output=True, check=True
    ).stdout.decode()
    files = sorted(name for name in listed.split("\0") if name)

    def git_out(*args: str) -> str:
        return subprocess.run([*git, *args], capture_output=True, text=True, check=False).stdout

    return {
        "dist": {p.relative_to(dist).as_posix(): p.read_bytes() for p in sorted(dist.rglob("*")) if p.is_file()},
        "dist-dirs": sorted(p.relative_to(dist).as_posix() for p in dist.rglob("*") if p.is_dir()),
        "work-tree": tree_digest(ROOT, files),
        "status": git_out("status", "--porcelain=v1", "--untracked-files=all"),
        "refs": git_out("show-ref", "--head"),
        "stash": git_out("stash", "list"),
        "extra": {str(p): p.exists() for p in extra},
    }


@pytest.fixture(scope="module")
def release_folder(cross_dist: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/ of a real unsigned package run over the host target's real build."""
    dist = tmp_path_factory.mktemp("dry-run") / "dist"
    env = {**os.environ, "RELEASE_DIST_DIR": str(dist)}
    run([str(BIN / "invoke"), "package", "--prebuilt", str(cross_dist(HOST)), "--unsigned", "--allow-partial"], env)
    assert (dist / "plan.json").is_file() and (dist / "SHA256SUMS").is_file()
    return dist


def dry_commands(binary: Path, notes: Path) -> list[list[str]]:
    invoke = str(BIN / "invoke")
    tooling = [sys.executable, "-m", "tooling"]
    return [
        [invoke, "build", "--dry-run"],
        [invoke, "build", "--target", HOST, "--dry-run"],
        [invoke, "archive", "--dry-run"],
        [invoke, "sbom", "--dry-run"],
        [invoke, "checksum", "--dry-run"],
        [invoke, "sign", "--dry-run"],
        [invoke, "package", "--dry-run"],
        [invoke, "package", "--skip-build", "--dry-run"],
        [invoke, "--dry", "package"],
        [invoke, "merge-manifests", "--dry-run"],
        [invoke, "clean", "--dry-run"],
        [invoke, "--dry", "clean"],
        [invoke, "clean", "--keep-builds", "--dry-run"],
        [invoke, "bump", "--part", "patch", "--dry-run"],
        [invoke, "--dry", "bump", "--part", "minor"],
        [invoke, "changelog", "--dry-run"],
        [invoke, "notes", "--output", str(notes), "--dry-run"],
        [invoke, "cli-diff", "--old", str(binary), "--new", str(binary), "--write-guide", "--dry-run"],
        [*tooling, "--dry-run", "build", "--ready-only"],
        [*tooling, "build", "--target", HOST, "--dry-run"],
        [*tooling, "--dry-run", "doctor", "--fix"],
        [*tooling, "targets", "--update-readme", "README.md", "--dry-run"],
        [*tooling, "exit-codes", "--update-docs", "docs/errors.md", "--dry-run"],
    ]


def test_every_changing_command_leaves_everything_as_it_was(
    release_folder: Path, cross_dist: Callable[[str], Path], tmp_path: Path
) -> None:
    env = {**os.environ, "RELEASE_DIST_DIR": str(release_folder)}
    env.pop("NOX_CURRENT_SESSION", None)
    notes = tmp_path / "notes.md"
    before = snapshot(release_folder, [notes])
    for argv in dry_commands(cross_dist(HOST) / "crcsum", notes):
        result = run(argv, env)
        after = snapshot(release_folder, [notes])
        changed = [key for key in before if before[key] != after[key]]
        assert not changed, f"{' '.join(argv[1:])} changed {changed}:\n{(result.stdout + result.stderr)[-3000:]}"


def test_a_dry_run_shows_the_plan_and_what_it_would_do(release_folder: Path) -> None:
    env = {**os.environ, "RELEASE_DIST_DIR": str(release_folder)}
    result = run([str(BIN / "invoke"), "package", "--dry-run"], env)
    output = result.stdout + result.stderr
    assert "release plan" in output and "x86_64-pc-windows-msvc" in output
    assert "(dry run: not run)" in output  # the cargo commands it would run
    assert "would write" in output


def test_a_dry_clean_names_what_it_would_delete(release_folder: Path, tmp_path: Path) -> None:
    copy = tmp_path / "dist"
    shutil.copytree(release_folder, copy)
    env = {**os.environ, "RELEASE_DIST_DIR": str(copy)}
    output = run([str(BIN / "invoke"), "--dry", "clean"], env).stderr
    assert f"would delete {copy / 'SHA256SUMS'}" in output
    assert (copy / "SHA256SUMS").is_file()

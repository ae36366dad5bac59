"""CLI comparison of two real builds of the sample crate: one with `--upper`, one without it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool
from tests.integration.versioning_repo import fixed_clock, make_repo
from tooling import proc
from tooling.cache import cache_dir
from tooling.errors import VersionError
from tooling.versioning.bump import run_bump
from tooling.versioning.cli_surface import capture_surface, compare_cli
from tooling.versioning.commands import run_cli_diff

__all__ = ["fixed_clock"]
pytestmark = pytest.mark.integration

CACHE = cache_dir() / "cli-surface-target"
UPPER_FIELD = """
    /// Print checksums in upper-case hexadecimal.
    #[arg(long)]
    upper: bool,
"""


def build_sample(work: Path, name: str, edit: bool) -> Path:
    """Copy sample/, optionally remove the --upper flag, and build it natively (warm target dir in ~/.cache)."""
    require_tool("cargo", "builds the sample crate")
    source = work / name
    shutil.copytree(ROOT / "sample", source, ignore=shutil.ignore_patterns("target", "*.o"))
    if edit:
        main = source / "src" / "main.rs"
        text = main.read_text(encoding="utf-8")
        assert UPPER_FIELD in text, "the sample's --upper flag changed; update this fixture"
        main.write_text(text.replace(UPPER_FIELD, "\n").replace("cli.upper", "false"), encoding="utf-8")
    target = CACHE / name
    subprocess.run(
        ["cargo", "build", "--quiet", "--manifest-path", str(source / "Cargo.toml")],
        env={**os.environ, "CARGO_TARGET_DIR": str(target)},
        check=True,
    )
    binary = work / f"crcsum-{name}"
    shutil.copy2(target / "debug" / "crcsum", binary)
    return binary


@pytest.fixture(scope="session")
def sample_binaries(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(previous, new): the sample as it is, and the sample without --upper."""
    work = tmp_path_factory.mktemp("cli-surface")
    return build_sample(work, "previous", edit=False), build_sample(work, "new", edit=True)


def test_surface_of_the_real_binary(sample_binaries: tuple[Path, Path]) -> None:
    surface = capture_surface(sample_binaries[0])
    assert set(surface) == {(), ("check",), ("completions",), ("man",)}
    assert "--upper" in surface[()].options
    assert list(surface[("check",)].arguments) == ["<EXPECTED>", "<FILE>"]
    assert list(surface[("completions",)].arguments) == ["<SHELL>"]


def test_removed_flag_is_caught(sample_binaries: tuple[Path, Path]) -> None:
    changes = compare_cli(*sample_binaries, "crcsum")
    assert [(c.kind, c.command, c.old, c.breaking) for c in changes] == [("removed-option", "crcsum", "--upper", True)]


@pytest.mark.usefixtures("fixed_clock")
def test_breaking_cli_change_gates_the_release_and_yields_a_migration_guide(
    tmp_path: Path, sample_binaries: tuple[Path, Path]
) -> None:
    previous, new = sample_binaries
    repo = make_repo(tmp_path / "repo", "1.2.3")
    repo.commit("fix: tidy the output code")
    with pytest.raises(VersionError, match=r"option `--upper` was removed from `crcsum`") as error:
        run_bump(repo.config(), part="minor", pre=None, auto=False, dry_run=False, cli_old=previous, cli_new=new)
    assert "--part major (2.0.0)" in str(error.value)
    run_bump(repo.config(), part="major", pre=None, auto=False, dry_run=False, cli_old=previous, cli_new=new)
    guide = repo.read("docs/migrations/1.2.3-to-2.0.0.md")
    assert "# Migrating crcsum from 1.2.3 to 2.0.0" in guide
    assert "| option `--upper` was removed from `crcsum` |" in guide
    assert "`crcsum --upper` no longer exists: drop the option from your invocations." in guide


@pytest.mark.usefixtures("fixed_clock")
def test_cli_diff_builds_the_previous_release_from_its_tag(tmp_path: Path) -> None:
    """`invoke cli-diff --old v1.0.0`: both sides built from git (a worktree per ref), then gated."""
    require_tool("cargo", "builds the sample crate")
    repo = make_repo(tmp_path / "repo", "1.0.0", tag=False)
    for name in ("src", "csrc", "build.rs", "Cargo.toml", "Cargo.lock"):
        source = ROOT / "sample" / name
        if source.is_dir():
            shutil.copytree(source, repo.root / name, dirs_exist_ok=True)
        else:
            shutil.copy2(source, repo.root / name)
    cargo = repo.root / "Cargo.toml"
    cargo.write_text(re.sub(r'(?m)^version = ".*"', 'version = "1.0.0"', cargo.read_text()), encoding="utf-8")
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "feat: the sample crate")
    repo.tag("v1.0.0")
    main = repo.root / "src" / "main.rs"
    main.write_text(main.read_text().replace(UPPER_FIELD, "\n").replace("cli.upper", "false"), encoding="utf-8")
    cargo.write_text(cargo.read_text().replace('version = "1.0.0"', 'version = "1.1.0"', 1), encoding="utf-8")
    repo.git("commit", "-q", "-am", "refactor: drop upper-case output")
    with pytest.raises(VersionError, match=r"option `--upper` was removed from `crcsum`"):
        run_cli_diff(repo.config(), "v1.0.0", None, write_guide=False, runner=proc.Runner())
    assert repo.git("worktree", "list").count("\n") == 0, "temporary worktrees must be removed"

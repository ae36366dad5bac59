"""`init`: [tool.release] added without touching the rest of pyproject.toml, generated files, drift."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tooling import __version__, init, proc
from tooling.errors import ConfigError

EXISTING = """# my project
[project]
name = "thing"  # keep this comment

[tool.ruff]
line-length = 100
"""


def test_release_table_is_added_and_everything_else_kept() -> None:
    text = init.with_release_table(EXISTING, "Cargo.toml")
    assert text.startswith(EXISTING.rstrip("\n"))
    data = tomllib.loads(text)
    assert data["tool"]["release"] == {"crate": "Cargo.toml", "targets": ["*"]}
    assert data["tool"]["ruff"] == {"line-length": 100}
    assert "# keep this comment" in text


def test_an_existing_release_table_is_left_alone() -> None:
    text = '[tool.release]\ncrate = "x/Cargo.toml"\n'
    assert init.with_release_table(text, "Cargo.toml") == text


def test_an_empty_pyproject_gets_the_table() -> None:
    assert tomllib.loads(init.with_release_table("", "Cargo.toml"))["tool"]["release"]["crate"] == "Cargo.toml"


def test_broken_toml_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        init.with_release_table("[tool\n", "Cargo.toml")


def test_generated_files_name_the_pinned_version_and_import_the_tool(tmp_path: Path) -> None:
    wanted = init.wanted_files(tmp_path)
    assert f'pip install "release-tooling=={__version__}"' in wanted[".github/workflows/release.yml"]
    assert f'pip install "release-tooling=={__version__}"' in wanted[".github/workflows/release-build.yml"]
    assert "import tooling.nox_sessions" in wanted["noxfile.py"]
    assert "from tooling.invoke_tasks import namespace" in wanted["tasks.py"]


def test_a_crate_gets_the_release_workflows_but_no_ci_of_its_own(tmp_path: Path) -> None:
    """A crate's own ci.yml is its business: init writes release.yml and the reusable build it calls."""
    assert sorted(p for p in init.wanted_files(tmp_path) if p.startswith(".github/")) == [
        ".github/workflows/release-build.yml",
        ".github/workflows/release.yml",
    ]


def test_the_workflows_follow_the_configured_tag_prefix(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.release.versioning]\ntag-prefix = "crcsum-v"\n')
    release = init.wanted_files(tmp_path)[".github/workflows/release.yml"]
    assert 'tags: ["crcsum-v[0-9]+.[0-9]+.[0-9]+*"]' in release


def test_apply_then_check_then_drift(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "x"\nversion = "0.1.0"\n')
    report = dict(init.apply(tmp_path, proc.Runner()))
    assert report["pyproject.toml"] == "added [tool.release]"
    assert report["noxfile.py"] == report["tasks.py"] == "written"
    assert report[".github/workflows/release.yml"] == report[".github/workflows/release-build.yml"] == "written"
    assert init.check(tmp_path) == []
    # A second run changes nothing.
    snapshot = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert set(dict(init.apply(tmp_path, proc.Runner())).values()) <= {"current", "kept ([tool.release] exists)"}
    assert snapshot == {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    # An edited generated file is drift: check names it, apply refuses unless forced.
    (tmp_path / "tasks.py").write_text("# mine\n")
    assert [(s.path, s.status) for s in init.check(tmp_path)] == [("tasks.py", "drifted")]
    with pytest.raises(ConfigError, match=r"tasks\.py"):
        init.apply(tmp_path, proc.Runner())
    assert (tmp_path / "tasks.py").read_text() == "# mine\n"
    assert dict(init.apply(tmp_path, proc.Runner(), force=True))["tasks.py"] == "rewritten (--force)"


def test_a_dry_run_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "x"\nversion = "0.1.0"\n')
    init.apply(tmp_path, proc.Runner(dry_run=True))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Cargo.toml"]


def test_no_crate_here_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no Cargo\.toml"):
        init.apply(tmp_path, proc.Runner())


def test_this_repository_uses_the_generated_thin_files() -> None:
    """One code path: this repository's tasks.py is what init writes; its noxfile starts with the same import."""
    assert (ROOT / "tasks.py").read_text() == init.generated_text("tasks.py.txt")
    assert "import tooling.nox_sessions" in (ROOT / "noxfile.py").read_text()


def test_this_repositorys_workflows_are_what_the_generator_writes() -> None:
    """init's generator, run for this repository (the tool installed from the checkout), wrote its workflows."""
    wanted = {p: text for p, text in init.wanted_files(ROOT).items() if p.startswith(".github/")}
    assert set(wanted) == {f".github/workflows/{name}" for name in ("ci.yml", "release.yml", "release-build.yml")}
    for path, text in wanted.items():
        assert (ROOT / path).read_text(encoding="utf-8") == text, f"{path}: run `python -m tooling workflows`"

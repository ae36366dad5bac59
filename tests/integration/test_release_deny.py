"""The dependency gate with the real cargo-deny, offline, on a copy of the sample crate.

The advisory databases are the tiny ones of tests/fixtures/advisory-db (one
advisory for roff, which sample/Cargo.lock locks at 1.1.1), each committed into
a git repository in a temporary folder, since cargo-deny opens nothing else.
The sample's dependencies come from the local cargo cache; nothing is fetched.
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, require_tool
from tooling import proc
from tooling.config import ReleaseConfig, build_config
from tooling.errors import ConfigError, GateError
from tooling.release.deny import DENY_TOOL, check_dependencies

pytestmark = pytest.mark.integration

FIXTURES = ROOT / "tests" / "fixtures" / "advisory-db"
ADVISORY = "RUSTSEC-2099-0001"
GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"]


def locked_version(lock: Path, name: str) -> str | None:
    for package in tomllib.loads(lock.read_text(encoding="utf-8")).get("package", []):
        if package["name"] == name:
            return str(package["version"])
    return None


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a copy of the sample crate (sample/), its dependencies in the cargo cache."""
    require_tool(DENY_TOOL, "the dependency gate runs it")
    require_tool("cargo")
    require_tool("git")
    root = tmp_path_factory.mktemp("deny-project")
    shutil.copytree(ROOT / "sample", root / "sample", ignore=shutil.ignore_patterns("target"))
    # The fixture's advisory is about this version: say so plainly if the sample moved on.
    assert locked_version(root / "sample" / "Cargo.lock", "roff") == "1.1.1", "update tests/fixtures/advisory-db"
    manifest = root / "sample" / "Cargo.toml"
    # Usually a no-op: the other integration tests have built the sample. Offline first, as the gate reads it.
    if subprocess.run(["cargo", "fetch", "--locked", "--offline", "--manifest-path", manifest]).returncode != 0:
        subprocess.run(["cargo", "fetch", "--locked", "--manifest-path", manifest], check=True)
    return root


@pytest.fixture(scope="module")
def advisory_db(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """advisory_db("vulnerable" | "patched"): that fixture database as a git repository with one commit."""
    made: dict[str, Path] = {}

    def make(name: str) -> Path:
        if name not in made:
            where = tmp_path_factory.mktemp(f"advisory-db-{name}")
            shutil.copytree(FIXTURES / name / "crates", where / "crates")
            subprocess.run([*GIT, "init", "-q", where], check=True)
            subprocess.run([*GIT, "-C", where, "add", "-A"], check=True)
            subprocess.run([*GIT, "-C", where, "commit", "-q", "-m", "advisories"], check=True)
            made[name] = where
        return made[name]

    return make


def sample_config(project: Path, **gates: Any) -> ReleaseConfig:
    return build_config({"crate": "sample/Cargo.toml", "gates": gates}, project, {})


def test_an_advisory_for_a_locked_version_stops_the_gate_naming_crate_and_id(
    project: Path, advisory_db: Callable[[str], Path]
) -> None:
    config = sample_config(project, **{"advisory-db": str(advisory_db("vulnerable"))})
    with pytest.raises(GateError) as error:
        check_dependencies(config, proc.Runner())
    message = error.value.message
    assert f"roff 1.1.1: advisory {ADVISORY}" in message
    assert "Upgrade to >=1.1.2" in message
    assert "cargo update -p roff" in str(error.value.hint)
    assert "invoke release --skip deny" in str(error.value.hint)


def test_the_gate_passes_when_the_locked_version_is_patched(project: Path, advisory_db: Callable[[str], Path]) -> None:
    db = advisory_db("patched")
    detail = check_dependencies(sample_config(project, **{"advisory-db": str(db)}), proc.Runner())
    assert detail == f"advisories, licenses, bans: ok (db: {db}; rules: built-in, no deny.toml)"


def test_without_a_db_advisories_are_reported_as_not_checked(project: Path) -> None:
    detail = check_dependencies(sample_config(project), proc.Runner())
    assert detail.startswith("licenses, bans: ok")
    assert detail.endswith("advisories not checked: no tool.release.gates.advisory-db")


def test_a_deny_toml_beside_the_crate_sets_the_license_and_ban_rules(
    project: Path, advisory_db: Callable[[str], Path], tmp_path: Path
) -> None:
    crate = tmp_path / "crate"
    shutil.copytree(project / "sample", crate)
    # MIT and Apache-2.0 only: unicode-ident also needs Unicode-DFS-2016; and strsim is banned.
    (crate / "deny.toml").write_text(
        '[licenses]\nallow = ["MIT", "Apache-2.0"]\n\n[bans]\ndeny = [{ name = "strsim" }]\n', encoding="utf-8"
    )
    config = build_config({"crate": "crate/Cargo.toml", "gates": {"advisory-db": "db"}}, tmp_path, {})
    (tmp_path / "db").symlink_to(advisory_db("patched"))
    with pytest.raises(GateError) as error:
        check_dependencies(config, proc.Runner())
    lines = error.value.message.splitlines()
    assert any(line.startswith("  unicode-ident 1.0.27: license ") and "Unicode-DFS-2016" in line for line in lines)
    assert any(line.startswith("  strsim 0.11.1: ban ") for line in lines)
    assert not any(ADVISORY in line for line in lines)
    assert f"[licenses] allow of {crate / 'deny.toml'}" in str(error.value.hint)


def test_a_db_without_a_commit_is_a_config_error_naming_the_key(project: Path, tmp_path: Path) -> None:
    subprocess.run([*GIT, "init", "-q", tmp_path / "empty-db"], check=True)
    config = sample_config(project, **{"advisory-db": str(tmp_path / "empty-db")})
    with pytest.raises(ConfigError) as error:
        check_dependencies(config, proc.Runner())
    assert "tool.release.gates.advisory-db" in error.value.message

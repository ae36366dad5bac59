"""The GitHub workflows only call nox sessions and invoke tasks (plus installing them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tooling.targets import triples

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
# What a step may run: the entry points, and the installs they need.
ALLOWED_COMMANDS = ("nox ", "invoke ", "pip install ", "rustup target add ", "sudo apt-get ", "echo ")


def run_lines(workflow: dict[str, Any]) -> list[str]:
    lines = []
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            for line in str(step.get("run", "")).splitlines():
                if line.strip():
                    lines.append(line.strip())
    return lines


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_steps_call_only_nox_and_invoke(path: Path) -> None:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    lines = run_lines(workflow)
    assert any(line.startswith(("nox ", "invoke ")) or "nox -s" in line for line in lines)
    for line in lines:
        assert line.startswith(ALLOWED_COMMANDS), f"{path.name}: unexpected command {line!r}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_triple_is_listed_by_hand(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for triple in triples():
        assert triple not in text, f"{path.name} names {triple}; the matrix must come from `nox -s ci-matrix`"


def test_there_are_workflows() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "release.yml"}

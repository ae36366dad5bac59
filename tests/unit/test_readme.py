from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tooling.cli import README_BEGIN, README_END, target_table_markdown, with_target_table
from tooling.errors import ReleaseError
from tooling.targets import triples


def test_readme_target_table_is_the_generated_one() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert with_target_table(readme) == readme, "run: python -m tooling targets --update-readme README.md"
    for triple in triples():
        assert f"`{triple}`" in target_table_markdown()


def test_readme_states_both_quickstart_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "bash .ci/install-deps\n" in readme
    assert "nox -s build\n" in readme
    assert "nox -s tests\n" in readme
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "\nnox -s tests\n" in ci, ".ci/run must call the README's test command"


def test_missing_markers_are_reported() -> None:
    with pytest.raises(ReleaseError, match="no generated-table markers"):
        with_target_table("# a README without the table\n")
    assert README_BEGIN.startswith("<!--") and README_END.startswith("<!--")

"""The error boundary: unique exit codes, every error class in errors.py, literal messages, annotations."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tooling import cli, errors, ui
from tooling.entry import run_entry
from tooling.errors import BROKEN_PIPE_EXIT, INTERRUPTED_EXIT, ConfigError, ReleaseError


def test_every_error_class_has_its_own_exit_code() -> None:
    codes = [cls.exit_code for cls in errors.ERROR_CLASSES]
    assert len(codes) == len(set(codes))
    assert INTERRUPTED_EXIT not in codes and BROKEN_PIPE_EXIT not in codes


def test_every_error_class_lives_in_errors_py_and_is_listed() -> None:
    """No module defines its own ReleaseError subclass; errors.py lists each of its classes."""
    release_errors = {cls.__name__ for cls in errors.ERROR_CLASSES}
    defined_elsewhere = []
    for path in (ROOT / "tooling").rglob("*.py"):
        if path.name == "errors.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(base, (ast.Name, ast.Attribute))
                and (base.id if isinstance(base, ast.Name) else base.attr) in release_errors
                for base in node.bases
            ):
                defined_elsewhere.append(f"{path.relative_to(ROOT)}:{node.name}")
    assert defined_elsewhere == []
    in_module = {
        value for value in vars(errors).values() if isinstance(value, type) and issubclass(value, ReleaseError)
    }
    assert in_module == set(errors.ERROR_CLASSES)


def test_the_documented_exit_codes_are_current() -> None:
    docs = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    expected = cli.replace_between(docs, cli.ERRORS_BEGIN, cli.ERRORS_END, cli.exit_codes_markdown(), "docs")
    assert docs == expected, "run `python -m tooling exit-codes --update-docs docs/errors.md`"
    for code, name, _ in errors.exit_code_table():
        assert re.search(rf"^\| {code} \| `?{re.escape(name)}`? \|", docs, re.M)


@pytest.mark.parametrize("text", ["x has no [package] table", "add a [[bin]] target", "path a[/bold]b/[red]c"])
def test_messages_are_printed_literally(capsys: pytest.CaptureFixture[str], text: str) -> None:
    ui.error(text, hint=f"see {text}")
    ui.warn(text)
    err = capsys.readouterr().err
    assert f"error: {text}" in err
    assert f"hint: see {text}" in err
    assert f"warning: {text}" in err


def test_config_messages_keep_their_toml_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Cargo.toml").write_text("[workspace]\nmembers = []\n")
    (tmp_path / "pyproject.toml").write_text('[tool.release]\ncrate = "Cargo.toml"\n')
    monkeypatch.setenv("RELEASE_CONFIG", str(tmp_path / "pyproject.toml"))
    assert cli.main(["ci-matrix"]) == ConfigError.exit_code
    err = capsys.readouterr().err
    assert "has no [package] table" in err
    assert "Traceback" not in err


def test_annotations_escape_what_github_would_read_as_syntax() -> None:
    assert ui.annotation("error", "50% done\nnext line") == "::error::50%25 done%0Anext line"
    assert ui.annotation("warning", "w", title="a:b,c") == "::warning title=a%3Ab%2Cc::w"


def test_errors_become_annotations_on_github_actions(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    ui.error("no [package] table", hint="point crate at the package")
    ui.warn("skipping x")
    err = capsys.readouterr().err
    assert "::error::no [package] table%0Ahint: point crate at the package" in err
    assert "::warning::skipping x" in err


def test_the_boundary_turns_each_failure_into_its_code(capsys: pytest.CaptureFixture[str]) -> None:
    def fail(error: BaseException) -> int:
        raise error

    assert run_entry(lambda: 0) == 0
    assert run_entry(lambda: 3) == 3
    assert run_entry(lambda: fail(ConfigError("bad key", hint="fix it"))) == ConfigError.exit_code
    assert run_entry(lambda: fail(KeyboardInterrupt())) == INTERRUPTED_EXIT
    err = capsys.readouterr().err
    assert "error: bad key" in err and "hint: fix it" in err and "error: interrupted" in err
    with pytest.raises(ZeroDivisionError):  # a bug keeps its traceback
        run_entry(lambda: 1 // 0)


def test_the_exit_codes_command_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["exit-codes"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == cli.exit_codes_markdown()
    assert "| 2 | `ConfigError` |" in out

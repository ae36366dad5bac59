"""One definition of [tool.release]: validation of every table, the shipped JSON Schema, the docs reference."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import ROOT
from tooling import cli, config_schema, resources
from tooling.config import build_config
from tooling.errors import ConfigError


def test_the_shipped_schema_is_current() -> None:
    shipped = resources.read_text(cli.SCHEMA_FILE)
    assert shipped == config_schema.json_schema_text(), "run `python -m tooling schema --write`"


def test_the_docs_reference_is_current() -> None:
    docs = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    current = cli.replace_between(docs, cli.CONFIG_BEGIN, cli.CONFIG_END, config_schema.reference_markdown(), "docs")
    assert docs == current, "run `python -m tooling schema --write`"
    for table in config_schema.TABLES:
        assert f"### [{table.path}]" in docs
        for key in table.fields:
            assert f"| `{key}` |" in docs


def test_this_repository_s_table_validates_against_the_schema() -> None:
    table = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["release"]
    jsonschema.validate(table, config_schema.json_schema())


@pytest.mark.parametrize(
    "table",
    [
        {"tragets": ["*"]},
        {"glibc": 2.17},
        {"archive": {"unix": "rar"}},
        {"sign": {"backends": ["pgp"]}},
        {"versioning": {"tag-prefx": "v"}},
        {"metadata": {"license": 3}},
        {"package": 1},
    ],
)
def test_the_schema_rejects_what_validation_rejects(table: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(table, config_schema.json_schema())


@pytest.fixture
def crate(tmp_path: Path) -> Path:
    (tmp_path / "crate" / "src").mkdir(parents=True)
    (tmp_path / "crate" / "src" / "main.rs").write_text("fn main() {}\n")
    (tmp_path / "crate" / "Cargo.toml").write_text('[package]\nname = "taskguard"\nversion = "1.0.0"\n')
    return tmp_path


def _misspelt(key: str) -> str:
    # The last letter typed twice: "targetss" must suggest "targets", not its neighbour "target".
    return key + key[-1]


# A target table lives under a pattern of the user's choosing; the tests use one triple.
TARGET_KEY = "x86_64-unknown-linux-gnu"


def _nested(table: config_schema.Table, raw: dict[str, Any]) -> dict[str, Any]:
    """`raw` placed where `table` lives inside [tool.release]."""
    if table is config_schema.RELEASE:
        return raw
    if table is config_schema.TARGET:
        return {"target": {TARGET_KEY: raw}}
    if table is config_schema.BINARY:
        return {"binary": {"taskguard": raw}}
    nested: dict[str, Any] = raw
    for key in reversed(table.path.removeprefix("tool.release.").split(".")):
        nested = {key: nested}
    return nested


def _path(table: config_schema.Table) -> str:
    """The key path messages name for `table`."""
    if table is config_schema.TARGET:
        return f'tool.release.target."{TARGET_KEY}"'
    if table is config_schema.BINARY:
        return 'tool.release.binary."taskguard"'
    return table.path


@pytest.mark.parametrize("table", config_schema.TABLES, ids=lambda t: t.path)
def test_a_mistake_in_every_table_names_its_key_path(crate: Path, table: config_schema.Table) -> None:
    for key, spec in table.fields.items():
        with pytest.raises(ConfigError) as caught:
            build_config({"crate": "crate/Cargo.toml", **_nested(table, {_misspelt(key): "x"})}, crate, {})
        assert caught.value.message == f"unknown key {_path(table)}.{_misspelt(key)}"
        assert caught.value.hint is not None and f"did you mean {key!r}?" in caught.value.hint
        wrong: Any = 3 if spec.kind != "string-or-table" else [3]
        with pytest.raises(ConfigError) as caught:
            build_config({"crate": "crate/Cargo.toml", **_nested(table, {key: wrong})}, crate, {})
        assert caught.value.message.startswith(f"{_path(table)}.{key} must be "), caught.value.message
        assert caught.value.hint == f"e.g. {key} = {spec.example}"


def test_the_old_package_table_still_works_and_is_named_as_written(crate: Path) -> None:
    config = build_config({"crate": "crate/Cargo.toml", "package": {"maintainer": "Ann"}}, crate, {})
    assert config.package.maintainer == "Ann"
    with pytest.raises(ConfigError, match=r"unknown key tool\.release\.package\.homepag"):
        build_config({"crate": "crate/Cargo.toml", "package": {"homepag": "x"}}, crate, {})
    with pytest.raises(ConfigError, match="say the same thing twice"):
        build_config(
            {"crate": "crate/Cargo.toml", "package": {"license": "MIT"}, "metadata": {"license": "MIT"}}, crate, {}
        )


def test_every_example_in_the_definition_is_valid_toml_of_its_kind() -> None:
    for table in config_schema.TABLES:
        for key, spec in table.fields.items():
            value = tomllib.loads(f"v = {spec.example}")["v"]
            assert spec.accepts(value), f"{table.path}.{key}: example {spec.example} is not {spec.kind}"
            json.dumps(value)


def test_a_binary_s_own_smoke_settings_win_over_its_target_s(crate: Path) -> None:
    from tooling.targets import get_target

    config = build_config(
        {
            "crate": "crate/Cargo.toml",
            "smoke-args": ["--version"],
            "target": {"*-linux-*": {"smoke-expect": ["{version} linux"]}},
            "binary": {"taskguard": {"smoke-args": ["-V"]}},
        },
        crate,
        {},
    )
    linux, mac = get_target("x86_64-unknown-linux-gnu"), get_target("aarch64-apple-darwin")
    assert config.smoke_for(linux, "taskguard") == (("-V",), ("{version} linux",))
    assert config.smoke_for(mac, "taskguard") == (("-V",), ("{name}", "{version}"))
    assert config.smoke_for(mac, "other") == (("--version",), ("{name}", "{version}"))


def test_a_binary_table_for_a_binary_not_shipped_is_named(crate: Path) -> None:
    with pytest.raises(ConfigError, match=r'tool\.release\.binary."tg": not a binary this release ships') as caught:
        build_config({"crate": "crate/Cargo.toml", "binary": {"tg": {"smoke-args": ["-V"]}}}, crate, {})
    assert caught.value.hint == "the binaries shipped are: taskguard"


def test_the_schema_command_prints_the_shipped_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["schema"]) == 0
    assert capsys.readouterr().out == resources.read_text(cli.SCHEMA_FILE)


def test_schema_write_in_a_dry_run_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "configuration.md"
    docs.write_text(f"intro\n{cli.CONFIG_BEGIN}\nold\n{cli.CONFIG_END}\n")
    before = resources.read_text(cli.SCHEMA_FILE)
    assert cli.main(["--dry-run", "schema", "--write", "--docs", str(docs)]) == 0
    assert docs.read_text().endswith(f"{cli.CONFIG_BEGIN}\nold\n{cli.CONFIG_END}\n")
    assert resources.read_text(cli.SCHEMA_FILE) == before
    assert "would rewrite" in capsys.readouterr().err

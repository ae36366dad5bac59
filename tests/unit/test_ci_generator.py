"""The workflow generator: settings from pyproject.toml, filters, rendering, step outputs, `workflows --check`."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from tooling import __version__, cli, workflows
from tooling.errors import ConfigError


def test_a_crate_installs_the_pinned_tool_and_this_repository_its_checkout() -> None:
    crate = workflows.settings_from_pyproject('[project]\nname = "thing"\n')
    assert crate.install == f'"release-tooling=={__version__}"' and not crate.own_repository
    own = workflows.settings_from_pyproject('[project]\nname = "release-tooling"\n')
    assert own.install == "-e ." and own.own_repository
    assert workflows.settings_from_pyproject("") == crate


def test_versioning_settings_shape_the_filters() -> None:
    text = (
        "[tool.release.versioning]\n"
        'tag-prefix = "crcsum-v"\nmain-branch = "trunk"\nrelease-branches = "rel-{major}.{minor}"\n'
    )
    settings = workflows.settings_from_pyproject(text)
    assert (settings.tag_prefix, settings.main_branch, settings.release_branches) == (
        "crcsum-v",
        "trunk",
        "rel-{major}.{minor}",
    )
    with pytest.raises(ConfigError, match=r"tag-prefix must be a non-empty string"):
        workflows.settings_from_pyproject('[tool.release.versioning]\ntag-prefix = ""\n')
    with pytest.raises(ConfigError, match=r"not valid TOML"):
        workflows.settings_from_pyproject("[tool\n")


def test_filters_escape_what_github_would_read_as_a_pattern() -> None:
    assert workflows.tag_filter("v") == "v[0-9]+.[0-9]+.[0-9]+*"
    assert workflows.tag_filter("a+b!") == "a\\+b\\![0-9]+.[0-9]+.[0-9]+*"
    assert workflows.release_branch_filter("release/{major}.{minor}") == "release/*.*"
    assert workflows.release_branch_filter("v{major}.x") == "v*.x"


def test_rendering_fills_every_placeholder_and_refuses_an_unknown_one() -> None:
    settings = workflows.settings_from_pyproject("")
    for name in (workflows.RELEASE, workflows.BUILD, workflows.CI):
        text = workflows.render(workflows.template_text(name), settings)
        assert not re.search(r"@[A-Z][A-Z_]*(:[a-z-]+)?@", text), name
        yaml.safe_load(text)  # valid YAML
    with pytest.raises(ValueError, match="@NOPE@"):
        workflows.render("run: @NOPE@\n", settings)


def test_the_release_step_gets_every_secret_and_a_push_credential_for_this_repository_only() -> None:
    lines = workflows.release_env_lines("  ")
    assert lines[0] == "  GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}"
    assert "  CARGO_REGISTRY_TOKEN: ${{ secrets.CARGO_REGISTRY_TOKEN }}" in lines
    assert "  RELEASE_WEBHOOK_URL: ${{ secrets.RELEASE_WEBHOOK_URL }}" in lines
    helpers = [line for line in lines if "GIT_CONFIG_KEY" in line]
    assert helpers == [
        "  GIT_CONFIG_KEY_0: credential.${{ github.server_url }}/${{ github.repository }}.helper",
        "  GIT_CONFIG_KEY_1: credential.${{ github.server_url }}/${{ github.repository }}.git.helper",
    ]
    # The token reaches git from the environment when git asks; it is never written into the value.
    assert all("secrets." not in line for line in lines if "GIT_CONFIG_VALUE" in line)


def test_github_output_lines_and_multiline_values(tmp_path: Path) -> None:
    text = workflows.github_output_text({"toolchain": "rustc-1.95.0", "cache-paths": "/a\n/b"})
    end = workflows.OUTPUT_DELIMITER
    assert text == f"toolchain=rustc-1.95.0\ncache-paths<<{end}\n/a\n/b\n{end}\n"
    path = tmp_path / "out"
    workflows.append_github_output(path, {"a": "1"})
    workflows.append_github_output(path, {"b": "2"})
    assert path.read_text() == "a=1\nb=2\n"


def test_workflows_command_writes_then_checks_then_names_an_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "thing"\n')
    monkeypatch.setattr(cli, "_config", lambda: SimpleNamespace(root=tmp_path))
    assert cli.main(["workflows", "--check"]) == ConfigError.exit_code  # nothing written yet
    assert cli.main(["--dry-run", "workflows"]) == 0
    assert not (tmp_path / ".github").exists()
    assert cli.main(["workflows"]) == 0
    assert sorted(p.name for p in (tmp_path / ".github" / "workflows").iterdir()) == [
        "release-build.yml",
        "release.yml",
    ]
    assert cli.main(["workflows", "--check"]) == 0
    (tmp_path / ".github" / "workflows" / "release.yml").write_text("name: mine\n")
    capsys.readouterr()
    assert cli.main(["workflows", "--check"]) == ConfigError.exit_code
    assert ".github/workflows/release.yml: differs from what the tool writes" in capsys.readouterr().err

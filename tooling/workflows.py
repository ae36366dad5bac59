"""The GitHub workflows the tool writes, and the outputs its commands give a workflow step.

`python -m tooling init` writes release.yml and the reusable release-build.yml
into a crate's repository; this repository's own ci.yml, release.yml and
release-build.yml come from the same templates (tooling/resources/init/*.yml.txt),
and a test fails when a checked-in copy differs from what `workflow_files`
returns. Rendering is pure: a template, the settings read from pyproject.toml
(`settings_from_pyproject`), and the pinned actions below.

Every action is pinned to the full commit SHA of a release, with the release
in a comment; bump one here, never in a workflow.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooling import __version__, resources
from tooling.errors import ConfigError

WORKFLOW_DIR = ".github/workflows"
RELEASE = "release.yml"
BUILD = "release-build.yml"
CI = "ci.yml"
TOOL_PROJECT = "release-tooling"  # [project] name of this repository: its workflows install the tool from the checkout
UV = "uv==0.13.9"  # the tool's own checks run nox sessions with uv


@dataclass(frozen=True)
class Pin:
    """One action at one release: its repository, the release's full commit SHA, and the release."""

    repository: str
    sha: str
    version: str

    def uses(self) -> str:
        """The `uses:` value with the release in a comment: `owner/repo@<sha> # vX.Y.Z`."""
        return f"{self.repository}@{self.sha} # {self.version}"


# The release commits of the actions the workflows use (the SHAs the tags pointed at).
ACTIONS: Mapping[str, Pin] = {
    "checkout": Pin("actions/checkout", "08c6903cd8c0fde910a37f88322edcfb5dd907a8", "v5.0.0"),
    "setup-python": Pin("actions/setup-python", "e797f83bcb11b83ae66e0230d6156d7c80228e7c", "v6.0.0"),
    "cache": Pin("actions/cache", "0057852bfaa89a56745cba8c7296529d2fc39830", "v4.3.0"),
    "upload-artifact": Pin("actions/upload-artifact", "ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"),
    "download-artifact": Pin("actions/download-artifact", "634f93cb2916e3fdff6788551b99b062d0335ce0", "v5.0.0"),
    "attest-build-provenance": Pin(
        "actions/attest-build-provenance", "977bb373ede98d70efdf65b84cb5f73e068dcc2a", "v3.0.0"
    ),
}

# Characters GitHub's branch and tag filters treat as patterns; a prefix containing one is escaped.
_FILTER_SPECIALS = "*?+[]!\\"
_PLACEHOLDER = re.compile(r"@[A-Z][A-Z_]*(?::[a-z-]+)?@")
SEMVER_FILTER = "[0-9]+.[0-9]+.[0-9]+*"  # X.Y.Z and anything after it (prereleases); check-tag decides exactly

# The release job's credentials, one secret each: what signs, publishes and announces (docs/workflows.md).
SIGNING_SECRETS = ("RELEASE_MINISIGN_SECRET_KEY", "RELEASE_MINISIGN_PASSPHRASE")


@dataclass(frozen=True)
class WorkflowSettings:
    """What the workflows depend on besides the templates."""

    install: str  # `pip install` arguments that bring the tool and its pinned helpers
    tag_prefix: str = "v"  # [tool.release.versioning] tag-prefix
    main_branch: str = "main"  # [tool.release.versioning] main-branch
    release_branches: str = "release/{major}.{minor}"  # [tool.release.versioning] release-branches
    own_repository: bool = False  # this repository: also ci.yml, with the tool's own checks


# --- settings ---------------------------------------------------------------------------------


def _table(data: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    for key in keys:
        value = data.get(key, {})
        data = value if isinstance(value, dict) else {}
    return data


def _string(table: Mapping[str, Any], key: str, default: str, where: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}.{key} must be a non-empty string", hint=f'e.g. {key} = "{default}"')
    return value


def settings_from_pyproject(text: str) -> WorkflowSettings:
    """The workflow settings of a project from its pyproject.toml text (pure; "" for a project without one).

    Only what the workflows need is read, without loading the crate: init
    writes them before [tool.release] may point at anything.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"pyproject.toml is not valid TOML: {error}", hint="fix it, then run again") from error
    versioning = _table(data, "tool", "release", "versioning")
    where = "tool.release.versioning"
    own = _table(data, "project").get("name") == TOOL_PROJECT
    return WorkflowSettings(
        install="-e ." if own else f'"{TOOL_PROJECT}=={__version__}"',
        tag_prefix=_string(versioning, "tag-prefix", "v", where),
        main_branch=_string(versioning, "main-branch", "main", where),
        release_branches=_string(versioning, "release-branches", "release/{major}.{minor}", where),
        own_repository=own,
    )


def settings_for(root: Path) -> WorkflowSettings:
    """The workflow settings of the project at `root` (its pyproject.toml, if any)."""
    pyproject = root / "pyproject.toml"
    return settings_from_pyproject(pyproject.read_text(encoding="utf-8") if pyproject.is_file() else "")


# --- rendering ----------------------------------------------------------------------------------


def filter_escape(text: str) -> str:
    """`text` as a literal in a GitHub branch or tag filter (pure)."""
    return "".join(f"\\{char}" if char in _FILTER_SPECIALS else char for char in text)


def tag_filter(prefix: str) -> str:
    """The push-tag filter of release tags: the prefix, then a semantic version (pure)."""
    return filter_escape(prefix) + SEMVER_FILTER


def release_branch_filter(pattern: str) -> str:
    """The branch filter matching every release branch of `pattern` (release/{major}.{minor} -> release/*.*)."""
    return filter_escape(pattern.replace("{major}", "\0").replace("{minor}", "\0")).replace("\0", "*")


def publishing_secrets() -> tuple[str, ...]:
    """The environment variables of every channel's secret and of the announcement webhook (their defaults)."""
    from tooling.config_schema import ANNOUNCE, PUBLISHER_TABLES

    names = [
        field.default
        for table in PUBLISHER_TABLES.values()
        for key, field in table.fields.items()
        if key.endswith("-env") and field.default
    ]
    return tuple(dict.fromkeys([*names, ANNOUNCE.fields["webhook-env"].default]))


def release_env_lines(indent: str) -> list[str]:
    """The release step's `env:` entries: GITHUB_TOKEN, the signing key, every channel's secret, git's push auth."""
    lines = [f"{indent}GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}"]
    lines += [f"{indent}{name}: ${{{{ secrets.{name} }}}}" for name in (*SIGNING_SECRETS, *publishing_secrets())]
    # checkout keeps no credentials; git asks this helper, scoped to this repository's URL, when the release
    # pushes its branch, and it answers with GITHUB_TOKEN from the environment (never written to disk).
    helper = '\'!f() { test "$1" = get && echo username=x-access-token && echo "password=$GITHUB_TOKEN"; }; f\''
    lines.append(
        f"{indent}# The push of the release branch: git asks this helper, for this repository only, for GITHUB_TOKEN."
    )
    lines.append(f'{indent}GIT_CONFIG_COUNT: "2"')
    for index, suffix in enumerate(("", ".git")):
        url = "${{ github.server_url }}/${{ github.repository }}" + suffix
        lines.append(f"{indent}GIT_CONFIG_KEY_{index}: credential.{url}.helper")
        lines.append(f"{indent}GIT_CONFIG_VALUE_{index}: {helper}")
    return lines


def _expand_line(line: str) -> list[str]:
    """One template line, with a whole-line placeholder replaced by its lines at its indentation."""
    if line.strip() == "@RELEASE_ENV@":
        return release_env_lines(line[: len(line) - len(line.lstrip())])
    return [line]


def render(template: str, settings: WorkflowSettings) -> str:
    """A workflow template filled in (pure): pinned actions, the tool's install, the tag and branch filters."""
    lines = [out for line in template.splitlines() for out in _expand_line(line)]
    text = "\n".join(lines) + "\n"
    values = {
        "@INSTALL@": settings.install,
        "@TAG_FILTER@": tag_filter(settings.tag_prefix),
        "@MAIN_BRANCH@": filter_escape(settings.main_branch),
        "@RELEASE_BRANCHES@": release_branch_filter(settings.release_branches),
        "@UV@": UV,
        **{f"@USES:{name}@": pin.uses() for name, pin in ACTIONS.items()},
    }
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    unknown = _PLACEHOLDER.search(text)
    if unknown:
        raise ValueError(f"a workflow template has an unknown placeholder {unknown.group()}")
    return text


def template_text(name: str) -> str:
    """The template of one workflow, as shipped in the package."""
    return resources.read_text(f"init/{name}.txt")


def workflow_files(settings: WorkflowSettings) -> dict[str, str]:
    """{path relative to the project root: text} of every workflow the tool writes for these settings."""
    names = [RELEASE, BUILD, *([CI] if settings.own_repository else [])]
    return {f"{WORKFLOW_DIR}/{name}": render(template_text(name), settings) for name in names}


# --- outputs of a step ------------------------------------------------------------------------

OUTPUT_DELIMITER = "RELEASE_TOOLING_OUTPUT_END"


def github_output_text(values: Mapping[str, str]) -> str:
    """`name=value` lines for $GITHUB_OUTPUT (pure); a multi-line value in the heredoc form GitHub reads."""
    lines = []
    for name, value in values.items():
        if "\n" in value:
            lines += [f"{name}<<{OUTPUT_DELIMITER}", value, OUTPUT_DELIMITER]
        else:
            lines.append(f"{name}={value}")
    return "".join(f"{line}\n" for line in lines)


def append_github_output(path: Path, values: Mapping[str, str]) -> None:
    """Add `values` to the step's output file (GitHub reads it when the step ends)."""
    with path.open("a", encoding="utf-8") as output:
        output.write(github_output_text(values))

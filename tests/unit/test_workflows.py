"""The GitHub workflows: generated, calling only nox sessions and invoke tasks, and hardened.

Read from the checked-in files, the way GitHub reads them: every `uses:`
pinned to a full commit SHA with its release in a comment, no credentials
kept by checkout, permissions granted per job and only where needed, no
expression inside a run script, and every run step one nox session, invoke
task or `pip install`.
"""

from __future__ import annotations

import re
import runpy
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import nox.registry
import pytest
import yaml

from tests.conftest import ROOT
from tooling import workflows
from tooling.invoke_tasks import namespace
from tooling.targets import triples

WORKFLOW_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))
# What a step may run: the entry points, and the install that brings them.
ALLOWED_COMMANDS = ("nox -s ", "invoke ", "pip install ")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
LOCAL_WORKFLOW = re.compile(r"^\./\.github/workflows/[\w.-]+\.yml$")


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((WORKFLOW_DIR / name).read_text(encoding="utf-8"))
    data["on"] = data.pop(True)  # YAML 1.1 reads the key `on` as true
    return data


def jobs(name: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = load(name)["jobs"]
    return found


def steps() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(workflow, job, step) of every step of every workflow."""
    for path in WORKFLOWS:
        for job_name, job in jobs(path.name).items():
            for step in job.get("steps", []):
                yield path.name, job_name, step


@cache
def nox_sessions() -> frozenset[str]:
    """The sessions this repository's noxfile registers (run once: nox keeps a global registry)."""
    runpy.run_path(str(ROOT / "noxfile.py"))
    return frozenset(nox.registry.get())


def test_the_workflows_are_the_generators_output_and_nothing_else() -> None:
    wanted = workflows.workflow_files(workflows.settings_for(ROOT))
    assert {f".github/workflows/{p.name}" for p in WORKFLOWS} == set(wanted)
    for path, text in wanted.items():
        assert (ROOT / path).read_text(encoding="utf-8") == text, f"{path}: run `python -m tooling workflows`"


def test_every_run_step_is_one_nox_session_invoke_task_or_pip_install() -> None:
    sessions, tasks = nox_sessions(), set(namespace.task_names)
    for name, job, step in steps():
        script = str(step.get("run", ""))
        if not script:
            continue
        lines = [line.strip() for line in script.splitlines() if line.strip()]
        assert len(lines) == 1, f"{name}/{job}: one command per step, not {lines}"
        line = lines[0]
        assert line.startswith(ALLOWED_COMMANDS), f"{name}/{job}: unexpected command {line!r}"
        words = line.split()
        if line.startswith("nox -s "):
            for session in words[2 : words.index("--") if "--" in words else None]:
                # A session named by the matrix row comes in an environment variable set from that row.
                if session.startswith('"$'):
                    assert step["env"][session.strip('"$')].startswith("${{ matrix."), (name, job, session)
                else:
                    assert session in sessions, f"{name}/{job}: no nox session {session}"
        if line.startswith("invoke "):
            assert words[1] in tasks, f"{name}/{job}: no invoke task {words[1]}"


def test_the_matrix_names_only_sessions_that_exist() -> None:
    sessions = nox_sessions()
    for triple in triples():
        assert {f"setup-{triple}", f"build-{triple}", f"smoke-{triple}"} <= sessions
    assert {"ci-matrix", "setup-release", "lint-workflows"} <= sessions


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_triple_is_listed_by_hand(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for triple in triples():
        assert triple not in text, f"{path.name} names {triple}; the matrix must come from `nox -s ci-matrix`"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_full_commit_sha_with_its_release(path: Path) -> None:
    uses = [line.split("uses:", 1)[1].strip() for line in path.read_text().splitlines() if "uses:" in line]
    assert uses
    for value in uses:
        local = value.split(" #", 1)[0]
        assert PINNED.match(value) or LOCAL_WORKFLOW.match(local), f"{path.name}: {value!r} is not pinned"
    pins = {pin.uses() for pin in workflows.ACTIONS.values()}
    assert {v for v in uses if not v.startswith("./")} <= pins


def test_the_pins_are_full_shas_of_releases() -> None:
    for name, pin in workflows.ACTIONS.items():
        assert re.fullmatch(r"[0-9a-f]{40}", pin.sha), name
        assert re.fullmatch(r"v\d+\.\d+\.\d+", pin.version), name
        assert pin.repository.startswith("actions/"), name


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_granted_per_job_and_none_to_the_workflow(path: Path) -> None:
    assert load(path.name)["permissions"] == {}
    for job_name, job in jobs(path.name).items():
        assert isinstance(job.get("permissions"), dict), f"{path.name}/{job_name} states no permissions"
        granted = {scope for scope, level in job["permissions"].items() if level == "write"}
        allowed = {
            ("release.yml", "release"): {"contents"},
            ("release.yml", "attest"): {"id-token", "attestations"},
        }.get((path.name, job_name), set())
        assert granted <= allowed, f"{path.name}/{job_name} may write {granted - allowed}"


def test_only_the_release_job_writes_and_only_the_attest_job_asks_for_an_oidc_token() -> None:
    release = jobs("release.yml")
    assert release["release"]["permissions"] == {"contents": "write"}
    assert release["attest"]["permissions"] == {"contents": "read", "id-token": "write", "attestations": "write"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_untrusted_trigger_and_no_expression_in_a_run_script(path: Path) -> None:
    triggers = load(path.name)["on"]
    assert "pull_request_target" not in triggers and "workflow_run" not in triggers
    for name, job, step in steps():
        script = str(step.get("run", ""))
        assert "${{" not in script, f"{name}/{job}: {script!r} expands an expression in the script"
        assert "github.event" not in script


def test_checkout_keeps_no_credentials() -> None:
    checkouts = [(n, j, s) for n, j, s in steps() if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert checkouts
    for name, job, step in checkouts:
        assert step["with"]["persist-credentials"] is False, f"{name}/{job}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_has_a_timeout_and_scripts_stop_at_the_first_error(path: Path) -> None:
    data = load(path.name)
    assert "-euo pipefail" in data["defaults"]["run"]["shell"]
    for job_name, job in data["jobs"].items():
        assert "uses" in job or isinstance(job.get("timeout-minutes"), int), f"{path.name}/{job_name}"
    text = path.read_text()
    assert "2>/dev/null" not in text and "|| true" not in text


def test_triggered_workflows_have_concurrency_groups_and_a_release_is_never_cancelled() -> None:
    assert load("ci.yml")["concurrency"]["group"].startswith("ci-")
    release = load("release.yml")["concurrency"]
    assert release["group"] == "release-${{ github.ref }}" and release["cancel-in-progress"] is False


def test_release_runs_on_the_configured_tags_and_by_hand_as_a_dry_run() -> None:
    triggers = load("release.yml")["on"]
    assert triggers["push"] == {"tags": [workflows.tag_filter("v")]}
    assert "workflow_dispatch" in triggers
    release_steps = {s.get("name"): s for s in jobs("release.yml")["release"]["steps"]}
    real, rehearsal = release_steps["Release"], release_steps["Rehearse the release (dry run)"]
    assert (real["if"], real["run"]) == ("github.event_name == 'push'", "invoke release --from-artifacts prebuilt/")
    assert rehearsal["if"] == "github.event_name == 'workflow_dispatch'"
    assert rehearsal["run"] == "invoke release --dry-run --from-artifacts prebuilt/"
    assert jobs("release.yml")["attest"]["if"] == "github.event_name == 'push'"


def test_release_builds_with_the_shared_workflow_without_caches_after_checking_the_tag() -> None:
    for name in ("ci.yml", "release.yml"):
        assert jobs(name)["build"]["uses"] == "./.github/workflows/release-build.yml"
    assert jobs("release.yml")["build"]["with"] == {"release-tag": "${{ github.ref_name }}", "cache": False}
    plan = {s.get("name"): s for s in jobs("release-build.yml")["plan"]["steps"]}
    assert plan["Check the release tag against Cargo.toml"]["run"] == 'invoke check-tag --tag "$RELEASE_TAG"'


def test_secrets_come_from_secrets_and_only_into_the_release_step() -> None:
    release_steps = {s.get("name"): s for s in jobs("release.yml")["release"]["steps"]}
    env = release_steps["Release"]["env"]
    for name in ("GITHUB_TOKEN", *workflows.SIGNING_SECRETS, *workflows.publishing_secrets()):
        assert env[name] == f"${{{{ secrets.{name} }}}}"
    for path in WORKFLOWS:
        lines = [line for line in path.read_text().splitlines() if "secrets." in line]
        assert all(re.search(r": \$\{\{ secrets\.[A-Z_]+ \}\}$", line) for line in lines), path.name


def test_attestations_cover_every_archive_and_sha256sums() -> None:
    attest = [s for s in jobs("release.yml")["attest"]["steps"] if "attest-build-provenance" in str(s.get("uses"))]
    assert [s["with"] for s in attest] == [
        {"subject-checksums": "dist/SHA256SUMS"},  # every archive, the SBOM and the install scripts it lists
        {"subject-path": "dist/SHA256SUMS"},
    ]


def test_build_caches_are_keyed_by_lock_file_and_toolchain_and_off_for_releases() -> None:
    build = jobs("release-build.yml")["build"]
    cache = next(s for s in build["steps"] if str(s.get("uses", "")).startswith("actions/cache@"))
    assert cache["if"] == "inputs.cache"
    assert cache["with"]["path"] == "${{ steps.setup.outputs.cache-paths }}"
    assert "${{ steps.setup.outputs.toolchain }}" in cache["with"]["key"]
    assert "hashFiles('**/Cargo.lock'" in cache["with"]["key"]


def test_the_smoke_jobs_run_only_when_there_are_some() -> None:
    smoke = jobs("release-build.yml")["smoke"]
    assert smoke["if"] == "needs.plan.outputs.smoke-jobs != '0'"
    assert smoke["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.smoke) }}"
    assert jobs("release-build.yml")["build"]["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.build) }}"

"""The CI matrices: one build job per planned target with what its runner needs, native smoke jobs after them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.machines import RUSTUP
from tooling import cli
from tooling import plan as release_plan
from tooling.build import setup
from tooling.build.smoke import smoke_method
from tooling.build.toolchain import SystemFacts
from tooling.config import ReleaseConfig, build_config
from tooling.plan import CI, HERE, SKIPPED, ReleasePlan
from tooling.targets import all_targets, get_runner, get_target

CARGO_TOML = '[package]\nname = "crcsum"\nversion = "0.1.0"\nlicense = "MIT"\n'


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., ReleaseConfig]:
    (tmp_path / "crate").mkdir()
    (tmp_path / "crate" / "Cargo.toml").write_text(CARGO_TOML)
    (tmp_path / "crate" / "src").mkdir()
    (tmp_path / "crate" / "src" / "main.rs").write_text("fn main() {}\n")

    def make(**table: Any) -> ReleaseConfig:
        return build_config({"crate": "crate/Cargo.toml", **table}, tmp_path, {})

    return make


def runner_plan(config: ReleaseConfig) -> ReleasePlan:
    """The plan the plan job makes on ubuntu-latest: rustup there may add every std it lacks."""
    return release_plan.plan_release(config, SystemFacts("linux", "x86_64", (RUSTUP,), rustup_can_add=True))


def test_the_build_matrix_is_the_plans_targets_with_what_each_runner_needs(
    make_config: Callable[..., ReleaseConfig],
) -> None:
    plan = runner_plan(make_config(targets=["*"]))
    rows = release_plan.ci_build_matrix(plan)["include"]
    # The plan's jobs, in table order, nothing added or lost; MSVC goes to its Windows runner.
    assert [{k: r[k] for k in ("target", "runner", "session")} for r in rows] == release_plan.ci_matrix(plan)["include"]
    assert [r["target"] for r in rows] == [t.triple for t in plan.placed(HERE, CI)]
    assert {t.triple: t.where for t in plan.targets}["x86_64-pc-windows-msvc"] == CI
    for row in rows:
        target, runner = get_target(row["target"]), get_runner(row["runner"])
        assert row["runner"] == target.runner
        assert row["setup"] == f"setup-{target.triple}" and row["session"] == f"build-{target.triple}"
        assert row["smoke"] == smoke_method(target, runner.os, runner.arch)
        assert row["packages"] == " ".join(setup.runner_packages(target, runner))
    by_target = {r["target"]: r for r in rows}
    assert by_target["aarch64-unknown-linux-gnu"]["smoke"] == "qemu-user"
    assert by_target["aarch64-unknown-linux-gnu"]["packages"] == "qemu-user libc6-arm64-cross"
    assert by_target["x86_64-pc-windows-msvc"]["smoke"] == "native"
    assert by_target["x86_64-pc-windows-msvc"]["packages"] == ""


def test_the_smoke_matrix_runs_macos_and_windows_binaries_natively(make_config: Callable[..., ReleaseConfig]) -> None:
    plan = runner_plan(make_config(targets=["*"]))
    rows = release_plan.ci_smoke_matrix(plan)["include"]
    assert {r["target"]: r["runner"] for r in rows} == {
        t.triple: t.smoke_runner for t in all_targets() if t.smoke_runner
    }
    assert {r["runner"] for r in rows if "apple" in r["target"]} == {"macos-15", "macos-15-intel"}
    assert all(r["smoke"] == "native" and r["session"] == f"smoke-{r['target']}" for r in rows)


def test_skipped_targets_have_no_build_or_smoke_job(make_config: Callable[..., ReleaseConfig]) -> None:
    """On a runner that cannot add a std, only the host target is built; the others are skipped, not run."""
    config = make_config(targets=["x86_64-unknown-linux-gnu", "aarch64-apple-darwin"])
    plan = release_plan.plan_release(config, SystemFacts("linux", "x86_64", (RUSTUP,)))
    assert {t.triple: t.where for t in plan.targets}["aarch64-apple-darwin"] == SKIPPED
    assert [r["target"] for r in release_plan.ci_build_matrix(plan)["include"]] == ["x86_64-unknown-linux-gnu"]
    assert release_plan.ci_smoke_matrix(plan) == {"include": []}


def test_ci_matrix_writes_both_matrices_for_the_workflow(
    make_config: Callable[..., ReleaseConfig], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = make_config(targets=["*-apple-darwin", "x86_64-unknown-linux-gnu"])
    monkeypatch.setattr(cli, "_config", lambda: config)
    monkeypatch.setattr(
        "tooling.build.toolchain.probe_system",
        lambda extra=(): SystemFacts("linux", "x86_64", (RUSTUP,), rustup_can_add=True),
    )
    output = tmp_path / "github-output"
    output.write_text("earlier=1\n")
    assert cli.main(["ci-matrix", "--github-output", str(output)]) == 0
    lines = output.read_text().splitlines()
    assert lines[0] == "earlier=1"  # appended, as GitHub expects
    values = dict(line.split("=", 1) for line in lines[1:])
    plan = runner_plan(config)
    assert json.loads(values["build"]) == release_plan.ci_build_matrix(plan)
    assert json.loads(values["smoke"]) == release_plan.ci_smoke_matrix(plan)
    assert values["smoke-jobs"] == "2"


def test_setup_needs_a_target_or_the_release(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_config", lambda: SimpleNamespace(targets=()))
    assert cli.main(["setup"]) == 2
    assert cli.main(["setup", "--release", "--target", "x86_64-unknown-linux-gnu"]) == 2


def test_setup_writes_the_outputs_of_one_targets_build_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cli, "_config", lambda: SimpleNamespace(targets=()))
    output = str(tmp_path / "out")
    assert cli.main(["setup", "--release", "--github-output", output]) == 2
    triples = ["--target", "x86_64-unknown-linux-gnu", "--target", "aarch64-unknown-linux-gnu"]
    assert cli.main(["setup", *triples, "--github-output", output]) == 2
    assert not (tmp_path / "out").exists()

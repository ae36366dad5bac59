"""`invoke release`: its options, its steps and their order, how a run records and stops, its reports;
the pure decisions of its gates; and the pure parts of its actions.

run_steps is driven with a stand-in run (a dist folder, options, a state) and
fake step actions: what it does with them is what a real release does with
the real ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tooling.errors import ConfigError, GateError, ReleaseError, VersionError
from tooling.release import actions, gates, pipeline
from tooling.release.pipeline import ReleaseOptions, ReleaseRun, Step, check_options, chosen, run_steps, step_names
from tooling.release.state import DONE, FAILED, SKIPPED, ReleaseState, StepRecord

TRIPLE = "x86_64-unknown-linux-gnu"
DOCUMENTED_ORDER = (
    "preflight",
    "clean-tree",
    "branch",
    "cargo-test",
    "cargo-package",
    "deny",
    "breaking",
    "bump",
    "version",
    "changelog",
    "build",
    "regression",
    "archive",
    "sbom",
    "checksum",
    "packages",
    "sign",
    "verify",
    "install-test",
    "push",
    "publish-github",
    "publish-channels",
    "release-branch",
    "announce",
)
GATES = (
    "clean-tree",
    "branch",
    "cargo-test",
    "cargo-package",
    "deny",
    "breaking",
    "version",
    "changelog",
    "regression",
)


# --- options ------------------------------------------------------------------------------------


def test_step_names_are_the_documented_order() -> None:
    assert step_names() == DOCUMENTED_ORDER


def test_the_gates_are_marked_as_gates_and_nothing_else_is() -> None:
    assert tuple(step.name for step in pipeline.steps() if step.gate) == GATES
    assert all(step.summary for step in pipeline.steps())


@pytest.mark.parametrize(
    "options",
    [
        ReleaseOptions(),
        ReleaseOptions(bump="auto"),
        ReleaseOptions(bump="minor", pre="rc"),
        ReleaseOptions(pre="beta"),
        ReleaseOptions(version="1.2.0", dry_run=True),
        ReleaseOptions(resume=True, skip=("deny", "breaking")),
        ReleaseOptions(only=("build", "archive")),
        ReleaseOptions(only=("preflight",)),
    ],
    ids=["plain", "auto", "minor-rc", "pre", "version-dry", "resume-skip", "only", "only-preflight"],
)
def test_consistent_options_pass(options: ReleaseOptions) -> None:
    check_options(options)


def test_an_unknown_step_name_is_refused_with_a_did_you_mean() -> None:
    with pytest.raises(ConfigError, match="--skip 'cargo-tset': there is no such step") as caught:
        check_options(ReleaseOptions(skip=("deny", "cargo-tset")))
    assert caught.value.hint is not None
    assert caught.value.hint.startswith("did you mean 'cargo-test'? ")
    assert "steps: preflight, clean-tree," in caught.value.hint


def test_an_unknown_step_name_without_a_close_one_lists_the_steps() -> None:
    with pytest.raises(ConfigError, match="--only 'zzz': there is no such step") as caught:
        check_options(ReleaseOptions(only=("zzz",)))
    assert caught.value.hint == "steps: " + ", ".join(DOCUMENTED_ORDER)


def test_the_preflight_cannot_be_skipped() -> None:
    with pytest.raises(ConfigError, match="--skip preflight"):
        check_options(ReleaseOptions(skip=("preflight",)))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (ReleaseOptions(only=("build",), skip=("deny",)), "--only and --skip exclude each other"),
        (ReleaseOptions(bump="huge"), "--bump 'huge' is not a bump"),
        (ReleaseOptions(bump=""), "--bump '' is not a bump"),
        (ReleaseOptions(pre="gamma"), "--pre 'gamma' is not a prerelease kind"),
        (ReleaseOptions(version="1.2.0", bump="minor"), "--version names the release"),
        (ReleaseOptions(version="1.2.0", pre="rc"), "--version names the release"),
        (ReleaseOptions(resume=True, dry_run=True), "a dry run cannot be resumed"),
    ],
    ids=["only-and-skip", "bad-bump", "empty-bump", "bad-pre", "version-bump", "version-pre", "resume-dry"],
)
def test_contradicting_options_are_refused_with_a_hint(options: ReleaseOptions, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        check_options(options)
    assert caught.value.hint


def step(name: str) -> Step:
    return Step(name, lambda run: "ok")


def test_chosen_skip_only_and_the_preflight_that_always_runs() -> None:
    assert chosen(step("build"), ReleaseOptions())
    assert not chosen(step("build"), ReleaseOptions(skip=("build",)))
    assert chosen(step("archive"), ReleaseOptions(skip=("build",)))
    assert chosen(step("build"), ReleaseOptions(only=("build",)))
    assert not chosen(step("archive"), ReleaseOptions(only=("build",)))
    assert chosen(step("preflight"), ReleaseOptions(only=("build",)))
    assert chosen(step("preflight"), ReleaseOptions(skip=("preflight",)))


# --- running steps ------------------------------------------------------------------------------


class Recorder:
    """Fake actions that log their calls, and a `save` that keeps what each save saw."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.saved: list[list[tuple[str, str]]] = []
        self.saved_skips: list[list[str]] = []

    def action(self, detail: str = "ok", effect: Callable[[Any], None] | None = None) -> Callable[[Any], str]:
        def run_it(run: Any) -> str:
            self.calls.append(detail)
            if effect is not None:
                effect(run)
            return detail

        return run_it

    def save(self, state: ReleaseState) -> None:
        self.saved.append([(s.name, s.status) for s in state.steps])
        self.saved_skips.append(list(state.skipped_by_name))


def stand_in(dist: Path, options: ReleaseOptions | None = None, state: ReleaseState | None = None) -> ReleaseRun:
    """What run_steps uses of a ReleaseRun: the dist folder, the options, the state."""
    run = SimpleNamespace(
        config=SimpleNamespace(dist_dir=dist),
        options=options or ReleaseOptions(),
        state=state or ReleaseState("crcsum", "1.2.0", "v1.2.0"),
    )
    return cast(ReleaseRun, run)


def plan_of(recorder: Recorder, *names: str) -> list[Step]:
    return [Step(name, recorder.action(f"{name} detail")) for name in names]


def test_steps_run_in_order_each_recorded_done_with_its_detail(tmp_path: Path) -> None:
    recorder = Recorder()
    run = stand_in(tmp_path / "dist")
    run_steps(run, plan_of(recorder, "preflight", "clean-tree", "bump"), recorder.save)
    assert recorder.calls == ["preflight detail", "clean-tree detail", "bump detail"]
    assert [(s.name, s.status, s.detail) for s in run.state.steps] == [
        ("preflight", DONE, "preflight detail"),
        ("clean-tree", DONE, "clean-tree detail"),
        ("bump", DONE, "bump detail"),
    ]
    assert all(s.seconds >= 0 for s in run.state.steps)


def test_the_state_is_saved_after_every_step(tmp_path: Path) -> None:
    recorder = Recorder()
    run = stand_in(tmp_path / "dist")
    run_steps(run, plan_of(recorder, "preflight", "clean-tree", "bump"), recorder.save)
    assert recorder.saved == [
        [("preflight", DONE)],
        [("preflight", DONE), ("clean-tree", DONE)],
        [("preflight", DONE), ("clean-tree", DONE), ("bump", DONE)],
    ]


def test_a_finished_step_is_not_run_again(tmp_path: Path) -> None:
    recorder = Recorder()
    earlier = StepRecord("clean-tree", DONE, 1.5, "no uncommitted changes")
    state = ReleaseState("crcsum", "1.2.0", "v1.2.0", steps=[StepRecord("preflight", DONE), earlier])
    run = stand_in(tmp_path / "dist", ReleaseOptions(resume=True), state)
    run_steps(run, plan_of(recorder, "preflight", "clean-tree", "bump"), recorder.save)
    assert recorder.calls == ["bump detail"]
    assert run.state.record("clean-tree") == earlier


def test_a_failed_step_is_run_again_on_resume(tmp_path: Path) -> None:
    recorder = Recorder()
    state = ReleaseState("crcsum", "1.2.0", "v1.2.0", steps=[StepRecord("bump", FAILED, 0.1, "no remote")])
    run = stand_in(tmp_path / "dist", ReleaseOptions(resume=True), state)
    run_steps(run, plan_of(recorder, "bump"), recorder.save)
    assert recorder.calls == ["bump detail"]
    assert [(s.name, s.status) for s in run.state.steps] == [("bump", DONE)]


def test_only_runs_the_named_steps_even_when_they_were_done(tmp_path: Path) -> None:
    recorder = Recorder()
    state = ReleaseState("crcsum", "1.2.0", "v1.2.0", steps=[StepRecord("build", DONE, detail="old build")])
    run = stand_in(tmp_path / "dist", ReleaseOptions(only=("build",)), state)
    run_steps(run, plan_of(recorder, "preflight", "clean-tree", "build", "archive"), recorder.save)
    assert recorder.calls == ["preflight detail", "build detail"]
    assert run.state.record("clean-tree") is None
    assert run.state.record("archive") is None
    build = run.state.record("build")
    assert build is not None
    assert build.detail == "build detail"


def test_a_skipped_step_is_recorded_skipped_and_named_for_the_notes(tmp_path: Path) -> None:
    recorder = Recorder()
    run = stand_in(tmp_path / "dist", ReleaseOptions(skip=("cargo-test", "deny")))
    run_steps(run, plan_of(recorder, "preflight", "cargo-test", "deny", "bump"), recorder.save)
    assert recorder.calls == ["preflight detail", "bump detail"]
    assert [(s.name, s.status) for s in run.state.steps] == [
        ("preflight", DONE),
        ("cargo-test", SKIPPED),
        ("deny", SKIPPED),
        ("bump", DONE),
    ]
    skipped = run.state.record("deny")
    assert skipped is not None
    assert skipped.detail == "skipped with --skip"
    assert run.state.skipped_by_name == ["cargo-test", "deny"]
    assert len(recorder.saved) == 4  # a skip is saved too


def test_skipping_again_on_resume_names_the_step_once(tmp_path: Path) -> None:
    recorder = Recorder()
    run = stand_in(tmp_path / "dist", ReleaseOptions(skip=("deny",)))
    run_steps(run, plan_of(recorder, "preflight", "deny"), recorder.save)
    resumed = stand_in(tmp_path / "dist", ReleaseOptions(resume=True, skip=("deny",)), run.state)
    run_steps(resumed, plan_of(recorder, "preflight", "deny", "bump"), recorder.save)
    assert resumed.state.skipped_by_name == ["deny"]
    assert [s.name for s in resumed.state.steps] == ["preflight", "deny", "bump"]


def test_a_skipped_step_run_later_is_no_longer_named_as_skipped(tmp_path: Path) -> None:
    recorder = Recorder()
    run = stand_in(tmp_path / "dist", ReleaseOptions(skip=("deny", "breaking")))
    run_steps(run, plan_of(recorder, "preflight", "deny", "breaking"), recorder.save)
    again = stand_in(tmp_path / "dist", ReleaseOptions(resume=True, only=("deny",)), run.state)
    run_steps(again, plan_of(recorder, "preflight", "deny", "breaking"), recorder.save)
    assert again.state.skipped_by_name == ["breaking"]
    deny = again.state.record("deny")
    assert deny is not None
    assert deny.status == DONE
    assert recorder.saved_skips[-1] == ["breaking"]


def test_a_failing_step_is_recorded_failed_saved_and_raised_and_later_steps_do_not_run(tmp_path: Path) -> None:
    recorder = Recorder()

    def failing(run: Any) -> str:
        raise GateError("gate deny: 2 advisories\nRUSTSEC-2026-0001\nRUSTSEC-2026-0002", hint="update the crates")

    plan = [Step("preflight", recorder.action()), Step("deny", failing), Step("bump", recorder.action("bump"))]
    run = stand_in(tmp_path / "dist")
    with pytest.raises(GateError, match="RUSTSEC-2026-0002") as caught:
        run_steps(run, plan, recorder.save)
    assert caught.value.hint == "update the crates"
    assert "bump" not in recorder.calls
    assert run.state.record("bump") is None
    failed = run.state.record("deny")
    assert failed is not None
    assert (failed.status, failed.detail, failed.outputs) == (FAILED, "gate deny: 2 advisories", {})
    assert recorder.saved[-1] == [("preflight", DONE), ("deny", FAILED)]
    assert run.state.first_unfinished(["preflight", "deny", "bump"]) == "deny"


def test_carried_gates_are_recorded_done_with_their_detail_without_running(tmp_path: Path) -> None:
    recorder = Recorder()
    carried = {"cargo-test": "passed for v1.3.0-beta.1: passed", "regression": "passed for v1.3.0-beta.1: ok"}
    run = stand_in(tmp_path / "dist", ReleaseOptions(version="1.3.0", carried=carried))
    run_steps(run, plan_of(recorder, "preflight", "cargo-test", "deny", "regression"), recorder.save)
    assert recorder.calls == ["preflight detail", "deny detail"]
    for name, detail in carried.items():
        record = run.state.record(name)
        assert record is not None
        assert (record.status, record.detail) == (DONE, detail)
    assert len(recorder.saved) == 4


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_files_a_step_writes_into_dist_are_recorded_with_their_sha256(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    recorder = Recorder()

    def build(run: Any) -> None:
        folder = run.config.dist_dir / TRIPLE
        folder.mkdir(parents=True)  # dist/ does not exist before the first step that writes
        (folder / "crcsum").write_bytes(b"binary")
        (folder / "manifest.json").write_text("{}")  # bookkeeping: not an output

    def checksum(run: Any) -> None:
        (run.config.dist_dir / "SHA256SUMS").write_bytes(b"sums")
        (run.config.dist_dir / TRIPLE / "crcsum").write_bytes(b"binary")  # rewritten, but the same bytes

    def sign(run: Any) -> None:
        (run.config.dist_dir / "SHA256SUMS").write_bytes(b"sums, rewritten")
        (run.config.dist_dir / "SHA256SUMS.asc").write_bytes(b"signature")

    plan = [
        Step("build", recorder.action(effect=build)),
        Step("gate", recorder.action()),
        Step("checksum", recorder.action(effect=checksum)),
        Step("sign", recorder.action(effect=sign)),
    ]
    run = stand_in(dist)
    run_steps(run, plan, recorder.save)
    outputs = {s.name: s.outputs for s in run.state.steps}
    assert outputs == {
        "build": {f"{TRIPLE}/crcsum": sha(b"binary")},
        "gate": {},
        "checksum": {"SHA256SUMS": sha(b"sums")},
        "sign": {"SHA256SUMS": sha(b"sums, rewritten"), "SHA256SUMS.asc": sha(b"signature")},
    }


# --- reports ------------------------------------------------------------------------------------


def reported_state() -> ReleaseState:
    return ReleaseState(
        "crcsum",
        "1.2.0",
        "v1.2.0",
        commit="a" * 40,
        skipped_by_name=["deny"],
        steps=[
            StepRecord("preflight", DONE, 0.04, "crcsum 1.1.0 → 1.2.0 (to origin)"),
            StepRecord("deny", SKIPPED, 0.0, "skipped with --skip"),
            StepRecord("build", DONE, 61.26, "2 binary files", {"b/crcsum": "1" * 64, "a/crcsum": "2" * 64}),
            StepRecord("archive", FAILED, 1.5, "disk full"),
        ],
    )


ORDER = ("preflight", "deny", "build", "archive", "sbom")


def test_summary_rows_show_every_step_in_order_with_status_time_files_and_detail() -> None:
    assert pipeline.summary_rows(reported_state(), ORDER) == [
        ["preflight", DONE, "0.0 s", "-", "crcsum 1.1.0 → 1.2.0 (to origin)"],
        ["deny", SKIPPED, "0.0 s", "-", "skipped with --skip"],
        ["build", DONE, "61.3 s", "2", "2 binary files"],
        ["archive", FAILED, "1.5 s", "-", "disk full"],
        ["sbom", "not run", "-", "-", ""],
    ]


def test_json_report_of_a_finished_release() -> None:
    state = reported_state()
    state.put(StepRecord("archive", DONE, 2.0, "2 archive files"))
    report = pipeline.json_report(state, ORDER, None)
    assert json.loads(json.dumps(report)) == report
    assert report["result"] == "released"
    assert "error" not in report
    assert (report["name"], report["version"], report["tag"], report["commit"]) == (
        "crcsum",
        "1.2.0",
        "v1.2.0",
        "a" * 40,
    )
    assert report["dry_run"] is False
    assert report["skipped_by_name"] == ["deny"]
    steps = cast(list[dict[str, Any]], report["steps"])
    assert [s["name"] for s in steps] == list(ORDER)
    assert steps[2] == {"name": "build", "status": DONE, "seconds": 61.26, "detail": "2 binary files",
                        "files": ["a/crcsum", "b/crcsum"]}  # fmt: skip
    assert steps[4] == {"name": "sbom", "status": "not run"}


def test_json_report_of_a_failed_release_carries_the_error() -> None:
    error = GateError("gate deny: 2 advisories", hint="update the crates")
    report = pipeline.json_report(reported_state(), ORDER, error)
    assert json.loads(json.dumps(report)) == report
    assert report["result"] == "failed"
    assert report["error"] == {
        "class": "GateError",
        "exit_code": GateError.exit_code,
        "message": "gate deny: 2 advisories",
        "hint": "update the crates",
    }


# --- gates: the pure decisions ------------------------------------------------------------------


def test_gate_error_names_the_gate_keeps_the_hint_and_says_how_to_skip_it() -> None:
    error = gates.gate_error("breaking", VersionError("a breaking change needs 2.0.0", hint="bump the major"))
    assert isinstance(error, GateError)
    assert error.exit_code == 17
    assert error.message == "gate breaking: a breaking change needs 2.0.0"
    assert (
        error.hint
        == "bump the major; or, if you accept the risk, skip this gate by name: invoke release --skip breaking"
    )


def test_gate_error_without_a_hint_still_says_how_to_skip_it() -> None:
    error = gates.gate_error("regression", ReleaseError("binary grew by 40%"))
    assert error.hint == "or, if you accept the risk, skip this gate by name: invoke release --skip regression"


def test_dirty_problem() -> None:
    assert gates.dirty_problem([]) is None
    assert gates.dirty_problem(["src/main.rs", "Cargo.lock"]) == (
        "the working tree has uncommitted changes: src/main.rs, Cargo.lock"
    )
    many = [f"file{i}.rs" for i in range(10)]
    problem = gates.dirty_problem(many)
    assert problem is not None
    assert problem.endswith("file7.rs ...")
    assert "file8.rs" not in problem


@pytest.mark.parametrize(
    ("heading", "found"),
    [
        ("## [1.2.0] - 2026-01-01", True),
        ("## [1.2.0](https://example.org/compare/v1.1.0...v1.2.0) - 2026-01-01", True),
        ("## 1.2.0", True),
        ("## 1.2.0 (2026-01-01)", True),
        ("## v1.2.0", True),
        ("## [v1.2.0]", True),
        ("##  1.2.0\r", True),
        ("## 1.2.01", False),
        ("## 1.2.0-rc.1", False),
        ("## 11.2.0", False),
        ("### 1.2.0", False),
        ("# 1.2.0", False),
        ("text ## 1.2.0", False),
        ("- ## 1.2.0", False),
    ],
)
def test_has_changelog_section(heading: str, found: bool) -> None:
    text = f"# Changelog\n\n## [Unreleased]\n\n{heading}\n\n### Features\n\n- a thing\n\n## [1.1.0] - 2025-12-01\n"
    assert gates.has_changelog_section(text, "1.2.0") is found


def test_has_changelog_section_of_a_prerelease() -> None:
    text = "## [1.2.0-rc.1] - 2026-01-01\n"
    assert gates.has_changelog_section(text, "1.2.0-rc.1")
    assert not gates.has_changelog_section(text, "1.2.0")


HEAD = "1" * 40
OTHER = "2" * 40


def test_tag_problem_each_case() -> None:
    assert gates.tag_problem("v1.2.0", HEAD, HEAD, "1.2.0", "1.2.0") is None
    assert gates.tag_problem("v1.2.0", HEAD, HEAD, "1.1.0", "1.2.0") == "Cargo.toml says 1.1.0, the release is 1.2.0"
    assert gates.tag_problem("v1.2.0", None, HEAD, "1.2.0", "1.2.0") == "there is no tag v1.2.0"
    assert gates.tag_problem("v1.2.0", OTHER, HEAD, "1.2.0", "1.2.0") == (
        f"tag v1.2.0 points at {OTHER[:12]}, not at the release commit {HEAD[:12]}"
    )


def test_cargo_argvs() -> None:
    manifest = Path("/src/crcsum/Cargo.toml")
    assert gates.cargo_test_argv(manifest, ()) == ["cargo", "test", "--locked", "--manifest-path", str(manifest)]
    assert gates.cargo_test_argv(manifest, ["--all-features", "--", "--nocapture"]) == [
        "cargo", "test", "--locked", "--manifest-path", str(manifest), "--all-features", "--", "--nocapture",
    ]  # fmt: skip
    assert gates.cargo_package_argv(manifest) == ["cargo", "package", "--locked", "--manifest-path", str(manifest)]


# --- actions: the pure parts --------------------------------------------------------------------

ALL = step_names()


def test_no_earlier_state_lets_a_release_start(tmp_path: Path) -> None:
    actions.refuse_foreign_state(None, tmp_path, ALL)


def test_an_unfinished_release_is_not_overwritten_and_can_be_resumed(tmp_path: Path) -> None:
    state = ReleaseState("crcsum", "1.2.0", "v1.2.0", steps=[StepRecord("preflight", DONE), StepRecord("bump", FAILED)])
    with pytest.raises(GateError) as caught:
        actions.refuse_foreign_state(state, tmp_path, ALL)
    assert caught.value.message == f"{tmp_path} holds an unfinished release of crcsum 1.2.0, stopped before clean-tree"
    assert caught.value.hint is not None
    assert "invoke release --resume" in caught.value.hint


def test_a_finished_release_is_not_overwritten_and_must_be_cleaned(tmp_path: Path) -> None:
    skipped = {"deny"}
    steps = [StepRecord(name, SKIPPED if name in skipped else DONE) for name in ALL]
    state = ReleaseState("crcsum", "1.2.0", "v1.2.0", steps=steps)
    with pytest.raises(GateError) as caught:
        actions.refuse_foreign_state(state, tmp_path, ALL)
    assert caught.value.message == f"{tmp_path} holds the finished release of crcsum 1.2.0"
    assert caught.value.hint is not None
    assert "invoke clean" in caught.value.hint
    assert "--resume" not in caught.value.hint


def test_a_dry_run_is_not_overwritten_and_cannot_be_resumed(tmp_path: Path) -> None:
    state = ReleaseState("crcsum", "1.2.0", "v1.2.0", dry_run=True, steps=[StepRecord("preflight", DONE)])
    with pytest.raises(GateError) as caught:
        actions.refuse_foreign_state(state, tmp_path, ALL)
    assert caught.value.message == f"{tmp_path} holds a dry run of crcsum 1.2.0"
    assert caught.value.hint is not None
    assert "invoke clean" in caught.value.hint
    assert "--resume" not in caught.value.hint


def test_the_notes_name_every_step_skipped_by_name() -> None:
    assert actions.skipped_steps_section([]) == ""
    section = actions.skipped_steps_section(["cargo-test", "deny"])
    assert section.startswith("\n\n## Skipped checks\n")
    assert "`cargo-test`, `deny`" in section


def test_chain_steps_cover_the_whole_package_chain() -> None:
    from tooling.artifacts.steps import STEPS

    assert set(actions.CHAIN_STEPS) <= set(ALL)
    assert sorted(c for cs in actions.CHAIN_STEPS.values() for c in cs) == sorted(STEPS)


def chain_step_names(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Release step -> the name it passes to actions.chain (steps() builds its actions on each call)."""
    made: dict[int, str] = {}

    def recording_chain(name: str) -> Callable[[Any], str]:
        def action(run: Any) -> str:
            return name

        made[id(action)] = name
        return action

    monkeypatch.setattr(actions, "chain", recording_chain)
    return {step.name: made[id(step.action)] for step in pipeline.steps() if id(step.action) in made}


def test_every_artifact_step_names_its_own_chain_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    assert chain_step_names(monkeypatch) == {name: name for name in actions.CHAIN_STEPS}


CHAIN_OF = [
    ("build", ["build"], "2 binary files"),
    ("archive", ["archive"], "1 archive files"),
    ("sbom", ["sbom"], "1 sbom files"),
    ("checksum", ["installers", "checksum"], "6 files in the manifest"),
    ("packages", ["packages"], "0 package files"),
    ("sign", ["sign"], "1 signature files"),
    ("verify", ["package"], "6 files in the manifest"),
]


ChainCalls = list[tuple[str, list[str], bool]]


def chain_stand_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: ReleaseOptions, sign: dict[str, Any] | None = None
) -> tuple[ReleaseRun, ChainCalls]:
    """A run whose build is done and sbom failed; the chain's steps only log (name, done, unsigned)."""
    from tooling.artifacts import dist as dist_module
    from tooling.artifacts import steps as chain_steps

    ran: ChainCalls = []

    def run_step(step: str, context: Any) -> None:
        ran.append((step, list(context.done), context.options.unsigned))

    monkeypatch.setattr(chain_steps, "run_step", run_step)
    kinds = ["binary", "binary", "archive", "sbom", "signature", "checksum"]
    record = SimpleNamespace(artifacts=[SimpleNamespace(kind=kind) for kind in kinds])
    monkeypatch.setattr(dist_module, "load", lambda dist: record)
    state = ReleaseState("crcsum", "1.2.0", "v1.2.0", steps=[StepRecord("build", DONE), StepRecord("sbom", FAILED)])
    # No signer configured unless the test names some: a dry run then has nothing to lack keys for.
    config = SimpleNamespace(dist_dir=tmp_path, root=tmp_path, sign={"backends": []} if sign is None else sign)
    run = SimpleNamespace(config=config, options=options, state=state, dry_run=options.dry_run, environ={})
    return cast(ReleaseRun, run), ran


def action_of(name: str) -> Callable[[ReleaseRun], str]:
    return next(step.action for step in pipeline.steps() if step.name == name)


@pytest.mark.parametrize(("name", "chain", "detail"), CHAIN_OF)
def test_each_artifact_step_runs_its_chain_steps_with_the_finished_ones_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, chain: list[str], detail: str
) -> None:
    # A dry run: the build step then keeps no binaries in the cache.
    run, ran = chain_stand_in(tmp_path, monkeypatch, ReleaseOptions(dry_run=True))
    assert action_of(name)(run) == detail
    assert ran == [(chain_step, ["build"], False) for chain_step in chain]


def test_a_dry_run_without_signing_keys_signs_nothing_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keys live in CI's secrets: a maintainer's rehearsal still completes, unsigned, and says why."""
    run, ran = chain_stand_in(tmp_path, monkeypatch, ReleaseOptions(dry_run=True), sign={"backends": ["minisign"]})
    assert action_of("sign")(run) == "no signing keys in this environment: a real release signs here (dry run)"
    assert ran == [("sign", ["build"], True)]


def test_an_unsigned_release_says_nothing_was_signed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run, ran = chain_stand_in(tmp_path, monkeypatch, ReleaseOptions(dry_run=True, unsigned=True))
    assert action_of("sign")(run) == "nothing signed (--unsigned)"
    assert ran == [("sign", ["build"], True)]


def test_a_detached_tag_is_released_from_the_branch_that_holds_it() -> None:
    from tooling.release.gates import branch_of_tagged_commit

    pattern = "release/{major}.{minor}"
    assert branch_of_tagged_commit(["feature/x", "main", "release/1.2"], "main", pattern) == "main"
    assert branch_of_tagged_commit(["feature/x", "release/1.2"], "main", pattern) == "release/1.2"
    assert branch_of_tagged_commit(["feature/x", "HEAD"], "main", pattern) is None

"""dist/release-state.json: which steps of `invoke release` ran, how they ended, and what they made.

The state is what `--resume` trusts, so it trusts it only after checking:
every file a finished step made is recorded with its sha256 and hashed again
before the run goes on; the release commit and tag are recorded and must
still be what they were. The file is written atomically after every step,
so a run stopped anywhere (a crash, Ctrl-C, a lost connection) leaves a
state that names the first unfinished step.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tooling import manifest
from tooling.artifacts.verify import is_bookkeeping
from tooling.errors import ManifestError, VerificationError
from tooling.files import write_atomic
from tooling.plan import STATE_NAME, files_in

SCHEMA_VERSION = 1
DONE, SKIPPED, FAILED = "done", "skipped", "failed"
FINISHED = (DONE, SKIPPED)


@dataclass
class StepRecord:
    """One step as it ended: status, seconds, a one-line detail, and the files it made (path -> sha256)."""

    name: str
    status: str
    seconds: float = 0.0
    detail: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class ReleaseState:
    """A release in progress (or finished): its version, tag, commit, and its steps in the order they ran."""

    name: str
    version: str
    tag: str
    commit: str = ""  # the release commit, once the bump step made (or found) it
    dry_run: bool = False
    skipped_by_name: list[str] = field(default_factory=list)  # steps the maintainer skipped with --skip
    # The choices a resumed run must keep: --unsigned, --from-artifacts, --remote, a promotion's inputs.
    settings: dict[str, Any] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)

    def record(self, name: str) -> StepRecord | None:
        return next((step for step in self.steps if step.name == name), None)

    def finished(self, name: str) -> bool:
        step = self.record(name)
        return step is not None and step.status in FINISHED

    def put(self, step: StepRecord) -> None:
        """Record `step`, replacing an earlier record of the same step (a failed try, a resumed one)."""
        self.steps = [s for s in self.steps if s.name != step.name] + [step]

    def first_unfinished(self, order: Iterable[str]) -> str | None:
        return next((name for name in order if not self.finished(name)), None)

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA_VERSION, **asdict(self)}


def state_path(dist: Path) -> Path:
    return dist / STATE_NAME


def parse_state(data: Mapping[str, Any], where: Path) -> ReleaseState:
    """A state from its JSON form; ManifestError when it is not one this version wrote (pure)."""
    if data.get("schema") != SCHEMA_VERSION:
        raise ManifestError(
            f"{where} was written by another version of the tool (schema {data.get('schema')!r})",
            hint="finish that release with the tool that started it, or remove dist/ (invoke clean) and start again",
        )
    try:
        steps = [StepRecord(**step) for step in data["steps"]]
        fields = {key: data[key] for key in ("name", "version", "tag", "commit", "dry_run", "skipped_by_name")}
        fields["settings"] = dict(data.get("settings") or {})
    except (KeyError, TypeError) as error:
        raise ManifestError(
            f"{where} is damaged ({error})", hint="remove dist/ (invoke clean) and start the release again"
        ) from error
    return ReleaseState(**fields, steps=steps)


def load_state(dist: Path) -> ReleaseState | None:
    """dist/release-state.json, or None when no release was started in this folder."""
    path = state_path(dist)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ManifestError(
            f"cannot read {path}: {error}", hint="remove dist/ (invoke clean) and start the release again"
        ) from error
    if not isinstance(data, dict):
        raise ManifestError(f"{path} is not a release state", hint="remove dist/ (invoke clean) and start again")
    return parse_state(data, path)


def save_state(dist: Path, state: ReleaseState) -> None:
    write_atomic(state_path(dist), json.dumps(state.to_json(), indent=2, sort_keys=True) + "\n")


def snapshot(dist: Path) -> dict[str, str]:
    """Every release file of dist/ with its sha256.

    The manifests and plan.json are left out: publishing rewrites the manifest (what it published)
    even in a step that fails, and the verify step checks the manifest against the files anyway.
    """
    return {path: manifest.sha256_file(dist / path) for path in sorted(files_in(dist)) if not is_bookkeeping(path)}


def made_by_step(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, str]:
    """The files a step added or changed, from snapshots taken before and after it (pure)."""
    return {path: digest for path, digest in after.items() if before.get(path) != digest}


def changed_outputs(state: ReleaseState, current: Mapping[str, str]) -> list[str]:
    """Files finished steps made that are gone or differ now, each with the step that made it (pure).

    A later step may legitimately rewrite an earlier step's file (the manifest, SHA256SUMS): the
    latest record of a path is the one that counts.
    """
    latest: dict[str, tuple[str, str]] = {}
    for step in state.steps:
        if step.status in FINISHED:
            for path, digest in step.outputs.items():
                latest[path] = (step.name, digest)
    problems = []
    for path, (maker, digest) in sorted(latest.items()):
        now = current.get(path)
        if now != digest:
            what = "is gone" if now is None else "changed"
            problems.append(f"{path} ({maker}) {what}")
    return problems


def check_outputs(dist: Path, state: ReleaseState) -> None:
    """VerificationError unless every file the finished steps made is still as they made it."""
    problems = changed_outputs(state, snapshot(dist))
    if problems:
        raise VerificationError(
            f"{len(problems)} files of the unfinished release changed since their step made them:\n  "
            + "\n  ".join(problems[:20]),
            hint="a resumed release trusts only what it made; remove dist/ (invoke clean) and release again",
        )

"""dist/release-state.json: the record `--resume` trusts.

Steps are recorded and replaced, the first unfinished one is found, the file
round-trips and refuses what another version wrote or what is damaged, and
the files finished steps made are hashed again before a resume trusts them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tooling.errors import ManifestError, VerificationError
from tooling.files import TMP_SUFFIX
from tooling.release import state as release_state
from tooling.release.state import (
    DONE,
    FAILED,
    SKIPPED,
    ReleaseState,
    StepRecord,
    changed_outputs,
    check_outputs,
    load_state,
    made_by_step,
    parse_state,
    save_state,
    snapshot,
)

TRIPLE = "x86_64-unknown-linux-gnu"
ORDER = ("preflight", "clean-tree", "bump", "build", "archive", "checksum", "sign")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_state(*steps: StepRecord) -> ReleaseState:
    return ReleaseState("crcsum", "1.2.0", "v1.2.0", steps=list(steps))


def write(dist: Path, relative: str, data: bytes) -> Path:
    path = dist / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- recording steps ----------------------------------------------------------------------------


def test_done_and_skipped_steps_are_finished_failed_and_unknown_ones_are_not() -> None:
    state = new_state(StepRecord("preflight", DONE), StepRecord("clean-tree", SKIPPED), StepRecord("bump", FAILED))
    assert state.finished("preflight")
    assert state.finished("clean-tree")
    assert not state.finished("bump")
    assert not state.finished("build")
    assert state.record("build") is None


def test_put_replaces_an_earlier_record_and_keeps_the_order_steps_ran_in() -> None:
    state = new_state(StepRecord("preflight", DONE), StepRecord("bump", FAILED, detail="no remote"))
    state.put(StepRecord("clean-tree", DONE))
    state.put(StepRecord("bump", DONE, detail="1.1.0 → 1.2.0"))
    assert [(s.name, s.status) for s in state.steps] == [("preflight", DONE), ("clean-tree", DONE), ("bump", DONE)]
    bump = state.record("bump")
    assert bump is not None
    assert bump.detail == "1.1.0 → 1.2.0"


def test_first_unfinished_is_the_first_step_in_order_not_done_or_skipped() -> None:
    state = new_state(
        StepRecord("preflight", DONE),
        StepRecord("clean-tree", SKIPPED),
        StepRecord("build", DONE),  # done out of order (--only): bump before it still is not
        StepRecord("bump", FAILED),
    )
    assert state.first_unfinished(ORDER) == "bump"
    assert new_state().first_unfinished(ORDER) == "preflight"
    finished = new_state(*(StepRecord(name, DONE) for name in ORDER))
    assert finished.first_unfinished(ORDER) is None


# --- the file -----------------------------------------------------------------------------------


def full_state() -> ReleaseState:
    return ReleaseState(
        "crcsum",
        "1.2.0-rc.1",
        "v1.2.0-rc.1",
        commit="a" * 40,
        dry_run=False,
        skipped_by_name=["deny"],
        steps=[
            StepRecord("preflight", DONE, 0.25, "crcsum 1.1.0 → 1.2.0-rc.1 (to origin)"),
            StepRecord("deny", SKIPPED, detail="skipped with --skip"),
            StepRecord("build", DONE, 61.5, "2 binary files", {f"{TRIPLE}/crcsum": "b" * 64}),
            StepRecord("archive", FAILED, 1.0, "disk full"),
        ],
    )


def test_to_json_and_parse_state_round_trip_through_json_text(tmp_path: Path) -> None:
    state = full_state()
    data = json.loads(json.dumps(state.to_json()))
    assert data["schema"] == release_state.SCHEMA_VERSION
    assert parse_state(data, tmp_path / "release-state.json") == state


def test_a_state_of_another_schema_is_refused_with_what_to_do(tmp_path: Path) -> None:
    data = full_state().to_json()
    data["schema"] = release_state.SCHEMA_VERSION + 1
    where = tmp_path / "release-state.json"
    with pytest.raises(ManifestError, match="another version of the tool") as caught:
        parse_state(data, where)
    assert str(where) in caught.value.message
    assert caught.value.hint is not None
    assert "invoke clean" in caught.value.hint


def test_a_state_without_a_schema_is_refused(tmp_path: Path) -> None:
    data = full_state().to_json()
    del data["schema"]
    with pytest.raises(ManifestError, match="another version"):
        parse_state(data, tmp_path / "release-state.json")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: d.pop("tag"), id="missing-field"),
        pytest.param(lambda d: d.pop("steps"), id="missing-steps"),
        pytest.param(lambda d: d["steps"][0].update(colour="red"), id="unknown-step-field"),
        pytest.param(lambda d: d["steps"][0].pop("status"), id="step-without-status"),
        pytest.param(lambda d: d.update(steps=["build"]), id="step-not-an-object"),
        pytest.param(lambda d: d.update(steps=None), id="steps-not-a-list"),
    ],
)
def test_a_damaged_state_is_refused_with_what_to_do(tmp_path: Path, damage: Callable[[dict[str, Any]], object]) -> None:
    data = json.loads(json.dumps(full_state().to_json()))
    damage(data)
    where = tmp_path / "release-state.json"
    with pytest.raises(ManifestError, match="is damaged") as caught:
        parse_state(data, where)
    assert str(where) in caught.value.message
    assert caught.value.hint is not None
    assert "invoke clean" in caught.value.hint


def test_no_state_file_means_no_release_was_started(tmp_path: Path) -> None:
    assert load_state(tmp_path) is None
    assert load_state(tmp_path / "no-such-dist") is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"schema": 1, "name": "crc', "cannot read"),  # cut short by a crash of something else
        (b"\xff\xfe not text", "cannot read"),
        (b"", "cannot read"),
        (b'["a", "list"]', "is not a release state"),
    ],
    ids=["truncated", "not-utf8", "empty", "not-an-object"],
)
def test_a_garbage_state_file_is_a_manifest_error_not_a_traceback(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / release_state.STATE_NAME).write_bytes(content)
    with pytest.raises(ManifestError, match=message) as caught:
        load_state(tmp_path)
    assert caught.value.hint is not None
    assert "invoke clean" in caught.value.hint


def test_save_state_then_load_state_gives_the_same_state(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    state = full_state()
    save_state(dist, state)
    assert load_state(dist) == state
    # Written whole through a temporary beside it: nothing else is left in dist/.
    assert sorted(p.name for p in dist.iterdir()) == [release_state.STATE_NAME]


def test_save_state_replaces_the_previous_state(tmp_path: Path) -> None:
    state = full_state()
    save_state(tmp_path, state)
    state.put(StepRecord("archive", DONE, 2.0, "2 archive files", {"crcsum-1.2.0.tar.gz": "c" * 64}))
    state.commit = "d" * 40
    save_state(tmp_path, state)
    loaded = load_state(tmp_path)
    assert loaded == state
    assert loaded is not None
    assert loaded.finished("archive")
    assert not any(p.name.endswith(TMP_SUFFIX) for p in tmp_path.iterdir())


# --- what the steps made ------------------------------------------------------------------------


def test_snapshot_hashes_release_files_and_leaves_out_bookkeeping(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    release_files = {
        f"{TRIPLE}/crcsum": b"\x7fELF the binary",
        "crcsum-1.2.0-x86_64-unknown-linux-gnu.tar.gz": b"archive",
        "SHA256SUMS": b"sums\n",
        "packages/deb/crcsum_1.2.0_amd64.deb": b"deb",
    }
    bookkeeping = {
        "manifest.json": b"{}",
        f"{TRIPLE}/manifest.json": b"{}",
        "plan.json": b"{}",
        ".lock": b"",
        ".release-dist": b"marker",
        "release-state.json": b"{}",
        "announce/post.txt": b"crcsum 1.2.0 is out",
        "announce/announcement.md": b"# crcsum 1.2.0",
        "SHA256SUMS" + TMP_SUFFIX: b"half written",
    }
    for relative, data in {**release_files, **bookkeeping}.items():
        write(dist, relative, data)
    assert snapshot(dist) == {relative: sha(data) for relative, data in release_files.items()}


def test_snapshot_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert snapshot(tmp_path / "dist") == {}


def test_made_by_step_is_what_was_added_or_changed() -> None:
    before = {"kept": "1" * 64, "rewritten": "2" * 64, "removed": "3" * 64}
    after = {"kept": "1" * 64, "rewritten": "4" * 64, "added": "5" * 64}
    assert made_by_step(before, after) == {"rewritten": "4" * 64, "added": "5" * 64}
    assert made_by_step(after, after) == {}


def test_unchanged_outputs_raise_no_problem() -> None:
    state = new_state(
        StepRecord("build", DONE, outputs={f"{TRIPLE}/crcsum": "1" * 64}),
        StepRecord("checksum", DONE, outputs={"SHA256SUMS": "2" * 64}),
    )
    assert changed_outputs(state, {f"{TRIPLE}/crcsum": "1" * 64, "SHA256SUMS": "2" * 64, "other": "9" * 64}) == []


def test_a_later_step_rewriting_an_earlier_steps_file_is_fine_and_its_hash_counts() -> None:
    state = new_state(
        StepRecord("checksum", DONE, outputs={"SHA256SUMS": "1" * 64}),
        StepRecord("packages", DONE, outputs={"SHA256SUMS": "2" * 64}),
    )
    assert changed_outputs(state, {"SHA256SUMS": "2" * 64}) == []
    # The earlier step's hash no longer counts: going back to it is a change made by no step.
    assert changed_outputs(state, {"SHA256SUMS": "1" * 64}) == ["SHA256SUMS (packages) changed"]


def test_a_gone_or_changed_file_is_named_with_the_step_that_made_it() -> None:
    state = new_state(
        StepRecord("build", DONE, outputs={f"{TRIPLE}/crcsum": "1" * 64}),
        StepRecord("archive", DONE, outputs={"crcsum.tar.gz": "2" * 64, "crcsum.zip": "3" * 64}),
    )
    current = {"crcsum.tar.gz": "f" * 64, "crcsum.zip": "3" * 64}
    assert changed_outputs(state, current) == [
        "crcsum.tar.gz (archive) changed",
        f"{TRIPLE}/crcsum (build) is gone",
    ]


def test_files_of_a_failed_try_are_not_trusted_so_not_checked() -> None:
    # A failed step runs again on resume and may write its files anew.
    state = new_state(StepRecord("archive", FAILED, outputs={"crcsum.tar.gz": "2" * 64}))
    assert changed_outputs(state, {}) == []


def test_check_outputs_passes_while_the_files_are_as_their_steps_made_them(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    write(dist, f"{TRIPLE}/crcsum", b"binary")
    state = new_state(StepRecord("build", DONE, outputs=snapshot(dist)))
    write(dist, "manifest.json", b"{} rewritten by publishing")  # bookkeeping: never an output
    check_outputs(dist, state)


def test_check_outputs_names_every_changed_file_and_says_what_to_do(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    write(dist, f"{TRIPLE}/crcsum", b"binary")
    write(dist, "crcsum.tar.gz", b"archive")
    made = snapshot(dist)
    state = new_state(
        StepRecord("build", DONE, outputs={f"{TRIPLE}/crcsum": made[f"{TRIPLE}/crcsum"]}),
        StepRecord("archive", DONE, outputs={"crcsum.tar.gz": made["crcsum.tar.gz"]}),
    )
    write(dist, "crcsum.tar.gz", b"archive, tampered with")
    (dist / TRIPLE / "crcsum").unlink()
    with pytest.raises(VerificationError) as caught:
        check_outputs(dist, state)
    assert "2 files" in caught.value.message
    assert "crcsum.tar.gz (archive) changed" in caught.value.message
    assert f"{TRIPLE}/crcsum (build) is gone" in caught.value.message
    assert caught.value.hint is not None
    assert "invoke clean" in caught.value.hint


def test_check_outputs_counts_every_problem_but_lists_at_most_twenty(tmp_path: Path) -> None:
    state = new_state(StepRecord("build", DONE, outputs={f"file-{i:02}": "1" * 64 for i in range(25)}))
    (tmp_path / "dist").mkdir()
    with pytest.raises(VerificationError) as caught:
        check_outputs(tmp_path / "dist", state)
    assert caught.value.message.startswith("25 files")
    assert caught.value.message.count("is gone") == 20

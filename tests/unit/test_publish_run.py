"""`invoke publish` across steps: the GitHub release first, then every channel; failures isolated, state kept."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tooling import proc
from tooling.config import load_config
from tooling.errors import ConfigError, GitHubError, PublishError
from tooling.manifest import Manifest
from tooling.publish import channels, run
from tooling.publish.releases import PublishResult


def test_steps_are_github_then_the_configured_channels_in_registry_order() -> None:
    assert run.chosen_steps(["cargo", "homebrew"], (), ()) == ("github", "homebrew", "cargo")
    assert run.chosen_steps(["cargo", "homebrew"], ("cargo",), ()) == ("cargo",)
    assert run.chosen_steps(["cargo", "homebrew"], (), ("github",)) == ("homebrew", "cargo")


@pytest.mark.parametrize(("only", "skip"), [(("scoop",), ()), ((), ("flatpak",))])
def test_a_step_the_release_does_not_have_is_named(only: tuple[str, ...], skip: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError, match="not a step of this release's publish"):
        run.chosen_steps(["homebrew"], only, skip)


def _result(**changes: Any) -> PublishResult:
    fields = {
        "repository": "o/r",
        "tag": "v0.1.0",
        "url": "https://example.invalid/o/r/releases/tag/v0.1.0",
        "release_id": 1,
        "created": True,
        "published": True,
        "already_published": False,
        "prerelease": False,
        "latest": True,
        "dry_run": False,
        "assets": (),
    }
    return PublishResult(**{**fields, **changes})


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The repository's config with homebrew and cargo to push, dist/ checks and git stubbed out."""
    config = load_config(ROOT, {})
    publish = {**config.publish, "channels": ["homebrew", "cargo"]}
    config = dataclasses.replace(config, dist_dir=tmp_path / "dist", publish=publish)
    (config.dist_dir / "packages" / "homebrew").mkdir(parents=True)
    record = Manifest(config.name, config.version)
    saved: list[dict[str, dict[str, str]]] = []
    calls: list[str] = []
    world: dict[str, Any] = {"config": config, "record": record, "saved": saved, "calls": calls, "github": _result()}
    monkeypatch.setattr(run, "check_release_folder", lambda config, **_: record)
    monkeypatch.setattr(run, "release_commit", lambda config, runner: "0" * 40)
    monkeypatch.setattr(run.dist, "guarded", lambda *a: contextlib.nullcontext())
    monkeypatch.setattr(run.dist, "save", lambda folder, manifest: saved.append(dict(manifest.published)))

    def github(**kwargs: Any) -> PublishResult:
        calls.append("github")
        outcome = world["github"]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome  # type: ignore[no-any-return]

    monkeypatch.setattr(run, "publish_release", github)
    world["publishers"] = {}

    def load(name: str) -> channels.Publisher:
        def publish(job: channels.ChannelJob) -> channels.Outcome:
            calls.append(name)
            behaviour = world["publishers"].get(name, channels.Outcome(channels.PUBLISHED, "pushed", "u"))
            if isinstance(behaviour, Exception):
                raise behaviour
            return behaviour  # type: ignore[no-any-return]

        return publish

    monkeypatch.setattr(run.channels, "load", load)
    return world


def _publish(world: dict[str, Any], **options: Any) -> dict[str, channels.Outcome]:
    return run.run_publish(
        world["config"],
        notes="notes",
        replace=False,
        unsigned=True,
        jobs=4,
        runner=proc.Runner(),
        environ={},
        **options,
    )


def test_every_step_runs_in_order_and_its_state_is_kept(world: dict[str, Any]) -> None:
    outcomes = _publish(world)
    assert world["calls"] == ["github", "homebrew", "cargo"]
    assert {name: o.state for name, o in outcomes.items()} == dict.fromkeys(
        ("github", "homebrew", "cargo"), "published"
    )
    assert world["saved"][-1]["homebrew"] == {"state": "published", "detail": "pushed", "url": "u"}


def test_a_failed_channel_does_not_stop_the_others_and_its_error_is_raised_after(world: dict[str, Any]) -> None:
    world["publishers"]["homebrew"] = PublishError("homebrew: the tap refused the push")
    with pytest.raises(PublishError, match="homebrew: the tap refused"):
        _publish(world)
    assert world["calls"] == ["github", "homebrew", "cargo"]
    assert "homebrew" not in world["saved"][-1]
    assert world["saved"][-1]["cargo"]["state"] == "published"


def test_a_rerun_does_only_what_is_missing(world: dict[str, Any]) -> None:
    world["publishers"]["cargo"] = GitHubError("cargo: the registry refused the token")
    with pytest.raises(GitHubError):
        _publish(world)
    world["record"].published.update(world["saved"][-1])
    world["calls"].clear()
    world["publishers"].clear()
    outcomes = _publish(world)
    assert world["calls"] == ["cargo"]
    assert outcomes["github"].state == "done earlier"
    assert _publish(world, only=("homebrew",))["homebrew"].state == "published"  # --only runs it again


def test_without_the_github_release_no_channel_is_pushed(world: dict[str, Any]) -> None:
    world["github"] = GitHubError("GitHub refused the token")
    with pytest.raises(GitHubError):
        _publish(world)
    assert world["calls"] == ["github"]


def test_several_failures_are_listed_in_one_error(world: dict[str, Any]) -> None:
    world["publishers"]["homebrew"] = PublishError("homebrew: no")
    world["publishers"]["cargo"] = PublishError("cargo: no")
    with pytest.raises(PublishError, match=r"2 publish steps failed:\n  homebrew: no\n  cargo: no"):
        _publish(world)


def test_a_channel_whose_packages_were_not_made_is_named_before_anything_runs(world: dict[str, Any]) -> None:
    config = world["config"]
    world["config"] = dataclasses.replace(config, publish={**config.publish, "channels": ["scoop"]})
    with pytest.raises(ConfigError, match="scoop is to be published"):
        _publish(world)
    assert world["calls"] == []


@pytest.mark.parametrize("options", [{"skip": ("github",)}, {"only": ("homebrew",)}])
def test_channels_without_a_published_github_release_are_refused_before_anything_runs(
    world: dict[str, Any], options: dict[str, tuple[str, ...]]
) -> None:
    with pytest.raises(PublishError, match=r"cannot publish homebrew.* before the GitHub release") as caught:
        _publish(world, **options)
    assert "--skip github" in (caught.value.hint or "")
    assert world["calls"] == []


@pytest.mark.parametrize("state", ["published", "unchanged"])
def test_channels_alone_run_once_the_github_release_is_recorded_as_done(world: dict[str, Any], state: str) -> None:
    world["record"].published["github"] = {"state": state, "detail": "", "url": ""}
    outcomes = _publish(world, skip=("github",))
    assert world["calls"] == ["homebrew", "cargo"] and outcomes["homebrew"].state == "published"


def test_a_dry_run_looks_at_the_channels_without_a_github_release(world: dict[str, Any]) -> None:
    world["record"].published["github"] = {"state": "failed", "detail": "", "url": ""}
    outcomes = run.run_publish(
        world["config"], notes="n", replace=False, unsigned=True, jobs=4, runner=proc.Runner(dry_run=True),
        environ={}, only=("homebrew",),
    )  # fmt: skip
    assert world["calls"] == ["homebrew"] and "homebrew" in outcomes


def test_a_github_step_that_did_not_publish_keeps_the_channels_back(world: dict[str, Any]) -> None:
    """Only published or unchanged let the channels go: any other outcome of the GitHub step in a real run does not."""
    world["github"] = _result(dry_run=True)  # "would publish": nothing was published
    outcomes = _publish(world)
    assert world["calls"] == ["github"]
    assert {outcomes[name].state for name in ("homebrew", "cargo")} == {"not tried"}

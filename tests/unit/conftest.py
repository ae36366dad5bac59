"""Unit tests are pure: any attempt to start a process fails the test."""

from __future__ import annotations

import subprocess

import pytest


@pytest.fixture(autouse=True)
def _forbid_subprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"unit tests must not start processes: {args[:1]}")

    monkeypatch.setattr(subprocess, "Popen", refuse)

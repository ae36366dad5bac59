"""One exception hierarchy; each class carries the exit code the CLI returns.

A user mistake raises one of these and is shown as a short message (what
failed, why, what to do) without a traceback; anything else is a bug.
"""

from __future__ import annotations


class ReleaseError(Exception):
    """Base class: an expected failure with a message written for people."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class ConfigError(ReleaseError):
    """The [tool.release] table, or the crate it points at, is wrong."""

    exit_code = 2


class TargetError(ReleaseError):
    """A target triple or pattern matches nothing we know."""

    exit_code = 2


class ToolchainError(ReleaseError):
    """No way to get a standard library or a linker for a target here."""

    exit_code = 3


class CommandError(ReleaseError):
    """An external command failed or could not be started."""

    exit_code = 4


class BuildError(ReleaseError):
    """cargo ran but did not leave the binary we expected."""

    exit_code = 4


class VerificationError(ReleaseError):
    """A built binary is not what its target says it must be."""

    exit_code = 5


class ManifestError(ReleaseError):
    """dist/manifest.json is unreadable or two manifests disagree."""

    exit_code = 6


class VersionError(ReleaseError):
    """A version, a bump request or a release gate is wrong (bad semver, breaking change without major)."""

    exit_code = 7


class GitStateError(ReleaseError):
    """The git repository is not in a state that allows the step (dirty tree, tag exists, wrong branch)."""

    exit_code = 8

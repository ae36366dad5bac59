"""One exception hierarchy; each class carries the exit code every entry point returns.

A user mistake raises one of these and is shown as a short message (what
failed, why, what to do) without a traceback; anything else is a bug. Every
class has its own exit code, listed in docs/errors.md (generated from
EXIT_CODES below, and checked by a test).
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

    exit_code = 3


class ToolchainError(ReleaseError):
    """No way to get a standard library, a linker or a runner for a target here."""

    exit_code = 4


class CommandError(ReleaseError):
    """An external command failed or could not be started."""

    exit_code = 5


class BuildError(ReleaseError):
    """cargo ran but did not leave the binary we expected, or an output could not be written."""

    exit_code = 6


class VerificationError(ReleaseError):
    """A built binary or a release folder is not what it must be."""

    exit_code = 7


class ManifestError(ReleaseError):
    """dist/manifest.json is unreadable or two manifests disagree."""

    exit_code = 8


class PlanError(ReleaseError):
    """dist/ does not hold what the release plan says it must (missing or extra files)."""

    exit_code = 9


class VersionError(ReleaseError):
    """A version, a bump request or a release gate is wrong (bad semver, breaking change without major)."""

    exit_code = 10


class GitStateError(ReleaseError):
    """The git repository is not in a state that allows the step (dirty tree, tag exists, wrong branch)."""

    exit_code = 11


class SigningError(CommandError):
    """A signature could not be made or checked (no key, wrong passphrase, expired key, no signer)."""

    exit_code = 12


class FenceError(ReleaseError):
    """dist/ is not the tool's to change: a path leaves it, it was not made by the tool, or another run holds it."""

    exit_code = 13


class PackageError(ReleaseError):
    """A package channel cannot be made: a field it needs is missing or one it cannot express, or no archive."""

    exit_code = 14


class GitHubError(ReleaseError):
    """GitHub's API refused a request or could not be reached: no token, a rejected one, no access, a limit, a fault."""

    exit_code = 15


class PublishError(ReleaseError):
    """A GitHub release cannot be made as asked: it is published already, or an asset on it differs from dist/'s."""

    exit_code = 16


class GateError(ReleaseError):
    """A release gate stopped the release: dirty tree, wrong branch, failing tests, an advisory, a breaking change."""

    exit_code = 17


class InstallTestError(ReleaseError):
    """A fresh release did not install or run the way users get it: install.sh, a .deb, an installed binary."""

    exit_code = 18


# Exits that are not ReleaseErrors: the user stopped us, or the reader of our output went away.
INTERRUPTED_EXIT = 130
TERMINATED_EXIT = 143  # 128 + SIGTERM, what a shell reports for a process SIGTERM ended
BROKEN_PIPE_EXIT = 141

ERROR_CLASSES: tuple[type[ReleaseError], ...] = (
    ReleaseError,
    ConfigError,
    TargetError,
    ToolchainError,
    CommandError,
    BuildError,
    VerificationError,
    ManifestError,
    PlanError,
    VersionError,
    GitStateError,
    SigningError,
    FenceError,
    PackageError,
    GitHubError,
    PublishError,
    GateError,
    InstallTestError,
)


def exit_code_table() -> list[tuple[int, str, str]]:
    """(code, name, meaning) for every exit the tool can end with, in code order."""
    rows = [(cls.exit_code, cls.__name__, (cls.__doc__ or "").strip()) for cls in ERROR_CLASSES]
    rows.append((INTERRUPTED_EXIT, "interrupted", "Ctrl-C (SIGINT) stopped the command."))
    rows.append(
        (TERMINATED_EXIT, "terminated", "SIGTERM (`kill`, a cancelled CI job) stopped the command and its children.")
    )
    rows.append((BROKEN_PIPE_EXIT, "broken pipe", "The reader of the output (e.g. `head`) closed it; no message."))
    return sorted(rows)

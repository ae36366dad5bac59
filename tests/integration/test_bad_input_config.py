"""Bad input of the config, CLI and git families: one message, its documented exit code, no traceback.

Each case runs the real command (invoke) in a sandbox (tests/bad_input.py) and
is held to the whole contract: the documented exit code, a message naming the
problem, a hint naming the fix, no traceback, and nothing changed outside dist/
(the git repository of the git cases included).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.bad_input import Sandbox, assert_refused
from tests.conftest import require_tool
from tooling.errors import CommandError, ConfigError, GitStateError, TargetError, VersionError

pytestmark = pytest.mark.integration

TABLE = '[tool.release]\ncrate = "sample/Cargo.toml"\n'
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ada Lovelace",
    "GIT_AUTHOR_EMAIL": "ada@example.invalid",
    "GIT_COMMITTER_NAME": "Ada Lovelace",
    "GIT_COMMITTER_EMAIL": "ada@example.invalid",
    "GIT_AUTHOR_DATE": "@1767225600 +0000",
    "GIT_COMMITTER_DATE": "@1767225600 +0000",
    "GIT_CONFIG_GLOBAL": os.devnull,  # no signing or hooks from the machine's own git config
}


def git(root: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(root), *args],
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def git_sandbox(base: Path, table: str = TABLE) -> Sandbox:
    """A sandbox that is a git repository: the sample committed on main and tagged v0.1.0 (its version)."""
    require_tool("git")
    sandbox = Sandbox.make(base, release_table=table)
    git(sandbox.root, "init", "-q", "-b", "main")
    git(sandbox.root, "add", ".")
    git(sandbox.root, "commit", "-q", "-m", "feat: the sample crate")
    git(sandbox.root, "tag", "-a", "v0.1.0", "-m", "v0.1.0")
    git(sandbox.root, "status", "--porcelain")  # refresh the index now, so no query needs to
    return sandbox


@dataclass(frozen=True)
class Case:
    """One bad input: how to make it, the command, and what the refusal must say."""

    argv: tuple[str, ...]
    code: int
    names: tuple[str, ...]
    fix: str
    table: str = ""  # appended to [tool.release]
    setup: Callable[[Sandbox], None] | None = None
    env: dict[str, str] = field(default_factory=dict)


def write(path: str, data: str | bytes) -> Callable[[Sandbox], None]:
    def setup(sandbox: Sandbox) -> None:
        target = sandbox.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            target.write_bytes(data)
        else:
            target.write_text(data, encoding="utf-8")

    return setup


STATUS = ("invoke", "status")
CONFIG = ConfigError.exit_code

# --- the config family: every table, every kind of mistake ---------------------------------

CONFIG_CASES: dict[str, Case] = {
    "unknown key": Case(STATUS, CONFIG, ("tool.release.tragets",), "did you mean 'targets'", 'tragets = ["*"]\n'),
    "glibc not a string": Case(
        STATUS, CONFIG, ("tool.release.glibc must be",), 'e.g. glibc = "2.17"', "glibc = 2.17\n"
    ),
    "targets not a list": Case(
        STATUS, CONFIG, ("tool.release.targets must be a list",), "e.g. targets = ", 'targets = "*"\n'
    ),
    "flag not a boolean": Case(
        STATUS,
        CONFIG,
        ("tool.release.all-features must be true or false",),
        "e.g. all-features = true",
        'all-features = "yes"\n',
    ),
    "unknown package key": Case(
        STATUS,
        CONFIG,
        ("tool.release.package.homepag",),
        "did you mean 'homepage'",
        '[tool.release.package]\nhomepag = "x"\n',
    ),
    "package value not a string": Case(
        STATUS,
        CONFIG,
        ("tool.release.package.license must be a string",),
        "e.g. license = ",
        "[tool.release.package]\nlicense = 3\n",
    ),
    "unknown archive key": Case(
        STATUS,
        CONFIG,
        ("tool.release.archive.mac",),
        "allowed keys: unix, windows",
        '[tool.release.archive]\nmac = "zip"\n',
    ),
    "unknown archive format": Case(
        STATUS,
        CONFIG,
        ("tool.release.archive.unix: 'rar' is not one of tar.gz",),
        "e.g. unix = ",
        '[tool.release.archive]\nunix = "rar"\n',
    ),
    "unknown versioning key": Case(
        STATUS,
        CONFIG,
        ("tool.release.versioning.sign-tag",),
        "did you mean 'sign-tags'",
        "[tool.release.versioning]\nsign-tag = true\n",
    ),
    "versioning value of the wrong type": Case(
        STATUS,
        CONFIG,
        ("tool.release.versioning.sign-tags must be true or false",),
        "e.g. sign-tags = true",
        '[tool.release.versioning]\nsign-tags = "yes"\n',
    ),
    "macOS minimum not a string": Case(
        STATUS,
        CONFIG,
        ("tool.release.macos-deployment-target must be",),
        "e.g. macos-deployment-target = ",
        "[tool.release.macos-deployment-target]\naarch64-apple-darwin = 11\n",
    ),
    "macOS minimum not a version": Case(
        STATUS,
        CONFIG,
        ("aarch64-apple-darwin = 'eleven' is not a macOS version",),
        "MAJOR.MINOR",
        '[tool.release.macos-deployment-target]\naarch64-apple-darwin = "eleven"\n',
    ),
    "macOS minimum below Rust's": Case(
        STATUS,
        CONFIG,
        ("'10.9' is older than Rust supports for aarch64-apple-darwin",),
        'set "11.0" or newer',
        '[tool.release.macos-deployment-target]\naarch64-apple-darwin = "10.9"\n',
    ),
    "macOS minimum for a Linux triple": Case(
        STATUS,
        CONFIG,
        ("x86_64-unknown-linux-gnu: not a macOS target",),
        "aarch64-apple-darwin",
        '[tool.release.macos-deployment-target]\nx86_64-unknown-linux-gnu = "11.0"\n',
    ),
    "macOS minimum for an unknown triple": Case(
        STATUS,
        CONFIG,
        ("unknown target triple 'aarch64-apple-darwn'",),
        "aarch64-apple-darwin",
        '[tool.release.macos-deployment-target]\naarch64-apple-darwn = "11.0"\n',
    ),
    "unknown triple": Case(
        STATUS,
        CONFIG,
        ("'sparc-sun-solaris' matches no known target",),
        "known targets",
        'targets = ["sparc-sun-solaris"]\n',
    ),
    "empty target list": Case(
        STATUS, CONFIG, ("tool.release.targets: no target pattern given",), '"*"', "targets = []\n"
    ),
    "exclusions only": Case(
        STATUS, CONFIG, ("'!*-windows-*' select no target",), '["*", "!*-windows-*"]', 'targets = ["!*-windows-*"]\n'
    ),
    "exclusions remove everything": Case(
        STATUS,
        CONFIG,
        ("'*-linux-musl', '!*-musl' select no target",),
        "narrow the exclusions",
        'targets = ["*-linux-musl", "!*-musl"]\n',
    ),
    "glibc typo": Case(STATUS, CONFIG, ("tool.release.glibc = '2.71' is outside",), "2.17 to 2.44", 'glibc = "2.71"\n'),
    "glibc older than Rust's": Case(STATUS, CONFIG, ("glibc = '2.5' is outside",), "2.17 to 2.44", 'glibc = "2.5"\n'),
    "glibc not MAJOR.MINOR": Case(
        STATUS, CONFIG, ("'2.17.1' is not a glibc version",), "MAJOR.MINOR", 'glibc = "2.17.1"\n'
    ),
    "unknown placeholder": Case(
        STATUS,
        CONFIG,
        ("'{arch}' has an unknown placeholder",),
        "{version} and {triple}",
        'smoke-expect = ["{arch}"]\n',
    ),
    "unknown binary": Case(
        STATUS,
        CONFIG,
        ("nope not a binary of crate 'crcsum'",),
        "the crate's binaries are: crcsum",
        'binaries = ["nope"]\n',
    ),
}

# The files the config points at: missing, broken, in another encoding.
FILE_CASES: dict[str, Case] = {
    "pyproject not UTF-8": Case(
        STATUS,
        CONFIG,
        ("configuration file is not UTF-8 text", "byte 0xe9"),
        "re-save it as UTF-8",
        setup=write("pyproject.toml", b'# caf\xe9\n[tool.release]\ncrate = "sample/Cargo.toml"\n'),
    ),
    "pyproject not TOML": Case(
        STATUS, CONFIG, ("is not valid TOML",), "fix the TOML syntax", setup=write("pyproject.toml", "[tool.release\n")
    ),
    "pyproject without the table": Case(
        STATUS,
        CONFIG,
        ("has no [tool.release] table",),
        "add one",
        setup=write("pyproject.toml", '[project]\nname = "x"\n'),
    ),
    "missing crate": Case(
        STATUS,
        CONFIG,
        ("tool.release.crate: no Cargo.toml at",),
        "relative to pyproject.toml",
        setup=write("pyproject.toml", '[tool.release]\ncrate = "nope/Cargo.toml"\n'),
    ),
    "Cargo.toml without [package]": Case(
        STATUS,
        CONFIG,
        ("has no [package] table", "no package of its workspace has a binary"),
        "not a virtual workspace",
        setup=write("sample/Cargo.toml", "[workspace]\nmembers = []\n"),
    ),
    "Cargo.toml without a name": Case(
        STATUS,
        CONFIG,
        ("Cargo.toml: [package] has no name",),
        'add name = "<crate name>" to [package]',
        setup=write("sample/Cargo.toml", '[package]\nversion = "0.1.0"\nedition = "2021"\n'),
    ),
    "Cargo.toml not UTF-8": Case(
        STATUS,
        CONFIG,
        ("Cargo.toml (or its workspace's) is not UTF-8 text",),
        "re-save it as UTF-8",
        setup=write("sample/Cargo.toml", b'[package]\nname = "crcsum"\nversion = "0.1.0"\ndescription = "\xff"\n'),
    ),
    "RELEASE_CONFIG pointing nowhere": Case(
        STATUS,
        CONFIG,
        ("RELEASE_CONFIG=", "no such file"),
        "point RELEASE_CONFIG at",
        env={"RELEASE_CONFIG": "/nonexistent"},
    ),
}


def make_script(executable: bool) -> Callable[[Sandbox], None]:
    def setup(sandbox: Sandbox) -> None:
        script = sandbox.root / "old-crcsum"
        script.write_text("#!/bin/sh\necho crcsum 0.1.0\n", encoding="utf-8")
        script.chmod(0o755 if executable else 0o644)

    return setup


# --- the CLI family: options the tasks refuse before doing anything -----------------------------

CLI_CASES: dict[str, Case] = {
    "level out of range": Case(
        ("invoke", "archive", "--level", "99"), CONFIG, ("--level 99 is out of range for tar.gz",), "tar.zst 1-19"
    ),
    "jobs not a number": Case(
        ("invoke", "archive", "--jobs", "abc"), CONFIG, ("--jobs 'abc' is not a number of parallel jobs",), "--jobs 2"
    ),
    "level not a number": Case(
        ("invoke", "archive", "--level", "abc"), CONFIG, ("--level 'abc' is not a whole number",), "tar.gz 0-9"
    ),
    "level too high for zip": Case(
        ("invoke", "package", "--format", "tar.zst", "--level", "19"),
        CONFIG,
        ("--level 19 is out of range for zip archives", "x86_64-pc-windows-gnu"),
        "narrow --target",
    ),
    "unknown format": Case(
        ("invoke", "archive", "--format", "rar"), CONFIG, ("unknown archive format 'rar'",), "use one of tar.gz"
    ),
    "unknown target": Case(
        ("invoke", "build", "--target", "sparc-*"),
        TargetError.exit_code,
        ("target pattern 'sparc-*' matches no known target",),
        "known targets: x86_64-unknown-linux-gnu",
    ),
    "targets that exclude themselves": Case(
        ("invoke", "build", "--target", "*-apple-*", "--target", "!*-darwin"),
        TargetError.exit_code,
        ("'*-apple-*', '!*-darwin' select no target",),
        "narrow the exclusions",
    ),
    "missing --cli-old": Case(
        ("invoke", "bump", "--part", "patch", "--cli-old", "gone/crcsum", "--cli-new", "gone/crcsum"),
        VersionError.exit_code,
        ("--cli-old gone/crcsum: no such file",),
        "path of a built binary",
    ),
    "non-executable --cli-old": Case(
        ("invoke", "bump", "--part", "patch", "--cli-old", "old-crcsum", "--cli-new", "old-crcsum"),
        VersionError.exit_code,
        ("--cli-old old-crcsum: is not executable",),
        "chmod +x old-crcsum",
        setup=make_script(executable=False),
    ),
    "--cli-old without --cli-new": Case(
        ("invoke", "bump", "--part", "patch", "--cli-old", "old-crcsum"),
        VersionError.exit_code,
        ("--cli-old and --cli-new go together",),
        "pass both binaries",
        setup=make_script(executable=True),
    ),
    "unknown bump part": Case(
        ("invoke", "bump", "--part", "huge"),
        VersionError.exit_code,
        ("--part 'huge' is not a bump part",),
        "major, minor",
    ),
    "tag without the prefix": Case(
        ("invoke", "check-tag", "--tag", "release-1"),
        VersionError.exit_code,
        ("tag 'release-1' does not trigger a release",),
        "tag the release commit as v0.1.0",
    ),
    "tag of another version": Case(
        ("invoke", "check-tag", "--tag", "v9.9.9"),
        VersionError.exit_code,
        ("does not match the crate version 0.1.0",),
        "invoke bump",
    ),
    "history outside a git repository": Case(
        ("invoke", "notes"), GitStateError.exit_code, ("is not inside a git repository",), "run from a clone"
    ),
}


# --- the git family: a repository that does not allow the step --------------------------------


def dirty(sandbox: Sandbox) -> None:
    main = sandbox.root / "sample" / "src" / "main.rs"
    main.write_text(main.read_text(encoding="utf-8") + "\n// edited\n", encoding="utf-8")


def on_branch(name: str) -> Callable[[Sandbox], None]:
    def setup(sandbox: Sandbox) -> None:
        git(sandbox.root, "checkout", "-q", "-b", name)

    return setup


def tagged(name: str) -> Callable[[Sandbox], None]:
    def setup(sandbox: Sandbox) -> None:
        git(sandbox.root, "tag", "-a", name, "-m", name)

    return setup


GIT_CASES: dict[str, Case] = {
    "bump with a dirty tree": Case(
        ("invoke", "bump", "--part", "patch"),
        GitStateError.exit_code,
        ("uncommitted changes: sample/src/main.rs",),
        "commit or stash them first",
        setup=dirty,
    ),
    "bump to an existing tag": Case(
        ("invoke", "bump", "--part", "patch"),
        GitStateError.exit_code,
        ("tag v0.1.1 already exists",),
        "bump again",
        setup=tagged("v0.1.1"),
    ),
    "bump from a feature branch": Case(
        ("invoke", "bump", "--part", "patch"),
        GitStateError.exit_code,
        ("branch 'feature/x' may not release",),
        "merge into main",
        setup=on_branch("feature/x"),
    ),
    "notes of a version without a tag": Case(
        ("invoke", "notes", "--version", "9.9.9"),
        VersionError.exit_code,
        ("9.9.9 is not released: there is no tag v9.9.9",),
        "--unreleased",
    ),
    "changelog of a version without a tag": Case(
        ("invoke", "changelog", "--version", "9.9.9"),
        VersionError.exit_code,
        ("9.9.9 is not released",),
        "--unreleased",
    ),
    "unreleased for a released version": Case(
        ("invoke", "notes", "--version", "0.1.0", "--unreleased"),
        VersionError.exit_code,
        ("0.1.0 is released already (tag v0.1.0)",),
        "drop --unreleased",
    ),
    "unreleased older than the last release": Case(
        ("invoke", "notes", "--version", "0.0.9", "--unreleased"),
        VersionError.exit_code,
        ("--version 0.0.9 is not newer than the latest release v0.1.0",),
        "after 0.1.0",
    ),
    "notes of a version that is not semver": Case(
        ("invoke", "notes", "--version", "one.two"),
        VersionError.exit_code,
        ("'one.two' is not a semantic version",),
        "MAJOR.MINOR.PATCH",
    ),
    "commit-lint since nothing": Case(
        ("invoke", "commit-lint", "--since", "no-such-ref"),
        GitStateError.exit_code,
        ("--since 'no-such-ref' names no commit",),
        "pass a tag, branch or commit id",
    ),
    "commit-lint-since naming no commit": Case(
        ("invoke", "commit-lint"),
        CONFIG,
        ("commit-lint-since = 'deadbeef' names no commit",),
        "full id of the last commit",
        table='[tool.release.versioning]\ncommit-lint-since = "deadbeef"\n',
    ),
    "cli-diff against nothing": Case(
        ("invoke", "cli-diff", "--old", "v0.0.1"),
        VersionError.exit_code,
        ("--old 'v0.0.1' is neither a binary nor a git ref",),
        "`git tag` lists them",
    ),
    "release time after 9999": Case(
        ("invoke", "notes", "--version", "0.2.0", "--unreleased"),
        CONFIG,
        ("SOURCE_DATE_EPOCH=99999999999999 is after the year 9999",),
        "not milliseconds",
        env={"SOURCE_DATE_EPOCH": "99999999999999"},
    ),
    "cliff config that is not TOML": Case(
        ("invoke", "notes"),
        CommandError.exit_code,
        ("git-cliff could not read the commits of v0.1.0",),
        "check the cliff.toml in use",
        table='[tool.release.versioning]\ncliff-config = "cliff.toml"\n',
        setup=write("cliff.toml", "[changelog\n"),
    ),
}


def check(sandbox: Sandbox, case: Case) -> None:
    if case.setup is not None:
        case.setup(sandbox)
    result = assert_refused(sandbox, case.argv, code=case.code, names=case.names, fix=case.fix, env=case.env or None)
    output = result.stdout + result.stderr
    assert "\x1b[" not in output, f"colour codes in the message:\n{output[-2000:]}"
    assert output.count("error:") == 1, f"one message, not several:\n{output[-2000:]}"


@pytest.mark.parametrize("case", list({**CONFIG_CASES, **FILE_CASES}.values()), ids=[*CONFIG_CASES, *FILE_CASES])
def test_config_mistakes_are_refused(tmp_path: Path, case: Case) -> None:
    check(Sandbox.make(tmp_path, release_table=TABLE + case.table), case)


@pytest.mark.parametrize("case", list(CLI_CASES.values()), ids=list(CLI_CASES))
def test_command_line_mistakes_are_refused(tmp_path: Path, case: Case) -> None:
    check(Sandbox.make(tmp_path, release_table=TABLE + case.table), case)


@pytest.mark.parametrize("case", list(GIT_CASES.values()), ids=list(GIT_CASES))
def test_git_states_that_do_not_allow_the_step_are_refused(tmp_path: Path, case: Case) -> None:
    check(git_sandbox(tmp_path, TABLE + case.table), case)


def test_a_shallow_clone_is_refused_for_bump_auto(tmp_path: Path) -> None:
    """actions/checkout's default depth: the answer would be 0.1.1 where the whole history says 0.2.0."""
    origin = git_sandbox(tmp_path / "origin")
    for message in ("feat: a feature", "fix: a fix"):
        git(origin.root, "commit", "-q", "--allow-empty", "-m", message)
    clone = tmp_path / "clone" / "project"
    git(tmp_path, "clone", "-q", "--depth=1", f"file://{origin.root}", str(clone))
    sandbox = Sandbox.make(tmp_path / "clone", release_table=TABLE)  # the same files, and the guard folder
    git(sandbox.root, "status", "--porcelain")
    for argv in (("invoke", "bump", "--auto", "--dry-run"), ("invoke", "notes"), ("invoke", "commit-lint")):
        check(
            sandbox,
            Case(
                argv, GitStateError.exit_code, ("is a shallow clone", "would be wrong"), "git fetch --unshallow --tags"
            ),
        )
    full = Sandbox(origin.root, origin.env).run("invoke", "bump", "--auto", "--dry-run")
    assert "next version: 0.2.0" in full.stdout, full.stderr[-2000:]

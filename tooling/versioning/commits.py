"""Conventional commits: parse a message, group it for the changelog, lint it.

Pure functions only. A message that is not conventional still parses (with
`conventional=False`) and lands in the "Other" group; nothing is dropped.
The groups here mirror the commit_parsers of cliff.toml; an integration test
checks that both agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tooling.git import RawCommit

# Types accepted by the linter (the Angular/commitlint set).
TYPES: tuple[str, ...] = (
    "feat",
    "fix",
    "perf",
    "refactor",
    "revert",
    "docs",
    "style",
    "test",
    "build",
    "ci",
    "chore",
    "security",
    "deprecate",
    "remove",
)

# Changelog groups (Keep a Changelog names first), in display order.
GROUP_ORDER: tuple[str, ...] = (
    "Security",
    "Removed",
    "Deprecated",
    "Added",
    "Changed",
    "Fixed",
    "Documentation",
    "Maintenance",
    "Other",
)
_GROUP_OF_TYPE = {
    "security": "Security",
    "remove": "Removed",
    "deprecate": "Deprecated",
    "feat": "Added",
    "perf": "Changed",
    "refactor": "Changed",
    "revert": "Changed",
    "fix": "Fixed",
    "docs": "Documentation",
    "style": "Maintenance",
    "test": "Maintenance",
    "build": "Maintenance",
    "ci": "Maintenance",
    "chore": "Maintenance",
}

_HEADER = re.compile(r"^(?P<type>[A-Za-z]+)(?:\((?P<scope>[^()\r\n]*)\))?(?P<bang>!)?: (?P<description>.*)$")
_FOOTER = re.compile(r"^(?P<token>BREAKING[ -]CHANGE|[A-Za-z][A-Za-z-]*)(?P<sep>: | #)(?P<value>.*)$")
MAX_HEADER = 100


@dataclass(frozen=True)
class Footer:
    token: str
    value: str

    @property
    def breaking(self) -> bool:
        return self.token in ("BREAKING CHANGE", "BREAKING-CHANGE")


@dataclass(frozen=True)
class ConventionalCommit:
    """One commit message, parsed. For non-conventional messages only `subject` and `body` are set."""

    subject: str
    body: str = ""
    type: str = ""
    scope: str = ""
    description: str = ""
    bang: bool = False
    footers: tuple[Footer, ...] = ()
    conventional: bool = False
    sha: str = ""
    author: str = ""
    email: str = ""

    @property
    def breaking(self) -> bool:
        return self.bang or any(footer.breaking for footer in self.footers)

    @property
    def breaking_notes(self) -> tuple[str, ...]:
        """The text of BREAKING CHANGE footers (the migration steps), else the description for `!` commits."""
        notes = tuple(footer.value for footer in self.footers if footer.breaking)
        if notes:
            return notes
        return (self.description,) if self.bang else ()

    @property
    def group(self) -> str:
        if not self.conventional:
            return "Other"
        return _GROUP_OF_TYPE.get(self.type.lower(), "Other")


def _split_footers(lines: Sequence[str]) -> tuple[str, tuple[Footer, ...]]:
    """Body text and the trailing footer block (the last paragraph, if every entry in it is a footer)."""
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.strip() == "":
            if paragraphs[-1]:
                paragraphs.append([])
        else:
            paragraphs[-1].append(line)
    if not paragraphs[-1]:
        paragraphs.pop()
    if not paragraphs:
        return "", ()
    last = paragraphs[-1]
    footers: list[tuple[str, list[str]]] = []
    for line in last:
        match = _FOOTER.match(line)
        if match:
            footers.append((match["token"], [match["value"]]))
        elif footers:
            footers[-1][1].append(line.strip())  # continuation of a multi-line footer
        else:
            footers = []
            break
    if not footers:
        return "\n\n".join("\n".join(p) for p in paragraphs), ()
    body = "\n\n".join("\n".join(p) for p in paragraphs[:-1])
    return body, tuple(Footer(token, "\n".join(value).strip()) for token, value in footers)


def parse_commit(message: str, *, sha: str = "", author: str = "", email: str = "") -> ConventionalCommit:
    """Parse a full commit message (subject, body, footers)."""
    lines = message.strip("\n").splitlines() or [""]
    subject = lines[0].strip()
    rest = lines[1:]
    body, footers = _split_footers(rest)
    match = _HEADER.match(subject)
    if not match or not match["description"].strip():
        return ConventionalCommit(subject=subject, body=body, footers=footers, sha=sha, author=author, email=email)
    return ConventionalCommit(
        subject=subject,
        body=body,
        type=match["type"],
        scope=match["scope"] or "",
        description=match["description"].strip(),
        bang=bool(match["bang"]),
        footers=footers,
        conventional=True,
        sha=sha,
        author=author,
        email=email,
    )


# --- lint ---------------------------------------------------------------------


@dataclass(frozen=True)
class LintProblem:
    sha: str
    subject: str
    problems: tuple[str, ...] = field(default_factory=tuple)


def lint_message(message: str, *, types: Sequence[str] = TYPES) -> list[str]:
    """What is wrong with one commit message under the conventional-commit rules (empty list: nothing)."""
    lines = message.strip("\n").splitlines() or [""]
    subject = lines[0]
    problems: list[str] = []
    if subject.startswith(("Merge ", 'Revert "', "fixup! ", "squash! ")):
        return problems  # made by git itself; judged by the commits they carry
    match = _HEADER.match(subject)
    if not match:
        problems.append('subject is not "type(scope): description" (e.g. "fix(cli): reject empty input")')
    else:
        if match["type"] not in types:
            if match["type"].lower() in types:
                problems.append(f"type {match['type']!r} must be lower-case")
            else:
                problems.append(f"unknown type {match['type']!r}; use one of: " + ", ".join(types))
        if match["scope"] is not None and not match["scope"].strip():
            problems.append("empty scope: drop the parentheses or name the scope")
        description = match["description"]
        if not description.strip():
            problems.append("empty description after the colon")
        elif description != description.strip():
            problems.append("description has surrounding whitespace")
        elif description.endswith("."):
            problems.append("description ends with a period")
    if len(subject) > MAX_HEADER:
        problems.append(f"subject is {len(subject)} characters long; keep it within {MAX_HEADER}")
    if len(lines) > 1 and lines[1].strip():
        problems.append("the second line must be blank (it separates subject and body)")
    for line in lines[1:]:
        if re.match(r"^BREAKING[ -]?CHANGE", line, re.IGNORECASE) and not re.match(r"^BREAKING[ -]CHANGE: \S", line):
            problems.append('write breaking changes as a footer "BREAKING CHANGE: <what changed and how to migrate>"')
            break
    return problems


def lint_commits(commits: Iterable[tuple[str, str]], *, types: Sequence[str] = TYPES) -> list[LintProblem]:
    """Lint (sha, message) pairs; returns only the commits with problems."""
    report = []
    for sha, message in commits:
        problems = lint_message(message, types=types)
        if problems:
            subject = (message.strip("\n").splitlines() or [""])[0]
            report.append(LintProblem(sha, subject, tuple(problems)))
    return report


def parse_commits(raw: Iterable[RawCommit]) -> list[ConventionalCommit]:
    """git's commits read by the conventional-commit rules."""
    return [parse_commit(c.message, sha=c.sha, author=c.author, email=c.email) for c in raw]

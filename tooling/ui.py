"""What people see: progress, folded log groups, messages and the closing summary table.

Everything is printed literally: the console interprets no markup, so a
message naming `[package]` or a path holding `[/bold]` appears as written.
On GitHub Actions, groups become ::group:: folds, errors and warnings also
become ::error:: / ::warning:: annotations, and summaries are appended to
$GITHUB_STEP_SUMMARY as Markdown tables.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.table import Table
from rich.text import Text

# Logs (CI, files) are not terminals: give tables room rather than 80 columns.
# markup=False: text from configs, paths and tools is never read as rich markup.
# soft_wrap: a long message stays one line (logs and annotations read it whole); tables still fit the width.
console = Console(
    stderr=True, highlight=False, markup=False, soft_wrap=True, width=None if sys.stderr.isatty() else 160
)


def on_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def annotation_text(text: str) -> str:
    """`text` escaped for a workflow command (GitHub's rules: %, CR and LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def annotation(level: str, message: str, title: str = "") -> str:
    """A ::error:: / ::warning:: workflow command line for `message`."""
    properties = f" title={annotation_text(title).replace(',', '%2C').replace(':', '%3A')}" if title else ""
    return f"::{level}{properties}::{annotation_text(message)}"


@contextmanager
def group(title: str) -> Iterator[None]:
    """A titled, timed block of log output (folded on GitHub Actions)."""
    started = time.monotonic()
    if on_github_actions():
        print(f"::group::{title}", file=sys.stderr, flush=True)
    else:
        console.rule(Text(title, style="bold"))
    try:
        yield
    finally:
        elapsed = time.monotonic() - started
        if on_github_actions():
            print("::endgroup::", file=sys.stderr, flush=True)
        console.print(Text(f"{title}: {elapsed:.1f} s", style="dim"))


def markdown_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """The same table as Markdown, for $GITHUB_STEP_SUMMARY."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", "<br>")

    lines = [f"### {title}", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n\n"


def summary(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print a closing table; on GitHub Actions also add it to the step summary."""
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    console.print(table)
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(markdown_table(title, columns, rows))


def say(message: str) -> None:
    """One plain line of progress."""
    console.print(Text(message))


def _labelled(label: str, style: str, message: str) -> None:
    line = Text()
    line.append(f"{label}:", style=style)
    line.append(f" {message}")
    console.print(line)


def error(message: str, hint: str | None = None) -> None:
    """An error for people (and, on GitHub Actions, an annotation)."""
    _labelled("error", "bold red", message)
    if hint:
        console.print(Text(f"  hint: {hint}"))
    if on_github_actions():
        print(annotation("error", message + (f"\nhint: {hint}" if hint else "")), file=sys.stderr, flush=True)


def warn(message: str) -> None:
    """A warning for people (and, on GitHub Actions, an annotation)."""
    _labelled("warning", "yellow", message)
    if on_github_actions():
        print(annotation("warning", message), file=sys.stderr, flush=True)

"""What people see: progress, folded log groups, and the closing summary table.

On GitHub Actions, groups become ::group:: folds and summaries are appended
to $GITHUB_STEP_SUMMARY as Markdown tables.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.table import Table

# Logs (CI, files) are not terminals: give tables room rather than 80 columns.
console = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)


def on_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


@contextmanager
def group(title: str) -> Iterator[None]:
    """A titled, timed block of log output (folded on GitHub Actions)."""
    started = time.monotonic()
    if on_github_actions():
        print(f"::group::{title}", file=sys.stderr, flush=True)
    else:
        console.rule(f"[bold]{title}")
    try:
        yield
    finally:
        elapsed = time.monotonic() - started
        if on_github_actions():
            print("::endgroup::", file=sys.stderr, flush=True)
        console.print(f"[dim]{title}: {elapsed:.1f} s[/dim]")


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
        table.add_row(*row)
    console.print(table)
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as handle:
            handle.write(markdown_table(title, columns, rows))


def error(message: str) -> None:
    console.print(f"[bold red]error:[/bold red] {message}")


def warn(message: str) -> None:
    console.print(f"[yellow]warning:[/yellow] {message}")

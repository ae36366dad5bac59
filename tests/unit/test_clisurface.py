"""Help-text parsing and CLI surface comparison (pure, on captured help text)."""

from __future__ import annotations

from tooling.versioning.cli_surface import HelpPage, breaking_changes, diff_surfaces, parse_help

TOP = """\
Print CRC-32 checksums of files

Usage: crcsum [OPTIONS] [FILES]... [COMMAND]

Commands:
  check  Check that FILE has the expected checksum
  help   Print this message or the help of the given subcommand(s)

Arguments:
  [FILES]...  Files to checksum; standard input when none are given

Options:
  -u, --upper            Print checksums in upper-case hexadecimal
  -o, --output <FILE>    Write the checksums to FILE instead of standard
                         output
  -h, --help             Print help
  -V, --version          Print version
"""

LONG = """\
Usage: tool [OPTIONS]

Options:
      --color <WHEN>
          When to use colours

          [default: auto]
          [possible values: auto, always, never]

  -q, --quiet
          Print nothing

Output:
      --json
          Machine-readable output
"""

CHECK = """\
Usage: crcsum check <EXPECTED> <FILE>

Arguments:
  <EXPECTED>  Expected checksum, 8 hexadecimal digits
  <FILE>      File to check

Options:
      --strict  Fail on unreadable files
  -h, --help    Print help
"""


def test_parse_short_help() -> None:
    page = parse_help(TOP)
    assert list(page.commands) == ["check", "help"]
    assert list(page.arguments) == ["[FILES]..."]
    assert set(page.options) == {"--upper", "--output", "--help", "--version"}
    output = page.options["--output"]
    assert (output.short, output.value) == ("o", "<FILE>")
    assert output.description == "Write the checksums to FILE instead of standard output"
    assert page.options["--upper"].value is None


def test_parse_long_help_and_custom_headings() -> None:
    page = parse_help(LONG)
    assert set(page.options) == {"--color", "--quiet", "--json"}
    assert page.options["--color"].value == "<WHEN>"
    assert page.options["--color"].description.startswith("When to use colours")
    assert page.options["--quiet"].short == "q"


def surface(top: str, check: str) -> dict[tuple[str, ...], HelpPage]:
    return {(): parse_help(top), ("check",): parse_help(check)}


def test_removed_flag_is_breaking() -> None:
    new_top = TOP.replace("  -u, --upper            Print checksums in upper-case hexadecimal\n", "")
    changes = diff_surfaces(surface(TOP, CHECK), surface(new_top, CHECK), "crcsum")
    assert [(c.kind, c.command, c.old) for c in changes] == [("removed-option", "crcsum", "-u, --upper")]
    assert breaking_changes(changes) == changes
    assert "--upper" in changes[0].migration_step()


def test_renamed_flag_and_command_are_detected() -> None:
    new_top = TOP.replace("-u, --upper ", "-U, --uppercase").replace("  check  Check", "  verify  Check")
    changes = diff_surfaces(surface(TOP, CHECK), {(): parse_help(new_top), ("verify",): parse_help(CHECK)}, "crcsum")
    kinds = {(c.kind, c.old, c.new) for c in changes}
    assert ("renamed-command", "check", "verify") in kinds
    assert ("renamed-option", "-u, --upper", "-U, --uppercase") in kinds
    assert all(c.breaking for c in changes)


def test_removed_subcommand_short_alias_and_value_change() -> None:
    new_top = TOP.replace("  check  Check that FILE has the expected checksum\n", "")
    new_top = new_top.replace("-u, --upper ", "    --upper").replace("--output <FILE>", "--output      ")
    changes = diff_surfaces(surface(TOP, CHECK), {(): parse_help(new_top)}, "crcsum")
    kinds = {c.kind for c in changes}
    assert {"removed-command", "removed-short", "value-changed"} <= kinds


def test_additions_are_not_breaking() -> None:
    new_check = CHECK.replace("  -h, --help    Print help\n", "  -h, --help    Print help\n      --quiet  Say less\n")
    changes = diff_surfaces(surface(TOP, CHECK), surface(TOP, new_check), "crcsum")
    assert [(c.kind, c.command, c.new, c.breaking) for c in changes] == [
        ("added-option", "crcsum check", "--quiet", False)
    ]
    assert diff_surfaces(surface(TOP, CHECK), surface(TOP, CHECK), "crcsum") == []

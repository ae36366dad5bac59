"""`python -m tooling <command>`: the entry point nox sessions and invoke tasks call.

Thin: parse arguments, call the modules that do the work, print a summary.
A ReleaseError becomes a one-paragraph message and its exit code; never a
traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from tooling import proc, targets, ui
from tooling.config import ReleaseConfig, load_config
from tooling.errors import ReleaseError, ToolchainError
from tooling.targets import Target


def _config() -> ReleaseConfig:
    return load_config()


def cmd_build(args: argparse.Namespace) -> int:
    """Build, verify and smoke-run the given targets into dist/<triple>/."""
    from tooling.build import build_target
    from tooling.toolchain import probe_system, resolve
    from tooling.zig import zig_path

    config = _config()
    chosen = targets.select_targets(args.target) if args.target else config.targets
    with ui.group("resolve toolchains"):
        facts = probe_system(chosen, config.rustc)
        plans = []
        skipped = []
        for target in chosen:
            try:
                plans.append((target, resolve(target, facts)))
            except ToolchainError as error:
                if not args.ready_only:
                    raise
                skipped.append([target.triple, "-", "-", f"skipped: {error.message}"])
        for target, toolchain in plans:
            ui.console.print(f"{target.triple}: {toolchain.how}")
    zig = zig_path() if any(t.builder == "cargo-zigbuild" for t, _ in plans) else None
    rows = []
    for target, toolchain in plans:
        partial = build_target(config, target, toolchain, zig)
        for artifact in partial.artifacts:
            rows.append([target.triple, artifact.path, f"{artifact.size:,}", str(artifact.facts.get("smoke", ""))])
    if not proc.is_dry_run():
        ui.summary(f"{config.name} {config.version}: built", ["target", "file", "bytes", "smoke"], rows + skipped)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Show, for every target, whether this machine can build it, how, and what is missing."""
    from tooling.toolchain import probe_system, readiness

    config = _config()
    chosen = targets.all_targets() if args.all else config.targets
    facts = probe_system(chosen, config.rustc, try_rustup_add=not args.no_rustup_add)
    rows = readiness(chosen, facts)
    ui.summary(
        "targets on this machine",
        ["target", "ready", "how", "missing"],
        [[r.triple, "yes" if r.ready else "no", r.how, r.missing] for r in rows],
    )
    return 0 if all(r.ready for r in rows) or not args.strict else ToolchainError.exit_code


def cmd_targets(args: argparse.Namespace) -> int:
    """Print the target table."""
    rows = [
        [t.triple, t.os, t.arch, t.libc, t.exe_suffix or "-", t.archive, t.builder, t.runner, t.smoke]
        for t in targets.all_targets()
    ]
    columns = ["triple", "os", "arch", "libc", "exe suffix", "archive", "builder", "runner", "smoke on Linux"]
    if args.format == "markdown":
        print(ui.markdown_table("Targets", columns, rows).split("\n", 2)[2].strip())
    elif args.format == "json":
        print(json.dumps([dict(zip(columns, row, strict=True)) for row in rows], indent=2))
    else:
        ui.summary("targets", columns, rows)
    return 0


def ci_matrix(config: ReleaseConfig) -> dict[str, list[dict[str, str]]]:
    """The GitHub Actions build matrix: one job per configured target."""
    return {
        "include": [
            {"target": t.triple, "runner": t.runner, "session": f"build-{t.triple}"} for t in config.targets
        ]
    }


def cmd_ci_matrix(args: argparse.Namespace) -> int:
    """Print the CI build matrix as JSON (for `fromJSON` in a workflow)."""
    print(json.dumps(ci_matrix(_config()), separators=(",", ":")))
    return 0


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dry-run", action="store_true", help="print the commands that would change things; run none")
    top = argparse.ArgumentParser(prog="python -m tooling", description=__doc__.split("\n")[0], parents=[common])
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser("build", help=cmd_build.__doc__, description=cmd_build.__doc__, parents=[common])
    build.add_argument("--target", action="append", metavar="TRIPLE",
                       help="triple or pattern to build (repeatable); default: tool.release.targets")
    build.add_argument("--ready-only", action="store_true",
                       help="skip (and list) targets this machine cannot build instead of failing")
    build.set_defaults(func=cmd_build)

    doctor = commands.add_parser("doctor", help=cmd_doctor.__doc__, description=cmd_doctor.__doc__)
    doctor.add_argument("--all", action="store_true", help="every known target, not only the configured ones")
    doctor.add_argument("--strict", action="store_true", help="exit non-zero when a target is not ready")
    doctor.add_argument("--no-rustup-add", action="store_true", help="do not try `rustup target add`")
    doctor.set_defaults(func=cmd_doctor)

    table = commands.add_parser("targets", help=cmd_targets.__doc__, description=cmd_targets.__doc__)
    table.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    table.set_defaults(func=cmd_targets)

    matrix = commands.add_parser("ci-matrix", help=cmd_ci_matrix.__doc__, description=cmd_ci_matrix.__doc__)
    matrix.set_defaults(func=cmd_ci_matrix)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    proc.set_dry_run(args.dry_run)
    try:
        code: int = args.func(args)
        return code
    except ReleaseError as error:
        ui.error(str(error))
        return error.exit_code
    except KeyboardInterrupt:
        ui.error("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())

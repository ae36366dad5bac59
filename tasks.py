"""Maintainer entry points: `invoke --list` shows them, `invoke --help <task>` explains one.

Tasks are thin: they parse options and call tooling/, where all logic lives.
"""

from __future__ import annotations

from invoke import Context, task

# ----------------------------------------------------------------------------
# Release artifacts: build, checksum, sign, package, verify, clean, merge-manifests
# ----------------------------------------------------------------------------

# (artifact tasks go here)

# ----------------------------------------------------------------------------
# Versioning: bump, changelog, notes, commit-lint
# ----------------------------------------------------------------------------

# (versioning tasks go here)


@task
def status(c: Context) -> None:
    """Show the configured crate, version and targets."""
    from tooling.config import load_config

    config = load_config()
    print(f"{config.name} {config.version} ({config.crate_manifest})")
    for target in config.targets:
        print(f"  {target.triple}")

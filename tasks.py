"""Maintainer entry points: `invoke --list` shows them, `invoke --help <task>` explains one.

Tasks are thin: they parse options and call tooling/, where all logic lives.
"""

from __future__ import annotations

from invoke.context import Context
from invoke.tasks import task

# ----------------------------------------------------------------------------
# Release artifacts: build, checksum, sign, package, verify, clean, merge-manifests
# ----------------------------------------------------------------------------

# Every chain task takes the same options, so `invoke package --target x` hands
# them down to build, archive, sbom, checksum and sign.
_CHAIN_HELP = {
    "dist": "artifact directory (default: tool.release.dist-dir, or $RELEASE_DIST_DIR)",
    "target": "triple or pattern (repeatable); default: every configured target (tool.release.targets)",
    "prebuilt": "a dist/<triple>/ folder from a CI build job, or a folder of them (repeatable); skips nox",
    "skip-build": "use the binaries already in dist/<triple>/ instead of running the nox build sessions",
    "format": "archive format for Unix targets: tar.gz, tar.xz or tar.zst (default: tool.release.archive.unix)",
    "level": "compression level (default 6, as gzip; 1 fastest, 9 smallest; zstd up to 19)",
    "backend": "signer to use, gpg or minisign (repeatable); default: tool.release.sign.backends",
    "unsigned": "make no signatures (local trial runs)",
    "jobs": "targets archived in parallel (default: one per CPU)",
    "no-verify-signatures": "let package skip the gpg/minisign verification of the finished dist/",
}


def _run_chain(
    step: str,
    dist: str | None,
    target: list[str] | None,
    prebuilt: list[str] | None,
    skip_build: bool,
    format: str | None,
    level: int,
    backend: list[str] | None,
    unsigned: bool,
    jobs: int,
    no_verify_signatures: bool = False,
) -> None:
    from pathlib import Path

    from invoke.exceptions import Exit

    from tooling import artifacts, ui
    from tooling.archive import check_format
    from tooling.config import load_config
    from tooling.errors import ReleaseError

    try:
        config = artifacts.with_dist(load_config(), dist)
        options = artifacts.Options(
            targets=tuple(target or ()),
            prebuilt=tuple(Path(p).resolve() for p in prebuilt or ()),
            skip_build=skip_build,
            unix_format=check_format(format) if format else None,
            level=int(level),
            backends=tuple(backend) if backend else None,
            unsigned=unsigned,
            jobs=int(jobs),
            check_signatures=not (no_verify_signatures or unsigned),
        )
        artifacts.run_step(step, artifacts.shared_context(config, options))
    except ReleaseError as error:
        ui.error(str(error))
        raise Exit(code=error.exit_code) from None


def _chain_task(step: str, doc: str):  # type: ignore[no-untyped-def]
    """An invoke task running `step` of the artifact chain (after its prerequisites)."""

    def body(
        c: Context,
        dist: str | None = None,
        target: list[str] | None = None,
        prebuilt: list[str] | None = None,
        skip_build: bool = False,
        format: str | None = None,
        level: int = 6,
        backend: list[str] | None = None,
        unsigned: bool = False,
        jobs: int = 0,
        no_verify_signatures: bool = False,
    ) -> None:
        _run_chain(
            step, dist, target, prebuilt, skip_build, format, level, backend, unsigned, jobs, no_verify_signatures
        )

    body.__doc__ = doc
    body.__name__ = step
    return task(body, name=step, help=_CHAIN_HELP, iterable=["target", "prebuilt", "backend"])


build = _chain_task(
    "build",
    "Build every target's binaries with its nox session (`nox -s build-<triple>`), or import prebuilt folders.",
)
archive = _chain_task("archive", "Reproducible archive per built target (runs build first).")
sbom = _chain_task("sbom", "CycloneDX SBOM of the crate's resolved dependencies (cargo metadata + Cargo.lock).")
checksum = _chain_task("checksum", "SHA256SUMS and <file>.sha256 for archives and SBOM (runs build, archive, sbom).")
sign = _chain_task("sign", "GPG (.asc) and minisign (.minisig) signatures of SHA256SUMS and archives (runs checksum).")
package = _chain_task(
    "package", "The whole release folder: build, archive, sbom, checksum, sign, then verify and summarise."
)


@task(
    help={
        "dist": _CHAIN_HELP["dist"],
        "no-signatures": "check files and checksums only, not the gpg/minisign signatures",
    }
)
def verify(c: Context, dist: str | None = None, no_signatures: bool = False) -> None:
    """Check everything in dist/ against manifest.json, SHA256SUMS, .sha256 files and signatures."""
    from invoke.exceptions import Exit

    from tooling import artifacts, ui
    from tooling import verify as dist_verify
    from tooling.config import load_config
    from tooling.errors import ReleaseError

    try:
        config = artifacts.with_dist(load_config(), dist)
        settings = artifacts.settings_for(artifacts.Context(config, artifacts.Options()))
        count = dist_verify.check_or_raise(config.dist_dir, settings, check_signatures=not no_signatures)
        ui.console.print(f"{config.dist_dir}: {count} artifacts match manifest.json, checksums and signatures")
    except ReleaseError as error:
        ui.error(str(error))
        raise Exit(code=error.exit_code) from None


@task(
    name="merge-manifests",
    help={"dist": _CHAIN_HELP["dist"], "input": "a partial manifest.json (repeatable); default: dist/*/manifest.json"},
    iterable=["input"],
)
def merge_manifests(c: Context, dist: str | None = None, input: list[str] | None = None) -> None:
    """Merge the build jobs' partial manifests into dist/manifest.json; conflicting entries fail."""
    from pathlib import Path

    from invoke.exceptions import Exit

    from tooling import artifacts, ui
    from tooling.config import load_config
    from tooling.errors import ReleaseError

    try:
        config = artifacts.with_dist(load_config(), dist)
        merged = artifacts.merge_manifests(config.dist_dir, [Path(p) for p in input or ()])
        ui.console.print(f"{config.dist_dir / 'manifest.json'}: {len(merged.artifacts)} artifacts")
    except ReleaseError as error:
        ui.error(str(error))
        raise Exit(code=error.exit_code) from None


@task(help={"dist": _CHAIN_HELP["dist"], "keep-builds": "keep the per-target build folders dist/<triple>/"})
def clean(c: Context, dist: str | None = None, keep_builds: bool = False) -> None:
    """Delete dist/ (archives, checksums, signatures, SBOM, manifests, and binaries unless --keep-builds)."""
    from tooling import artifacts, ui
    from tooling.config import load_config

    config = artifacts.with_dist(load_config(), dist)
    removed = artifacts.clean(config.dist_dir, keep_builds)
    ui.console.print(f"removed {len(removed)} entries from {config.dist_dir}")


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

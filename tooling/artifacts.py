"""The release-artifact pipeline: build -> archive -> sbom -> checksum -> sign -> package.

Each step reads dist/manifest.json, acts on the difference, records what it
made, and writes the manifest back, so re-running a step converges instead of
duplicating. `run_step` runs a step's prerequisites first and every step at
most once per process: `invoke build package` builds once.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tooling import archive, checksum, manifest, proc, sbom, sign, ui
from tooling.config import DIST_ENV, ReleaseConfig
from tooling.errors import ConfigError, ManifestError, ToolchainError
from tooling.manifest import Artifact, Manifest
from tooling.targets import Target, get_target, select_targets

RELEASE_KINDS = ("archive", "sbom")  # what SHA256SUMS lists and users download


@dataclass(frozen=True)
class Options:
    """Command-line choices shared by every step of the chain."""

    targets: tuple[str, ...] = ()  # triples or patterns; empty: every configured target
    prebuilt: tuple[Path, ...] = ()  # per-target dist folders from CI build jobs
    skip_build: bool = False  # use what dist/ already holds
    unix_format: str | None = None  # overrides tool.release.archive.unix
    level: int = archive.DEFAULT_LEVEL
    backends: tuple[str, ...] | None = None  # overrides tool.release.sign.backends
    unsigned: bool = False
    jobs: int = 0  # parallel archive jobs; 0: one per CPU
    check_signatures: bool = True


@dataclass
class Context:
    """One pipeline run: the config, the options, and the steps already done."""

    config: ReleaseConfig
    options: Options
    done: list[str] = field(default_factory=list)

    @property
    def dist(self) -> Path:
        return self.config.dist_dir


def with_dist(config: ReleaseConfig, dist: str | None) -> ReleaseConfig:
    """The config with its dist directory replaced (from --dist)."""
    return dataclasses.replace(config, dist_dir=Path(dist).resolve()) if dist else config


# --- manifest helpers -------------------------------------------------------------


def top_manifest_path(dist: Path) -> Path:
    return dist / manifest.MANIFEST_NAME


def partial_manifest_paths(dist: Path) -> list[Path]:
    """dist/<triple>/manifest.json written by build jobs."""
    return sorted(p for p in dist.glob(f"*/{manifest.MANIFEST_NAME}") if p.is_file())


def merge_partials(partials: Sequence[Manifest], previous: Manifest | None) -> Manifest:
    """Build entries from the partial manifests, plus what later steps recorded before (pure).

    Binary entries of `previous` are dropped: the partial manifests are the
    truth about builds. Conflicts between partials are an error (manifest.merge).
    """
    merged = manifest.merge(partials)
    if previous is not None:
        if (previous.name, previous.version) != (merged.name, merged.version):
            return merged  # an old release's leftovers: later steps make everything again
        for artifact in previous.artifacts:
            if artifact.step != "build" and all(a.path != artifact.path for a in merged.artifacts):
                merged.add(artifact)
    return merged


def load(context: Context) -> Manifest:
    """dist/manifest.json, made from the partial manifests when it does not exist yet."""
    path = top_manifest_path(context.dist)
    if path.is_file():
        return manifest.read(path)
    partials = [manifest.read(p) for p in partial_manifest_paths(context.dist)]
    if not partials:
        raise ManifestError(
            f"nothing built in {context.dist}: no manifest.json there or in its target folders",
            hint="run `invoke build` (or pass --prebuilt with the CI build jobs' dist folders)",
        )
    return merge_partials(partials, None)


def save(context: Context, record: Manifest) -> None:
    manifest.write(top_manifest_path(context.dist), record)


def remove_artifacts(dist: Path, record: Manifest, doomed: Callable[[Artifact], bool]) -> list[str]:
    """Delete the files of matching entries and drop the entries; the removed paths."""
    removed = []
    for artifact in list(record.artifacts):
        if doomed(artifact):
            (dist / artifact.path).unlink(missing_ok=True)
            removed.append(artifact.path)
    record.artifacts = [a for a in record.artifacts if a.path not in removed]
    return removed


# --- build -----------------------------------------------------------------------


def chosen_targets(config: ReleaseConfig, patterns: Sequence[str]) -> tuple[Target, ...]:
    """The targets named on the command line (patterns), else the configured ones."""
    return select_targets(list(patterns)) if patterns else config.targets


def nox_build_argv(python: str, targets: Iterable[Target]) -> list[str]:
    """One nox call running `build-<triple>` for each target: the sessions CI runs."""
    return [python, "-m", "nox", "-s", *(f"build-{t.triple}" for t in targets)]


def buildable_here(config: ReleaseConfig, targets: Sequence[Target]) -> tuple[Target, ...]:
    """The targets this machine has a toolchain for; the others are named with the reason."""
    from tooling.toolchain import probe_system, readiness

    rows = readiness(targets, probe_system(targets, config.rustc))
    for row in rows:
        if not row.ready:
            ui.warn(f"skipping {row.triple}: {row.missing.splitlines()[0]}")
    ready = {row.triple for row in rows if row.ready}
    if not ready:
        raise ToolchainError("no configured target can be built on this machine", hint="run `nox -s doctor`")
    return tuple(t for t in targets if t.triple in ready)


def find_prebuilt(source: Path) -> list[Path]:
    """Per-target folders (each with a manifest.json) at or directly under `source`."""
    if (source / manifest.MANIFEST_NAME).is_file():
        return [source]
    found = sorted(p.parent for p in source.glob(f"*/{manifest.MANIFEST_NAME}"))
    if not found:
        raise ManifestError(
            f"--prebuilt {source}: no manifest.json there or in its subfolders",
            hint="pass the dist/<triple>/ folder a build job uploaded",
        )
    return found


def import_prebuilt(dist: Path, folder: Path) -> Manifest:
    """Copy one build job's target folder into dist/<triple>/, checking every file's hash."""
    partial = manifest.read(folder / manifest.MANIFEST_NAME)
    triples = {a.target for a in partial.artifacts}
    if len(triples) != 1 or None in triples:
        raise ManifestError(
            f"{folder}: a prebuilt folder must hold exactly one target, found {sorted(map(str, triples))}"
        )
    triple = str(triples.pop())
    destination = dist / triple
    destination.mkdir(parents=True, exist_ok=True)
    for artifact in partial.artifacts:
        relative = Path(artifact.path).relative_to(triple)
        source = folder / relative
        if not source.is_file() or manifest.sha256_file(source) != artifact.sha256:
            raise ManifestError(
                f"{folder}: {relative} is missing or differs from its manifest entry",
                hint="download the build job's artifact again",
            )
        if source.resolve() != (destination / relative).resolve():
            shutil.copyfile(source, destination / relative)
    if folder.resolve() != destination.resolve():
        shutil.copyfile(folder / manifest.MANIFEST_NAME, destination / manifest.MANIFEST_NAME)
    return partial


def step_build(context: Context) -> None:
    """Binaries into dist/<triple>/ (nox sessions or prebuilt folders), merged into dist/manifest.json."""
    config, options = context.config, context.options
    if options.prebuilt:
        for source in options.prebuilt:
            for folder in find_prebuilt(source):
                imported = import_prebuilt(context.dist, folder)
                ui.console.print(f"imported {folder} ({len(imported.artifacts)} files)")
    elif not options.skip_build:
        targets = chosen_targets(config, options.targets)
        if not options.targets:
            # Configured targets this machine cannot build (MSVC off Windows) come
            # from their CI runner through --prebuilt; named targets must all build.
            targets = buildable_here(config, targets)
        proc.run(nox_build_argv(sys.executable, targets), env={DIST_ENV: str(context.dist)}, cwd=config.root)
    if proc.is_dry_run():
        return
    partials = [manifest.read(p) for p in partial_manifest_paths(context.dist)]
    if not partials:
        raise ManifestError(f"no build output in {context.dist}", hint="run `invoke build` without --skip-build")
    previous = manifest.read(top_manifest_path(context.dist)) if top_manifest_path(context.dist).is_file() else None
    save(context, merge_partials(partials, previous))


# --- archive -----------------------------------------------------------------------


def built_targets(record: Manifest, patterns: Sequence[str]) -> list[str]:
    """Triples with binaries in the manifest, narrowed to `patterns` if any were given."""
    triples = sorted({a.target for a in record.artifacts if a.kind == "binary" and a.target})
    if patterns:
        wanted = {t.triple for t in select_targets(list(patterns))}
        triples = [t for t in triples if t in wanted]
    return triples


def release_epoch(config: ReleaseConfig, environ: Mapping[str, str] = os.environ) -> int:
    """SOURCE_DATE_EPOCH, else the time of the commit being released."""
    commit_time = None
    if not environ.get(archive.EPOCH_ENV):
        result = proc.run(
            ["git", "log", "-1", "--format=%ct"], cwd=config.root, capture=True, check=False, mutates=False, echo=False
        )
        commit_time = result.stdout if result.ok else None
    return archive.source_date_epoch(environ, commit_time)


def plan_archives(config: ReleaseConfig, record: Manifest, options: Options) -> list[archive.ArchivePlan]:
    """One ArchivePlan per built target."""
    extras = archive.resolve_includes(config.crate_dir, config.include)
    if not any(p.name.upper().startswith(("LICENSE", "COPYING")) for p in extras):
        ui.warn(f"no LICENSE file matched tool.release.include in {config.crate_dir}; archives ship without one")
    plans = []
    for triple in built_targets(record, options.targets):
        target = get_target(triple)
        fmt = options.unix_format if options.unix_format and not target.is_windows else config.archive_format(target)
        binaries = [config.dist_dir / a.path for a in record.artifacts if a.kind == "binary" and a.target == triple]
        plans.append(
            archive.plan_archive(
                name=config.name,
                version=config.version,
                target=target,
                fmt=fmt,
                binaries=binaries,
                extra_files=extras,
                extra_base=config.crate_dir,
            )
        )
    return plans


def step_archive(context: Context) -> None:
    """One reproducible archive per built target, written in parallel."""
    record = load(context)
    plans = plan_archives(context.config, record, context.options)
    if not plans:
        raise ManifestError("no built target to archive", hint="check --target against what dist/ holds")
    epoch = release_epoch(context.config)
    level = context.options.level
    if proc.is_dry_run():
        for plan in plans:
            ui.console.print(f"would write {plan.file_name} ({len(plan.entries)} files)")
        return
    # Archives of these targets in another format (or an older version) are stale.
    fresh = {p.file_name for p in plans}
    planned_targets = {p.target for p in plans}
    stale = {
        a.path for a in record.artifacts if a.kind == "archive" and a.target in planned_targets and a.path not in fresh
    }
    remove_artifacts(
        context.dist,
        record,
        lambda a: a.path in stale or any(a.path.startswith(s + ".") for s in stale),
    )

    def make(plan: archive.ArchivePlan) -> archive.Written:
        return archive.write_archive(plan, context.dist / plan.file_name, epoch=epoch, level=level)

    workers = context.options.jobs or os.cpu_count() or 1
    # zlib, lzma, zstd and hashlib release the GIL on large buffers: threads run in parallel.
    with (
        ui.group(f"archive {len(plans)} target(s), {min(workers, len(plans))} at a time"),
        ThreadPoolExecutor(max_workers=max(1, min(workers, len(plans)))) as pool,
    ):
        written = list(pool.map(make, plans))
    for plan, result in zip(plans, written, strict=True):
        record.add(
            Artifact(
                path=plan.file_name,
                kind="archive",
                target=plan.target,
                size=result.size,
                sha256=result.sha256,
                step="archive",
                facts={
                    "format": plan.format,
                    "level": level,
                    "source_date_epoch": epoch,
                    "files": [e.arcname for e in plan.entries],
                },
            )
        )
    save(context, record)


# --- sbom ---------------------------------------------------------------------------


def step_sbom(context: Context) -> None:
    """CycloneDX SBOM of the crate's resolved dependencies."""
    config = context.config
    record = load(context)
    destination = context.dist / sbom.sbom_file_name(config.name, config.version)
    sbom.generate(config.crate_manifest, destination, epoch=release_epoch(config))
    if proc.is_dry_run():
        return
    record.add(
        manifest.describe_file(
            context.dist, destination, kind="sbom", target=None, step="sbom", facts={"format": "CycloneDX 1.6 JSON"}
        )
    )
    save(context, record)


# --- checksum ------------------------------------------------------------------------


def release_assets(record: Manifest) -> list[Artifact]:
    """The files people download: archives and the SBOM (not binaries, not metadata)."""
    return [a for a in record.artifacts if a.kind in RELEASE_KINDS and "/" not in a.path]


def step_checksum(context: Context) -> None:
    """`<file>.sha256` beside every release file and SHA256SUMS over all of them."""
    record = load(context)
    assets = release_assets(record)
    if not assets:
        raise ManifestError("nothing to checksum: no archives or SBOM in the manifest", hint="run `invoke package`")
    if proc.is_dry_run():
        return
    for asset in assets:
        # The hashes were taken while writing; a changed size means someone touched the file since.
        if (context.dist / asset.path).stat().st_size != asset.size:
            raise ManifestError(
                f"{asset.path} changed after it was made", hint="run the archive step again (invoke package)"
            )
    remove_artifacts(
        context.dist,
        record,
        lambda a: (
            a.kind == "checksum"
            and a.path.removesuffix(checksum.SUFFIX) not in {x.path for x in assets}
            and a.path != checksum.SUMS_NAME
        ),
    )
    for asset in assets:
        sidecar = checksum.write_sidecar(context.dist / asset.path, asset.sha256)
        record.add(manifest.describe_file(context.dist, sidecar, kind="checksum", target=asset.target, step="checksum"))
    sums = checksum.write_sums(context.dist, ((a.path, a.sha256) for a in assets))
    record.add(
        manifest.describe_file(
            context.dist, sums, kind="checksum", target=None, step="checksum", facts={"lists": [a.path for a in assets]}
        )
    )
    save(context, record)


# --- sign ------------------------------------------------------------------------------


def files_to_sign(record: Manifest) -> list[Artifact]:
    """SHA256SUMS and every archive."""
    return [a for a in record.artifacts if a.path == checksum.SUMS_NAME or a.kind == "archive"]


def settings_for(context: Context, environ: Mapping[str, str] = os.environ) -> sign.SignSettings:
    return sign.sign_settings(context.config.sign, environ, context.config.root, context.options.backends)


def step_sign(context: Context) -> None:
    """Detached signatures (.asc, .minisig) for SHA256SUMS and every archive."""
    record = load(context)
    settings = settings_for(context)
    if context.options.unsigned:
        settings = dataclasses.replace(settings, backends=())
    targets = files_to_sign(record)
    if not any(a.path == checksum.SUMS_NAME for a in targets):
        raise ManifestError("SHA256SUMS is not in the manifest", hint="run the checksum step first (invoke checksum)")
    used = {sign.SUFFIXES[b] for b in settings.backends}
    # Signatures by a signer no longer in use would sign files that have since changed.
    remove_artifacts(context.dist, record, lambda a: a.kind == "signature" and not a.path.endswith(tuple(used)))
    if proc.is_dry_run():
        ui.console.print(f"would sign {len(targets)} file(s) with {', '.join(settings.backends) or 'nothing'}")
        return
    comment = f"{context.config.name} {context.config.version}"
    made = sign.sign_files(settings, [context.dist / a.path for a in targets], comment=comment)
    by_path = {a.path: a for a in record.artifacts}
    for file, signatures in made.items():
        signed = by_path[file.relative_to(context.dist).as_posix()]
        names = tuple(s.relative_to(context.dist).as_posix() for s in signatures)
        record.add(dataclasses.replace(signed, signatures=names))
        for signature in signatures:
            backend = "gpg" if signature.name.endswith(sign.SUFFIXES["gpg"]) else "minisign"
            record.add(
                manifest.describe_file(
                    context.dist,
                    signature,
                    kind="signature",
                    target=signed.target,
                    step="sign",
                    facts={"backend": backend, "signs": signed.path},
                )
            )
    save(context, record)


# --- package ----------------------------------------------------------------------------


def step_package(context: Context) -> None:
    """Check the finished dist/ against its manifest, checksums and signatures; print the summary."""
    from tooling import verify

    if proc.is_dry_run():
        return
    record = load(context)
    settings = settings_for(context)
    verify.check_or_raise(context.dist, settings, check_signatures=context.options.check_signatures)
    rows = [
        [a.path, a.kind, a.target or "-", f"{a.size:,}", a.sha256[:16], ", ".join(Path(s).suffix for s in a.signatures)]
        for a in record.artifacts
        if "/" not in a.path
    ]
    ui.summary(
        f"{record.name} {record.version}: release files in {context.dist}",
        ["file", "kind", "target", "bytes", "sha256", "signed"],
        rows,
    )


# --- the chain -----------------------------------------------------------------------------

STEPS: dict[str, tuple[tuple[str, ...], Callable[[Context], None]]] = {
    "build": ((), step_build),
    "archive": (("build",), step_archive),
    "sbom": ((), step_sbom),
    "checksum": (("archive", "sbom"), step_checksum),
    "sign": (("checksum",), step_sign),
    "package": (("sign",), step_package),
}


def run_step(
    name: str, context: Context, steps: Mapping[str, tuple[tuple[str, ...], Callable[[Context], None]]] = STEPS
) -> None:
    """Run `name` after its prerequisites; a step already done in this context is not repeated."""
    if name not in steps:
        raise ConfigError(f"unknown step {name!r}", hint="steps: " + ", ".join(steps))
    if name in context.done:
        return
    prerequisites, action = steps[name]
    for prerequisite in prerequisites:
        run_step(prerequisite, context, steps)
    action(context)
    context.done.append(name)


# One context per process: invoke runs every task of a command line in one
# process, so `invoke build checksum package` builds once.
_contexts: dict[tuple[Path, Options], Context] = {}


def shared_context(config: ReleaseConfig, options: Options) -> Context:
    """The process-wide context for this dist dir and these options."""
    key = (config.dist_dir, options)
    if key not in _contexts:
        # Steps done for other options of the same dist still count as done.
        done = next((c.done for (dist, _), c in _contexts.items() if dist == config.dist_dir), [])
        _contexts[key] = Context(config, options, done)
    return _contexts[key]


def merge_manifests(dist: Path, inputs: Sequence[Path]) -> Manifest:
    """Merge partial manifests (default: dist/*/manifest.json) into dist/manifest.json."""
    paths = list(inputs) or partial_manifest_paths(dist)
    if not paths:
        raise ManifestError(f"no partial manifests found in {dist}/*/", hint="pass --input for each manifest")
    previous = manifest.read(top_manifest_path(dist)) if top_manifest_path(dist).is_file() else None
    merged = merge_partials([manifest.read(p) for p in paths], previous)
    manifest.write(top_manifest_path(dist), merged)
    return merged


def clean(dist: Path, keep_builds: bool) -> list[Path]:
    """Remove dist/ (or, with keep_builds, everything but the per-target build folders)."""
    if not dist.exists():
        return []
    removed = []
    for entry in sorted(dist.iterdir()):
        if keep_builds and entry.is_dir() and (entry / manifest.MANIFEST_NAME).is_file():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
        removed.append(entry)
    if not keep_builds:
        dist.rmdir()
    return removed

"""The release-artifact pipeline: build -> archive -> sbom, installers -> checksum -> packages -> sign -> package.

Each step reads dist/manifest.json, acts on the difference, records what it
made, and writes the manifest back, so re-running a step converges instead of
duplicating. `run_step` runs a step's prerequisites first and every step at
most once per process: `invoke build package` builds once.

dist/ is a fence (tooling.artifacts.fence): a run claims the folder (it made
it, or it is new or empty) and holds its lock throughout; every path read
from a manifest is resolved inside dist/ before a file is opened or deleted.
Nothing is signed before it is verified: the archive step re-verifies each
binary (format, architecture, triple, its hash in its build job's manifest)
before any archive is written, writes all archives before renaming any into
place, and the sign step checks the whole folder against the plan and the
manifest before the first signature.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import stat
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tooling import manifest, proc, ui
from tooling.artifacts import archive, checksum, dist, fence, prebuilt, shell_docs, sign, verify
from tooling.build import binary, native
from tooling.build.native import NativeDependency
from tooling.build.run import build_targets
from tooling.build.toolchain import SystemFacts, probe_system
from tooling.config import ReleaseConfig
from tooling.epoch import release_epoch
from tooling.errors import BuildError, ConfigError, ManifestError, PlanError, ToolchainError, VerificationError
from tooling.files import temporary_for, write_atomic
from tooling.manifest import Artifact, Manifest
from tooling.plan import (
    DESCRIBE_COLUMNS,
    HERE,
    PACKAGES_PREFIX,
    STEP_SIGN,
    ReleasePlan,
    compare_dist,
    describe,
    expected_files,
    files_in,
    package_diff,
    plan_path,
    plan_release,
    possible_paths,
    read_plan,
    write_plan,
)
from tooling.targets import Target, get_target, select_targets

RELEASE_KINDS = verify.LISTED_IN_SUMS  # what SHA256SUMS lists and users download


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
    allow_partial: bool = False  # package: accept a dist/ that lacks planned targets (local trials)
    force: bool = False  # build targets whose native dependencies will fail here (the plan skips them otherwise)


@dataclass
class ChainRun:
    """One pipeline run: the config, the options, the runner (dry or not), and the steps already done."""

    config: ReleaseConfig
    options: Options
    runner: proc.Runner = field(default_factory=proc.Runner)
    done: list[str] = field(default_factory=list)
    _facts: SystemFacts | None = None
    _plan: ReleasePlan | None = None

    @property
    def dist(self) -> Path:
        return self.config.dist_dir

    @property
    def dry_run(self) -> bool:
        return self.runner.dry_run

    def facts(self) -> SystemFacts:
        """The machine, probed once per command (read-only)."""
        if self._facts is None:
            self._facts = probe_system(self.config.rustc)
        return self._facts

    def native(self, chosen: Sequence[Target]) -> dict[str, list[NativeDependency]] | None:
        """Each chosen target's native dependencies (read-only cargo metadata), when this run builds and may skip.

        None with --force (build them all), and when nothing is built here (--prebuilt, --skip-build).
        """
        options = self.options
        if options.force or options.prebuilt or options.skip_build:
            return None
        return native.per_target(self.config.crate_manifest, chosen)

    def plan(self) -> ReleasePlan:
        """The release plan of this run: made once, shown in a dry run, else written to dist/plan.json."""
        if self._plan is None:
            options = self.options
            backends = settings_for(self).backends
            chosen = chosen_targets(self.config, options.targets)
            self._plan = plan_release(
                self.config,
                self.facts(),
                targets=chosen,
                sign_backends=backends,
                unix_format=options.unix_format,
                native=self.native(chosen),
            )
            ui.summary(
                f"{self._plan.name} {self._plan.version}: release plan", list(DESCRIBE_COLUMNS), describe(self._plan)
            )
            if self.runner.allows(proc.Effect.LOCAL, f"write {plan_path(self.dist)}"):
                write_plan(self.dist, self._plan)
        return self._plan


# The dist folder's checks live with the fence's other rules (importing them here keeps callers working).
protected_folders = dist.protected_folders
with_dist = dist.with_dist


# --- build -----------------------------------------------------------------------


def chosen_targets(config: ReleaseConfig, patterns: Sequence[str]) -> tuple[Target, ...]:
    """The targets named on the command line (patterns), else the configured ones."""
    return select_targets(list(patterns)) if patterns else config.targets


def targets_to_build(plan: ReleasePlan, named: bool) -> tuple[Target, ...]:
    """The plan's targets to build on this machine.

    Targets named on the command line must all build here. Of the configured
    ones, those planned for another runner (MSVC off Windows) arrive through
    --prebuilt, and skipped ones were shown with their reason in the plan.
    """
    elsewhere = [t for t in plan.targets if t.where != HERE]
    if named and elsewhere:
        raise ToolchainError(
            "cannot build " + ", ".join(t.triple for t in elsewhere) + " on this machine: " + elsewhere[0].reason,
            hint="build it on its CI runner and pass the folder with --prebuilt, or run `nox -s doctor`; "
            "--force builds a target skipped for its native dependencies anyway",
        )
    here = tuple(get_target(t.triple) for t in plan.targets if t.where == HERE)
    if not here:
        raise ToolchainError("no planned target can be built on this machine", hint="run `nox -s doctor`")
    return here


def binary_check(config: ReleaseConfig) -> prebuilt.BinaryCheck:
    """The verification every binary passes before it enters dist/ or an archive (tooling.build.binary.verify)."""

    def check(path: Path, target: Target) -> object:
        try:
            return binary.verify(path, target, config)
        except VerificationError as error:
            raise VerificationError(
                f"{path}: {error.message}",
                hint=f"build {target.triple} again on its CI runner (nox -s build-{target.triple}) and pass the "
                "new folder with --prebuilt",
            ) from error

    return check


def step_build(context: ChainRun) -> None:
    """Binaries into dist/<triple>/ (built here, or imported from CI's prebuilt folders), merged into the manifest."""
    config, options = context.config, context.options
    # Every prebuilt folder is checked (manifest, paths, hashes, binaries) before anything is written.
    checked = [
        (folder, *prebuilt.check_prebuilt(context.dist, folder, binary_check(config)))
        for source in options.prebuilt
        for folder in prebuilt.find_prebuilt(source)
    ]
    context.plan()
    if options.prebuilt:
        for folder, partial, incoming in checked:
            if not context.runner.allows(proc.Effect.LOCAL, f"import {folder} into {context.dist}"):
                continue
            prebuilt.install(context.dist, folder, partial, incoming)
            ui.say(f"imported {folder} ({len(partial.artifacts)} files)")
    elif not options.skip_build:
        build_targets(config, targets_to_build(context.plan(), bool(options.targets)), context.facts(), context.runner)
    if context.dry_run:
        return
    partials = dist.read_partials(context.dist)
    if not partials:
        raise ManifestError(f"no build output in {context.dist}", hint="run `invoke build` without --skip-build")
    top = dist.top_manifest_path(context.dist)
    previous = manifest.read(top) if top.is_file() else None
    dist.save(context.dist, dist.merge_partials(partials, previous))


# --- archive -----------------------------------------------------------------------


def built_targets(record: Manifest, patterns: Sequence[str]) -> list[str]:
    """Triples with binaries in the manifest, narrowed to `patterns` if any were given."""
    triples = sorted({a.target for a in record.artifacts if a.kind == "binary" and a.target})
    if patterns:
        wanted = {t.triple for t in select_targets(list(patterns))}
        triples = [t for t in triples if t in wanted]
    return triples


def plan_archives(
    config: ReleaseConfig, record: Manifest, options: Options, generated: Mapping[str, Path] | None = None
) -> list[archive.ArchivePlan]:
    """One ArchivePlan per built target; `generated` files (completions, man pages) go into each."""
    extras = archive.resolve_includes(config.crate_dir, config.include)
    if not any(p.name.upper().startswith(("LICENSE", "COPYING")) for p in extras):
        ui.warn(f"no LICENSE file matched tool.release.include in {config.crate_dir}; archives ship without one")
    plans = []
    for triple in built_targets(record, options.targets):
        target = get_target(triple)
        fmt = options.unix_format if options.unix_format and not target.is_windows else config.archive_format(target)
        binaries = [
            fence.inside(config.dist_dir, a.path, f"manifest.json: {a.path}")
            for a in record.artifacts
            if a.kind == "binary" and a.target == triple
        ]
        plans.append(
            archive.plan_archive(
                name=config.name,
                version=config.version,
                target=target,
                fmt=fmt,
                binaries=binaries,
                extra_files=extras,
                extra_base=config.crate_dir,
                generated=generated,
            )
        )
    return plans


def _record_or_dry(context: ChainRun, step: str) -> Manifest | None:
    """dist/manifest.json; in a dry run with nothing built yet, None after saying what the step would do."""
    try:
        return dist.load(context.dist)
    except ManifestError:
        if context.dry_run:
            ui.say(f"would run {step} over the targets the build step makes (dry run: nothing built to show)")
            return None
        raise


def binary_problems(
    path: Path, on_disk: verify.FileFacts | None, recorded: Artifact | None, check: Callable[[], list[str]]
) -> list[str]:
    """Why a binary in dist/ may not be archived (empty when it may).

    on_disk: its size and hash now (None: missing or not a regular file).
    recorded: its entry in its build job's manifest. check: the format,
    architecture and floor checks, run only on a file that is there.
    """
    if recorded is None:
        return ["not listed in its build job's manifest (dist/<triple>/manifest.json)"]
    if on_disk is None:
        return ["missing, or not a regular file"]
    found = []
    if (on_disk.size, on_disk.sha256) != (recorded.size, recorded.sha256):
        found.append(
            f"differs from its build job's manifest ({on_disk.size:,} bytes, sha256 {on_disk.sha256[:16]}...; "
            f"recorded {recorded.size:,} bytes, {recorded.sha256[:16]}...): truncated or replaced since the build"
        )
    return found + check()


def _measure(path: Path) -> verify.FileFacts | None:
    """Size and hash of a regular file, None for anything else (missing, a folder, a link)."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return None
    except FileNotFoundError:
        return None
    return verify.FileFacts(path.stat().st_size, manifest.sha256_file(path))


def _format_checks(path: Path, target: Target, config: ReleaseConfig) -> Callable[[], list[str]]:
    def run() -> list[str]:
        try:
            facts = binary.read_facts(path)
        except VerificationError as error:
            return [error.message]
        return binary.problems(facts, target, config.glibc, config.macos_min(target))

    return run


def check_binaries(config: ReleaseConfig, record: Manifest, triples: Sequence[str]) -> None:
    """Re-verify every binary about to be archived; one VerificationError naming every problem.

    Each binary must be the file its build job recorded (size and SHA-256 in
    dist/<triple>/manifest.json) and pass the checks of the build (format,
    architecture, glibc floor, macOS minimum): a binary replaced or truncated
    since the build, or one of another architecture, never reaches an archive.
    """
    dist_dir = config.dist_dir
    found = []
    for triple in triples:
        target = get_target(triple)
        partial_path = fence.inside(dist_dir, f"{triple}/{manifest.MANIFEST_NAME}")
        partial = dist.read_partial(partial_path, triple) if partial_path.is_file() else Manifest("", "")
        recorded = {a.path: a for a in partial.artifacts}
        for artifact in record.artifacts:
            if artifact.kind != "binary" or artifact.target != triple:
                continue
            path = fence.inside(dist_dir, artifact.path, f"manifest.json: {artifact.path}")
            on_disk = _measure(path)
            checks = _format_checks(path, target, config) if on_disk else list
            found += [
                f"{artifact.path}: {problem}"
                for problem in binary_problems(path, on_disk, recorded.get(artifact.path), checks)
            ]
    if found:
        raise VerificationError(
            f"{len(found)} problem(s) with the binaries to archive; nothing was archived, summed or signed:\n"
            + "\n".join(f"  {line}" for line in found),
            hint="build the target again (invoke build --target <triple>) or import its CI build folder again "
            "(--prebuilt); never edit dist/<triple>/ by hand",
        )


def _stage_all(context: ChainRun, plans: Sequence[archive.ArchivePlan], epoch: int) -> list[archive.Written]:
    """Write every archive beside its destination; on any failure remove them all and re-raise."""
    level = context.options.level

    def make(plan: archive.ArchivePlan) -> archive.Written:
        return archive.stage_archive(plan, context.dist / plan.file_name, epoch=epoch, level=level)

    workers = context.options.jobs or os.cpu_count() or 1
    try:
        # zlib, lzma, zstd and hashlib release the GIL on large buffers: threads run in parallel.
        with (
            ui.group(f"archive {len(plans)} target(s), {min(workers, len(plans))} at a time"),
            ThreadPoolExecutor(max_workers=max(1, min(workers, len(plans)))) as pool,
        ):
            return list(pool.map(make, plans))
    except BaseException:
        for plan in plans:
            temporary_for(context.dist / plan.file_name).unlink(missing_ok=True)
        raise


def doc_commands_for(context: ChainRun, record: Manifest) -> tuple[shell_docs.DocCommand, ...]:
    """The completions and man-page commands to run, with binaries of a target that runs natively here.

    None configured: nothing. Configured but no such binary in dist/ (only
    foreign targets built): an error, since archives without the files would
    differ from the release's.
    """
    config = context.config
    if not config.completions and not config.man:
        return ()
    facts = context.facts()
    built = [get_target(t) for t in built_targets(record, ())]
    target = shell_docs.runnable_target(built, facts.host_os, facts.host_arch)
    if target is None:
        raise BuildError(
            "tool.release.completions / man need a binary that runs on this machine "
            f"({facts.host_os} {facts.host_arch}), and dist/ has none",
            hint="build a target for this machine too (e.g. invoke build --target <host triple>), "
            "or run the archive step where one runs",
        )
    binaries = {
        name: fence.inside(context.dist, f"{target.triple}/{target.executable(name)}") for name in config.binaries
    }
    return shell_docs.doc_commands(binaries, config.completions, config.man)


def step_archive(context: ChainRun) -> None:
    """One reproducible archive per built target, written in parallel from re-verified binaries."""
    record = _record_or_dry(context, "archive")
    if record is None:
        return
    epoch = release_epoch(context.config.crate_dir)
    with tempfile.TemporaryDirectory(prefix="release-docs-") as scratch:
        commands = doc_commands_for(context, record)
        if context.dry_run:
            for command in commands:
                ui.say(f"would run {shlex.join(command.argv)} for {command.path}")
            generated = {c.path: Path(scratch, c.path) for c in commands}
        else:
            # The binary that prints them runs only after it passed the checks of its build, like every archived one.
            runs = {Path(c.argv[0]).parent.name for c in commands}
            check_binaries(context.config, record, sorted({*built_targets(record, context.options.targets), *runs}))
            generated = shell_docs.generate(commands, Path(scratch), context.runner)
        _archive_all(context, record, generated, epoch)


def _archive_all(context: ChainRun, record: Manifest, generated: Mapping[str, Path], epoch: int) -> None:
    plans = plan_archives(context.config, record, context.options, generated)
    if not plans:
        raise ManifestError("no built target to archive", hint="check --target against what dist/ holds")
    level = context.options.level
    if context.dry_run:
        for plan in plans:
            ui.say(f"would write {plan.file_name} ({len(plan.entries)} files)")
        return
    staged = _stage_all(context, plans, epoch)
    # Every archive was written: only now is any put in place.
    for plan, result in zip(plans, staged, strict=True):
        os.replace(result.path, context.dist / plan.file_name)
    # Archives of these targets in another format (or an older version) are stale.
    fresh = {p.file_name for p in plans}
    planned_targets = {p.target for p in plans}
    stale = {
        a.path for a in record.artifacts if a.kind == "archive" and a.target in planned_targets and a.path not in fresh
    }
    dist.remove_artifacts(
        context.dist,
        record,
        lambda a: a.path in stale or any(a.path.startswith(s + ".") for s in stale),
    )
    for plan, result in zip(plans, staged, strict=True):
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
    dist.save(context.dist, record)


# --- sbom ---------------------------------------------------------------------------


def step_sbom(context: ChainRun) -> None:
    """CycloneDX SBOM of the crate's resolved dependencies."""
    from tooling.artifacts import sbom  # cyclonedx takes a tenth of a second to import: only when needed

    config = context.config
    destination = context.dist / sbom.sbom_file_name(config.name, config.version)
    if not context.runner.allows(proc.Effect.LOCAL, f"write {destination}"):
        return
    # The SBOM needs no build: it describes the crate's locked dependencies.
    built = dist.top_manifest_path(context.dist).is_file() or dist.partial_manifest_paths(context.dist)
    record = dist.load(context.dist) if built else Manifest(config.name, config.version)
    sbom.generate(config.crate_manifest, destination, epoch=release_epoch(config.crate_dir))
    record.add(
        manifest.describe_file(
            context.dist, destination, kind="sbom", target=None, step="sbom", facts={"format": "CycloneDX 1.6 JSON"}
        )
    )
    dist.save(context.dist, record)


# --- installers ------------------------------------------------------------------------


def minisign_public_key_text(context: ChainRun) -> str | None:
    """The minisign public key install.sh checks SHA256SUMS.minisig with, when the release is signed with one."""
    settings = settings_for(context)
    if "minisign" not in settings.backends or not settings.minisign_public_key:
        return None
    try:
        return Path(settings.minisign_public_key).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        why = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text (a public key file is)"
        raise ConfigError(
            f"cannot read the minisign public key {settings.minisign_public_key}: {why or error}",
            hint="set tool.release.sign.minisign-public-key to the key verify trusts",
        ) from error


def step_installers(context: ChainRun) -> None:
    """install.sh and install.ps1 for this release's archives (tool.release.install-scripts)."""
    if not context.plan().installers:
        return
    record = _record_or_dry(context, "installers")
    if record is None:
        return
    from tooling.packagers.release import release_from
    from tooling.publish.installers import render_installers

    release = release_from(context.config, record, release_epoch(context.config.crate_dir))
    scripts = render_installers(release, minisign_public_key_text(context))
    if not context.runner.allows(proc.Effect.LOCAL, "write " + ", ".join(sorted(scripts))):
        return
    # Scripts of an OS family this run no longer has a build for are stale.
    dist.remove_artifacts(context.dist, record, lambda a: a.kind == "installer" and a.path not in scripts)
    for name, content in sorted(scripts.items()):
        path = context.dist / name
        write_atomic(path, content)
        record.add(manifest.describe_file(context.dist, path, kind="installer", target=None, step="installers"))
    dist.save(context.dist, record)


# --- checksum ------------------------------------------------------------------------


def release_assets(record: Manifest) -> list[Artifact]:
    """The files people download: archives and the SBOM (not binaries, not metadata)."""
    return [a for a in record.artifacts if a.kind in RELEASE_KINDS and "/" not in a.path]


def step_checksum(context: ChainRun) -> None:
    """`<file>.sha256` beside every release file and SHA256SUMS over all of them."""
    record = _record_or_dry(context, "checksum")
    if record is None:
        return
    assets = release_assets(record)
    if not assets and not context.dry_run:
        raise ManifestError("nothing to checksum: no archives or SBOM in the manifest", hint="run `invoke package`")
    if not context.runner.allows(proc.Effect.LOCAL, f"write {checksum.SUMS_NAME} and {len(assets)} .sha256 file(s)"):
        return
    for asset in assets:
        # The hashes were taken while writing; a changed size means someone touched the file since.
        if fence.inside(context.dist, asset.path, f"manifest.json: {asset.path}").stat().st_size != asset.size:
            raise ManifestError(
                f"{asset.path} changed after it was made", hint="run the archive step again (invoke package)"
            )
    dist.remove_artifacts(
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
    dist.save(context.dist, record)


# --- sign ------------------------------------------------------------------------------


def files_to_sign(record: Manifest) -> list[Artifact]:
    """SHA256SUMS and every archive (verify.signed_files: verify expects exactly these signed)."""
    return verify.signed_files(record)


def settings_for(context: ChainRun, environ: Mapping[str, str] = os.environ) -> sign.SignSettings:
    """The configured signers and keys, with the backends of --backend; none at all with --unsigned."""
    settings = sign.sign_settings(context.config.sign, environ, context.config.root, context.options.backends)
    return dataclasses.replace(settings, backends=()) if context.options.unsigned else settings


def check_before_signing(context: ChainRun, settings: sign.SignSettings) -> None:
    """Signing is the last step over a verified set: the folder matches its plan, and every file its manifest.

    Also refuses to sign what verify could not check afterwards (no pinned
    GPG fingerprint, no minisign public key), unless signatures go unchecked.
    """
    if context.options.check_signatures:
        verify.require_verifiers(settings)
    check_against_plan(context.dist, context.plan(), allow_partial=context.options.allow_partial, signed=False)
    verify.check_or_raise(context.dist, None, check_signatures=False)


def step_sign(context: ChainRun) -> None:
    """Detached signatures (.asc, .minisig) for SHA256SUMS and every archive."""
    record = _record_or_dry(context, "sign")
    if record is None:
        return
    settings = settings_for(context)
    targets = files_to_sign(record)
    backends = ", ".join(settings.backends) or "nothing"
    if not context.runner.allows(proc.Effect.LOCAL, f"sign {len(targets)} file(s) with {backends}"):
        return
    if not any(a.path == checksum.SUMS_NAME for a in targets):
        raise ManifestError("SHA256SUMS is not in the manifest", hint="run the checksum step first (invoke checksum)")
    if settings.backends:
        check_before_signing(context, settings)
    used = {sign.SUFFIXES[b] for b in settings.backends}
    # Signatures by a signer no longer in use would sign files that have since changed.
    dist.remove_artifacts(context.dist, record, lambda a: a.kind == "signature" and not a.path.endswith(tuple(used)))
    comment = f"{context.config.name} {context.config.version}"
    files = [fence.inside(context.dist, a.path, f"manifest.json: {a.path}") for a in targets]
    made = sign.sign_files(settings, files, comment=comment, runner=context.runner)
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
    dist.save(context.dist, record)


# --- packages ---------------------------------------------------------------------------


def step_packages(context: ChainRun) -> None:
    """The package channels of the plan (Homebrew, Scoop, deb ...) into dist/packages/<channel>/."""
    plan = context.plan()
    if not plan.packages:
        ui.say("no package channel configured (tool.release.packages.channels)")
        return
    record = _record_or_dry(context, "packages")
    if record is None:
        return
    from tooling.packagers.run import make_packages
    from tooling.packagers.run import prepare as prepare_packages

    triples = [t.triple for t in plan.counted(include_ci=True)]
    epoch = release_epoch(context.config.crate_dir)
    allow_partial = context.options.allow_partial
    if context.dry_run:
        # Checking and rendering change nothing: a dry run shows every channel's problem or files, for the
        # archives dist/ holds (those the run would make are not there yet to package).
        prepared = prepare_packages(context.config, record, plan.packages, triples, epoch=epoch, allow_partial=True)
        for item in prepared:
            built = f", then built with {', '.join(item.channel.tools)}" if item.channel.build else ""
            ui.say(f"would write dist/packages/{item.channel.name}/: {', '.join(sorted(item.files))}{built} (dry run)")
        return
    make_packages(
        context.config, record, plan.packages, triples, context.runner, epoch=epoch, allow_partial=allow_partial
    )


# --- package ----------------------------------------------------------------------------


def recorded_plan(dist_dir: Path) -> ReleasePlan:
    """dist/plan.json, which the chain wrote; a folder without one cannot be checked for completeness."""
    plan = read_plan(dist_dir)
    if plan is None:
        raise PlanError(
            f"{dist_dir} has no plan.json: nothing says which files a complete release holds",
            hint="make the folder with `invoke package` (it writes the plan first)",
        )
    for target in plan.targets:
        fence.check_triple(target.triple, str(plan_path(dist_dir)))
    return plan


def missing_by_target(plan: ReleasePlan, missing: Sequence[str]) -> list[str]:
    """Missing files, a whole target's files said as one line (`target x: not built or imported`)."""
    left = list(missing)
    lines = []
    for target in plan.targets:
        own = [name for name in left if target.triple in name]
        if own and target.archive in own:
            lines.append(f"target {target.triple} ({target.where}): not built or imported ({len(own)} files)")
            left = [name for name in left if name not in own]
    return lines + left


def check_against_plan(dist_dir: Path, plan: ReleasePlan, *, allow_partial: bool, signed: bool = True) -> None:
    """PlanError naming every file the plan wants that dist/ lacks, and every file it holds that the plan does not.

    allow_partial: missing targets and package channels are accepted (a local trial); extra files never are.
    signed: False before the sign step, which then has yet to make the signatures (and may replace
    those of another signer).
    """
    present = files_in(dist_dir) - {fence.MARKER_NAME}
    packages = package_diff(plan, present)
    present = {path for path in present if not path.startswith(PACKAGES_PREFIX)}
    wanted = expected_files(plan, include_ci=True)
    expected = {path for step, paths in wanted.items() if signed or step != STEP_SIGN for path in paths}
    missing = () if allow_partial else compare_dist(expected, present).missing + packages.missing
    possible = possible_paths(plan if signed else dataclasses.replace(plan, sign_backends=sign.BACKENDS))
    extra = compare_dist(possible, present).extra + packages.extra
    if not missing and not extra:
        return
    lines = [f"  missing: {line}" for line in missing_by_target(plan, missing)] + [f"  extra: {name}" for name in extra]
    raise PlanError(
        f"{dist_dir} does not match its release plan ({len(missing)} missing, {len(extra)} extra):\n"
        + "\n".join(lines),
        hint="build or import (--prebuilt) the missing targets, remove extra files (invoke clean), "
        "or pass --allow-partial for a local trial",
    )


def step_package(context: ChainRun) -> None:
    """Check the finished dist/ against its manifest, checksums and signatures; print the summary."""
    if context.dry_run:
        ui.say(f"would check {context.dist} against its plan, manifest, checksums and signatures (dry run)")
        return
    check_against_plan(context.dist, context.plan(), allow_partial=context.options.allow_partial)
    record = dist.load(context.dist)
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

STEPS: dict[str, tuple[tuple[str, ...], Callable[[ChainRun], None]]] = {
    "build": ((), step_build),
    "archive": (("build",), step_archive),
    "sbom": ((), step_sbom),
    "installers": (("archive",), step_installers),
    "checksum": (("archive", "sbom", "installers"), step_checksum),
    "packages": (("checksum",), step_packages),
    "sign": (("packages",), step_sign),
    "package": (("sign",), step_package),
}


def run_step(
    name: str, context: ChainRun, steps: Mapping[str, tuple[tuple[str, ...], Callable[[ChainRun], None]]] = STEPS
) -> None:
    """Run `name` after its prerequisites; a step already done in this context is not repeated.

    The whole run holds dist/'s lock, in a folder the tool made (dist.guarded).
    """
    if name not in steps:
        raise ConfigError(f"unknown step {name!r}", hint="steps: " + ", ".join(steps))
    if name in context.done:
        return
    with dist.guarded(context.dist, context.runner):
        _run_with_prerequisites(name, context, steps)


def _run_with_prerequisites(
    name: str, context: ChainRun, steps: Mapping[str, tuple[tuple[str, ...], Callable[[ChainRun], None]]]
) -> None:
    if name in context.done:
        return
    prerequisites, action = steps[name]
    for prerequisite in prerequisites:
        _run_with_prerequisites(prerequisite, context, steps)
    action(context)
    context.done.append(name)


# One context per process: invoke runs every task of a command line in one
# process, so `invoke build checksum package` builds once.
_contexts: dict[tuple[Path, Options, proc.Runner], ChainRun] = {}


def shared_context(config: ReleaseConfig, options: Options, runner: proc.Runner) -> ChainRun:
    """The process-wide context for this dist dir, these options and this runner."""
    key = (config.dist_dir, options, runner)
    if key not in _contexts:
        # Steps done for other options of the same dist still count as done.
        done = next((c.done for (path, _, _), c in _contexts.items() if path == config.dist_dir), [])
        _contexts[key] = ChainRun(config, options, runner, done)
    return _contexts[key]

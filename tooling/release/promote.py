"""`invoke promote <prerelease tag>`: the stable release made from a prerelease's commit and binaries.

What was tested as the prerelease is what ships: the prerelease's release
folder is verified (every hash, and its signatures), its binaries are handed
to the release as prebuilt inputs, hashed again on the way in, and nothing
is rebuilt (unless --rebuild). The stable release is otherwise a release like
any other: the bump commit on top of the prerelease's commit, its own tag,
changelog, archives, packages, notes and publishing. The gates that judged
the prerelease's code (its tests, `cargo package`, the regression gate) are
carried over from the prerelease's recorded state, not run again.

The binaries keep reporting the prerelease's version (`--version`); their
smoke runs expect that version. With --rebuild the commit is built again and
the binaries carry the stable version instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import semver

from tooling import manifest, proc, ui
from tooling.artifacts import fence, sign, verify
from tooling.config import ReleaseConfig
from tooling.errors import GateError, GitStateError, ManifestError, VersionError
from tooling.release.state import DONE, load_state
from tooling.versioning.project import Project
from tooling.versioning.versions import parse_version

# The prerelease's verdicts a promotion takes over: they judged this very commit and these very binaries.
CARRIED_GATES = ("cargo-test", "cargo-package", "regression")


@dataclass(frozen=True)
class Promotion:
    """A checked prerelease: its version, tag, commit, the stable version, and what it hands on."""

    prerelease: semver.Version
    tag: str
    commit: str
    stable: semver.Version
    prebuilt: Path  # per-target folders of its binaries, ready for --prebuilt
    carried: Mapping[str, str]  # gate -> the detail recorded for the prerelease


def stable_of(version: semver.Version) -> semver.Version:
    """1.3.0-beta.2 → 1.3.0 (pure); VersionError for a stable version."""
    if version.prerelease is None:
        raise VersionError(
            f"{version} is a stable release already: only a prerelease can be promoted",
            hint="name a prerelease tag, e.g. v1.3.0-beta.2 (`git tag -l '*-*'` lists them)",
        )
    return semver.Version(version.major, version.minor, version.patch)


def parse_prerelease_tag(tag: str, prefix: str) -> semver.Version:
    if not tag.startswith(prefix):
        raise VersionError(f"{tag!r} is not a release tag ({prefix}<semver>)", hint=f"e.g. {prefix}1.3.0-beta.2")
    return parse_version(tag[len(prefix) :])


def check_commit(tag: str, tag_commit: str | None, head: str | None) -> str:
    """The prerelease's commit, which HEAD must be (pure)."""
    if tag_commit is None:
        raise GitStateError(f"there is no tag {tag} in this repository", hint="fetch the tags: git fetch --tags")
    if tag_commit != head:
        raise GitStateError(
            f"HEAD is not the commit of {tag} ({tag_commit[:12]}): a promotion ships exactly that commit",
            hint=f"check it out on a branch that may release it, e.g. `git switch -c <release branch> {tag}`, "
            "or make a new prerelease of HEAD",
        )
    return tag_commit


def carried_gates(state_data: Mapping[str, str]) -> dict[str, str]:
    """The carried gates the prerelease passed (not skipped), with the detail they recorded (pure)."""
    return {name: detail for name, detail in state_data.items() if name in CARRIED_GATES}


def prepare_prebuilt(source: Path, record: manifest.Manifest, stable: str, folder: Path) -> Path:
    """Copy each target's binaries and partial manifest from `source` to `folder`, labelled as `stable`."""
    if folder.exists():
        shutil.rmtree(folder)
    triples = sorted({a.target for a in record.artifacts if a.kind == "binary" and a.target})
    if not triples:
        raise ManifestError(f"{source} holds no binaries to promote", hint="promote a folder `invoke release` made")
    for triple in triples:
        # Checked like any partial manifest: missing or damaged is a ManifestError, paths stay inside.
        partial = manifest.read(source / triple / manifest.MANIFEST_NAME)
        destination = folder / triple
        destination.mkdir(parents=True)
        for artifact in partial.artifacts:
            shutil.copy2(fence.inside(source, artifact.path), destination / Path(artifact.path).name)
        partial.version = stable
        manifest.write(destination / manifest.MANIFEST_NAME, partial)
    return folder


def check_prerelease_folder(
    config: ReleaseConfig, source: Path, version: semver.Version, *, unsigned: bool, environ: Mapping[str, str]
) -> manifest.Manifest:
    """The prerelease's folder, verified against its manifest, checksums and (unless unsigned) signatures."""
    record = manifest.read(source / manifest.MANIFEST_NAME)
    if record.version != str(version):
        raise ManifestError(
            f"{source} holds {record.name} {record.version}, not the prerelease {version}",
            hint="pass --from with the release folder of that prerelease",
        )
    settings = None if unsigned else sign.sign_settings(config.sign, environ, config.root, None)
    checked = verify.check_or_raise(source, settings, check_signatures=not unsigned)
    ui.say(f"{source}: {checked} files of {record.name} {record.version} match their manifest")
    return record


def promotion_folder(config: ReleaseConfig, stable: semver.Version) -> Path:
    """Where the prebuilt inputs of a promotion are kept (outside dist/, so --resume finds them again)."""
    from tooling.cache import cache_dir

    return cache_dir() / "promotions" / config.name / str(stable)


def move_aside(dist: Path, version: semver.Version, runner: proc.Runner) -> Path:
    """dist/ holds the prerelease: rename it to <dist>-<version> (nothing deleted) so the release starts empty."""
    aside = dist.with_name(f"{dist.name}-{version}")
    if aside.exists():
        raise GateError(
            f"{dist} holds the prerelease {version}, and {aside} exists already",
            hint=f"pass the prerelease's folder with --from {aside}, and empty {dist} (invoke clean)",
        )
    if not runner.dry_run:
        os.replace(dist, aside)
        ui.say(f"moved the prerelease's folder {dist} to {aside}: the stable release is made in {dist}")
        return aside
    raise GateError(
        f"{dist} holds the prerelease {version}: a dry run would have to move it to {aside}, and changes nothing",
        hint=f"move it yourself (mv {dist} {aside}) and pass --from {aside}; the dry run then uses an empty {dist}",
    )


def prepare_promotion(
    config: ReleaseConfig,
    tag: str,
    *,
    source: Path | None,
    unsigned: bool,
    environ: Mapping[str, str],
    runner: proc.Runner,
) -> Promotion:
    """Check the prerelease (tag, commit, folder, hashes, signatures) and lay out its binaries for the release."""
    project = Project.load(config, proc.Runner())
    version = parse_prerelease_tag(tag, project.versioning.tag_prefix)
    stable = stable_of(version)
    commit = check_commit(tag, project.repo.commit_sha(tag), project.repo.commit_sha("HEAD"))
    folder = (source or config.dist_dir).resolve()
    state = load_state(folder)
    if folder == config.dist_dir.resolve():
        folder = move_aside(folder, version, runner)
    record = check_prerelease_folder(config, folder, version, unsigned=unsigned, environ=environ)
    passed = {step.name: step.detail for step in state.steps if step.status == DONE} if state else {}
    carried = {name: f"passed for {tag}: {detail}" for name, detail in carried_gates(passed).items()}
    prebuilt = prepare_prebuilt(folder, record, str(stable), promotion_folder(config, stable))
    return Promotion(version, tag, commit, stable, prebuilt, carried)


def run_promote(
    config: ReleaseConfig,
    tag: str,
    *,
    source: Path | None,
    rebuild: bool,
    resume: bool,
    dry_run: bool,
    unsigned: bool,
    json_output: bool,
    remote: str,
    environ: Mapping[str, str] = os.environ,
) -> int:
    """`invoke promote`: the stable release of a prerelease's commit, from its verified binaries."""
    from tooling.release.pipeline import ReleaseOptions, run_release

    if resume:
        # The promotion's inputs are kept in the cache: the resumed release finds them where it left them.
        project = Project.load(config, proc.Runner())
        stable = stable_of(parse_prerelease_tag(tag, project.versioning.tag_prefix))
        prebuilt: tuple[Path, ...] = () if rebuild else (promotion_folder(config, stable),)
        options = ReleaseOptions(resume=True, from_artifacts=prebuilt, unsigned=unsigned, json=json_output,
                                 remote=remote)  # fmt: skip
        return run_release(config, options, environ)
    promotion = prepare_promotion(config, tag, source=source, unsigned=unsigned, environ=environ,
                                  runner=proc.Runner(dry_run=dry_run))  # fmt: skip
    options = ReleaseOptions(
        version=str(promotion.stable),
        dry_run=dry_run,
        from_artifacts=() if rebuild else (promotion.prebuilt,),
        unsigned=unsigned,
        json=json_output,
        remote=remote,
        carried={} if rebuild else dict(promotion.carried),
        smoke_version=None if rebuild else str(promotion.prerelease),
    )
    return run_release(config, options, environ)

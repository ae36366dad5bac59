"""The release plan: which targets are built here, which on a CI runner, which not at all, and what dist/ must hold.

`plan_release` is a pure function of the configuration and the described
machine (tooling.build.toolchain.SystemFacts). Its result is written to
dist/plan.json (schema: tooling/resources/schemas/plan.schema.json); the CI
build matrix is printed from it, and the package and verify steps compare a
dist/ folder against `expected_files` with `compare_dist`.

Placement of a target:

- "here": a toolchain route resolves on this machine;
- "ci": it does not, and the target's CI runner is another OS family than this
  host (MSVC on a Linux host: windows-latest builds it, and the release job
  merges that job's dist/<triple>/ folder with --prebuilt);
- "skipped": it does not, and its runner is the same kind of machine as this
  one, so nothing in the plan will build it (the reason says what is missing);
  or a toolchain resolves but the crate's native dependencies for that target
  will fail here (tooling.build.native.blocker: a system library or macOS SDK
  the target's env does not provide). `build --force` builds those anyway.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooling import resources
from tooling.artifacts import archive, checksum, sign
from tooling.artifacts.fence import MARKER_NAME
from tooling.build.native import NativeDependency, blocker
from tooling.build.requirement import ANY_RUSTC, RustRequirement
from tooling.build.toolchain import SystemFacts, resolve
from tooling.config import ReleaseConfig
from tooling.config_schema import CHANNEL_NAMES
from tooling.errors import ConfigError, ManifestError, ToolchainError
from tooling.files import TMP_SUFFIX, write_atomic
from tooling.layout import ANNOUNCE_DIR, LOCK_NAME, PACKAGES_PREFIX, PLAN_NAME, STATE_NAME
from tooling.manifest import MANIFEST_NAME
from tooling.targets import Target, all_targets, get_runner, get_target

SCHEMA_VERSION = 1
SCHEMA_RESOURCE = "schemas/plan.schema.json"

__all__ = ["ANNOUNCE_DIR", "LOCK_NAME", "PACKAGES_PREFIX", "PLAN_NAME", "STATE_NAME"]  # re-exported: import sites

HERE = "here"
CI = "ci"
SKIPPED = "skipped"
PLACES = (HERE, CI, SKIPPED)

# The steps of expected_files, in chain order. "plan" and "manifest" make the
# bookkeeping files; the others are the steps of tooling.artifacts.steps.
STEP_PLAN = "plan"
STEP_BUILD = "build"
STEP_ARCHIVE = "archive"
STEP_SBOM = "sbom"
STEP_INSTALLERS = "installers"
STEP_CHECKSUM = "checksum"
STEP_SIGN = "sign"
STEP_MANIFEST = "manifest"
EXPECTED_STEPS = (
    STEP_PLAN,
    STEP_BUILD,
    STEP_ARCHIVE,
    STEP_SBOM,
    STEP_INSTALLERS,
    STEP_CHECKSUM,
    STEP_SIGN,
    STEP_MANIFEST,
)
# Which install script serves which OS family (tooling.publish.installers renders them).
INSTALLER_OSES = {"install.sh": ("linux", "macos"), "install.ps1": ("windows",)}

# GitHub Actions runner labels start with their OS family (ubuntu-24.04,
# windows-2022, macos-14, ubuntu-24.04-arm ...).
RUNNER_OS = {"ubuntu": "linux", "windows": "windows", "macos": "macos"}

HOST_OSES = ("linux", "macos", "windows")
DESCRIBE_COLUMNS = ("target", "where", "how / why", "files")

# One path segment as the tool names files: no separators, no leading dot
# (so never "." or ".."). The schema holds the same pattern.
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]*$")


@dataclass(frozen=True)
class TargetPlan:
    """One target of the release: where it is built and the files it ships."""

    triple: str
    where: str  # here | ci | skipped
    runner: str  # the target row's CI runner label
    route: str  # Toolchain.how when built here, else ""
    reason: str  # why it is not built here, "" when it is
    binaries: tuple[str, ...]  # dist-relative: "<triple>/<binary><exe suffix>"
    archive: str  # file name in dist/

    def __post_init__(self) -> None:
        # A plan read back from disk goes through here too: keep the two
        # kinds of placement impossible to mix up.
        if self.where not in PLACES:
            raise ValueError(f"{self.triple}: where must be one of {', '.join(PLACES)}, not {self.where!r}")
        if self.where == HERE and (not self.route or self.reason):
            raise ValueError(f"{self.triple}: a target built here has a route and no reason")
        if self.where != HERE and (self.route or not self.reason):
            raise ValueError(f"{self.triple}: a target not built here has a reason and no route")


@dataclass(frozen=True)
class Host:
    """The machine the plan was made on, in the target table's words."""

    os: str
    arch: str


@dataclass(frozen=True)
class ReleasePlan:
    """What one release is made of and where each part is built."""

    schema: int
    name: str
    version: str
    host: Host
    targets: tuple[TargetPlan, ...]  # target table order
    sign_backends: tuple[str, ...]  # empty: unsigned
    sbom: str  # file name in dist/
    packages: tuple[str, ...] = ()  # package channels made under dist/packages/<channel>/ (registry order)
    installers: tuple[str, ...] = ()  # install scripts among the release files (install.sh, install.ps1)

    def placed(self, *where: str) -> tuple[TargetPlan, ...]:
        """The targets whose placement is one of `where`, in table order."""
        return tuple(t for t in self.targets if t.where in where)

    def counted(self, *, include_ci: bool) -> tuple[TargetPlan, ...]:
        """The targets whose files dist/ must hold: built here, plus CI-built ones when they are merged in."""
        return self.placed(HERE, CI) if include_ci else self.placed(HERE)


@dataclass(frozen=True)
class DistDiff:
    """How a dist/ folder differs from the plan (dist-relative paths, sorted)."""

    missing: tuple[str, ...]
    extra: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not self.missing and not self.extra


# --- deciding ----------------------------------------------------------------


def runner_os(runner: str) -> str | None:
    """The OS family of a CI runner label, or None for a label we do not know (self-hosted ...)."""
    family = runner.split("-", 1)[0].lower()
    return RUNNER_OS.get(family)


def place_target(target: Target, facts: SystemFacts, requirement: RustRequirement = ANY_RUSTC) -> tuple[str, str, str]:
    """(where, route, reason) for `target` on the described machine, with a rustc the crate accepts (pure)."""
    try:
        toolchain = resolve(target, facts, requirement)
    except ToolchainError as error:
        # An unknown label counts as another machine: a platform whose runner we
        # cannot classify must not silently drop out of the release.
        if runner_os(target.runner) != facts.host_os:
            return CI, "", error.message
        return SKIPPED, "", error.message
    return HERE, toolchain.how, ""


def _ordered(targets: Sequence[Target]) -> tuple[Target, ...]:
    """`targets` without duplicates, in target table order (so plans of one selection are equal)."""
    rank = {t.triple: i for i, t in enumerate(all_targets())}
    unique = {t.triple: t for t in reversed(targets)}  # the first mention of a triple wins
    return tuple(sorted(unique.values(), key=lambda t: rank.get(t.triple, len(rank))))


def plan_release(
    config: ReleaseConfig,
    facts: SystemFacts,
    *,
    targets: Sequence[Target] | None = None,
    sign_backends: Sequence[str] = (),
    unix_format: str | None = None,
    native: Mapping[str, Sequence[NativeDependency]] | None = None,
) -> ReleasePlan:
    """The release plan for `targets` (default: the configured ones) on the described machine (pure).

    sign_backends: the signers that will sign (sign_settings(...).backends; empty when unsigned).
    unix_format: an archive format replacing tool.release.archive.unix (Windows targets keep theirs).
    native: each target's native dependencies (tooling.build.native.per_target); targets they will fail for are
    skipped with the reason. None: not looked at (build --force, or a plan that only counts files).
    """
    # sbom.py loads cyclonedx (about a second); only its file name is needed here.
    from tooling.artifacts.sbom import sbom_file_name

    if targets is None:
        if not config.targets:
            raise ConfigError(
                "tool.release.targets selects no target: nothing to release",
                hint='list at least one triple or pattern, e.g. targets = ["*"]',
            )
        chosen = _ordered(config.targets)
    else:
        if not targets:
            raise ConfigError(
                "the target selection is empty: nothing to plan",
                hint="name a target (triple or pattern); configured: "
                + (", ".join(t.triple for t in config.targets) or "(none)"),
            )
        chosen = _ordered(targets)
    if unix_format is not None:
        archive.check_format(unix_format)
    backends = sign.check_backends(sign_backends)
    plans = []
    for target in chosen:
        where, route, reason = place_target(target, facts, config.rust_requirement)
        blocked = blocker(native.get(target.triple, ()), config.target_settings(target).env) if native else None
        if where == HERE and blocked:
            where, route, reason = SKIPPED, "", blocked
        fmt = unix_format if unix_format and not target.is_windows else config.archive_format(target)
        plans.append(
            TargetPlan(
                triple=target.triple,
                where=where,
                runner=target.runner,
                route=route,
                reason=reason,
                binaries=tuple(f"{target.triple}/{target.executable(b)}" for b in config.binaries),
                archive=archive.archive_file_name(config.name, config.version, target.triple, fmt),
            )
        )
    return ReleasePlan(
        schema=SCHEMA_VERSION,
        name=config.name,
        version=config.version,
        host=Host(facts.host_os, facts.host_arch),
        targets=tuple(plans),
        sign_backends=backends,
        sbom=sbom_file_name(config.name, config.version),
        packages=_planned_channels(config),
        installers=planned_installers(
            [t for t, planned in zip(chosen, plans, strict=True) if planned.where != SKIPPED], config.install_scripts
        ),
    )


def planned_installers(targets: Sequence[Target], wanted: bool) -> tuple[str, ...]:
    """The install scripts a release of `targets` ships: each one whose OS family has a target (pure)."""
    if not wanted:
        return ()
    oses = {t.os for t in targets}
    return tuple(name for name, families in INSTALLER_OSES.items() if oses & set(families))


# --- what dist/ must hold ------------------------------------------------------


def expected_files(plan: ReleasePlan, *, include_ci: bool) -> dict[str, tuple[str, ...]]:
    """{step: the dist-relative files it must leave}, every step of EXPECTED_STEPS present, each tuple sorted.

    Skipped targets contribute nothing. CI-built targets count only with
    include_ci: the release job merges their build folders (--prebuilt), a
    local run on this machine does not have them.
    """
    counted = plan.counted(include_ci=include_ci)
    archives = sorted(t.archive for t in counted)
    assets = [*archives, plan.sbom, *plan.installers]  # what SHA256SUMS lists (tooling.artifacts.steps.RELEASE_KINDS)
    signed = [checksum.SUMS_NAME, *archives]  # what the sign step signs (steps.files_to_sign)
    build = [path for t in counted for path in (*t.binaries, f"{t.triple}/{MANIFEST_NAME}")]
    return {
        STEP_PLAN: (PLAN_NAME,),
        STEP_BUILD: tuple(sorted(build)),
        STEP_ARCHIVE: tuple(archives),
        STEP_SBOM: (plan.sbom,),
        STEP_INSTALLERS: tuple(sorted(plan.installers)),
        STEP_CHECKSUM: tuple(sorted([checksum.SUMS_NAME, *(checksum.sidecar_name(a) for a in assets)])),
        STEP_SIGN: tuple(sorted(name + sign.SUFFIXES[b] for name in signed for b in plan.sign_backends)),
        STEP_MANIFEST: (MANIFEST_NAME,),
    }


def expected_paths(plan: ReleasePlan, *, include_ci: bool) -> frozenset[str]:
    """Every file of expected_files, whatever step makes it."""
    return frozenset(path for paths in expected_files(plan, include_ci=include_ci).values() for path in paths)


def possible_paths(plan: ReleasePlan) -> frozenset[str]:
    """Every file a release of all the plan's targets may hold, skipped ones included.

    A skipped target is not required, but its files (from an earlier build or
    a --prebuilt folder) belong to the release rather than being strays.
    """
    every = tuple(dataclasses.replace(t, where=CI) if t.where == SKIPPED else t for t in plan.targets)
    return expected_paths(dataclasses.replace(plan, targets=every), include_ci=True)


def package_diff(plan: ReleasePlan, present: Iterable[str]) -> DistDiff:
    """Planned channels without a file in dist/packages/<channel>/, and files of channels not planned (pure).

    The files of a channel depend on the channel (one formula, one .deb per
    architecture ...), so the plan names the channels, not their files; the
    manifest records each file and verify checks it.
    """
    held: dict[str, list[str]] = {}
    for path in present:
        if path.startswith(PACKAGES_PREFIX):
            channel = path[len(PACKAGES_PREFIX) :].split("/", 1)[0]
            held.setdefault(channel, []).append(path)
    missing = tuple(f"{PACKAGES_PREFIX}{name}/" for name in plan.packages if name not in held)
    extra = tuple(sorted(path for name, paths in held.items() if name not in plan.packages for path in paths))
    return DistDiff(missing=missing, extra=extra)


def compare_dist(expected: Iterable[str], present: Iterable[str]) -> DistDiff:
    """What is expected but absent, and what is present but not expected (pure)."""
    want, have = set(expected), set(present)
    return DistDiff(missing=tuple(sorted(want - have)), extra=tuple(sorted(have - want)))


def _ignored(name: str) -> bool:
    # Half-written files of files.atomic_output, the lock, the fence's marker and the release state are the tool
    # at work, not output.
    return name.endswith(TMP_SUFFIX) or name in (LOCK_NAME, MARKER_NAME, STATE_NAME)


def files_in(dist: Path) -> set[str]:
    """Dist-relative POSIX paths of the regular files under `dist` (empty when it does not exist).

    Symbolic links are neither followed nor listed: the tool never makes
    them, so one standing where an artifact should be shows up as missing.
    """
    found: set[str] = set()
    if not dist.is_dir():
        return found
    for folder, dirs, names in os.walk(dist):  # os.walk does not descend into linked folders
        if Path(folder) == dist and ANNOUNCE_DIR in dirs:
            dirs.remove(ANNOUNCE_DIR)
        for name in names:
            path = Path(folder, name)
            if _ignored(name) or not stat.S_ISREG(path.lstat().st_mode):
                continue
            found.add(path.relative_to(dist).as_posix())
    return found


# --- the CI matrix and the summary ---------------------------------------------


def ci_matrix(plan: ReleasePlan) -> dict[str, list[dict[str, str]]]:
    """The GitHub Actions build matrix: one job per target that is not skipped, in table order."""
    return {
        "include": [
            {"target": t.triple, "runner": t.runner, "session": f"build-{t.triple}"} for t in plan.placed(HERE, CI)
        ]
    }


def ci_build_matrix(plan: ReleasePlan) -> dict[str, list[dict[str, str]]]:
    """ci_matrix's jobs, each with what it needs on its runner (the matrix of the reusable build workflow).

    setup: the nox session that sets the runner up (the target's std, llvm-tools, `packages`);
    packages: the Debian/Ubuntu packages that session installs on a bare runner (space-separated);
    smoke: how the build session runs the binary there (native, qemu-user, wine, structural).
    """
    from tooling.build.setup import runner_packages
    from tooling.build.smoke import smoke_method

    rows = []
    for row in ci_matrix(plan)["include"]:
        target, runner = get_target(row["target"]), get_runner(row["runner"])
        rows.append(
            {
                **row,
                "setup": f"setup-{target.triple}",
                "packages": " ".join(runner_packages(target, runner)),
                "smoke": smoke_method(target, runner.os, runner.arch),
            }
        )
    return {"include": rows}


def ci_smoke_matrix(plan: ReleasePlan) -> dict[str, list[dict[str, str]]]:
    """The native smoke jobs: every planned target with a smoke-runner, its binary run there after the build.

    session: `smoke-<triple>`, which runs the build job's dist/<triple>/ with the build's own smoke arguments
    and expectations; smoke: how it runs there (native, by the table's choice of runner).
    """
    from tooling.build.smoke import smoke_method

    rows = []
    for planned in plan.placed(HERE, CI):
        target = get_target(planned.triple)
        if not target.smoke_runner:
            continue
        runner = get_runner(target.smoke_runner)
        rows.append(
            {
                "target": target.triple,
                "runner": runner.label,
                "session": f"smoke-{target.triple}",
                "smoke": smoke_method(target, runner.os, runner.arch),
            }
        )
    return {"include": rows}


def describe(plan: ReleasePlan) -> list[list[str]]:
    """Summary rows (DESCRIBE_COLUMNS): target, where, how or why not, and the files it ships."""
    rows = []
    for target in plan.targets:
        if target.where == HERE:
            how = target.route
        elif target.where == CI:
            how = f"on {target.runner}: {target.reason}"
        else:
            how = target.reason
        files = "-" if target.where == SKIPPED else ", ".join([*target.binaries, target.archive])
        rows.append([target.triple, target.where, how, files])
    return rows


# --- dist/plan.json ---------------------------------------------------------------


def plan_schema() -> dict[str, Any]:
    """The JSON schema of dist/plan.json, as shipped in the package."""
    schema: dict[str, Any] = json.loads(resources.read_text(SCHEMA_RESOURCE))
    return schema


def plan_to_dict(plan: ReleasePlan) -> dict[str, Any]:
    """The JSON object of a plan (lists for tuples)."""
    return {
        "schema": plan.schema,
        "name": plan.name,
        "version": plan.version,
        "host": {"os": plan.host.os, "arch": plan.host.arch},
        "sign_backends": list(plan.sign_backends),
        "sbom": plan.sbom,
        "packages": list(plan.packages),
        "installers": list(plan.installers),
        "targets": [
            {
                "triple": t.triple,
                "where": t.where,
                "runner": t.runner,
                "route": t.route,
                "reason": t.reason,
                "binaries": list(t.binaries),
                "archive": t.archive,
            }
            for t in plan.targets
        ],
    }


def plan_to_json(plan: ReleasePlan) -> str:
    """dist/plan.json's text: sorted keys, indented by 2, ending in a newline."""
    return json.dumps(plan_to_dict(plan), indent=2, sort_keys=True) + "\n"


class _Invalid(Exception):
    """One thing wrong with a plan's JSON; plan_from_json names the file."""


def _object(value: Any, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid(f"{where} must be an object")
    missing = [k for k in keys if k not in value]
    unknown = sorted(k for k in value if k not in keys)
    if missing:
        raise _Invalid(f"{where} lacks {', '.join(missing)}")
    if unknown:
        raise _Invalid(f"{where} has unknown key(s) {', '.join(unknown)}")
    return value


def _string(data: Mapping[str, Any], key: str, where: str, *, plain: bool = False) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise _Invalid(f"{where}.{key} must be a string")
    if plain and not _PLAIN_NAME.match(value):
        raise _Invalid(f"{where}.{key} = {value!r} is not a plain file name")
    return value


def _strings(data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data[key]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _Invalid(f"{where}.{key} must be a list of strings")
    if len(set(value)) != len(value):
        raise _Invalid(f"{where}.{key} lists an entry twice")
    return tuple(value)


_PLAN_KEYS = ("schema", "name", "version", "host", "sign_backends", "sbom", "packages", "installers", "targets")
_TARGET_KEYS = ("triple", "where", "runner", "route", "reason", "binaries", "archive")


def _target_from_dict(value: Any, where: str) -> TargetPlan:
    data = _object(value, where, _TARGET_KEYS)
    triple = _string(data, "triple", where, plain=True)
    binaries = _strings(data, "binaries", where)
    if not binaries:
        raise _Invalid(f"{where}.binaries is empty")
    for path in binaries:
        # Paths read from dist/ must stay inside it, in the target's own folder.
        folder, _, file = path.partition("/")
        if folder != triple or not _PLAIN_NAME.match(file):
            raise _Invalid(f"{where}.binaries: {path!r} is not {triple}/<file name>")
    if not _string(data, "runner", where):
        raise _Invalid(f"{where}.runner is empty")
    try:
        return TargetPlan(
            triple=triple,
            where=_string(data, "where", where),
            runner=_string(data, "runner", where),
            route=_string(data, "route", where),
            reason=_string(data, "reason", where),
            binaries=binaries,
            archive=_string(data, "archive", where, plain=True),
        )
    except ValueError as error:
        raise _Invalid(str(error)) from error


def _plan_from_dict(value: Any) -> ReleasePlan:
    data = _object(value, "the plan", _PLAN_KEYS)
    # bool is an int in Python, but `true` is no schema version.
    if isinstance(data["schema"], bool) or data["schema"] != SCHEMA_VERSION:
        raise _Invalid(f"schema {data['schema']!r} is not {SCHEMA_VERSION}, the version this tool reads")
    host = _object(data["host"], "host", ("os", "arch"))
    if host["os"] not in HOST_OSES:
        raise _Invalid(f"host.os must be one of {', '.join(HOST_OSES)}, not {host['os']!r}")
    if not isinstance(host["arch"], str) or not host["arch"]:
        raise _Invalid("host.arch must be a non-empty string")
    backends = _strings(data, "sign_backends", "the plan")
    unknown = [b for b in backends if b not in sign.BACKENDS]
    if unknown:
        raise _Invalid(f"sign_backends: unknown signer(s) {', '.join(unknown)}")
    packages = _strings(data, "packages", "the plan")
    strangers = [name for name in packages if name not in CHANNEL_NAMES]
    if strangers:
        raise _Invalid(f"packages: unknown channel(s) {', '.join(strangers)}")
    installers = _strings(data, "installers", "the plan")
    if any(name not in INSTALLER_OSES for name in installers):
        raise _Invalid("installers: only " + ", ".join(INSTALLER_OSES) + " are install scripts")
    if not isinstance(data["targets"], list) or not data["targets"]:
        raise _Invalid("targets must be a non-empty list")
    targets = tuple(_target_from_dict(t, f"targets[{i}]") for i, t in enumerate(data["targets"]))
    if len({t.triple for t in targets}) != len(targets):
        raise _Invalid("targets lists a triple twice")
    return ReleasePlan(
        schema=SCHEMA_VERSION,
        name=_string(data, "name", "the plan", plain=True),
        version=_string(data, "version", "the plan", plain=True),
        host=Host(host["os"], host["arch"]),
        targets=targets,
        sign_backends=backends,
        sbom=_string(data, "sbom", "the plan", plain=True),
        packages=packages,
        installers=installers,
    )


def plan_from_json(text: str, source: str) -> ReleasePlan:
    """The plan in `text` (read from `source`), or a ManifestError naming the file and what is wrong.

    Checks what the schema checks, without a schema library: the tool reads
    plans on every step and keeps its imports light.
    """
    try:
        return _plan_from_dict(json.loads(text))
    except ValueError as error:  # json.JSONDecodeError
        problem = f"not JSON ({error})"
    except _Invalid as error:
        problem = str(error)
    raise ManifestError(
        f"{source} is not a valid release plan: {problem}",
        hint=f"remove it and plan the release again; {PLAN_NAME} is written by the tool, not by hand",
    )


def plan_path(dist: Path) -> Path:
    return dist / PLAN_NAME


def write_plan(dist: Path, plan: ReleasePlan) -> Path:
    """Write dist/plan.json atomically; its path."""
    path = plan_path(dist)
    write_atomic(path, plan_to_json(plan))
    return path


def read_plan(dist: Path) -> ReleasePlan | None:
    """dist/plan.json, or None when no plan was written there."""
    path = plan_path(dist)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return plan_from_json(text, str(path))


def _planned_channels(config: ReleaseConfig) -> tuple[str, ...]:
    from tooling.packagers.registry import planned_channels

    return planned_channels(config.packages, config.version)

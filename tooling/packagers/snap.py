"""Snaps: a `.snap` per architecture (amd64, arm64) built here, and a snapcraft.yaml for snapcraft users.

A snap is a squashfs image holding `meta/snap.yaml` and the files the apps
run. The one built here holds, besides meta/snap.yaml, the release binaries
in bin/, the bash completion script (snapd's `completer`; snapd has no use
for the other shells') and the license files, all unpacked from the release
archive; `mksquashfs` packs it with the options snapd's own packer uses
(xz, no fragments, owned by root) and SOURCE_DATE_EPOCH pinning every
timestamp, so two builds are byte-identical.

snapcraft.yaml describes the same snap for people who build with snapcraft
(or a build service): one `dump` part whose source is the release archive of
the architecture being built, chosen with snapcraft's `to <arch>` grammar,
with its SHA-256 checked. snapcraft strips the archive's single top folder
when it unpacks it, so `organize` and `prime` name paths inside that folder,
and the result has the same layout as the snap built here.

meta/snap.yaml is data written by `yaml_document`; snapcraft.yaml is a
template a project can override, whose strings are double-quoted scalars.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from tooling.packagers import base
from tooling.packagers.base import Archive, BuildJob, Release, Settings
from tooling.packagers.licenses import spdx_problem

NAME = "snap"
TEMPLATE = "snapcraft.yaml.j2"
PLATFORMS = (base.LINUX_X86_64, base.LINUX_AARCH64)

# snapd's architecture names for the target table's.
SNAP_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}

# Limits of snapd and the Snap Store.
NAME_MAX = 40
VERSION_MAX = 32
SUMMARY_MAX = 78
DESCRIPTION_MAX = 4096
GRADES = ("stable", "devel")
CONFINEMENTS = ("strict", "classic", "devmode")
BASES = ("core22", "core24")

# Interface (plug) names and app names as snapd accepts them.
PLUG_NAME = re.compile(r"[a-z](?:-?[a-z0-9])*")
APP_NAME = re.compile(r"[a-zA-Z0-9](?:-?[a-zA-Z0-9])*")
VERSION_CHARS = re.compile(r"[a-zA-Z0-9.+~-]*")

# Release archive formats snapcraft's `tar` source can unpack (it reads them with Python's tarfile, which has
# no zstd in the Pythons snapcraft ships with).
SNAPCRAFT_FORMATS = {"tar.gz": "tar", "tar.xz": "tar"}

# Modes inside the snap: binaries and folders, other files.
EXECUTABLE_MODE = 0o755
FILE_MODE = 0o644


# --- names and versions (snapd's and the store's rules) -------------------------------------------

_NAME_RULES: tuple[tuple[Callable[[str], bool], str], ...] = (
    (lambda n: 1 <= len(n) <= NAME_MAX, f"must be 1 to {NAME_MAX} characters long"),
    (lambda n: re.fullmatch(r"[a-z0-9-]*", n) is not None, "may hold only lower-case letters, digits and hyphens"),
    (lambda n: re.search(r"[a-z]", n) is not None, "must hold at least one letter"),
    (lambda n: not n.startswith("-") and not n.endswith("-"), "must not start or end with a hyphen"),
    (lambda n: "--" not in n, "must not hold two hyphens in a row"),
)

_VERSION_RULES: tuple[tuple[Callable[[str], bool], str], ...] = (
    (lambda v: 1 <= len(v) <= VERSION_MAX, f"must be 1 to {VERSION_MAX} characters long"),
    (lambda v: VERSION_CHARS.fullmatch(v) is not None, "may hold only letters, digits and . + ~ -"),
    (lambda v: v[:1].isalnum() and v[-1:].isalnum(), "must start and end with a letter or digit"),
)


def name_problems(name: str) -> list[str]:
    """Why `name` is not a snap name (empty when it is one; pure)."""
    return [problem for rule, problem in _NAME_RULES if not rule(name)]


def version_problems(version: str) -> list[str]:
    """Why `version` is not a snap version (empty when it is one; pure)."""
    return [problem for rule, problem in _VERSION_RULES if not rule(version)]


# --- what the snap says ---------------------------------------------------------------------------


def snap_name(release: Release, settings: Settings) -> str:
    """The snap's name: settings' name, or the crate's name in lower case with hyphens for underscores."""
    return str(settings.get("name") or release.name.lower().replace("_", "-"))


def summary(release: Release, settings: Settings) -> str:
    """The one-line summary: settings' summary, or the description on one line."""
    return " ".join(str(settings.get("summary") or release.description).split())


def grade(release: Release, settings: Settings) -> str:
    """devel for a prerelease (the store then allows only the edge and beta channels), stable otherwise."""
    return "devel" if release.prerelease and settings.get("prerelease") == "mark" else "stable"


def snap_arch(archive: Archive) -> str:
    return SNAP_ARCH[archive.arch]


def snap_file_name(release: Release, settings: Settings, archive: Archive) -> str:
    """<name>_<version>_<arch>.snap, as snapcraft names it."""
    return f"{snap_name(release, settings)}_{release.version}_{snap_arch(archive)}.snap"


def completer(release: Release, binary: str) -> str | None:
    """The bash completion script's path inside the snap (the archive's), when the release has one."""
    return release.completions(binary).get("bash")


def layout(release: Release) -> dict[str, tuple[str, int]]:
    """{path inside the snap: (path inside the archive's top folder, mode)} of every payload file (pure)."""
    first = release.archives[0]
    files: dict[str, tuple[str, int]] = {}
    for binary in release.binaries:
        files[f"bin/{binary}"] = (first.executable(binary), EXECUTABLE_MODE)
        script = completer(release, binary)
        if script:
            files[script] = (script, FILE_MODE)
    for license_file in release.license_files():
        files[license_file] = (license_file, FILE_MODE)
    return dict(sorted(files.items()))


def apps(release: Release, settings: Settings) -> dict[str, dict[str, Any]]:
    """The `apps` table: one app per binary, running bin/<binary> with the configured plugs."""
    table: dict[str, dict[str, Any]] = {}
    for binary in release.binaries:
        app: dict[str, Any] = {"command": f"bin/{binary}"}
        if settings.get("plugs"):
            app["plugs"] = [str(plug) for plug in settings["plugs"]]
        script = completer(release, binary)
        if script:
            app["completer"] = script
        table[binary] = app
    return table


def snap_yaml(release: Release, settings: Settings, archive: Archive) -> dict[str, Any]:
    """meta/snap.yaml of the snap serving `archive`, as data (pure)."""
    data: dict[str, Any] = {
        "name": snap_name(release, settings),
        "version": release.version,
        "summary": summary(release, settings),
        "description": release.description,
    }
    if release.license:
        data["license"] = release.license
    data.update(
        {
            "base": str(settings["base"]),
            "confinement": str(settings["confinement"]),
            "grade": grade(release, settings),
            "architectures": [snap_arch(archive)],
            "apps": apps(release, settings),
        }
    )
    return data


def snap_yaml_problems(data: Mapping[str, Any]) -> list[str]:
    """What is wrong with a meta/snap.yaml (as loaded data) by snapd's and the store's rules (pure)."""
    problems = [f"name: {p}" for p in name_problems(str(data.get("name", "")))]
    problems += [f"version: {p}" for p in version_problems(str(data.get("version", "")))]
    text = data.get("summary")
    if not isinstance(text, str) or not text or len(text) > SUMMARY_MAX or "\n" in text:
        problems.append(f"summary: must be one line of 1 to {SUMMARY_MAX} characters")
    if not isinstance(data.get("description"), str) or len(data["description"]) > DESCRIPTION_MAX:
        problems.append(f"description: must be text of at most {DESCRIPTION_MAX} characters")
    for key, allowed in (("grade", GRADES), ("confinement", CONFINEMENTS), ("base", BASES)):
        if data.get(key) not in allowed:
            problems.append(f"{key}: must be one of {', '.join(allowed)}")
    if "license" in data and spdx_problem(str(data["license"])):
        problems.append("license: must be an SPDX expression")
    arches = data.get("architectures")
    if not isinstance(arches, list) or not arches or not set(arches) <= set(SNAP_ARCH.values()):
        problems.append("architectures: must list snap architectures (" + ", ".join(SNAP_ARCH.values()) + ")")
    table = data.get("apps")
    if not isinstance(table, dict) or not table:
        return [*problems, "apps: must name at least one app"]
    for app, fields in table.items():
        problems += [f"apps.{app}: {p}" for p in _app_problems(str(app), fields)]
    return problems


def _app_problems(app: str, fields: Any) -> list[str]:
    if not isinstance(fields, dict):
        return ["must be a table"]
    problems = [] if APP_NAME.fullmatch(app) else ["is not an app name (letters, digits, single hyphens inside)"]
    for key in ("command", "completer"):
        if key in fields and not _inside_snap(fields[key]):
            problems.append(f"{key}: must be a path inside the snap")
    if "command" not in fields:
        problems.append("command: is missing")
    plugs = fields.get("plugs", [])
    if not isinstance(plugs, list) or not all(isinstance(p, str) and PLUG_NAME.fullmatch(p) for p in plugs):
        problems.append("plugs: must list interface names")
    return problems


def _inside_snap(path: Any) -> bool:
    return isinstance(path, str) and bool(path) and not path.startswith("/") and ".." not in path.split("/")


# --- YAML ----------------------------------------------------------------------------------------

# Characters YAML reads as line breaks or drops: written as escapes so a string reads back unchanged.
_YAML_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_YAML_BREAKS = {"\x85", "\u2028", "\u2029", "\ufeff"}


def yaml_string(value: Any) -> str:
    """A double-quoted YAML scalar that reads back as str(value) (pure)."""
    out = []
    for char in str(value):
        if char in _YAML_ESCAPES:
            out.append(_YAML_ESCAPES[char])
        elif char in _YAML_BREAKS or not char.isprintable():
            code = ord(char)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def yaml_document(data: Mapping[str, Any]) -> str:
    """Block-style YAML of `data`, in its own key order (pure)."""
    text: str = yaml.safe_dump(dict(data), sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)
    return text


# --- check and render ----------------------------------------------------------------------------


def check(release: Release, settings: Settings) -> None:
    """Raise PackageError for anything a snap cannot express."""
    base.require(NAME, release, "description")
    name = snap_name(release, settings)
    problems = name_problems(name)
    if problems:
        raise base.fail(
            NAME,
            "name",
            f"{name!r} is not a snap name: {'; '.join(problems)}",
            hint="set name in [tool.release.packages.snap]",
        )
    problems = version_problems(release.version)
    if problems:
        raise base.fail(NAME, "version", f"{release.version!r} is not a snap version: {'; '.join(problems)}")
    text = summary(release, settings)
    if len(text) > SUMMARY_MAX:
        raise base.fail(
            NAME,
            "summary",
            f"is {len(text)} characters long, and a snap's summary may have at most {SUMMARY_MAX}",
            hint="set summary in [tool.release.packages.snap] (it defaults to the description)",
        )
    if len(release.description) > DESCRIPTION_MAX:
        raise base.fail(NAME, "description", f"is longer than a snap's {DESCRIPTION_MAX} characters")
    problem = spdx_problem(release.license) if release.license else None
    if problem:
        raise base.fail(NAME, "license", f"{release.license!r} is not an SPDX expression: {problem}")
    for binary in release.binaries:
        if not APP_NAME.fullmatch(binary):
            raise base.fail(NAME, "binaries", f"{binary!r} cannot be a snap app name (letters, digits, hyphens)")
    for plug in settings.get("plugs", ()):
        if not PLUG_NAME.fullmatch(str(plug)):
            raise base.fail(NAME, "plugs", f"{plug!r} is not an interface name")
    for archive in release.archives:
        if archive.format not in SNAPCRAFT_FORMATS:
            raise base.fail(
                NAME,
                "archives",
                f"{archive.file}: snapcraft cannot unpack {archive.format} archives",
                hint="set tool.release.archive.unix to tar.gz or tar.xz",
            )
        # snap.yaml's own rules, checked with the others: nothing is written when one fails.
        problems = snap_yaml_problems(snap_yaml(release, settings, archive))
        if problems:
            raise base.fail(NAME, "snap.yaml", "; ".join(problems))


def _part(release: Release) -> dict[str, Any]:
    """What the template needs for the `dump` part: per-arch sources and checksums, organize and prime."""
    files = layout(release)
    return {
        "sources": [(snap_arch(a), a.url, a.sha256) for a in release.archives],
        "source_type": SNAPCRAFT_FORMATS.get(release.archives[0].format, "tar"),
        "organize": {inside: source for inside, (source, _mode) in files.items() if inside != source},
        "prime": list(files),
    }


def render(release: Release, settings: Settings) -> dict[str, bytes]:
    """snapcraft.yaml (the .snap files come from `build`)."""
    arches = [snap_arch(a) for a in release.archives]
    text = base.render_template(
        release,
        NAME,
        TEMPLATE,
        q=yaml_string,
        name=snap_name(release, settings),
        summary=summary(release, settings),
        grade=grade(release, settings),
        base=str(settings["base"]),
        confinement=str(settings["confinement"]),
        arches=arches,
        build_on=sorted(SNAP_ARCH.values()),
        apps=apps(release, settings),
        part=_part(release),
    )
    return {"snapcraft.yaml": text}


# --- build ---------------------------------------------------------------------------------------


def mksquashfs_command(tree: Path, output: Path) -> list[str]:
    """The mksquashfs call packing `tree` as a snap (snapd's options; times come from SOURCE_DATE_EPOCH)."""
    # -mkfs-time/-all-time would do the same, but mksquashfs refuses them when SOURCE_DATE_EPOCH is also
    # set, and a release run sets it; so the epoch goes in through the environment instead.
    return [
        "mksquashfs",
        str(tree),
        str(output),
        "-noappend",
        "-comp",
        "xz",
        "-no-fragments",
        "-all-root",
        "-no-xattrs",
        "-no-progress",
        "-quiet",
    ]


def _fill_tree(tree: Path, unpacked: Path, files: Mapping[str, tuple[str, int]], meta: str) -> None:
    for inside, (source, mode) in files.items():
        target = tree / inside
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(unpacked / source, target)
        target.chmod(mode)
    (tree / "meta").mkdir(parents=True, exist_ok=True)
    (tree / "meta" / "snap.yaml").write_text(meta, encoding="utf-8")
    (tree / "meta" / "snap.yaml").chmod(FILE_MODE)
    for folder in [tree, *(p for p in tree.rglob("*") if p.is_dir())]:
        folder.chmod(EXECUTABLE_MODE)


def build(job: BuildJob) -> None:
    """Pack one .snap per archive into the channel folder, reproducibly."""
    release, settings = job.release, job.settings
    for archive in release.archives:
        data = snap_yaml(release, settings, archive)
        work = job.scratch / snap_arch(archive)
        unpacked = job.unpack(archive, work / "unpacked")
        tree = work / "tree"
        _fill_tree(tree, unpacked, layout(release), yaml_document(data))
        output = job.folder / snap_file_name(release, settings, archive)
        job.runner.run(mksquashfs_command(tree, output), env={"SOURCE_DATE_EPOCH": str(release.epoch)}, capture=True)


def tree_paths(release: Release) -> Sequence[str]:
    """Every path a snap of `release` holds, folders included, sorted (what `unsquashfs -l` lists; pure)."""
    paths = {"meta", "meta/snap.yaml"}
    for inside in layout(release):
        parts = inside.split("/")
        paths.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return sorted(paths)


CHANNEL = base.Channel(
    name=NAME,
    summary="snaps (amd64, arm64) and a snapcraft.yaml",
    platforms=PLATFORMS,
    render=render,
    check=check,
    build=build,
    tools=("mksquashfs",),
)

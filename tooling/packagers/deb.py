"""Debian packages (.deb) for amd64 and arm64, made with dpkg-deb from the release's Linux archives.

What render writes. One folder per architecture, named like the .deb it becomes, holding the text part of
that package's tree (paths as installed):

    crcsum_1.2.0_amd64/DEBIAN/control                     without Installed-Size (build adds it)
    crcsum_1.2.0_amd64/usr/share/doc/crcsum/copyright     machine-readable; see "Licenses" below
    crcsum_1.2.0_amd64/usr/share/doc/crcsum/changelog     one Debian changelog entry (installed gzipped)
    crcsum_1.2.0_amd64/usr/share/lintian/overrides/crcsum the lintian tags the package has on purpose
    crcsum_1.2.0_arm64/...

What build does. Each tree is copied under job.scratch and completed from the unpacked archive: the
binaries in /usr/bin (0755), the man page in /usr/share/man/man1 and the bash, zsh and fish completions when
the archives carry them, the changelog gzipped (-9n: no name, no time), the license text filled in,
DEBIAN/md5sums, Installed-Size. Every mode is normalised (0755 folders and binaries, 0644 files) and every
mtime set to the release's epoch, then `dpkg-deb --root-owner-group -Zxz --build` makes
`<package>_<version>_<arch>.deb` in job.folder with SOURCE_DATE_EPOCH set, so two builds are
byte-identical. The rendered trees are then removed: dist/packages/deb holds only the .deb files, and every
rendered file can be read in its .deb (`dpkg-deb --info`, `dpkg-deb --fsys-tarfile`).

Which build. settings["linux-libc"] picks the musl (default: static, no Depends) or the gnu build (its
Depends must name libc6: check() refuses an empty `depends` for gnu, as lintian's
missing-dependency-on-libc would).

Versions. Semver to Debian: the prerelease part follows a `~`, which sorts before the release
(1.2.0-beta.1 -> 1.2.0~beta.1 < 1.2.0); build metadata is dropped (semver gives it no order). A hyphen
inside the prerelease (1.2.0-rc-1) cannot be kept: Debian would read what follows the last hyphen as a
Debian revision, so check() refuses it.

Licenses. The copyright file's Files paragraph states the SPDX expression; a stand-alone License paragraph
per license follows. A license Debian ships in /usr/share/common-licenses (Apache-2.0, GPL, ...) points
there, as Debian policy asks (lintian reports a full copy of those as an error); any other license's
paragraph is rendered empty and build fills it with the text of the archive's license file for it
(LICENSE-MIT for MIT, or the one license file left when a single license needs a text).

Lintian. The packages give no lintian error. Two tags are overridden in the package
(usr/share/lintian/overrides/<package>, each with its reason): unstripped-binary-or-object (the binary is
the release's own, byte for byte, with its symbol table kept for backtraces) and, for musl,
statically-linked-binary (static on purpose). Warnings kept, with their reasons, are listed in
tests/integration/test_package_deb.py (LINTIAN_WARNINGS_KEPT).
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import os
import re
import shutil
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from tooling.errors import PackageError
from tooling.packagers import base
from tooling.packagers.base import Archive, BuildJob, Channel, Release, Settings
from tooling.packagers.licenses import licensing, spdx_problem
from tooling.versioning.versions import parse_version

NAME = "deb"

# Debian's architecture names for the target table's.
DEB_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}

# What each libc's build is, for the package description, and whether it is a static binary.
LIBC_NOTE = {
    "musl": "statically linked, so it needs no shared library",
    "gnu": "linked against the GNU C library",
}
STATIC_LIBC = frozenset({"musl"})

# Where a completion file of the archive goes in the package ({bin}: the binary); PowerShell has no place.
COMPLETION_PATHS = {
    "bash": "usr/share/bash-completion/completions/{bin}",
    "zsh": "usr/share/zsh/vendor-completions/_{bin}",
    "fish": "usr/share/fish/vendor_completions.d/{bin}.fish",
}

# Licenses whose text Debian ships in /usr/share/common-licenses (SPDX id -> file name there).
COMMON_LICENSES = {
    "Apache-2.0": "Apache-2.0",
    "Artistic-1.0-Perl": "Artistic",
    "CC0-1.0": "CC0-1.0",
    "GFDL-1.2-only": "GFDL-1.2",
    "GFDL-1.2-or-later": "GFDL-1.2",
    "GFDL-1.3-only": "GFDL-1.3",
    "GFDL-1.3-or-later": "GFDL-1.3",
    "GPL-1.0-only": "GPL-1",
    "GPL-1.0-or-later": "GPL-1",
    "GPL-2.0-only": "GPL-2",
    "GPL-2.0-or-later": "GPL-2",
    "GPL-3.0-only": "GPL-3",
    "GPL-3.0-or-later": "GPL-3",
    "LGPL-2.0-only": "LGPL-2",
    "LGPL-2.0-or-later": "LGPL-2",
    "LGPL-2.1-only": "LGPL-2.1",
    "LGPL-2.1-or-later": "LGPL-2.1",
    "LGPL-3.0-only": "LGPL-3",
    "LGPL-3.0-or-later": "LGPL-3",
    "MPL-1.1": "MPL-1.1",
    "MPL-2.0": "MPL-2.0",
}

# Debian policy 5.6.1 (package names), 5.6.7 (priorities), 5.6.10 (Maintainer: a name and an address;
# a comma would make it a list) and 7.1 (relationship fields of a binary package).
PACKAGE_NAME = re.compile(r"[a-z0-9][a-z0-9.+-]+")
MAINTAINER = re.compile(r"[^<>,\n]*[^<>,\s] <[^<>\s@]+@[^<>\s@]+>")
PRIORITIES = ("required", "important", "standard", "optional", "extra")
SECTION = re.compile(r"([a-z0-9-]+/)?[a-z0-9-]+")
RELATION = re.compile(r"[a-z0-9][a-z0-9.+-]+(:[a-z0-9-]+)?( ?\((<<|<=|=|>=|>>) ?[0-9][A-Za-z0-9.+~:-]*\))?")

# Debian's recommended widths: a synopsis below 80 characters, extended lines (after their space) within 80.
TEXT_WIDTH = 79
DOC = "usr/share/doc/{package}"


# --- names, versions, fields (pure) ----------------------------------------------------------------


def debian_version(version: str) -> str:
    """The Debian form of a semantic version: 1.2.0-beta.1 -> 1.2.0~beta.1, 1.2.0+build.5 -> 1.2.0."""
    parsed = parse_version(version)
    core = f"{parsed.major}.{parsed.minor}.{parsed.patch}"
    if not parsed.prerelease:
        return core
    if "-" in parsed.prerelease:
        raise base.fail(
            NAME,
            "version",
            f"{version}: Debian reads the part after a hyphen as a Debian revision, so the prerelease "
            f"{parsed.prerelease!r} cannot be kept",
            hint='use dots inside the prerelease part (1.2.0-rc.1), or set prerelease = "skip" for deb',
        )
    return f"{core}~{parsed.prerelease}"


def debian_arch(archive: Archive) -> str:
    """amd64 or arm64: the Debian architecture of an archive."""
    if archive.arch not in DEB_ARCH:
        raise base.fail(NAME, "archives", f"{archive.file}: Debian has no architecture for {archive.arch}")
    return DEB_ARCH[archive.arch]


def package_name(release: Release, settings: Settings) -> str:
    """The Debian package name: settings' package, or the crate's name in lower case with hyphens for underscores."""
    return str(settings.get("package") or release.name.lower().replace("_", "-"))


def package_stem(release: Release, settings: Settings, archive: Archive) -> str:
    """<package>_<version>_<arch>: the .deb's name without .deb, and the name of its rendered tree."""
    return f"{package_name(release, settings)}_{debian_version(release.version)}_{debian_arch(archive)}"


def changelog_date(epoch: int) -> str:
    """The RFC 2822 date of the changelog's trailer line, in UTC."""
    return email.utils.format_datetime(datetime.fromtimestamp(epoch, UTC))


def dep5_license(expression: str) -> str:
    """The SPDX expression as the copyright format writes it (lower-case `and`/`or`)."""
    rendered = str(licensing().parse(expression))
    return re.sub(r"\b(AND|OR)\b", lambda match: match.group(1).lower(), rendered)


def license_keys(expression: str) -> list[str]:
    """The license ids an SPDX expression names, in order."""
    return list(licensing().license_keys(expression))


def commands_phrase(binaries: Sequence[str]) -> str:
    """The commands as the description names them: the command a; the commands a, b and c."""
    if len(binaries) == 1:
        return f"the command {binaries[0]}"
    return "the commands " + ", ".join(binaries[:-1]) + f" and {binaries[-1]}"


def description_fields(release: Release, archive: Archive) -> tuple[str, list[str]]:
    """(synopsis, extended lines) of the Description field, the extended ones without their leading space.

    The synopsis is the description's first line without its full stop; its other lines follow,
    re-wrapped, and a paragraph saying what the package installs ends it (which also keeps the extended
    description from being empty or a copy of the synopsis, both lintian errors).
    """
    lines = [line.strip() for line in release.description.strip().splitlines()]
    synopsis = lines[0].rstrip(".").rstrip()
    paragraphs = [" ".join(block.split()) for block in "\n".join(lines[1:]).split("\n\n") if block.strip()]
    paragraphs.append(
        f"This package installs {commands_phrase(release.binaries)} of {release.name} {release.version}, "
        f"built for {archive.triple} ({LIBC_NOTE.get(archive.libc, archive.libc)})."
    )
    extended: list[str] = []
    for paragraph in paragraphs:
        if extended:
            extended.append(".")
        extended.extend(textwrap.wrap(paragraph, TEXT_WIDTH, break_long_words=False, break_on_hyphens=False))
    return synopsis, extended


def license_paragraphs(expression: str) -> list[dict[str, object]]:
    """The stand-alone License paragraphs: {name, lines}; empty lines where build copies the archive's text."""
    paragraphs: list[dict[str, object]] = []
    for key in license_keys(expression):
        lines: list[str] = []
        if key in COMMON_LICENSES:
            lines = [
                "On Debian systems, the complete text of this license is in",
                f"/usr/share/common-licenses/{COMMON_LICENSES[key]}.",
            ]
        paragraphs.append({"name": key, "lines": lines})
    return paragraphs


def license_sources(expression: str, license_files: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Which license files of the archive give the text of each license Debian does not ship (pure).

    A file naming the license (LICENSE-MIT for MIT, LICENSE-APACHE for Apache-2.0) is that license's;
    when a single license needs a text and no file names it, it gets the files no license names (LICENSE).
    """
    keys = license_keys(expression)

    def names(file: str, key: str) -> bool:
        return key.split("-")[0].upper() in file.upper().replace("LICENSE", "").replace("LICENCE", "")

    named = {key: tuple(f for f in license_files if names(f, key)) for key in keys}
    claimed = {file for files in named.values() for file in files}
    unnamed = tuple(f for f in license_files if f not in claimed)
    needed = [key for key in keys if key not in COMMON_LICENSES]
    sources = {}
    for key in needed:
        sources[key] = named[key] or (unnamed if len(needed) == 1 else ())
        if not sources[key]:
            raise base.fail(
                NAME,
                "license",
                f"the release archive has no license file with the text of {key} "
                f"(license files: {', '.join(license_files) or 'none'})",
                hint=f"ship the license text in the archive (a LICENSE file, or LICENSE-{key.split('-')[0].upper()} "
                "when there are several licenses)",
            )
    return sources


def dep5_text(text: str) -> list[str]:
    """A license text as continuation lines of the copyright format (without their leading space)."""
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    return [line if line.strip() else "." for line in lines]


def fill_license_texts(copyright_text: str, texts: Mapping[str, Sequence[str]]) -> str:
    """The copyright file with each text-less stand-alone `License: <key>` paragraph given texts[key]."""
    paragraphs = copyright_text.rstrip("\n").split("\n\n")
    filled = []
    for paragraph in paragraphs:
        key = paragraph.removeprefix("License:").strip()
        if paragraph.startswith("License:") and "\n" not in paragraph and key in texts:
            paragraph = paragraph + "".join(f"\n {line}" for line in texts[key])
        filled.append(paragraph)
    return "\n\n".join(filled) + "\n"


def installed_size(file_sizes: Iterable[int], other_entries: int) -> int:
    """Installed-Size in KiB, as dpkg-gencontrol counts it: each file rounded up to 1 KiB, 1 KiB per folder."""
    return sum((size + 1023) // 1024 for size in file_sizes) + other_entries


def with_installed_size(control: str, kib: int) -> str:
    """The control text with Installed-Size (after Maintainer, where Debian's tools put it; replaced if there)."""
    lines = [line for line in control.splitlines() if not line.startswith("Installed-Size:")]
    after = next((i for i, line in enumerate(lines) if line.startswith("Maintainer:")), len(lines) - 1)
    lines.insert(after + 1, f"Installed-Size: {kib}")
    return "\n".join(lines) + "\n"


def md5sums(files: Mapping[str, bytes]) -> str:
    """DEBIAN/md5sums: `<md5>  <path>` per installed file (paths without a leading slash), sorted.

    MD5 is what dpkg checks installed files against (dpkg --verify); it guards against corruption only.
    """
    return "".join(
        f"{hashlib.md5(data, usedforsecurity=False).hexdigest()}  {path}\n" for path, data in sorted(files.items())
    )


# --- the channel ---------------------------------------------------------------------------------------


def check(release: Release, settings: Settings) -> None:
    """PackageError naming the field for anything a Debian package cannot express."""
    base.require(NAME, release, "description", "maintainer", "license")
    package = package_name(release, settings)
    if not PACKAGE_NAME.fullmatch(package):
        raise base.fail(
            NAME,
            "package",
            f"{package!r} is not a Debian package name",
            hint="Debian package names are at least two characters of a-z, 0-9, '+', '-' and '.', "
            "starting with a letter or digit; set package in [tool.release.packages.deb]",
        )
    if not MAINTAINER.fullmatch(release.maintainer):
        raise base.fail(
            NAME,
            "maintainer",
            f"{release.maintainer!r} is not of the form 'Name <address>', which Debian requires",
            hint='set maintainer = "Your Name <you@example.org>" in [tool.release.metadata]',
        )
    problem = spdx_problem(release.license)
    if problem:
        raise base.fail(
            NAME,
            "license",
            f"{release.license!r} is not an SPDX license expression ({problem})",
            hint='write it as SPDX ids joined by AND/OR, e.g. "MIT OR Apache-2.0"',
        )
    debian_version(release.version)
    license_sources(release.license, release.license_files())  # the texts build copies are in the archives
    if settings["priority"] not in PRIORITIES:
        raise base.fail(NAME, "priority", f"{settings['priority']!r} is not one of {', '.join(PRIORITIES)}")
    if not SECTION.fullmatch(settings["section"]):
        raise base.fail(NAME, "section", f"{settings['section']!r} is not a Debian section", hint='e.g. "utils"')
    for entry in settings["depends"]:
        if not all(RELATION.fullmatch(part.strip()) for part in entry.split("|")):
            raise base.fail(
                NAME,
                "depends",
                f"{entry!r} is not a Debian relation",
                hint='write "package" or "package (>= version)", alternatives joined by "|"',
            )
    for archive in release.archives:
        if archive.libc not in STATIC_LIBC and not settings["depends"]:
            raise base.fail(
                NAME,
                "depends",
                f"is empty, and the {archive.triple} build is linked against the C library of the system",
                hint='add its library, e.g. depends = ["libc6 (>= 2.17)"] (the oldest glibc the build supports), '
                'or use linux-libc = "musl" (static)',
            )


def render(release: Release, settings: Settings) -> dict[str, bytes]:
    """Per architecture, the package's text files under <package>_<version>_<arch>/ (see the module docstring)."""
    check(release, settings)
    version = debian_version(release.version)
    files: dict[str, bytes] = {}
    for archive in release.archives:
        stem = package_stem(release, settings, archive)
        package = package_name(release, settings)
        doc = DOC.format(package=package)
        synopsis, extended = description_fields(release, archive)
        common = {"package": package, "version": version, "archive": archive}
        files[f"{stem}/DEBIAN/control"] = base.render_template(
            release,
            NAME,
            "control.j2",
            **common,
            arch=debian_arch(archive),
            depends=list(settings["depends"]),
            section=settings["section"],
            priority=settings["priority"],
            synopsis=synopsis,
            extended=extended,
        )
        files[f"{stem}/{doc}/copyright"] = base.render_template(
            release,
            NAME,
            "copyright.j2",
            **common,
            source=release.repository or release.homepage,
            license=dep5_license(release.license),
            licenses=license_paragraphs(release.license),
        )
        files[f"{stem}/{doc}/changelog"] = base.render_template(
            release, NAME, "changelog.j2", **common, date=changelog_date(release.epoch)
        )
        files[f"{stem}/usr/share/lintian/overrides/{package}"] = base.render_template(
            release,
            NAME,
            "lintian-overrides.j2",
            **common,
            binaries=list(release.binaries),
            static=archive.libc in STATIC_LIBC,
        )
    return files


# --- build ----------------------------------------------------------------------------------------------


def _install(tree: Path, path: str, data: bytes) -> None:
    target = tree / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def _gzip(data: bytes) -> bytes:
    """gzip -9n: no file name, no time, so the bytes depend on the content only."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def _executables(release: Release) -> set[str]:
    return {f"usr/bin/{binary}" for binary in release.binaries}


def _complete_tree(release: Release, package: str, archive: Archive, top: Path, tree: Path) -> None:
    """Add the archive's files to the rendered tree: binaries, man pages, completions, changelog, license."""
    for binary in release.binaries:
        source = top / archive.executable(binary)
        if not source.is_file():
            raise base.fail(NAME, "archives", f"{archive.file} has no {archive.executable(binary)}")
        _install(tree, f"usr/bin/{binary}", source.read_bytes())
        man = release.man_page(binary)
        if man:
            _install(tree, f"usr/share/man/man1/{binary}.1.gz", _gzip((top / man).read_bytes()))
        for shell, path in release.completions(binary).items():
            if shell in COMPLETION_PATHS:
                _install(tree, COMPLETION_PATHS[shell].format(bin=binary), (top / path).read_bytes())
    doc = tree / DOC.format(package=package)
    (doc / "changelog.gz").write_bytes(_gzip((doc / "changelog").read_bytes()))
    (doc / "changelog").unlink()
    texts = {
        key: _license_text(top, files)
        for key, files in license_sources(release.license, release.license_files()).items()
    }
    copyright_file = doc / "copyright"
    copyright_file.write_text(fill_license_texts(copyright_file.read_text(encoding="utf-8"), texts), encoding="utf-8")


def _license_text(top: Path, files: Sequence[str]) -> list[str]:
    """The texts of `files` in the archive as copyright-format lines, one after the other."""
    lines: list[str] = []
    for file in files:
        if lines:
            lines.append(".")
        lines.extend(dep5_text((top / file).read_text(encoding="utf-8", errors="replace")))
    return lines


def _finish_control(tree: Path) -> None:
    """DEBIAN/md5sums and Installed-Size, from the installed files (everything outside DEBIAN/)."""
    installed = {
        path.relative_to(tree).as_posix(): path.read_bytes()
        for path in sorted(tree.rglob("*"))
        if path.is_file() and path.relative_to(tree).parts[0] != "DEBIAN"
    }
    folders = [p for p in tree.rglob("*") if p.is_dir() and p.relative_to(tree).parts[0] != "DEBIAN"]
    (tree / "DEBIAN" / "md5sums").write_text(md5sums(installed), encoding="utf-8")
    control = tree / "DEBIAN" / "control"
    kib = installed_size((len(data) for data in installed.values()), len(folders))
    control.write_text(with_installed_size(control.read_text(encoding="utf-8"), kib), encoding="utf-8")


def _normalise(tree: Path, executables: set[str], epoch: int) -> None:
    """Modes 0755 (folders, binaries) and 0644 (the rest); every mtime the release's epoch."""
    for path in sorted(tree.rglob("*"), reverse=True):  # children before their folder, so its mtime stays
        relative = path.relative_to(tree).as_posix()
        path.chmod(0o755 if path.is_dir() or relative in executables else 0o644)
        os.utime(path, (epoch, epoch), follow_symlinks=False)
    tree.chmod(0o755)
    os.utime(tree, (epoch, epoch))


def build(job: BuildJob) -> None:
    """Make <package>_<version>_<arch>.deb per archive in job.folder, and leave nothing else there."""
    release, settings = job.release, job.settings
    rendered: list[Path] = []
    for archive in release.archives:
        stem = package_stem(release, settings, archive)
        source = job.folder / stem
        if not (source / "DEBIAN" / "control").is_file():
            raise PackageError(f"{NAME}: build: the rendered files of {stem} are missing from {job.folder}")
        tree = job.scratch / "deb" / stem
        if tree.exists():
            shutil.rmtree(tree)
        shutil.copytree(source, tree)
        top = job.unpack(archive, job.scratch / "deb-unpacked" / archive.triple)
        _complete_tree(release, package_name(release, settings), archive, top, tree)
        _finish_control(tree)
        _normalise(tree, _executables(release), release.epoch)
        packed = job.runner.run(
            ["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(tree), str(job.folder / f"{stem}.deb")],
            env={"SOURCE_DATE_EPOCH": str(release.epoch)},
            capture=True,
        )
        if not packed.skipped:  # a dry run keeps the rendered tree: it is all there is to look at
            rendered.append(source)
    for source in rendered:
        shutil.rmtree(source)


CHANNEL = Channel(
    name=NAME,
    summary="Debian packages (.deb) for amd64 and arm64, built with dpkg-deb",
    platforms=(base.LINUX_X86_64, base.LINUX_AARCH64),
    render=render,
    check=check,
    build=build,
    tools=("dpkg-deb",),
)

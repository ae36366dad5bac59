"""RPM: one spec over the release's Linux archives, and an .rpm per architecture (x86_64, aarch64) built from it.

Nothing is compiled. The spec's Source0 is the release archive of the
architecture being built (chosen with %ifarch, so one spec serves both):
%prep unpacks it, %install copies the binaries, man pages and shell
completions into the buildroot. `rpmbuild -bb --target <arch>` makes each
.rpm; a user can do the same with the published spec after putting the
archive in the SOURCES folder (`spectool -g -R` downloads it from Source0).
The spec turns off everything that would change the released bytes:
debuginfo, build-id links and the post-install scripts (strip, man page
compression; the man page is gzipped by %install itself, without a name or
time in its header).

Reproducible: SOURCE_DATE_EPOCH is the release's epoch and rpmbuild is told
to use it as the build time, to clamp file times to it, and to name a fixed
build host; HOME points into the scratch folder so no personal ~/.rpmmacros
takes part, and the payload compressor is fixed (gzip, which every rpm reads).
Two builds give byte-identical .rpm files.

The maintainer is required: the %changelog entry names them, and rpmbuild
gets them as Packager (rpmlint calls a missing Packager an error, and one
written into the spec a warning: whoever rebuilds the spec is its packager).

Versions: semver's prerelease separator becomes RPM's `~`, which sorts before
the release it precedes (1.2.0~beta.1 < 1.2.0), and build metadata keeps its
`+`. Anything else RPM cannot hold in Version ('-' inside an identifier) is an
error in check().

rpmlint (2.4) reports no errors on the .rpm files and the spec when given the
rendered settings (`rpmlint -c <name>.rpmlint.toml <name>.spec *.rpm`). They
filter two findings rpmlint would call errors, for stated reasons:
- no-signature: the RPMs are built unsigned (signing them with the
  repository's key is the publishing side's job, with rpmsign).
- statically-linked-binary (musl builds only): the musl binaries are static on
  purpose, so one RPM runs on every distribution without a glibc floor.
Warnings kept, each deliberate:
- unstripped-binary-or-object: the binaries are the release's own bytes (the
  build step decides how far they are stripped); a second strip here would
  make the RPM's binary differ from the archive's.
- position-independent-executable-suggested (musl): the toolchain links a
  static musl binary non-PIE; we ship what the release built.
- invalid-license: Debian's rpmlint has an empty list of valid licenses
  (distributions supply their own); check() validates the SPDX expression.
- manpage-not-compressed bz2: rpmlint's default expects bzip2; gzip is what
  Fedora's and RHEL's own post-install step uses, and every man reads it.
- no-manual-page-for-binary: rpmlint 2.4 records a man page's section ("1")
  instead of its name, so it reports every binary, man page or not.
- no-buildroot-tag (spec): rpm >= 4.6 ignores BuildRoot and sets it itself.
"""

from __future__ import annotations

import re
import shutil
import textwrap
import time
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from tooling.errors import PackageError, VersionError
from tooling.packagers import base
from tooling.packagers.base import Archive, BuildJob, Release, Settings
from tooling.packagers.licenses import licensing
from tooling.versioning.versions import parse_version

NAME = "rpm"
SPEC_TEMPLATE = "spec.j2"
LINT_TEMPLATE = "rpmlint.toml.j2"
PLATFORMS = (base.LINUX_X86_64, base.LINUX_AARCH64)

# The RPM architecture of each target architecture (the names happen to agree; the table says so explicitly).
RPM_ARCH = {"x86_64": "x86_64", "aarch64": "aarch64"}

# Where each shell looks for completions in an RPM-based system (PowerShell has no such place).
COMPLETION_DESTINATIONS = {
    "bash": "%{_datadir}/bash-completion/completions/{bin}",
    "zsh": "%{_datadir}/zsh/site-functions/_{bin}",
    "fish": "%{_datadir}/fish/vendor_completions.d/{bin}.fish",
}
MAN_DESTINATION = "%{_mandir}/man1/{bin}.1"

# Characters RPM allows in Version and Release (rpmbuild rejects '-'; the rest are separators or sort marks).
RPM_VERSION_TEXT = re.compile(r"[A-Za-z0-9._+~^]+")
# Package names rpmbuild accepts, and binary names simple enough to appear unquoted in %files and a shell line.
RPM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
BINARY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")

# rpmlint's limits: summary-too-long and description-line-too-long are errors beyond 79 characters.
LINE_LIMIT = 79

# Changelog dates in RPM's fixed English form ("Tue Nov 14 2023"), independent of the machine's locale.
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# rpmbuild macros that make two builds byte-identical (SOURCE_DATE_EPOCH comes from the environment).
REPRODUCIBLE_MACROS = (
    ("_buildhost", "reproducible"),
    ("use_source_date_epoch_as_buildtime", "1"),
    ("clamp_mtime_to_source_date_epoch", "1"),
    # The epoch is the release's, given exactly; the changelog only knows the day.
    ("source_date_epoch_from_changelog", "0"),
    # A fixed single-threaded compressor: the default may differ between rpm builds and distributions.
    ("_binary_payload", "w9.gzdio"),
)


# --- names and versions ------------------------------------------------------------------------


def rpm_version(version: str) -> str:
    """RPM's Version for a semver: 1.2.0-beta.1 -> 1.2.0~beta.1 (`~` sorts before 1.2.0); PackageError if impossible."""
    try:
        parsed = parse_version(version)
    except VersionError as error:
        raise base.fail(NAME, "version", f"{version!r} is not a semantic version") from error
    text = f"{parsed.major}.{parsed.minor}.{parsed.patch}"
    if parsed.prerelease:
        text += "~" + parsed.prerelease
    if parsed.build:
        text += "+" + parsed.build
    if not RPM_VERSION_TEXT.fullmatch(text):
        raise base.fail(
            NAME,
            "version",
            f"{version} cannot be an RPM Version ({text!r} holds a character RPM does not allow, such as '-')",
            hint="use prerelease identifiers without '-', such as 1.2.0-beta.1",
        )
    return text


def rpm_arch(archive: Archive) -> str:
    return RPM_ARCH[archive.arch]


def spec_name(release: Release) -> str:
    return f"{release.name}.spec"


def lint_config_name(release: Release) -> str:
    # Not <name>.rpmlintrc: rpmlint would load that by itself for `rpmlint <name>.spec` too, and call
    # each filter that the spec alone does not use an error (unused-rpmlintrc-filter).
    return f"{release.name}.rpmlint.toml"


def rpm_file(release: Release, settings: Settings, archive: Archive) -> str:
    """The .rpm rpmbuild makes for `archive`: <name>-<version>-<release>.<arch>.rpm."""
    return f"{release.name}-{rpm_version(release.version)}-{settings['release']}.{rpm_arch(archive)}.rpm"


def output_files(release: Release, settings: Settings) -> tuple[str, ...]:
    """Every file the channel leaves in its folder: the rendered files and one .rpm per archive."""
    rendered = (spec_name(release), lint_config_name(release))
    return tuple(sorted(rendered + tuple(rpm_file(release, settings, a) for a in release.archives)))


# --- text in the spec --------------------------------------------------------------------------


def escape(text: str) -> str:
    """`text` as literal spec text: rpm expands every `%`, so each is doubled."""
    return text.replace("%", "%%")


def summary(description: str) -> str:
    """A one-line Summary from the description: its first sentence, capitalised, without the final dot, <= 79."""
    first_line = description.strip().splitlines()[0] if description.strip() else ""
    sentence = re.split(r"(?<=\.)\s", first_line, maxsplit=1)[0].strip().rstrip(".")
    sentence = sentence[:1].upper() + sentence[1:]
    if len(sentence) > LINE_LIMIT:
        # Cut at a word; the full text follows in %description.
        sentence = sentence[: LINE_LIMIT + 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return sentence


def description_text(description: str) -> str:
    """The description wrapped to rpmlint's 79 columns, paragraph by paragraph, ending with a full stop."""
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", description.strip()) if p.strip()]
    if paragraphs and not paragraphs[-1].endswith((".", "!", "?")):
        paragraphs[-1] += "."
    wrapped = [textwrap.fill(p, LINE_LIMIT, break_long_words=False, break_on_hyphens=False) for p in paragraphs]
    return "\n\n".join(wrapped)


def changelog_date(epoch: int) -> str:
    """The epoch's UTC day as an RPM changelog date: Tue Nov 14 2023."""
    day = time.gmtime(epoch)
    return f"{WEEKDAYS[day.tm_wday]} {MONTHS[day.tm_mon - 1]} {day.tm_mday:02d} {day.tm_year}"


def source_file(archive: Archive) -> str:
    """The archive's file name, which rpmbuild looks for in the SOURCES folder."""
    return PurePosixPath(archive.file).name


def source_url(archive: Archive) -> str:
    """Source0 for `archive`: its URL, with rpm's `#/<file>` suffix when the URL does not end in the file name."""
    url_name = PurePosixPath(urlsplit(archive.url).path).name
    url = archive.url if url_name == source_file(archive) else f"{archive.url}#/{source_file(archive)}"
    return escape(url)


def spdx_license(expression: str) -> str:
    """The license as a normalised SPDX expression (MIT and Apache-2.0 -> MIT AND Apache-2.0), or PackageError."""
    result = licensing().validate(expression)
    if result.errors or not result.normalized_expression:
        raise base.fail(
            NAME,
            "license",
            f"{expression!r} is not an SPDX license expression ({'; '.join(result.errors) or 'empty'})",
            hint="write it as SPDX, for example MIT OR Apache-2.0",
        )
    return str(result.normalized_expression)


# --- the spec ---------------------------------------------------------------------------------


def destination(template: str, binary: str) -> str:
    """An installed path for `binary` (str.format would trip over the rpm macros' braces)."""
    return template.replace("{bin}", binary)


def installs(release: Release) -> list[dict[str, str]]:
    """What %install copies: {source (in the archive), destination (a path with rpm macros), mode}, in order."""
    items = []
    for binary in release.binaries:
        executable = release.archives[0].executable(binary)
        items.append({"source": executable, "destination": "%{_bindir}/" + executable, "mode": "0755"})
        man = release.man_page(binary)
        if man is not None:
            items.append({"source": man, "destination": destination(MAN_DESTINATION, binary), "mode": "0644"})
        for shell, path in release.completions(binary).items():
            if shell in COMPLETION_DESTINATIONS:
                target = destination(COMPLETION_DESTINATIONS[shell], binary)
                items.append({"source": path, "destination": target, "mode": "0644"})
    return items


def spec_context(release: Release, settings: Settings) -> dict[str, Any]:
    """The values spec.j2 uses, every free text already escaped for rpm."""
    version = rpm_version(release.version)
    man_pages = [destination(MAN_DESTINATION, b) for b in release.binaries if release.man_page(b) is not None]
    licenses = release.license_files()
    return {
        "name": release.name,
        "version": version,
        "release_number": str(settings["release"]),
        "summary": escape(summary(release.description)),
        "description": escape(description_text(release.description)),
        "license": spdx_license(release.license),
        "url": escape(release.homepage),
        "group": escape(str(settings["group"])),
        "maintainer": escape(release.maintainer),
        "arches": [{"arch": rpm_arch(a), "source": source_url(a), "top": escape(a.top)} for a in release.archives],
        "installs": [{**item, "source": escape(item["source"])} for item in installs(release)],
        "man_pages": man_pages,
        "license_files": [escape(f) for f in licenses],
        "doc_files": [escape(f) for f in release.docs() if f not in licenses],
        "changelog_date": changelog_date(release.epoch),
        "changelog_note": escape(f"Packaged the prebuilt binaries of {release.name} {release.tag}"),
    }


def lint_context(release: Release, settings: Settings) -> dict[str, Any]:
    """The values rpmlint.toml.j2 uses: the binaries rpmlint will see as static (musl builds)."""
    static = settings["linux-libc"] == "musl"
    return {"name": release.name, "static_binaries": list(release.binaries) if static else []}


def check(release: Release, settings: Settings) -> None:
    """PackageError for anything an RPM cannot hold (see the module docstring)."""
    base.require(NAME, release, "description", "license", "homepage", "maintainer")
    base.require_plain_files(NAME, release)
    spdx_license(release.license)
    if urlsplit(release.homepage).scheme not in ("http", "https"):
        raise base.fail(NAME, "homepage", f"{release.homepage!r} is not an http(s) URL", hint="RPM's URL tag needs one")
    if not RPM_NAME.fullmatch(release.name):
        raise base.fail(NAME, "name", f"{release.name!r} is not a valid RPM package name")
    for binary in release.binaries:
        if not BINARY_NAME.fullmatch(binary):
            raise base.fail(NAME, "binaries", f"{binary!r} is not a plain file name the spec can list")
    rpm_version(release.version)
    number = str(settings["release"])
    if not RPM_VERSION_TEXT.fullmatch(number):
        raise base.fail(
            NAME,
            "release",
            f"{number!r} is not an RPM Release (letters, digits and . _ + ~ ^ only, no '-')",
            hint='set tool.release.packages.rpm.release, for example to "1"',
        )
    group = str(settings["group"])
    if "\n" in group or group != group.strip():
        raise base.fail(NAME, "group", f"{group!r} must be one line without surrounding blanks")
    for archive in release.archives:
        if archive.arch not in RPM_ARCH:
            raise base.fail(NAME, "archives", f"{archive.file}: no RPM architecture for {archive.arch}")


def render(release: Release, settings: Settings) -> dict[str, bytes]:
    """<name>.spec and <name>.rpmlint.toml (pure)."""
    return {
        spec_name(release): base.render_template(release, NAME, SPEC_TEMPLATE, **spec_context(release, settings)),
        lint_config_name(release): base.render_template(
            release, NAME, LINT_TEMPLATE, **lint_context(release, settings)
        ),
    }


# --- building ---------------------------------------------------------------------------------


def rpmbuild_command(spec: Path, arch: str, topdir: Path, sources: Path, packager: str) -> list[str]:
    """rpmbuild -bb for one architecture, everything it writes under `topdir` (pure).

    The Packager comes from the command line, not the spec: whoever rebuilds the published spec is
    that build's packager (rpmlint's hardcoded-packager-tag), and ours is the release's maintainer.
    """
    macros = (
        ("_topdir", str(topdir)),
        ("packager", escape(packager)),
        ("_sourcedir", str(sources)),
        ("_tmppath", str(topdir / "tmp")),
        *REPRODUCIBLE_MACROS,
    )
    argv = ["rpmbuild", "-bb", "--quiet", "--target", arch]
    for name, value in macros:
        argv += ["--define", f"{name} {value}"]
    return [*argv, str(spec)]


def build_environment(epoch: int, home: Path) -> dict[str, str]:
    """rpmbuild's environment: the release's epoch, a neutral locale and time zone, a HOME without rpm macros."""
    return {"SOURCE_DATE_EPOCH": str(epoch), "HOME": str(home), "LC_ALL": "C", "TZ": "UTC"}


def build(job: BuildJob) -> None:
    """One .rpm per archive, each built by rpmbuild from the rendered spec; only the .rpm files join job.folder."""
    release = job.release
    spec = job.folder / spec_name(release)
    sources = job.scratch / "SOURCES"
    sources.mkdir(parents=True, exist_ok=True)
    for archive in release.archives:
        shutil.copyfile(job.archive_path(archive), sources / source_file(archive))
    environment = build_environment(release.epoch, job.scratch)
    for archive in release.archives:
        arch = rpm_arch(archive)
        topdir = job.scratch / f"rpmbuild-{arch}"
        (topdir / "tmp").mkdir(parents=True, exist_ok=True)
        result = job.runner.run(
            rpmbuild_command(spec, arch, topdir, sources, release.maintainer), env=environment, capture=True
        )
        if result.skipped:
            continue  # a dry run
        made = topdir / "RPMS" / arch / rpm_file(release, job.settings, archive)
        if not made.is_file():
            raise PackageError(
                f"{NAME}: rpmbuild finished but did not make {made.name}",
                hint=f"look at {topdir / 'RPMS'} and rpmbuild's output above",
            )
        shutil.move(made, job.folder / made.name)


CHANNEL = base.Channel(
    name=NAME,
    summary="RPM packages (x86_64, aarch64) built with rpmbuild from the release archives, and their spec",
    platforms=PLATFORMS,
    render=render,
    check=check,
    build=build,
    tools=("rpmbuild",),
)

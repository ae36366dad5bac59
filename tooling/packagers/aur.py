"""AUR: a PKGBUILD for a `<name>-bin` package of the release archives, and its .SRCINFO.

The PKGBUILD downloads the archive of the machine's architecture
(source_x86_64/source_aarch64, each with its sha256sums) and installs from
the archive's top folder: the binaries, the license files, the docs, the
bash/zsh/fish completions and the man pages when the archives hold them.

.SRCINFO is what the AUR reads; it is made by the real `makepkg
--printsrcinfo`, so it always says what makepkg reads from the PKGBUILD.
makepkg refuses to run as root, even only to print: as root, `build` runs it
as the unprivileged user `nobody` (setpriv), in a scratch folder that user
owns.

Versions: Arch's pkgver may not hold a hyphen, and pacman's vercmp sorts a
letter run right after the release numbers *before* the bare release
(1.2.0beta.1 < 1.2.0), whereas a separator first sorts it after
(1.2.0.beta.1 > 1.2.0). So 1.2.0-beta.1 becomes 1.2.0beta.1: the hyphen
goes, the rest stays (hyphens inside the prerelease or build part become
underscores, which vercmp treats as separators like the dots). A prerelease
whose first identifier is a number (1.2.0-1) has no such form (1.2.01 would
sort after 1.2.0), and is refused. The forms the bump tool makes (alpha.N,
beta.N, rc.N) sort as semver says; one gap remains: where semver puts a
number before a word at the same place (alpha.1 < alpha.beta), vercmp puts
it after.

A prerelease is packaged only with prerelease = "separate", as
<name>-beta-bin: one package follows every alpha, beta and rc, and
conflicts with the stable one.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
from dataclasses import dataclass

from tooling import proc
from tooling.errors import VersionError
from tooling.packagers import base
from tooling.packagers.base import BuildJob, Release, Settings
from tooling.packagers.licenses import spdx_problem
from tooling.versioning.versions import parse_version

NAME = "aur"
TEMPLATE = "PKGBUILD.j2"
PLATFORMS = (base.LINUX_X86_64, base.LINUX_AARCH64)

# Arch's CARCH for the target table's architectures.
CARCH = {"x86_64": "x86_64", "aarch64": "aarch64"}

# Where Arch packages put each shell's completions, and man pages (relative to $pkgdir).
COMPLETION_PATHS = {
    "bash": "usr/share/bash-completion/completions/{bin}",
    "zsh": "usr/share/zsh/site-functions/_{bin}",
    "fish": "usr/share/fish/vendor_completions.d/{bin}.fish",
}
MAN_PATH = "usr/share/man/man1/{bin}.1"

BIN_SUFFIX = "-bin"
PRERELEASE_SUFFIX = "-beta"

# pkgname as the AUR accepts it: lower case, digits and @ . _ + -, not starting with a hyphen or a dot.
PACKAGE_NAME = re.compile(r"[a-z0-9@_+][a-z0-9@._+-]*")

# The user makepkg runs as when this process is root.
UNPRIVILEGED_USER = "nobody"


@dataclass(frozen=True)
class Install:
    """One `install -Dm<mode> "$top/<source>" "$pkgdir/<destination>"` line of package()."""

    mode: str
    source: str
    destination: str


# --- names and versions --------------------------------------------------------------------------


def pkgver(version: str) -> str:
    """Arch's pkgver for a semantic version (see the module docstring; VersionError if it has none; pure).

    1.2.0 -> 1.2.0; 1.2.0-beta.1 -> 1.2.0beta.1; 1.2.0-rc.1+build-7 -> 1.2.0rc.1+build_7.
    """
    parsed = parse_version(version)
    text = f"{parsed.major}.{parsed.minor}.{parsed.patch}"
    if parsed.prerelease:
        if not parsed.prerelease[:1].isalpha():
            raise VersionError(
                f"{version}: a prerelease starting with a number has no pkgver that pacman sorts before {text}",
                hint="name the prerelease with a word first (alpha.N, beta.N, rc.N)",
            )
        text += parsed.prerelease.replace("-", "_")
    if parsed.build:
        text += "+" + parsed.build.replace("-", "_")
    return text


def package_name(release: Release, settings: Settings) -> str:
    """pkgname: settings' package (default <crate>-bin); <name>-beta-bin for a separate prerelease."""
    name = str(settings.get("package") or release.name.lower() + BIN_SUFFIX)
    if release.prerelease and settings.get("prerelease") == "separate":
        stem = name.removesuffix(BIN_SUFFIX)
        name = stem + PRERELEASE_SUFFIX + (BIN_SUFFIX if name.endswith(BIN_SUFFIX) else "")
    return name


def provided_name(release: Release, settings: Settings) -> str:
    """What the package provides and conflicts with: the software's own name (pkgname without -bin)."""
    name = str(settings.get("package") or "")
    return name.removesuffix(BIN_SUFFIX) if name.endswith(BIN_SUFFIX) else release.name.lower()


def one_line(text: str) -> str:
    return " ".join(text.split())


# --- what package() installs ---------------------------------------------------------------------


def installs(release: Release) -> list[Install]:
    """Every file package() installs, in order: binaries, licenses, docs, completions, man pages (pure)."""
    first = release.archives[0]
    lines = [Install("755", first.executable(b), f"usr/bin/{b}") for b in release.binaries]
    licenses = release.license_files()
    lines += [Install("644", f, f"usr/share/licenses/$pkgname/{f}") for f in licenses]
    lines += [Install("644", f, f"usr/share/doc/$pkgname/{f}") for f in release.docs() if f not in licenses]
    for binary in release.binaries:
        found = release.completions(binary)
        lines += [
            Install("644", found[shell], path.format(bin=binary))
            for shell, path in COMPLETION_PATHS.items()
            if shell in found
        ]
        man = release.man_page(binary)
        if man:
            lines.append(Install("644", man, MAN_PATH.format(bin=binary)))
    return lines


# --- check and render ----------------------------------------------------------------------------


def check(release: Release, settings: Settings) -> None:
    """Raise PackageError for anything the PKGBUILD cannot express."""
    base.require(NAME, release, "description", "license", "maintainer")
    base.require_plain_files(NAME, release)
    if not (release.homepage or release.repository):
        raise base.fail(
            NAME, "homepage", "is empty, and so is repository: the PKGBUILD's url needs one", hint="set homepage"
        )
    name = package_name(release, settings)
    if not PACKAGE_NAME.fullmatch(name):
        raise base.fail(
            NAME,
            "package",
            f"{name!r} is not a package name (lower case, digits and @ . _ + -, not starting with - or .)",
            hint="set package in this table",
        )
    try:
        pkgver(release.version)
    except VersionError as error:
        raise base.fail(NAME, "version", error.message, hint=error.hint or "") from None
    problem = spdx_problem(release.license)
    if problem:
        raise base.fail(NAME, "license", f"{release.license!r} is not an SPDX expression: {problem}")


def render(release: Release, settings: Settings) -> dict[str, bytes]:
    """PKGBUILD (.SRCINFO comes from `build`, which asks makepkg)."""
    text = base.render_template(
        release,
        NAME,
        TEMPLATE,
        maintainer=one_line(release.maintainer),
        pkgname=package_name(release, settings),
        pkgver=pkgver(release.version),
        pkgdesc=one_line(release.description),
        url=release.homepage or release.repository,
        provides=provided_name(release, settings),
        sources=[(CARCH[a.arch], a) for a in release.archives],
        installs=installs(release),
    )
    return {"PKGBUILD": text}


# --- build ---------------------------------------------------------------------------------------


def srcinfo_command(user: pwd.struct_passwd | None) -> list[str]:
    """`makepkg --printsrcinfo`, run as `user` through setpriv when one is given (pure)."""
    command = ["makepkg", "--printsrcinfo"]
    if user is None:
        return command
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--", *command]


def _unprivileged_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        raise base.fail(
            NAME,
            ".SRCINFO",
            f"makepkg refuses to run as root, and there is no user {UNPRIVILEGED_USER!r} to run it as",
            hint="run the packages step as an unprivileged user",
        ) from None


def build(job: BuildJob) -> None:
    """Write .SRCINFO beside the PKGBUILD, as `makepkg --printsrcinfo` prints it."""
    user = _unprivileged_user() if os.geteuid() == 0 else None
    # makepkg wants to write where it runs (its BUILDDIR check), so it runs on a copy in a folder the
    # running user owns; the scratch folder is opened to others for that user to reach it.
    work = job.scratch / "srcinfo"
    work.mkdir()
    shutil.copyfile(job.folder / "PKGBUILD", work / "PKGBUILD")
    if user is not None:
        job.scratch.chmod(0o755)
        for path in (work, work / "PKGBUILD"):
            os.chown(path, user.pw_uid, user.pw_gid)
    result = job.runner.run(
        srcinfo_command(user),
        effect=proc.Effect.READ,  # it only prints, so a dry run shows the real .SRCINFO too
        cwd=work,
        env={"HOME": str(work), "LC_ALL": "C"},
        capture=True,
    )
    (job.folder / ".SRCINFO").write_text(result.stdout, encoding="utf-8")


CHANNEL = base.Channel(
    name=NAME,
    summary="a PKGBUILD and .SRCINFO for an AUR -bin package",
    platforms=PLATFORMS,
    render=render,
    check=check,
    build=build,
    tools=("makepkg",),
)

"""Homebrew: a formula for a tap, installing the release's macOS and Linux archives.

The formula (Formula/<name>.rb) downloads the archive matching the machine,
one `url`/`sha256` pair per on_macos/on_linux x on_arm/on_intel block, and
installs the binaries, shell completions and man pages from it. Homebrew
changes into the archive's single top folder before `install` runs, so every
path in the formula is relative to that folder. There is nothing to build.

Homebrew loads `Formula/<name>.rb` by deriving a class name from <name>
(`class_name`) and looking that constant up, so the name and the class must
agree exactly, and the name must give a valid Ruby constant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from license_expression import (  # type: ignore[import-untyped]
    AND,
    OR,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
)

from tooling.errors import VersionError
from tooling.packagers import base
from tooling.packagers.base import Release, Settings
from tooling.packagers.licenses import licensing, spdx_problem
from tooling.packagers.registry import prerelease_track
from tooling.versioning.versions import parse_version

NAME = "homebrew"
TEMPLATE = "formula.rb.j2"

# Homebrew's blocks per OS and CPU, with the `depends_on` that says a platform is unsupported.
OS_BLOCKS = (("macos", "on_macos", ":macos"), ("linux", "on_linux", ":linux"))
CPU_BLOCKS = (("aarch64", "on_arm", ":arm64"), ("x86_64", "on_intel", ":x86_64"))
PLATFORMS = (base.MACOS_AARCH64, base.MACOS_X86_64, base.LINUX_AARCH64, base.LINUX_X86_64)

# The Formula methods naming each shell's completion folder (PowerShell has none in Homebrew).
COMPLETION_METHODS = {"bash": "bash_completion", "zsh": "zsh_completion", "fish": "fish_completion"}

# Formula names Homebrew accepts: lower case, digits and - _ . @ +.
FORMULA_NAME = re.compile(r"[a-z0-9][a-z0-9_.@+-]*")
RUBY_CONSTANT = re.compile(r"[A-Z][A-Za-z0-9]*")
# Binary names are written into Ruby strings and a shell command line unquoted, so they must be plain words.
BINARY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")

# A prerelease goes to its own formula, <name>-<first identifier> (crcsum-rc for 1.2.0-rc.1). Not
# <name>@rc: Homebrew turns "@" into "AT" only before a digit (python@3.12 -> PythonAT312), so the class
# it looks for in crcsum@rc.rb is "Crcsum@rc", which no Ruby class can be called, and the formula
# would not load.
PRERELEASE_SEPARATOR = "-"


def class_name(formula: str) -> str:
    """The class Homebrew expects in Formula/<formula>.rb (its Formulary.class_s rule; pure).

    crcsum -> Crcsum, my-tool -> MyTool, my_tool.x -> MyToolX, gtk+ -> Gtkx, python@3.12 -> PythonAT312.
    """
    name = formula[:1].upper() + formula[1:].lower()
    name = re.sub(r"[-_.\s]([a-zA-Z0-9])", lambda match: match.group(1).upper(), name)
    name = name.replace("+", "x")
    return re.sub(r"(.)@(\d)", r"\1AT\2", name, count=1)


def stable_name(release: Release, settings: Settings) -> str:
    """The formula's name for stable releases: settings' formula, else the crate's name."""
    # Crate names may hold capitals, which Homebrew names may not; an explicit `formula` is kept as written.
    return str(settings.get("formula") or release.name.lower())


def formula_name(release: Release, settings: Settings) -> str:
    """The formula's name: the stable name, plus -<first identifier> for a prerelease."""
    name = stable_name(release, settings)
    if release.prerelease and settings.get("prerelease", "separate") == "separate":
        name += PRERELEASE_SEPARATOR + prerelease_track(release.version).lower()
    return name


# --- license -------------------------------------------------------------------------------


def license_ruby(expression: str) -> str:
    """The arguments of Homebrew's `license` for an SPDX expression (pure).

    MIT -> "MIT"; MIT OR Apache-2.0 -> any_of: ["MIT", "Apache-2.0"]; AND -> all_of: [...];
    GPL-2.0-only WITH LLVM-exception -> "GPL-2.0-only" => { with: "LLVM-exception" }. Nested
    expressions become hashes inside the list, as Homebrew's DSL writes them.
    """
    tree = licensing().parse(expression, validate=True, strict=True)
    return _license_node(tree, top=True)


_COMBINATORS = ((OR, "any_of"), (AND, "all_of"))


def _license_node(node: object, *, top: bool) -> str:
    if isinstance(node, LicenseWithExceptionSymbol):
        text = (
            f"{base.ruby_string(node.license_symbol.key)} => {{ with: {base.ruby_string(node.exception_symbol.key)} }}"
        )
        return text if top else "{ " + text + " }"
    if isinstance(node, LicenseSymbol):
        return base.ruby_string(node.key)
    for kind, keyword in _COMBINATORS:
        if isinstance(node, kind):
            items = ", ".join(_license_node(arg, top=False) for arg in node.args)
            text = f"{keyword}: [{items}]"
            return text if top else "{ " + text + " }"
    raise ValueError(f"unexpected license expression part {node!r}")


# --- check ---------------------------------------------------------------------------------


def check(release: Release, settings: Settings) -> None:
    """Raise PackageError for anything a formula cannot express."""
    base.require(NAME, release, "homepage", "description", "license", "version")
    problem = spdx_problem(release.license)
    if problem:
        raise base.fail(
            NAME,
            "license",
            f"{release.license!r} is not an SPDX license expression ({problem})",
            hint='write it as SPDX, e.g. "MIT OR Apache-2.0", in Cargo.toml or [tool.release.metadata]',
        )
    try:
        parse_version(release.version)
    except VersionError as error:
        raise base.fail(NAME, "version", str(error), hint=error.hint or "") from None
    _check_formula_name(formula_name(release, settings))
    for binary in release.binaries:
        if not BINARY_NAME.fullmatch(binary):
            raise base.fail(
                NAME, "binaries", f"{binary!r} is not a plain file name", hint="rename the binary in Cargo.toml"
            )


def _check_formula_name(formula: str) -> None:
    hint = "set tool.release.packages.homebrew.formula to lower-case letters, digits and - _ . @ +, e.g. my-tool"
    if not FORMULA_NAME.fullmatch(formula):
        raise base.fail(NAME, "formula", f"{formula!r} is not a Homebrew formula name", hint=hint)
    derived = class_name(formula)
    if not RUBY_CONSTANT.fullmatch(derived):
        raise base.fail(
            NAME,
            "formula",
            f"{formula!r} cannot be loaded by Homebrew: the class it looks for, {derived!r}, is no Ruby class name",
            hint=hint + " (start with a letter; after @ only a version number)",
        )


# --- render --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    """One on_arm/on_intel block: the archive Homebrew fetches on that CPU."""

    block: str
    url: str
    sha256: str


@dataclass(frozen=True)
class OsBlock:
    """One on_macos/on_linux block, and the CPU it requires when the release serves only one."""

    block: str
    requirements: tuple[str, ...]
    downloads: tuple[Download, ...]


@dataclass(frozen=True)
class Completion:
    """One `<shell>_completion.install`; `target` renames the file (bash looks completions up by command)."""

    method: str
    source: str
    target: str | None


def os_blocks(release: Release) -> tuple[tuple[OsBlock, ...], tuple[str, ...]]:
    """The on_* blocks for the platforms the release has, and the top-level depends_on for the OS it has."""
    blocks = []
    present_os = []
    for os_name, os_block, os_symbol in OS_BLOCKS:
        downloads = []
        archs = []
        for arch, cpu_block, arch_symbol in CPU_BLOCKS:
            archive = release.archive((os_name, arch))
            if archive is not None:
                downloads.append(Download(cpu_block, archive.url, archive.sha256))
                archs.append(arch_symbol)
        if downloads:
            present_os.append(os_symbol)
            # One CPU only: say so, instead of Homebrew failing later for want of a url.
            cpu_only = (f"arch: {archs[0]}",) if len(archs) == 1 else ()
            blocks.append(OsBlock(os_block, cpu_only, tuple(downloads)))
    os_only = tuple(present_os) if len(present_os) == 1 else ()
    return tuple(blocks), os_only


def completions(release: Release) -> tuple[Completion, ...]:
    """The completion files every archive holds, per binary, in shell order."""
    found = []
    for binary in release.binaries:
        for shell, path in release.completions(binary).items():
            if shell in COMPLETION_METHODS:
                target = binary if shell == "bash" else None
                found.append(Completion(COMPLETION_METHODS[shell], path, target))
    return tuple(found)


def man_pages(release: Release) -> tuple[str, ...]:
    return tuple(page for page in (release.man_page(b) for b in release.binaries) if page)


def tested_binary(release: Release) -> str:
    """The binary `brew test` runs: the one named like the crate, else the first."""
    return release.name if release.name in release.binaries else release.binaries[0]


def render(release: Release, settings: Settings) -> dict[str, bytes]:
    """{"Formula/<name>.rb": the formula} (pure)."""
    formula = formula_name(release, settings)
    stable = stable_name(release, settings)
    blocks, requirements = os_blocks(release)
    text = base.render_template(
        release,
        NAME,
        TEMPLATE,
        formula=formula,
        class_name=class_name(formula),
        description=" ".join(release.description.split()),
        license=license_ruby(release.license),
        requirements=requirements,
        os_blocks=blocks,
        binaries=release.binaries,
        completions=completions(release),
        man_pages=man_pages(release),
        test_binary=tested_binary(release),
        # A prerelease formula links the same commands as the stable one: Homebrew must not install both.
        conflicts=stable if formula != stable else "",
    )
    return {f"Formula/{formula}.rb": text}


CHANNEL = base.Channel(
    name=NAME,
    summary="a formula for a Homebrew tap (macOS and Linux archives)",
    platforms=PLATFORMS,
    render=render,
    check=check,
)

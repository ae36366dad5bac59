"""Read a built binary with LIEF and check it against its target's promises.

`read_facts` turns a file into plain BinaryFacts; `problems` compares facts
with what the target requires and returns human sentences (pure, unit-tested);
`verify` combines the two and raises VerificationError on any problem.

The linkage check compares the shared libraries a binary needs (ELF NEEDED,
PE imports, Mach-O load commands) with what its platform guarantees
(PLATFORM_LIBRARIES): anything else would make the binary fail to start on a
user's machine that lacks that exact library, so it fails the build unless
the configuration lists it in allowed-libraries.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tooling.errors import VerificationError
from tooling.targets import Target

if TYPE_CHECKING:
    from tooling.config import ReleaseConfig

FORMAT_BY_OS = {"linux": "ELF", "windows": "PE", "macos": "MachO"}
_GLIBC = re.compile(r"^GLIBC_(\d+(?:\.\d+)*)$")

# What every machine of an OS family has, as globs over the names a binary records (Windows: case-insensitive).
PLATFORM_LIBRARIES: Mapping[str, tuple[str, ...]] = {
    # glibc's own libraries, its loader, and libgcc_s (part of every glibc system's base).
    "linux": (
        "libc.so.6",
        "libm.so.6",
        "libpthread.so.0",
        "libdl.so.2",
        "librt.so.1",
        "libutil.so.1",
        "ld-linux*.so.*",
        "libgcc_s.so.1",
    ),
    # DLLs in every Windows install. vcruntime140 is what Rust's msvc std links unless crt-static.
    "windows": (
        "kernel32.dll",
        "ntdll.dll",
        "advapi32.dll",
        "ws2_32.dll",
        "bcrypt.dll",
        "bcryptprimitives.dll",
        "userenv.dll",
        "api-ms-win-*.dll",
        "msvcrt.dll",
        "ucrtbase.dll",
        "vcruntime140.dll",
        "user32.dll",
        "gdi32.dll",
        "shell32.dll",
        "ole32.dll",
        "oleaut32.dll",
        "shlwapi.dll",
        "crypt32.dll",
        "secur32.dll",
        "ncrypt.dll",
        "iphlpapi.dll",
        "dbghelp.dll",
        "psapi.dll",
        "rpcrt4.dll",
        "version.dll",
        "winhttp.dll",
        "synchronization.dll",
    ),
    # libSystem and the libraries and frameworks macOS itself ships.
    "macos": (
        "/usr/lib/libSystem.B.dylib",
        "/usr/lib/libc++.1.dylib",
        "/usr/lib/libobjc.A.dylib",
        "/usr/lib/libiconv.2.dylib",
        "/usr/lib/libresolv.9.dylib",
        "/usr/lib/libz.1.dylib",
        "/System/Library/Frameworks/*",
    ),
}

LINKAGE_REMEDY = (
    "link it statically (the -sys crate's vendored/static feature, e.g. openssl's `vendored`, libz-sys' `static`, "
    "or rustls instead of OpenSSL), or, if your users install it themselves, list it in "
    '[tool.release.target."{triple}"] allowed-libraries'
)


@dataclass(frozen=True)
class BinaryFacts:
    """What a binary says about itself."""

    format: str  # ELF | PE | MachO | unknown
    arch: str  # x86_64 | aarch64 | other names as read
    glibc_versions: tuple[str, ...] = ()  # GLIBC_x.y symbol versions it requires
    interpreter: str | None = None  # ELF program interpreter; None for static binaries
    macos_minos: str | None = None
    code_signed: bool = False
    needed: tuple[str, ...] = ()  # shared libraries it loads at start: ELF NEEDED, PE imports, Mach-O dylibs
    debug_info: tuple[str, ...] = ()  # debug sections (.debug_*, PE /N, __DWARF) and Mach-O STABS, by name
    signature_valid: bool | None = None  # Mach-O: do the ad-hoc signature's page hashes match? None: unsigned

    @property
    def stripped(self) -> bool:
        return not self.debug_info

    @property
    def glibc_max(self) -> str | None:
        if not self.glibc_versions:
            return None
        return max(self.glibc_versions, key=version_key)

    def summary(self) -> dict[str, Any]:
        data: dict[str, Any] = {"format": self.format, "arch": self.arch}
        if self.format == "ELF":
            data["glibc_max"] = self.glibc_max
            data["static"] = self.interpreter is None
        if self.format == "MachO":
            data["macos_minos"] = self.macos_minos
            data["code_signed"] = self.code_signed
        data["linkage"] = list(self.needed)
        data["stripped"] = self.stripped
        return data


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def problems(facts: BinaryFacts, target: Target, glibc_floor: str, macos_min: str | None) -> list[str]:
    """Every way `facts` break what `target` promises; empty when all is well."""
    found: list[str] = []
    expected_format = FORMAT_BY_OS[target.os]
    if facts.format != expected_format:
        found.append(f"format: expected {expected_format}, found {facts.format}")
    if facts.arch != target.arch:
        found.append(f"architecture: expected {target.arch}, found {facts.arch}")
    if target.os == "linux" and target.libc == "gnu" and target.glibc_floor:
        too_new = [v for v in facts.glibc_versions if version_key(v) > version_key(glibc_floor)]
        if too_new:
            found.append(
                f"glibc floor: expected no symbol version newer than GLIBC_{glibc_floor}, "
                f"found GLIBC_{max(too_new, key=version_key)}"
            )
    if target.os == "linux" and target.libc == "musl":
        if facts.glibc_versions:
            found.append(f"musl: expected no glibc symbols, found GLIBC_{facts.glibc_max}")
        if facts.interpreter is not None:
            found.append(f"musl: expected a static binary, found interpreter {facts.interpreter}")
    if target.is_macos:
        if macos_min and facts.macos_minos != macos_min:
            found.append(f"macOS minimum: expected {macos_min}, found {facts.macos_minos}")
        if target.arch == "aarch64" and not facts.code_signed:
            found.append("code signature: arm64 macOS refuses to run unsigned binaries; found none")
        if facts.code_signed and facts.signature_valid is False:
            found.append("code signature: its page hashes do not match the file (changed after signing)")
    return found


def strip_problems(facts: BinaryFacts, tool: str) -> list[str]:
    """Why a binary `tool` was asked to strip is not stripped; empty when it is (pure)."""
    if facts.stripped:
        return []
    shown = ", ".join(facts.debug_info[:4]) + (", ..." if len(facts.debug_info) > 4 else "")
    return [f"stripping: {tool} left debug info in the binary ({shown})"]


def _matches(name: str, patterns: Sequence[str], fold_case: bool) -> bool:
    """Does library `name` (or its file name) match one of `patterns`?"""
    candidates = {name, name.rsplit("/", 1)[-1]}
    if fold_case:
        candidates = {c.lower() for c in candidates}
        patterns = [p.lower() for p in patterns]
    return any(fnmatch.fnmatchcase(c, p) for c in candidates for p in patterns)


def unexpected_libraries(needed: Sequence[str], target: Target, allowed: Sequence[str] = ()) -> list[str]:
    """The libraries in `needed` that `target`'s platform does not guarantee and the config does not allow (pure)."""
    fold = target.is_windows  # Windows resolves DLL names case-insensitively
    guaranteed = PLATFORM_LIBRARIES.get(target.os, ())
    return [lib for lib in needed if not _matches(lib, [*guaranteed, *allowed], fold)]


def linkage_problems(needed: Sequence[str], target: Target, allowed: Sequence[str] = ()) -> list[str]:
    """One sentence per library the binary needs that users' machines may lack (pure)."""
    return [
        f"linkage: needs {lib}, which {target.os} does not guarantee; " + LINKAGE_REMEDY.format(triple=target.triple)
        for lib in unexpected_libraries(needed, target, allowed)
    ]


# --- reading files with LIEF -------------------------------------------------

_CS_SUPERBLOB = 0xFADE0CC0
_CS_CODEDIRECTORY = 0xFADE0C02
_CS_HASHES = {1: "sha1", 2: "sha256"}
_STAB_MASK = 0xE0  # n_type bits set only on STABS (debug map) symbols


def signature_matches(data: bytes, offset: int) -> bool:
    """Do the code-page hashes of the CodeDirectory in the signature at `offset` match `data`? (pure)

    macOS refuses to start an arm64 binary whose signature does not match its
    pages, so a tool that edits a signed binary must re-sign it; this checks it did.
    """
    magic, _, count = struct.unpack_from(">III", data, offset)
    if magic != _CS_SUPERBLOB:
        return False
    for index in range(count):
        _, blob = struct.unpack_from(">II", data, offset + 12 + 8 * index)
        start = offset + blob
        if struct.unpack_from(">I", data, start)[0] != _CS_CODEDIRECTORY:
            continue
        fields = struct.unpack_from(">IIIIIIIIIBBBB", data, start)
        hash_offset, code_slots, code_limit = fields[4], fields[7], fields[8]
        hash_size, hash_type, page_shift = fields[9], fields[10], fields[12]
        if hash_type not in _CS_HASHES:
            return False
        page = 1 << page_shift
        for slot in range(code_slots):
            expected = data[start + hash_offset + slot * hash_size : start + hash_offset + (slot + 1) * hash_size]
            chunk = data[slot * page : min((slot + 1) * page, code_limit)]
            if hashlib.new(_CS_HASHES[hash_type], chunk).digest()[:hash_size] != expected:
                return False
        return True
    return False


_ELF_ARCH = {"X86_64": "x86_64", "AARCH64": "aarch64", "ARM": "arm", "I386": "x86"}
_PE_ARCH = {"AMD64": "x86_64", "ARM64": "aarch64", "I386": "x86"}
_MACHO_ARCH = {"X86_64": "x86_64", "ARM64": "aarch64", "X86": "x86"}


def _enum_name(value: Any) -> str:
    return str(getattr(value, "name", value)).split(".")[-1]


def _dotted(parts: Any) -> str:
    numbers = list(parts)
    while len(numbers) > 2 and numbers[-1] == 0:
        numbers.pop()
    return ".".join(str(n) for n in numbers)


def _unreadable(path: Path, kind: str) -> VerificationError:
    return VerificationError(f"{path} looks like {kind} but LIEF cannot parse it", hint="is the file truncated?")


def read_facts(path: Path) -> BinaryFacts:
    """Parse `path` (ELF, PE or Mach-O) into BinaryFacts."""
    import lief

    lief.logging.disable()
    name = str(path)
    if lief.is_elf(name):
        elf = lief.ELF.parse(name)
        if elf is None:
            raise _unreadable(path, "ELF")
        versions = sorted(
            {
                match.group(1)
                for requirement in elf.symbols_version_requirement
                for aux in requirement.get_auxiliary_symbols()
                if (match := _GLIBC.match(str(aux.name)))
            },
            key=version_key,
        )
        machine = _enum_name(elf.header.machine_type)
        interpreter = str(elf.interpreter) if elf.has_interpreter else None
        needed = tuple(str(lib) for lib in elf.libraries)
        debug = tuple(str(s.name) for s in elf.sections if str(s.name).startswith((".debug", ".zdebug")))
        return BinaryFacts(
            "ELF", _ELF_ARCH.get(machine, machine), tuple(versions), interpreter, needed=needed, debug_info=debug
        )
    if lief.is_pe(name):
        pe = lief.PE.parse(name)
        if pe is None:
            raise _unreadable(path, "PE")
        machine = _enum_name(pe.header.machine)
        imports = tuple(str(entry.name) for entry in pe.imports)
        # MinGW's linker names the DWARF sections through the COFF string table: "/4", "/18", ...
        debug = tuple(str(s.name) for s in pe.sections if str(s.name).startswith(("/", ".debug")))
        return BinaryFacts("PE", _PE_ARCH.get(machine, machine), needed=imports, debug_info=debug)
    if lief.is_macho(name):
        fat = lief.MachO.parse(name)
        macho = fat.at(0) if fat is not None else None
        if macho is None:
            raise _unreadable(path, "Mach-O")
        cpu = _enum_name(macho.header.cpu_type)
        # Newer toolchains write LC_BUILD_VERSION; older minimums use LC_VERSION_MIN_MACOSX.
        build_version = macho.build_version if macho.has_build_version else None
        version_min = macho.version_min if macho.has_version_min else None
        minos = None
        if build_version is not None:
            minos = _dotted(build_version.minos)
        elif version_min is not None:
            minos = _dotted(version_min.version)
        dwarf = [f"__DWARF,{s.name!s}" for s in macho.sections if str(s.segment_name) == "__DWARF"]
        stabs = sum(1 for symbol in macho.symbols if int(symbol.raw_type) & _STAB_MASK)
        debug = (*dwarf, f"{stabs} STABS symbols") if stabs else tuple(dwarf)
        signature = macho.code_signature if macho.has_code_signature else None
        signed = signature is not None
        valid = signature_matches(path.read_bytes(), signature.data_offset) if signature is not None else None
        return BinaryFacts(
            "MachO",
            _MACHO_ARCH.get(cpu, cpu),
            macos_minos=minos,
            code_signed=signed,
            needed=tuple(str(lib.name) for lib in macho.libraries),
            debug_info=debug,
            signature_valid=valid,
        )
    return BinaryFacts("unknown", "unknown")


FACTS_CACHE_VERSION = 1  # bump when read_facts learns to read more: older entries are then ignored


def facts_cache_path(cache: Path, digest: str) -> Path:
    """Where the facts of the file with sha256 `digest` are kept (pure)."""
    return cache / "binary-facts" / f"v{FACTS_CACHE_VERSION}" / f"{digest}.json"


def facts_from_json(data: Mapping[str, Any]) -> BinaryFacts:
    """BinaryFacts from their JSON form (pure): lists become tuples again."""
    fields: dict[str, Any] = {key: tuple(value) if isinstance(value, list) else value for key, value in data.items()}
    return BinaryFacts(**fields)


def cached_facts(path: Path, cache: Path | None = None) -> BinaryFacts:
    """read_facts, kept by content: a binary cargo did not change (a warm no-op build) is not parsed again.

    The facts are a function of the file's bytes alone, so its sha256 names them; parsing costs the
    import of lief (about 0.3 s) and a read of the whole file, hashing only the read.
    """
    import json
    from dataclasses import asdict

    from tooling.cache import cache_dir

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    kept = facts_cache_path(cache or cache_dir(), digest)
    try:
        return facts_from_json(json.loads(kept.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        pass
    facts = read_facts(path)
    try:
        from tooling.files import write_atomic

        kept.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(kept, json.dumps(asdict(facts)))
    except OSError:
        pass  # a cache that cannot be written only costs time
    return facts


def verify(path: Path, target: Target, config: ReleaseConfig, *, stripped_by: str | None = None) -> BinaryFacts:
    """Read `path` and raise VerificationError if it is not what `target` needs.

    stripped_by: the tool that stripped it, when it should carry no debug info.
    """
    facts = cached_facts(path)
    found = problems(facts, target, config.glibc, config.macos_min(target))
    if stripped_by:
        found += strip_problems(facts, stripped_by)
    found += linkage_problems(facts.needed, target, config.target_settings(target).allowed_libraries)
    if found:
        raise VerificationError(
            f"{path.name} built for {target.triple} failed verification:\n  - " + "\n  - ".join(found)
        )
    return facts

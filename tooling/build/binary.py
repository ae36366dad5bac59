"""Read a built binary with LIEF and check it against its target's promises.

`read_facts` turns a file into plain BinaryFacts; `problems` compares facts
with what the target requires and returns human sentences (pure, unit-tested);
`verify` combines the two and raises VerificationError on any problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tooling.errors import VerificationError
from tooling.targets import Target

if TYPE_CHECKING:
    from tooling.config import ReleaseConfig

FORMAT_BY_OS = {"linux": "ELF", "windows": "PE", "macos": "MachO"}
_GLIBC = re.compile(r"^GLIBC_(\d+(?:\.\d+)*)$")


@dataclass(frozen=True)
class BinaryFacts:
    """What a binary says about itself."""

    format: str  # ELF | PE | MachO | unknown
    arch: str  # x86_64 | aarch64 | other names as read
    glibc_versions: tuple[str, ...] = ()  # GLIBC_x.y symbol versions it requires
    interpreter: str | None = None  # ELF program interpreter; None for static binaries
    macos_minos: str | None = None
    code_signed: bool = False

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
    return found


# --- reading files with LIEF -------------------------------------------------

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
        return BinaryFacts("ELF", _ELF_ARCH.get(machine, machine), tuple(versions), interpreter)
    if lief.is_pe(name):
        pe = lief.PE.parse(name)
        if pe is None:
            raise _unreadable(path, "PE")
        machine = _enum_name(pe.header.machine)
        return BinaryFacts("PE", _PE_ARCH.get(machine, machine))
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
        return BinaryFacts("MachO", _MACHO_ARCH.get(cpu, cpu), macos_minos=minos, code_signed=macho.has_code_signature)
    return BinaryFacts("unknown", "unknown")


def verify(path: Path, target: Target, config: ReleaseConfig) -> BinaryFacts:
    """Read `path` and raise VerificationError if it is not what `target` needs."""
    facts = read_facts(path)
    found = problems(facts, target, config.glibc, config.macos_min(target))
    if found:
        raise VerificationError(
            f"{path.name} built for {target.triple} failed verification:\n  - " + "\n  - ".join(found)
        )
    return facts

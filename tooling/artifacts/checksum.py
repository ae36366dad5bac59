"""SHA256SUMS and per-file `.sha256` files, in the format `sha256sum -c` and `shasum -a 256 -c` read.

Each line is `<64 lowercase hex>  <name>` (two spaces: text mode, which both
tools accept for any file on Unix), sorted by name, ending in a newline.
Names are paths relative to the folder holding SHA256SUMS, so
`cd dist && sha256sum -c SHA256SUMS` checks the release.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from tooling.errors import ManifestError
from tooling.files import write_atomic

SUMS_NAME = "SHA256SUMS"
SUFFIX = ".sha256"
_LINE = re.compile(r"^(?P<hash>[0-9a-fA-F]{64}) (?P<mode>[ *])(?P<name>.+)$")
_HEX = re.compile(r"^[0-9a-f]{64}$")


def check_name(name: str) -> str:
    """`name` if a checksum line can hold it unescaped; names with newlines or backslashes cannot."""
    if not name or "\n" in name or "\r" in name or "\\" in name or name.startswith(("/", "-")):
        raise ManifestError(
            f"cannot list {name!r} in {SUMS_NAME}: the name holds a character checksum tools would escape",
            hint="rename the artifact (release artifact names are plain ASCII without backslashes or newlines)",
        )
    return name


def sums_line(sha256: str, name: str) -> str:
    """One line of a checksum file."""
    if not _HEX.match(sha256):
        raise ManifestError(f"{sha256!r} is not a lowercase SHA-256 hex digest (for {name})")
    return f"{sha256}  {check_name(name)}\n"


def render_sums(digests: Mapping[str, str]) -> str:
    """The whole SHA256SUMS text for {name: sha256}, sorted by name."""
    return "".join(sums_line(digests[name], name) for name in sorted(digests))


def parse_sums(text: str, source: str = SUMS_NAME) -> dict[str, str]:
    """{name: sha256} from checksum-file text; a malformed line is an error naming it."""
    digests: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        if not match:
            raise ManifestError(f"{source}, line {number} is not `<sha256>  <file>`: {line[:80]!r}")
        name = match["name"]
        if name in digests:
            raise ManifestError(f"{source} lists {name} twice (line {number})")
        digests[name] = match["hash"].lower()
    return digests


def sidecar_name(name: str) -> str:
    """The `.sha256` file that sits beside `name`."""
    return name + SUFFIX


def write_sidecar(artifact: Path, sha256: str) -> Path:
    """`<artifact>.sha256` with one line naming the artifact by its file name."""
    path = artifact.with_name(sidecar_name(artifact.name))
    write_atomic(path, sums_line(sha256, artifact.name))
    return path


def write_sums(folder: Path, digests: Iterable[tuple[str, str]]) -> Path:
    """folder/SHA256SUMS for (name, sha256) pairs, names relative to `folder`."""
    path = folder / SUMS_NAME
    write_atomic(path, render_sums(dict(digests)))
    return path

"""Check a finished dist/ against its manifest, SHA256SUMS, `.sha256` files and signatures.

`find_problems` is pure: given the manifest, what is on disk (size and hash
of every file) and the checksum files' contents, it lists every missing,
changed, extra or unlisted file. `check_dist` measures the disk (hashing in
parallel, streamed) and adds signature checks with the real gpg and minisign.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tooling import manifest
from tooling.artifacts import checksum, sign
from tooling.errors import ManifestError, VerificationError
from tooling.manifest import Manifest
from tooling.plan import PLAN_NAME


@dataclass(frozen=True)
class FileFacts:
    size: int
    sha256: str


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def is_bookkeeping(path: str) -> bool:
    """manifest.json files and plan.json describe dist/; they are not artifacts themselves."""
    return path in (manifest.MANIFEST_NAME, PLAN_NAME) or path.endswith("/" + manifest.MANIFEST_NAME)


def find_problems(
    record: Manifest,
    on_disk: Mapping[str, FileFacts],
    checksum_files: Mapping[str, str],
) -> list[Problem]:
    """Everything that disagrees between the manifest, the files and the checksum files (pure).

    on_disk: {relative path: facts} for every file under dist/.
    checksum_files: {relative path: text} of SHA256SUMS and every `.sha256` file.
    """
    problems: list[Problem] = []
    listed = {a.path: a for a in record.artifacts}
    for path, artifact in sorted(listed.items()):
        facts = on_disk.get(path)
        if facts is None:
            problems.append(Problem(path, "missing (listed in manifest.json)"))
        elif facts.sha256 != artifact.sha256:
            problems.append(
                Problem(
                    path,
                    f"content differs from manifest.json (sha256 {facts.sha256[:16]}..., expected "
                    f"{artifact.sha256[:16]}...)",
                )
            )
        elif facts.size != artifact.size:
            problems.append(Problem(path, f"size {facts.size} differs from manifest.json ({artifact.size})"))
        for signature in artifact.signatures:
            if signature not in listed:
                problems.append(Problem(signature, f"signature of {path} is not in manifest.json"))
    for path in sorted(on_disk):
        if path not in listed and not is_bookkeeping(path):
            problems.append(Problem(path, "extra file: not in manifest.json"))

    for sums_path, text in sorted(checksum_files.items()):
        folder = sums_path.rpartition("/")[0]
        try:
            entries = checksum.parse_sums(text, sums_path)
        except ManifestError as error:
            problems.append(Problem(sums_path, error.message))
            continue
        if sums_path.endswith(checksum.SUFFIX) and set(entries) != {Path(sums_path).name.removesuffix(checksum.SUFFIX)}:
            problems.append(
                Problem(sums_path, f"should list only {Path(sums_path).name.removesuffix(checksum.SUFFIX)}")
            )
        for name, expected in sorted(entries.items()):
            target = f"{folder}/{name}" if folder else name
            facts = on_disk.get(target)
            if facts is None:
                problems.append(Problem(target, f"missing (listed in {sums_path})"))
            elif facts.sha256 != expected:
                problems.append(Problem(target, f"sha256 does not match {sums_path}"))
        if Path(sums_path).name == checksum.SUMS_NAME:
            for artifact in record.artifacts:
                if artifact.kind in ("archive", "sbom") and artifact.path not in entries:
                    problems.append(Problem(artifact.path, f"not listed in {sums_path}"))
    return problems


def scan(dist: Path, jobs: int = 0) -> dict[str, FileFacts]:
    """Size and streamed SHA-256 of every file under `dist`, hashed in parallel."""
    files = sorted(p for p in dist.rglob("*") if p.is_file() or p.is_symlink())

    def measure(path: Path) -> FileFacts:
        return FileFacts(path.stat().st_size, manifest.sha256_file(path))

    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        facts = list(pool.map(measure, files))
    return {p.relative_to(dist).as_posix(): f for p, f in zip(files, facts, strict=True)}


def check_dist(dist: Path, settings: sign.SignSettings | None, *, check_signatures: bool = True) -> list[Problem]:
    """Every problem with `dist`; signatures are checked with gpg/minisign when `settings` is given."""
    path = dist / manifest.MANIFEST_NAME
    if not path.is_file():
        return [Problem(manifest.MANIFEST_NAME, "missing: nothing to verify against (run `invoke package`)")]
    record = manifest.read(path)
    on_disk = scan(dist)
    checksum_files = {
        name: (dist / name).read_text(encoding="utf-8", errors="replace")
        for name in on_disk
        if Path(name).name == checksum.SUMS_NAME or name.endswith(checksum.SUFFIX)
    }
    problems = find_problems(record, on_disk, checksum_files)
    if check_signatures and settings is not None:
        broken = {p.path for p in problems}
        for artifact in record.artifacts:
            if artifact.kind != "signature" or artifact.path in broken:
                continue
            signed = str(artifact.facts.get("signs", ""))
            if not signed or signed in broken or signed not in on_disk:
                continue
            why = sign.verify_signature(settings, dist / artifact.path, dist / signed)
            if why:
                problems.append(Problem(artifact.path, why))
    return problems


def check_or_raise(dist: Path, settings: sign.SignSettings | None, *, check_signatures: bool = True) -> int:
    """check_dist, raising one VerificationError that names every bad file; the number of files checked."""
    problems = check_dist(dist, settings, check_signatures=check_signatures)
    if problems:
        raise VerificationError(
            f"{dist} does not match its manifest ({len(problems)} problem(s)):\n"
            + "\n".join(f"  {problem}" for problem in problems),
            hint="rebuild with `invoke clean package`, or find out who changed these files",
        )
    return len(manifest.read(dist / manifest.MANIFEST_NAME).artifacts)


def summarize(problems: Sequence[Problem]) -> list[list[str]]:
    """Rows for a summary table."""
    return [[p.path, p.reason] for p in problems]

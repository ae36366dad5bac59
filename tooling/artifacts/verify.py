"""Check a finished dist/ against its manifest, SHA256SUMS, `.sha256` files, archive contents and signatures.

The decisions are pure: `find_problems` compares the manifest, what is on
disk (size and hash of every file, and which entries are links) and the
checksum files' contents; `member_problems` compares an archive's entries with
what the manifest says it holds (its member list and its target's binaries);
`missing_signatures` lists every signature the configuration asks for that is
absent. `check_dist` measures the disk (hashing in parallel, streamed, never
following a link), reads each archive's entries, and checks every signature
with the real gpg and minisign against the pinned keys only.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tooling import manifest
from tooling.artifacts import archive, checksum, fence, sign
from tooling.errors import ConfigError, ManifestError, VerificationError
from tooling.layout import ANNOUNCE_DIR, LOCK_NAME, PLAN_NAME, STATE_NAME
from tooling.manifest import Artifact, Manifest

# Files at the top of dist/ that describe or guard it; they are not artifacts themselves.
BOOKKEEPING = frozenset({manifest.MANIFEST_NAME, PLAN_NAME, LOCK_NAME, STATE_NAME, fence.MARKER_NAME})
# The kinds SHA256SUMS must list: the files users download (tooling.artifacts.steps.RELEASE_KINDS).
LISTED_IN_SUMS = ("archive", "sbom", "installer")
_LINK = "symbolic link: the tool never makes links, and a link may point outside dist/"


@dataclass(frozen=True)
class FileFacts:
    size: int
    sha256: str
    link: bool = False  # a symbolic link (not followed: size and hash are empty)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def is_bookkeeping(path: str) -> bool:
    """manifest.json files, plan.json, the lock, the marker, the release state and the announcement describe dist/
    or the release; they are not artifacts themselves."""
    return path in BOOKKEEPING or path.endswith("/" + manifest.MANIFEST_NAME) or path.startswith(ANNOUNCE_DIR + "/")


def signed_files(record: Manifest) -> list[Artifact]:
    """The files a release signs: SHA256SUMS and every archive (the sign step signs these, verify expects them)."""
    return [a for a in record.artifacts if a.path == checksum.SUMS_NAME or a.kind == "archive"]


def find_problems(
    record: Manifest,
    on_disk: Mapping[str, FileFacts],
    checksum_files: Mapping[str, str],
) -> list[Problem]:
    """Everything that disagrees between the manifest, the files and the checksum files (pure).

    on_disk: {relative path: facts} for every file (and link) under dist/.
    checksum_files: {relative path: text} of SHA256SUMS and every `.sha256` file.
    """
    problems: list[Problem] = []
    listed = {a.path: a for a in record.artifacts}
    for path, artifact in sorted(listed.items()):
        facts = on_disk.get(path)
        if facts is None:
            problems.append(Problem(path, "missing (listed in manifest.json)"))
        elif facts.link:
            problems.append(Problem(path, _LINK))
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
            problems.append(Problem(path, _LINK if on_disk[path].link else "extra file: not in manifest.json"))

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
                if artifact.kind in LISTED_IN_SUMS and "/" not in artifact.path and artifact.path not in entries:
                    problems.append(Problem(artifact.path, f"not listed in {sums_path}"))
    return problems


def _recorded_members(archive_entry: Artifact) -> list[str] | None:
    files = archive_entry.facts.get("files")
    if isinstance(files, list) and all(isinstance(name, str) for name in files):
        return files
    return None


def _folders_of(names: Iterable[str]) -> set[str]:
    """Every folder the names live in ("a/b/c" -> "a", "a/b")."""
    folders: set[str] = set()
    for name in names:
        parts = name.split("/")[:-1]
        folders.update("/".join(parts[:depth]) for depth in range(1, len(parts) + 1))
    return folders


def _entry_problem(member: archive.Member) -> str | None:
    problem = fence.path_problem(member.name)
    if problem:
        return f"holds an entry {member.name!r} whose name {problem}: extracting it could write outside its folder"
    if member.kind == "link":
        return f"holds a symbolic link {member.name}: release archives hold files and folders only"
    if member.kind == "other":
        return f"holds {member.name}, which is neither a file nor a folder"
    return None


def member_problems(
    archive_entry: Artifact, members: Sequence[archive.Member], binaries: Sequence[Artifact]
) -> list[Problem]:
    """How an archive's entries disagree with the manifest (pure).

    The archive must hold exactly the files its entry's member list (facts
    "files") names, the folders they live in, and each binary of its target
    (`binaries`) as `<top folder>/<file name>` with the binary's SHA-256; no
    link, no special file, no name that climbs out of the folder.
    """
    found: list[str] = []
    recorded = _recorded_members(archive_entry)
    if recorded is None:
        found.append("manifest.json records no member list for it")
        recorded = []
    files: dict[str, archive.Member] = {}
    folders: set[str] = set()
    seen: set[str] = set()
    for member in members:
        if member.name in seen:
            found.append(f"holds {member.name} twice")
        seen.add(member.name)
        problem = _entry_problem(member)
        if problem:
            found.append(problem)
        elif member.kind == "file":
            files[member.name] = member
        else:
            folders.add(member.name)
    found += [f"holds {name}, which manifest.json does not list" for name in sorted(set(files) - set(recorded))]
    found += [f"lacks {name}, which manifest.json lists" for name in sorted(set(recorded) - set(files))]
    found += [f"holds a folder {name}/ no listed file lives in" for name in sorted(folders - _folders_of(recorded))]
    fmt = archive.format_of(archive_entry.path)
    top = archive_entry.path.removesuffix(f".{fmt}") if fmt else archive_entry.path
    for binary in binaries:
        name = f"{top}/{binary.path.rpartition('/')[2]}"
        stored = files.get(name)
        if stored is None:
            found.append(f"lacks the binary {name} (manifest.json lists {binary.path} for {binary.target})")
        elif stored.sha256 != binary.sha256:
            found.append(
                f"its {name} is not {binary.path} (sha256 {stored.sha256[:16]}..., expected {binary.sha256[:16]}...)"
            )
    return [Problem(archive_entry.path, reason) for reason in found]


def missing_signatures(record: Manifest, on_disk: Mapping[str, FileFacts], backends: Sequence[str]) -> list[Problem]:
    """Every signature the configured backends require that is absent or unrecorded (pure).

    A signed release has SHA256SUMS, and SHA256SUMS and every archive carry a
    signature of each backend, recorded in manifest.json.
    """
    if not backends:
        return []
    problems = []
    if all(a.path != checksum.SUMS_NAME for a in record.artifacts):
        problems.append(
            Problem(checksum.SUMS_NAME, "missing: a signed release has SHA256SUMS (its signature covers every hash)")
        )
    listed = {a.path for a in record.artifacts}
    for artifact in signed_files(record):
        for backend in backends:
            name = sign.signature_name(artifact.path, backend)
            if name not in on_disk:
                problems.append(
                    Problem(name, f"missing: {artifact.path} must carry a {backend} signature (tool.release.sign)")
                )
            elif name not in listed or name not in artifact.signatures:
                problems.append(Problem(name, f"not recorded in manifest.json as a signature of {artifact.path}"))
    return problems


def signature_pairs(record: Manifest, backends: Sequence[str]) -> list[tuple[str, str]]:
    """(signature, signed file) for every signature the manifest records or the backends require (pure)."""
    pairs: set[tuple[str, str]] = set()
    for artifact in record.artifacts:
        pairs.update((signature, artifact.path) for signature in artifact.signatures)
        if artifact.kind == "signature":
            signs = artifact.facts.get("signs")
            pairs.add((artifact.path, signs if isinstance(signs, str) else ""))
    for artifact in signed_files(record):
        pairs.update((sign.signature_name(artifact.path, backend), artifact.path) for backend in backends)
    return sorted(pairs)


# --- effects: measuring dist/ and running the verifiers --------------------------------------


def scan(dist: Path, jobs: int = 0) -> dict[str, FileFacts]:
    """Size and streamed SHA-256 of every file under `dist`, hashed in parallel; links are listed, not followed."""
    files: list[Path] = []
    links: list[Path] = []
    for folder, folders, names in os.walk(dist):  # os.walk does not descend into linked folders
        for name in [*names, *folders]:
            path = Path(folder, name)
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                links.append(path)
            elif stat.S_ISREG(mode):
                files.append(path)

    def measure(path: Path) -> FileFacts:
        return FileFacts(path.stat().st_size, manifest.sha256_file(path))

    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        facts = list(pool.map(measure, files))
    found = {p.relative_to(dist).as_posix(): f for p, f in zip(files, facts, strict=True)}
    found.update({p.relative_to(dist).as_posix(): FileFacts(0, "", link=True) for p in links})
    return dict(sorted(found.items()))


def _archive_problems(
    dist: Path, record: Manifest, on_disk: Mapping[str, FileFacts], broken: set[str]
) -> list[Problem]:
    """member_problems of every archive whose file is intact (a changed one is already reported)."""
    problems = []
    for entry in record.artifacts:
        if entry.kind != "archive" or entry.path in broken or entry.path not in on_disk:
            continue
        try:
            members = archive.read_members(dist / entry.path)
        except VerificationError as error:
            problems.append(Problem(entry.path, error.message))
            continue
        binaries = [a for a in record.artifacts if a.kind == "binary" and a.target == entry.target]
        problems += member_problems(entry, members, binaries)
    return problems


def require_verifiers(settings: sign.SignSettings) -> None:
    """ConfigError when a configured signer's signatures cannot be checked against a pinned key."""
    for backend in settings.backends:
        problem = sign.verifier_problem(settings, backend)
        if problem:
            raise ConfigError(
                problem,
                hint="pin the release keys in [tool.release.sign] (docs/artifacts.md, Signatures), or skip the "
                "signature check (invoke verify --no-signatures, invoke package --no-verify-signatures)",
            )


def check_dist(dist: Path, settings: sign.SignSettings | None, *, check_signatures: bool = True) -> list[Problem]:
    """Every problem with `dist`; signatures are checked with gpg/minisign when `settings` is given.

    Every signature the configured backends require must exist and verify
    with a pinned key (see sign.verify_signature).
    """
    path = dist / manifest.MANIFEST_NAME
    if not path.is_file():
        return [Problem(manifest.MANIFEST_NAME, "missing: nothing to verify against (run `invoke package`)")]
    signing = settings if check_signatures else None
    if signing is not None:
        require_verifiers(signing)
    record = manifest.read(path)
    on_disk = scan(dist)
    checksum_files = {
        name: (dist / name).read_text(encoding="utf-8", errors="replace")
        for name, facts in on_disk.items()
        if not facts.link and (Path(name).name == checksum.SUMS_NAME or name.endswith(checksum.SUFFIX))
    }
    problems = find_problems(record, on_disk, checksum_files)
    problems += _archive_problems(dist, record, on_disk, {p.path for p in problems})
    if signing is None:
        return problems
    problems += missing_signatures(record, on_disk, signing.backends)
    broken = {p.path for p in problems}
    for signature, signed in signature_pairs(record, signing.backends):
        if {signature, signed} & broken or signature not in on_disk:
            continue  # already reported: missing, changed, a link, or unrecorded
        if signed not in on_disk:
            problems.append(Problem(signature, f"signs {signed!r}, which is not a file in dist/"))
            continue
        why = sign.verify_signature(signing, dist / signature, dist / signed)
        if why:
            problems.append(Problem(signature, why))
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

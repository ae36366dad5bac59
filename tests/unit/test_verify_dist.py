"""Dist verification: every corrupted, missing, extra or unlisted file, every wrong archive entry, every
absent or untrusted signature is found and named."""

from __future__ import annotations

import hashlib
import tarfile
import zipfile
from pathlib import Path

import pytest

from tooling import manifest
from tooling.artifacts import archive, checksum, fence, sign, verify
from tooling.artifacts.verify import Problem
from tooling.errors import ConfigError, VerificationError
from tooling.manifest import Artifact, Manifest
from tooling.plan import LOCK_NAME
from tooling.targets import get_target

TRIPLE = "x86_64-unknown-linux-gnu"
ARCHIVE_NAME = f"tool-1.0.0-{TRIPLE}.tar.gz"
TOP = f"tool-1.0.0-{TRIPLE}"
LINK = "symbolic link: the tool never makes links, and a link may point outside dist/"
PINNED = "0123456789ABCDEF0123456789ABCDEF01234567"
STRANGER = "FEDCBA9876543210FEDCBA9876543210FEDCBA98"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


ARCHIVE = b"archive bytes"
SBOM = b"{}"
BINARY = b"\x7fELF binary bytes"


def release() -> tuple[Manifest, dict[str, verify.FileFacts], dict[str, str]]:
    """A consistent dist: one archive, an SBOM, their sidecars and SHA256SUMS."""
    record = Manifest("tool", "1.0.0")
    files = {ARCHIVE_NAME: ARCHIVE, "tool-1.0.0.cdx.json": SBOM}
    kinds = {ARCHIVE_NAME: "archive", "tool-1.0.0.cdx.json": "sbom"}
    texts = {}
    for name, data in list(files.items()):
        record.add(Artifact(name, kinds[name], None, len(data), sha(data), kinds[name]))
        texts[name + ".sha256"] = checksum.sums_line(sha(data), name)
    texts["SHA256SUMS"] = checksum.render_sums({n: sha(d) for n, d in files.items()})
    for name, text in texts.items():
        files[name] = text.encode()
        record.add(Artifact(name, "checksum", None, len(text), sha(text.encode()), "checksum"))
    on_disk = {name: verify.FileFacts(len(data), sha(data)) for name, data in files.items()}
    return record, on_disk, texts


def test_a_consistent_dist_has_no_problems() -> None:
    assert verify.find_problems(*release()) == []


def test_a_flipped_byte_names_the_file() -> None:
    record, on_disk, texts = release()
    on_disk[ARCHIVE_NAME] = verify.FileFacts(len(ARCHIVE), sha(b"Archive bytes"))
    problems = verify.find_problems(record, on_disk, texts)
    assert {p.path for p in problems} == {ARCHIVE_NAME}
    assert any("manifest.json" in p.reason for p in problems)
    assert any("SHA256SUMS" in p.reason for p in problems)
    assert any(".sha256" in p.reason for p in problems)


def test_missing_and_extra_files_are_named() -> None:
    record, on_disk, texts = release()
    del on_disk["tool-1.0.0.cdx.json"]
    on_disk["sneaky.exe"] = verify.FileFacts(1, sha(b"x"))
    on_disk["x86_64-unknown-linux-gnu/manifest.json"] = verify.FileFacts(1, sha(b"y"))  # bookkeeping: fine
    problems = verify.find_problems(record, on_disk, texts)
    reasons = {p.path: p.reason for p in problems}
    assert reasons["tool-1.0.0.cdx.json"].startswith("missing")
    assert reasons["sneaky.exe"].startswith("extra file")
    assert "x86_64-unknown-linux-gnu/manifest.json" not in reasons


def test_the_marker_and_the_lock_are_bookkeeping_not_extra_files() -> None:
    record, on_disk, texts = release()
    for name in (fence.MARKER_NAME, LOCK_NAME, "plan.json", "manifest.json"):
        on_disk[name] = verify.FileFacts(1, sha(b"z"))
    assert verify.find_problems(record, on_disk, texts) == []
    on_disk[f"{TRIPLE}/{LOCK_NAME}"] = verify.FileFacts(1, sha(b"z"))  # only dist/'s own lock is bookkeeping
    assert [p.path for p in verify.find_problems(record, on_disk, texts)] == [f"{TRIPLE}/{LOCK_NAME}"]


def test_a_link_is_reported_never_hashed() -> None:
    record, on_disk, texts = release()
    on_disk[ARCHIVE_NAME] = verify.FileFacts(0, "", link=True)
    on_disk["elsewhere"] = verify.FileFacts(0, "", link=True)
    found = verify.find_problems(record, on_disk, texts)
    assert Problem(ARCHIVE_NAME, LINK) in found
    assert Problem("elsewhere", LINK) in found


def test_an_archive_left_out_of_sha256sums_is_reported() -> None:
    record, on_disk, texts = release()
    texts["SHA256SUMS"] = checksum.render_sums({"tool-1.0.0.cdx.json": sha(SBOM)})
    on_disk["SHA256SUMS"] = verify.FileFacts(len(texts["SHA256SUMS"]), sha(texts["SHA256SUMS"].encode()))
    record.add(
        Artifact("SHA256SUMS", "checksum", None, len(texts["SHA256SUMS"]), on_disk["SHA256SUMS"].sha256, "checksum")
    )
    problems = verify.find_problems(record, on_disk, texts)
    assert [(p.path, p.reason) for p in problems] == [(ARCHIVE_NAME, "not listed in SHA256SUMS")]


def test_a_signature_named_by_an_artifact_must_be_recorded() -> None:
    record, on_disk, texts = release()
    sums = next(a for a in record.artifacts if a.path == "SHA256SUMS")
    record.add(Artifact(**{**sums.__dict__, "signatures": ("SHA256SUMS.asc",)}))
    problems = verify.find_problems(record, on_disk, texts)
    assert [p.path for p in problems] == ["SHA256SUMS.asc"]


# --- archive entries ----------------------------------------------------------------------


def archive_entry(files: list[str]) -> Artifact:
    return Artifact(ARCHIVE_NAME, "archive", TRIPLE, 1, sha(b"a"), "archive", facts={"files": files})


BINARY_ENTRY = Artifact(f"{TRIPLE}/tool", "binary", TRIPLE, len(BINARY), sha(BINARY), "build")
LISTED = [f"{TOP}/LICENSE", f"{TOP}/tool"]


def members(*extra: archive.Member, binary: bytes = BINARY) -> list[archive.Member]:
    return [
        archive.Member(TOP, "dir", 0, ""),
        archive.Member(f"{TOP}/LICENSE", "file", 3, sha(b"MIT")),
        archive.Member(f"{TOP}/tool", "file", len(binary), sha(binary)),
        *extra,
    ]


def reasons(found: list[verify.Problem]) -> list[str]:
    assert {p.path for p in found} <= {ARCHIVE_NAME}
    return [p.reason for p in found]


def test_an_archive_holding_what_the_manifest_says_passes() -> None:
    assert verify.member_problems(archive_entry(LISTED), members(), [BINARY_ENTRY]) == []


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (members(archive.Member(f"{TOP}/install.sh", "file", 9, sha(b"#!/bin/sh"))), "holds {top}/install.sh, which"),
        (members()[:2], "lacks the binary {top}/tool"),
        (members(binary=b"#!/bin/sh\nrm -rf ~\n"), "its {top}/tool is not x86_64-unknown-linux-gnu/tool"),
        (members(archive.Member(f"{TOP}/lib", "link", 0, "")), "holds a symbolic link {top}/lib"),
        (members(archive.Member("../evil", "file", 1, sha(b"x"))), "holds an entry '../evil' whose name climbs out"),
        (members(archive.Member("/etc/evil", "file", 1, sha(b"x"))), "whose name is absolute"),
        (members(archive.Member(f"{TOP}/tool", "file", 1, sha(b"x"))), "holds {top}/tool twice"),
        (members(archive.Member(f"{TOP}/extra", "dir", 0, "")), "holds a folder {top}/extra/"),
        (members(archive.Member(f"{TOP}/fifo", "other", 0, "")), "neither a file nor a folder"),
    ],
)
def test_archive_entries_that_disagree_are_named(stored: list[archive.Member], expected: str) -> None:
    found = reasons(verify.member_problems(archive_entry(LISTED), stored, [BINARY_ENTRY]))
    assert any(expected.format(top=TOP) in reason for reason in found), found


def test_a_member_list_that_the_manifest_lacks_is_a_problem() -> None:
    entry = Artifact(ARCHIVE_NAME, "archive", TRIPLE, 1, sha(b"a"), "archive")
    found = reasons(verify.member_problems(entry, members(), [BINARY_ENTRY]))
    assert "manifest.json records no member list for it" in found


@pytest.mark.parametrize("fmt", ["tar.gz", "tar.xz", "tar.zst", "zip"])
def test_members_are_read_back_from_every_format(tmp_path: Path, fmt: str) -> None:
    binary = tmp_path / "bin" / "tool"
    binary.parent.mkdir()
    binary.write_bytes(BINARY)
    (tmp_path / "LICENSE").write_text("MIT")
    plan = archive.plan_archive(
        name="tool",
        version="1.0.0",
        target=get_target(TRIPLE),
        fmt=fmt,
        binaries=[binary],
        extra_files=[tmp_path / "LICENSE"],
        extra_base=tmp_path,
    )
    written = archive.write_archive(plan, tmp_path / plan.file_name, epoch=1_700_000_000)
    stored = archive.read_members(written.path)
    assert stored == members()
    entry = Artifact(
        plan.file_name, "archive", TRIPLE, written.size, written.sha256, "archive", facts={"files": LISTED}
    )
    assert verify.member_problems(entry, stored, [BINARY_ENTRY]) == []


def test_a_script_in_place_of_an_archive_is_unreadable(tmp_path: Path) -> None:
    for name in (ARCHIVE_NAME, "tool.zip", "tool.tar.xz", "tool.tar.zst"):
        (tmp_path / name).write_text("#!/bin/sh\necho pwned\n")
        with pytest.raises(VerificationError, match=r"is not a readable .* archive"):
            archive.read_members(tmp_path / name)


def test_links_in_tar_and_zip_archives_are_seen(tmp_path: Path) -> None:
    with tarfile.open(tmp_path / "a.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("top/link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    assert archive.read_members(tmp_path / "a.tar.gz") == [archive.Member("top/link", "link", 0, "")]
    with zipfile.ZipFile(tmp_path / "a.zip", "w") as zipped:
        info = zipfile.ZipInfo("top/link")
        info.external_attr = 0o120777 << 16
        zipped.writestr(info, "/etc/passwd")
    assert [m.kind for m in archive.read_members(tmp_path / "a.zip")] == ["link"]


# --- signatures --------------------------------------------------------------------------


def signed_release(backends: tuple[str, ...]) -> tuple[Manifest, dict[str, verify.FileFacts]]:
    """release() with the signatures of `backends` for SHA256SUMS and the archive, on disk and recorded."""
    record, on_disk, _ = release()
    for artifact in list(verify.signed_files(record)):
        names = tuple(sign.signature_name(artifact.path, b) for b in backends)
        record.add(Artifact(**{**artifact.__dict__, "signatures": names}))
        for name in names:
            record.add(Artifact(name, "signature", None, 1, sha(b"s"), "sign", facts={"signs": artifact.path}))
            on_disk[name] = verify.FileFacts(1, sha(b"s"))
    return record, on_disk


def test_signed_files_are_sha256sums_and_every_archive() -> None:
    record, _, _ = release()
    assert [a.path for a in verify.signed_files(record)] == ["SHA256SUMS", ARCHIVE_NAME]


def test_every_configured_signature_must_exist() -> None:
    record, on_disk = signed_release(("minisign",))
    assert verify.missing_signatures(record, on_disk, ("minisign",)) == []
    found = {p.path: p.reason for p in verify.missing_signatures(record, on_disk, ("gpg", "minisign"))}
    assert set(found) == {"SHA256SUMS.asc", f"{ARCHIVE_NAME}.asc"}
    assert found["SHA256SUMS.asc"].startswith("missing: SHA256SUMS must carry a gpg signature")
    del on_disk["SHA256SUMS.minisig"]
    assert [p.path for p in verify.missing_signatures(record, on_disk, ("minisign",))] == ["SHA256SUMS.minisig"]
    assert verify.missing_signatures(record, on_disk, ()) == []  # unsigned: nothing is required


def test_a_release_without_sha256sums_cannot_be_signed_complete() -> None:
    record, on_disk = signed_release(("minisign",))
    record.artifacts = [a for a in record.artifacts if not a.path.startswith("SHA256SUMS")]
    paths = [p.path for p in verify.missing_signatures(record, on_disk, ("minisign",))]
    assert paths == ["SHA256SUMS"]


def test_a_signature_on_disk_but_not_recorded_for_its_file_is_named() -> None:
    record, on_disk = signed_release(("minisign",))
    sums = next(a for a in record.artifacts if a.path == "SHA256SUMS")
    record.add(Artifact(**{**sums.__dict__, "signatures": ()}))
    found = verify.missing_signatures(record, on_disk, ("minisign",))
    assert [(p.path, p.reason) for p in found] == [
        ("SHA256SUMS.minisig", "not recorded in manifest.json as a signature of SHA256SUMS")
    ]


def test_signature_pairs_cover_recorded_and_required_signatures() -> None:
    record, _ = signed_release(("minisign",))
    record.add(Artifact("odd.asc", "signature", None, 1, sha(b"s"), "sign", facts={"signs": "../outside"}))
    pairs = verify.signature_pairs(record, ("gpg", "minisign"))
    assert ("SHA256SUMS.minisig", "SHA256SUMS") in pairs
    assert ("SHA256SUMS.asc", "SHA256SUMS") in pairs  # required, whether recorded or not
    assert ("odd.asc", "../outside") in pairs  # check_dist reports it: it signs nothing in dist/


def test_gpg_status_lines_are_read() -> None:
    status = sign.parse_gpg_status(
        "[GNUPG:] NEWSIG\n"
        f"[GNUPG:] GOODSIG 89ABCDEF01234567 Release <r@example.invalid>\n"
        f"[GNUPG:] VALIDSIG {STRANGER} 2024-01-01 1704067200 0 4 0 22 10 00 {PINNED}\n"
        "[GNUPG:] ERRSIG 1111222233334444 22 10 00 1704067200 9 AAAABBBBCCCCDDDDEEEEFFFF0000111122223333\n"
        "[GNUPG:] BADSIG 5555666677778888 Mallory\n"
    )
    assert status.valid == ((STRANGER, PINNED),)
    assert status.unknown == ("AAAABBBBCCCCDDDDEEEEFFFF0000111122223333",)
    assert status.bad == ("5555666677778888",)


def validsig(signing: str, primary: str) -> str:
    return f"[GNUPG:] VALIDSIG {signing} 2024-01-01 1704067200 0 4 0 22 10 00 {primary}\n"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (validsig(PINNED, PINNED), None),
        (validsig(STRANGER, PINNED), None),  # a signing subkey of the pinned primary key
        (validsig(STRANGER, STRANGER), f"signed by key {STRANGER}, which is not pinned (trusted: {PINNED})"),
        (validsig(PINNED, PINNED) + validsig(STRANGER, STRANGER), f"signed by key {STRANGER}, which is not pinned"),
        ("[GNUPG:] BADSIG 89ABCDEF01234567 Release\n", "bad GPG signature by key 89ABCDEF01234567"),
        ("[GNUPG:] REVKEYSIG 89ABCDEF01234567 Release\n" + validsig(PINNED, PINNED), "which is revoked"),
        ("[GNUPG:] ERRSIG 89ABCDEF01234567 22 10 00 1704067200 9 -\n", "not in the keyring"),
        ("", "gpg found no valid signature"),
    ],
)
def test_gpg_trusts_only_a_pinned_key(status: str, expected: str | None) -> None:
    verdict = sign.gpg_verdict(sign.parse_gpg_status(status), (PINNED,), "SHA256SUMS.asc")
    if expected is None:
        assert verdict is None
    else:
        assert verdict is not None and verdict.startswith("SHA256SUMS.asc: ") and expected in verdict


def test_the_verify_command_asks_gpg_for_status_lines() -> None:
    argv = sign.gpg_verify_argv("gpg", Path("a.asc"), Path("a"))
    assert argv[argv.index("--status-fd") + 1] == "1"


def test_pinned_fingerprints_come_from_config_else_a_full_signing_fingerprint(tmp_path: Path) -> None:
    spaced = " ".join(PINNED[i : i + 4] for i in range(0, 40, 4))
    pinned = sign.sign_settings({"gpg-fingerprints": [spaced.lower()], "gpg-key": "r@example.invalid"}, {}, tmp_path)
    assert pinned.gpg_fingerprints == (PINNED,)
    from_key = sign.sign_settings({}, {sign.GPG_KEY_ENV: PINNED}, tmp_path)
    assert from_key.gpg_fingerprints == (PINNED,)
    # A key id or an e-mail names whatever the keyring holds: it pins nothing.
    assert sign.sign_settings({"gpg-key": "r@example.invalid"}, {}, tmp_path).gpg_fingerprints == ()
    assert sign.sign_settings({"gpg-key": PINNED[-16:]}, {}, tmp_path).gpg_fingerprints == ()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"gpg-fingerprints": PINNED}, "tool.release.sign.gpg-fingerprints must be a list"),
        ({"gpg-fingerprints": [PINNED[:-1]]}, "is not a full fingerprint"),
        ({"gpg-fingerprints": ["releases@example.invalid"]}, "is not a full fingerprint"),
    ],
)
def test_bad_pins_are_config_errors(tmp_path: Path, table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        sign.sign_settings(table, {}, tmp_path)


def test_verify_refuses_to_check_signatures_against_nothing(tmp_path: Path) -> None:
    unpinned = sign.SignSettings(backends=("gpg",), gpg_key="r@example.invalid", gpg_program="gpg", minisign_key="")
    with pytest.raises(ConfigError, match="no GPG fingerprint is pinned") as caught:
        verify.require_verifiers(unpinned)
    assert "--no-signatures" in str(caught.value.hint)
    no_public_key = sign.SignSettings(backends=("minisign",), gpg_key="", gpg_program="gpg", minisign_key="")
    with pytest.raises(ConfigError, match="no minisign public key"):
        verify.require_verifiers(no_public_key)
    absent = sign.SignSettings(
        backends=("minisign",),
        gpg_key="",
        gpg_program="gpg",
        minisign_key="",
        minisign_public_key=str(tmp_path / "gone.pub"),
    )
    with pytest.raises(ConfigError, match=r"gone\.pub does not exist"):
        verify.require_verifiers(absent)


# --- on disk ------------------------------------------------------------------------------


def write_release(folder: Path) -> Manifest:
    """A real, consistent dist/ (one tar.gz with a binary, its target folder, an SBOM, the checksum files)."""
    target = get_target(TRIPLE)
    binary = folder / TRIPLE / "tool"
    binary.parent.mkdir(parents=True)
    binary.write_bytes(BINARY)
    source = folder.parent / "crate"
    source.mkdir()
    (source / "LICENSE").write_text("MIT")
    plan = archive.plan_archive(
        name="tool",
        version="1.0.0",
        target=target,
        fmt="tar.gz",
        binaries=[binary],
        extra_files=[source / "LICENSE"],
        extra_base=source,
    )
    written = archive.write_archive(plan, folder / plan.file_name, epoch=1_700_000_000)
    (folder / "tool-1.0.0.cdx.json").write_bytes(SBOM)
    record = Manifest("tool", "1.0.0")
    record.add(manifest.describe_file(folder, binary, kind="binary", target=TRIPLE, step="build"))
    record.add(
        Artifact(plan.file_name, "archive", TRIPLE, written.size, written.sha256, "archive", facts={"files": LISTED})
    )
    record.add(manifest.describe_file(folder, folder / "tool-1.0.0.cdx.json", kind="sbom", target=None, step="sbom"))
    assets = [a for a in record.artifacts if a.kind in ("archive", "sbom")]
    for asset in assets:
        sidecar = checksum.write_sidecar(folder / asset.path, asset.sha256)
        record.add(manifest.describe_file(folder, sidecar, kind="checksum", target=asset.target, step="checksum"))
    sums = checksum.write_sums(folder, ((a.path, a.sha256) for a in assets))
    record.add(manifest.describe_file(folder, sums, kind="checksum", target=None, step="checksum"))
    manifest.write(folder / manifest.MANIFEST_NAME, record)
    return record


def test_check_dist_on_disk_raises_one_error_naming_each_bad_file(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    record = write_release(dist)
    assert verify.check_or_raise(dist, None) == len(record.artifacts)

    corrupted = dist / ARCHIVE_NAME
    data = bytearray(corrupted.read_bytes())
    data[3] ^= 0xFF
    corrupted.write_bytes(bytes(data))
    (dist / "leftover.tmp").write_bytes(b"")
    with pytest.raises(VerificationError) as caught:
        verify.check_or_raise(dist, None)
    assert corrupted.name in str(caught.value)
    assert "leftover.tmp" in str(caught.value)


def test_check_dist_reads_each_archive_and_requires_configured_signatures(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    write_release(dist)
    public_key = tmp_path / "minisign.pub"
    public_key.write_text("untrusted comment: minisign public key\nRWQ=\n")
    settings = sign.SignSettings(
        backends=("minisign",), gpg_key="", gpg_program="gpg", minisign_key="", minisign_public_key=str(public_key)
    )
    problems = {p.path: p.reason for p in verify.check_dist(dist, settings)}
    assert set(problems) == {"SHA256SUMS.minisig", f"{ARCHIVE_NAME}.minisig"}
    assert verify.check_dist(dist, settings, check_signatures=False) == []


def test_check_dist_names_an_archive_that_lacks_its_binary(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    record = write_release(dist)
    binary = next(a for a in record.artifacts if a.kind == "binary")
    record.add(Artifact(**{**binary.__dict__, "sha256": sha(b"another build"), "size": 13}))
    (dist / binary.path).write_bytes(b"another build")
    manifest.write(dist / manifest.MANIFEST_NAME, record)
    problems = verify.check_dist(dist, None)
    assert [str(p) for p in problems] == [
        f"{ARCHIVE_NAME}: its {TOP}/tool is not {TRIPLE}/tool (sha256 {sha(BINARY)[:16]}..., "
        f"expected {sha(b'another build')[:16]}...)"
    ]


def test_check_dist_lists_links_without_following_them(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    write_release(dist)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("x")
    (dist / "folder-link").symlink_to(outside)
    problems = {p.path: p.reason for p in verify.check_dist(dist, None)}
    assert problems == {"folder-link": LINK}


def test_no_manifest_is_a_problem(tmp_path: Path) -> None:
    assert [p.path for p in verify.check_dist(tmp_path, None)] == ["manifest.json"]

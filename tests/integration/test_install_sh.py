"""install.sh run for real under dash, bash and busybox sh against a local server holding real release archives.

The release is the one `invoke package` made (the session fixture
`package_dist`): its manifest gives the archives, a local HTTP server serves
them and SHA256SUMS from a folder laid out like the release's download folder
(`/<tag>/<file>`), and install.sh is rendered for URLs on that server. What
a user relies on: the script passes `shellcheck -s sh`; it installs the build
for the machine (the static musl one; the aarch64 one when `uname -m` says so,
which then runs under qemu) and the installed program runs; and a tampered
archive, a missing release, an archive member leaving its folder, an
unsupported system or a bad signature stop it with a message and a non-zero
status before anything is installed.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import io
import os
import shutil
import ssl
import stat
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool
from tests.integration.signing_keys import make_minisign_keys
from tests.packager_fixtures import fixture_release
from tooling import manifest
from tooling.artifacts.checksum import SUMS_NAME, parse_sums
from tooling.config import load_config
from tooling.packagers.base import Release
from tooling.packagers.release import archives_of, release_from
from tooling.publish import installers

pytestmark = pytest.mark.integration

NAME = "crcsum"
SHELLS = {"dash": ("dash",), "bash": ("bash",), "busybox": ("busybox", "sh")}
MUSL_X86_64 = "x86_64-unknown-linux-musl"
SIGNATURE = installers.SIGNATURE_NAME
ELF_MACHINE_AARCH64 = 183


# --- the release on a local server -----------------------------------------------------------------


@pytest.fixture(scope="module")
def dist(package_dist: Path) -> Path:
    return package_dist


class Server:
    """A local HTTP server over `root`, the folder that plays the release host."""

    def __init__(self, root: Path) -> None:
        self.root = root
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def folder(self, name: str) -> tuple[Path, str]:
        """A new download folder on the server (a mirror): its path and its URL."""
        path = self.root / name
        path.mkdir(parents=True)
        return path, f"{self.url}/{name}"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("www"))
    yield running
    running.close()


def copy_release_files(dist: Path, into: Path) -> None:
    """The files users download (what SHA256SUMS lists, and SHA256SUMS) from dist/ into a download folder."""
    into.mkdir(parents=True, exist_ok=True)
    sums = dist / SUMS_NAME
    for name in [*parse_sums(sums.read_text(encoding="utf-8")), SUMS_NAME]:
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(dist / name, into / name)


@pytest.fixture(scope="module")
def release(dist: Path, server: Server) -> Release:
    """The packaged release, downloaded from `<server>/<tag>/<file>` (the folder holds its files)."""
    config = load_config(ROOT)
    record = manifest.read(dist / "manifest.json")
    base = release_from(config, record, 0)
    copy_release_files(dist, server.root / base.tag)
    template = server.url + "/{tag}/{file}"
    return dataclasses.replace(
        base,
        archives=archives_of(record, template, base.tag, base.repository),
        sums_url=f"{server.url}/{base.tag}/{SUMS_NAME}",
    )


@pytest.fixture(scope="module")
def script(release: Release, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("script") / "install.sh"
    path.write_bytes(installers.render_install_sh(release))
    return path


# --- running the script ----------------------------------------------------------------------------


@dataclasses.dataclass
class Sandbox:
    """A home, a temporary folder and a destination of one run, and the PATH it sees."""

    root: Path

    def __post_init__(self) -> None:
        for folder in (self.home, self.tmp, self.shims):
            folder.mkdir(parents=True, exist_ok=True)
        self.path = f"{self.shims}:{os.environ.get('PATH', '/usr/bin:/bin')}"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def shims(self) -> Path:
        return self.root / "shims"

    @property
    def dest(self) -> Path:
        return self.root / "dest"

    def shim(self, name: str, body: str) -> None:
        """A command `name` in front of PATH, a sh script with `body`."""
        path = self.shims / name
        path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
        path.chmod(0o755)

    def fake_uname(self, *, kernel: str = "", machine: str = "") -> None:
        real = shutil.which("uname") or "/usr/bin/uname"
        cases = ""
        if kernel:
            cases += f"    -s) echo {kernel} ;;\n"
        if machine:
            cases += f"    -m) echo {machine} ;;\n"
        self.shim("uname", f'case "$1" in\n{cases}    *) exec {real} "$@" ;;\nesac\n')

    def path_without(self, *names: str) -> None:
        """PATH becomes one folder linking every command of the current PATH except `names`."""
        folder = self.root / "path"
        folder.mkdir()
        for directory in os.environ.get("PATH", "").split(os.pathsep):
            if not directory or not Path(directory).is_dir():
                continue
            for entry in Path(directory).iterdir():
                link = folder / entry.name
                if entry.name in names or link.exists() or link.is_symlink():
                    continue
                if entry.is_file() and os.access(entry, os.X_OK):
                    link.symlink_to(entry)
        self.path = f"{self.shims}:{folder}"

    def busybox_only(self) -> None:
        """PATH becomes busybox's applets alone, like a minimal Alpine-style system with no curl."""
        busybox = require_tool("busybox")
        folder = self.root / "busybox"
        folder.mkdir()
        listed = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout
        for applet in listed.split():
            if "/" not in applet and applet not in ("[", "[["):
                (folder / applet).symlink_to(busybox)
        self.path = f"{self.shims}:{folder}"

    def run(
        self, script: Path, *args: str, shell: str = "dash", env: dict[str, str] | None = None, to: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """`<shell> install.sh [--to dest] args` with only this sandbox's environment."""
        argv = [require_tool(SHELLS[shell][0]), *SHELLS[shell][1:], str(script)]
        if to:
            argv += ["--to", str(self.dest)]
        environ = {"PATH": self.path, "HOME": str(self.home), "TMPDIR": str(self.tmp), "LC_ALL": "C", **(env or {})}
        return subprocess.run([*argv, *args], env=environ, capture_output=True, text=True, check=False, timeout=120)

    def nothing_installed(self) -> bool:
        """The destination holds nothing and the script left no temporary folder behind."""
        left = list(self.dest.iterdir()) if self.dest.exists() else []
        return not left and not list(self.tmp.iterdir())


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path)


def run_program(path: Path, *args: str, runner: tuple[str, ...] = ()) -> str:
    result = subprocess.run([*runner, str(path), *args], capture_output=True, text=True, check=True, timeout=60)
    return result.stdout.strip()


def assert_installed(sandbox: Sandbox, result: subprocess.CompletedProcess[str], triple: str) -> Path:
    assert result.returncode == 0, result.stderr
    assert f"({triple})" in result.stderr
    installed = sandbox.dest / NAME
    assert stat.S_IMODE(installed.stat().st_mode) == 0o755
    assert sorted(p.name for p in sandbox.dest.iterdir()) == [NAME], "only the binary, no staged copy, is left"
    assert not list(sandbox.tmp.iterdir()), "the temporary folder is removed"
    return installed


def mirror_with(server: Server, name: str, release: Release, dist: Path, file: str, content: bytes) -> str:
    """A download folder holding the release's files with `file` replaced by `content`; SHA256SUMS unchanged."""
    folder, url = server.folder(name)
    copy_release_files(dist, folder)
    (folder / file).write_bytes(content)
    return url


def relist(folder: Path, file: str) -> None:
    """Rewrite `file`'s line in folder/SHA256SUMS to its present SHA-256."""
    sums = folder / SUMS_NAME
    digest = hashlib.sha256((folder / file).read_bytes()).hexdigest()
    lines = [f"{digest}  {file}" if line.endswith("  " + file) else line for line in sums.read_text().splitlines()]
    sums.write_text("\n".join(lines) + "\n", encoding="utf-8")


def archive_of(release: Release, triple: str) -> str:
    return next(a.file for a in release.archives if a.triple == triple)


# --- the script itself ------------------------------------------------------------------------------


def test_shellcheck_finds_nothing(release: Release, tmp_path: Path) -> None:
    shellcheck = require_tool("shellcheck")
    keys = make_minisign_keys(tmp_path) if shutil.which("minisign") else None
    key_text = keys.public.read_text(encoding="utf-8") if keys else None
    for name, content in (
        ("plain.sh", installers.render_install_sh(release)),
        ("signed.sh", installers.render_install_sh(release, key_text)),
    ):
        (tmp_path / name).write_bytes(content)
        result = subprocess.run(
            [shellcheck, "-s", "sh", str(tmp_path / name)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_help_and_bad_usage(script: Path, sandbox: Sandbox, shell: str) -> None:
    shown = sandbox.run(script, "--help", shell=shell, to=False)
    assert shown.returncode == 0
    assert "--verify-signature" in shown.stdout and "--base-url" in shown.stdout
    wrong = sandbox.run(script, "--colour", shell=shell)
    assert wrong.returncode == 2 and "unknown option --colour" in wrong.stderr
    missing = sandbox.run(script, "--version", shell=shell, to=False)
    assert missing.returncode == 2 and "--version needs a value" in missing.stderr
    assert sandbox.nothing_installed()


# --- installing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_installs_the_musl_build_and_it_runs(script: Path, sandbox: Sandbox, shell: str) -> None:
    result = sandbox.run(script, shell=shell)
    installed = assert_installed(sandbox, result, MUSL_X86_64)
    assert run_program(installed, "--version") == f"crcsum 0.1.0 ({MUSL_X86_64})"
    assert "SHA-256 matches SHA256SUMS" in result.stderr
    assert "is not on your PATH" in result.stderr, "the destination is not on PATH: the user is told how to add it"


def test_no_path_hint_when_the_destination_is_on_path(script: Path, sandbox: Sandbox) -> None:
    sandbox.path = f"{sandbox.dest}:{sandbox.path}"
    result = sandbox.run(script)
    assert_installed(sandbox, result, MUSL_X86_64)
    assert "not on your PATH" not in result.stderr


def test_default_destinations(script: Path, sandbox: Sandbox) -> None:
    local = sandbox.run(script, to=False)
    assert local.returncode == 0, local.stderr
    assert (sandbox.home / ".local" / "bin" / NAME).is_file()
    cargo_home = sandbox.root / "cargo"
    absent = sandbox.run(script, "--uninstall", to=False, env={"CARGO_HOME": str(cargo_home)})
    assert absent.returncode == 0 and "removed" in absent.stderr, "CARGO_HOME that does not exist is not used"
    cargo_home.mkdir()
    cargo = sandbox.run(script, to=False, env={"CARGO_HOME": str(cargo_home)})
    assert cargo.returncode == 0, cargo.stderr
    assert (cargo_home / "bin" / NAME).is_file()


def test_replaces_an_older_binary(script: Path, sandbox: Sandbox) -> None:
    sandbox.dest.mkdir()
    (sandbox.dest / NAME).write_text("old", encoding="utf-8")
    installed = assert_installed(sandbox, sandbox.run(script), MUSL_X86_64)
    assert run_program(installed, "--version") == f"crcsum 0.1.0 ({MUSL_X86_64})"


def test_aarch64_build_runs_under_qemu(script: Path, sandbox: Sandbox) -> None:
    qemu = require_tool("qemu-aarch64", "running the installed aarch64 build")
    sandbox.fake_uname(machine="aarch64")
    installed = assert_installed(sandbox, sandbox.run(script), "aarch64-unknown-linux-musl")
    header = installed.read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == ELF_MACHINE_AARCH64
    assert run_program(installed, "--version", runner=(qemu,)) == "crcsum 0.1.0 (aarch64-unknown-linux-musl)"


def test_falls_back_to_gnu_without_a_musl_build(release: Release, sandbox: Sandbox) -> None:
    gnu_only = dataclasses.replace(release, archives=tuple(a for a in release.archives if a.libc != "musl"))
    script = sandbox.root / "install.sh"
    script.write_bytes(installers.render_install_sh(gnu_only))
    installed = assert_installed(sandbox, sandbox.run(script), "x86_64-unknown-linux-gnu")
    assert run_program(installed, "--version") == "crcsum 0.1.0 (x86_64-unknown-linux-gnu)"


def test_a_musl_system_refuses_gnu_only(release: Release, sandbox: Sandbox) -> None:
    gnu_only = dataclasses.replace(release, archives=tuple(a for a in release.archives if a.libc != "musl"))
    script = sandbox.root / "install.sh"
    script.write_bytes(installers.render_install_sh(gnu_only))
    sandbox.shim("ldd", 'echo "musl libc (x86_64)" >&2\nexit 1\n')
    result = sandbox.run(script)
    assert result.returncode == 1
    assert "no build of crcsum for linux x86_64 (musl)" in result.stderr
    assert sandbox.nothing_installed()


def test_uses_wget_when_curl_is_absent(script: Path, sandbox: Sandbox) -> None:
    require_tool("wget")
    sandbox.path_without("curl")
    result = sandbox.run(script)
    assert "downloading with wget" in result.stderr
    assert run_program(assert_installed(sandbox, result, MUSL_X86_64), "--version") == f"crcsum 0.1.0 ({MUSL_X86_64})"


def test_busybox_userland_alone(script: Path, sandbox: Sandbox) -> None:
    """busybox's sh, wget, tar, gzip and sha256sum: a minimal system without curl or coreutils."""
    sandbox.busybox_only()
    result = sandbox.run(script, shell="busybox")
    assert "downloading with wget" in result.stderr
    assert run_program(assert_installed(sandbox, result, MUSL_X86_64), "--version") == f"crcsum 0.1.0 ({MUSL_X86_64})"


@pytest.mark.parametrize(("hidden", "used"), [(("sha256sum",), "shasum"), (("sha256sum", "shasum"), "openssl")])
def test_other_sha256_tools(script: Path, sandbox: Sandbox, hidden: tuple[str, ...], used: str) -> None:
    require_tool(used)
    sandbox.path_without(*hidden)
    assert_installed(sandbox, sandbox.run(script), MUSL_X86_64)


def test_no_sha256_tool_is_refused(script: Path, sandbox: Sandbox) -> None:
    sandbox.path_without("sha256sum", "shasum", "openssl")
    result = sandbox.run(script)
    assert result.returncode == 1 and "no SHA-256 tool found" in result.stderr
    assert sandbox.nothing_installed()


def test_mirror_from_the_environment(
    script: Path, sandbox: Sandbox, server: Server, release: Release, dist: Path
) -> None:
    folder, url = server.folder("mirror-env")
    copy_release_files(dist, folder)
    result = sandbox.run(script, env={installers.base_url_env(NAME): url})
    assert f"downloading {url}/{SUMS_NAME}" in result.stderr
    assert_installed(sandbox, result, MUSL_X86_64)


# --- refusals: nothing installed -------------------------------------------------------------------------


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_tampered_archive_is_refused(
    script: Path, sandbox: Sandbox, server: Server, release: Release, dist: Path, shell: str
) -> None:
    file = archive_of(release, MUSL_X86_64)
    data = bytearray((dist / file).read_bytes())
    data[len(data) // 2] ^= 0x01
    url = mirror_with(server, f"tampered-{shell}", release, dist, file, bytes(data))
    result = sandbox.run(script, "--base-url", url, shell=shell)
    assert result.returncode == 1
    assert f"checksum mismatch for {file}" in result.stderr
    assert sandbox.nothing_installed()


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_missing_release_is_refused(script: Path, sandbox: Sandbox, shell: str) -> None:
    result = sandbox.run(script, "--version", "9.9.9", shell=shell)
    assert result.returncode == 1
    assert "cannot download" in result.stderr and "/v9.9.9/SHA256SUMS" in result.stderr
    assert sandbox.nothing_installed()


def test_missing_archive_is_refused(
    script: Path, sandbox: Sandbox, server: Server, release: Release, dist: Path
) -> None:
    folder, url = server.folder("no-musl-archive")
    copy_release_files(dist, folder)
    (folder / archive_of(release, MUSL_X86_64)).unlink()
    result = sandbox.run(script, "--base-url", url)
    assert result.returncode == 1 and f"cannot download {url}/{archive_of(release, MUSL_X86_64)}" in result.stderr
    assert sandbox.nothing_installed()


def bad_member_archive(original: Path, kind: str, outside: Path) -> bytes:
    """`original` (a .tar.gz) with one more member of `kind`."""
    buffer = io.BytesIO()
    with tarfile.open(original) as source, tarfile.open(fileobj=buffer, mode="w:gz") as target:
        top = ""
        for member in source.getmembers():
            top = top or member.name.split("/")[0]
            target.addfile(member, source.extractfile(member) if member.isfile() else None)
        payload = b"#!/bin/sh\necho owned\n"
        extra = tarfile.TarInfo(
            {
                "dotdot": f"{top}/../evil",
                "parent": "../evil",
                "absolute": str(outside),
                "outside": "elsewhere/evil",
                "symlink": f"{top}/link",
            }[kind]
        )
        if kind == "symlink":
            extra.type, extra.linkname = tarfile.SYMTYPE, str(outside.parent)
            target.addfile(extra)
        else:
            extra.size, extra.mode = len(payload), 0o755
            target.addfile(extra, io.BytesIO(payload))
    return buffer.getvalue()


# What the script says for each kind of bad member.
BAD_MEMBERS = {
    "dotdot": "which would be written outside its folder",
    "parent": "which would be written outside its folder",
    "absolute": "which would be written outside its folder",
    "outside": "outside its folder crcsum-0.1.0-x86_64-unknown-linux-musl/",
    "symlink": "holds a member that is not a file or a folder",
}


def refuses_bad_member(
    script: Path, sandbox: Sandbox, server: Server, release: Release, dist: Path, kind: str, shell: str, expected: str
) -> None:
    file = archive_of(release, MUSL_X86_64)
    outside = sandbox.root / "outside" / "evil"
    folder, url = server.folder(f"bad-{kind}-{shell}-{sandbox.root.name}")
    copy_release_files(dist, folder)
    (folder / file).write_bytes(bad_member_archive(dist / file, kind, outside))
    relist(folder, file)  # the checksum matches: only the member check stands in the way
    result = sandbox.run(script, "--base-url", url, shell=shell)
    assert result.returncode == 1, result.stderr
    assert expected in result.stderr and "refusing to install" in result.stderr
    assert sandbox.nothing_installed()
    assert not outside.exists() and not (sandbox.root.parent / "evil").exists()


@pytest.mark.parametrize("shell", sorted(SHELLS))
@pytest.mark.parametrize("kind", sorted(BAD_MEMBERS))
def test_bad_member_is_refused(
    script: Path, sandbox: Sandbox, server: Server, release: Release, dist: Path, kind: str, shell: str
) -> None:
    refuses_bad_member(script, sandbox, server, release, dist, kind, shell, BAD_MEMBERS[kind])


@pytest.mark.parametrize("kind", sorted(BAD_MEMBERS))
def test_busybox_tar_refuses_bad_members(
    script: Path, sandbox: Sandbox, server: Server, release: Release, dist: Path, kind: str
) -> None:
    """busybox's own tar lists members in its own format; the checks read it as well.

    It lists (and would extract) `top/../evil` and `/abs/evil` with the `..` and
    `/` stripped, so those are refused as lying outside the archive's folder.
    """
    sandbox.busybox_only()
    expected = "outside its folder" if kind != "symlink" else BAD_MEMBERS[kind]
    refuses_bad_member(script, sandbox, server, release, dist, kind, "busybox", expected)


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_unsupported_system_is_refused(script: Path, sandbox: Sandbox, shell: str) -> None:
    sandbox.fake_uname(kernel="FreeBSD")
    result = sandbox.run(script, shell=shell)
    assert result.returncode == 1
    assert "unsupported operating system: FreeBSD" in result.stderr
    assert "linux x86_64 (musl)" in result.stderr, "the message lists the builds the release has"
    assert sandbox.nothing_installed()


def test_unsupported_architecture_is_refused(script: Path, sandbox: Sandbox) -> None:
    sandbox.fake_uname(machine="riscv64")
    result = sandbox.run(script)
    assert result.returncode == 1 and "unsupported architecture: riscv64" in result.stderr
    assert sandbox.nothing_installed()


# --- uninstall ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_uninstall_removes_the_binaries(script: Path, sandbox: Sandbox, shell: str) -> None:
    assert_installed(sandbox, sandbox.run(script, shell=shell), MUSL_X86_64)
    removed = sandbox.run(script, "--uninstall", shell=shell)
    assert removed.returncode == 0, removed.stderr
    assert not (sandbox.dest / NAME).exists()
    again = sandbox.run(script, "--uninstall", shell=shell)
    assert again.returncode == 0 and "nothing to remove" in again.stderr


# --- minisign ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signed(
    server: Server, release: Release, dist: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, str, str]:
    """(URL of a download folder whose SHA256SUMS is signed, the signer's public key, another public key)."""
    minisign = require_tool("minisign")
    keys_folder, other_folder = tmp_path_factory.mktemp("signer"), tmp_path_factory.mktemp("other")
    keys, other = make_minisign_keys(keys_folder), make_minisign_keys(other_folder)
    folder, url = server.folder("signed")
    copy_release_files(dist, folder)
    subprocess.run(
        [minisign, "-S", "-s", str(keys.secret), "-m", str(folder / SUMS_NAME), "-x", str(folder / SIGNATURE)],
        input=keys.password + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    return url, keys.public.read_text(encoding="utf-8"), other.public.read_text(encoding="utf-8")


def signed_script(release: Release, sandbox: Sandbox, public_key: str | None) -> Path:
    script = sandbox.root / "install.sh"
    script.write_bytes(installers.render_install_sh(release, public_key))
    return script


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_good_signature_installs(release: Release, sandbox: Sandbox, signed: tuple[str, str, str], shell: str) -> None:
    url, public, _ = signed
    result = sandbox.run(signed_script(release, sandbox, public), "--base-url", url, "--verify-signature", shell=shell)
    assert "minisign signature good" in result.stderr
    assert_installed(sandbox, result, MUSL_X86_64)


def test_signature_by_another_key_is_refused(release: Release, sandbox: Sandbox, signed: tuple[str, str, str]) -> None:
    url, _, other = signed
    result = sandbox.run(signed_script(release, sandbox, other), "--base-url", url)
    assert result.returncode == 1 and "does not carry a valid signature" in result.stderr
    assert sandbox.nothing_installed()


def test_missing_signature_is_refused(release: Release, sandbox: Sandbox, signed: tuple[str, str, str]) -> None:
    _, public, _ = signed
    result = sandbox.run(signed_script(release, sandbox, public))  # the release's own folder has no .minisig
    assert result.returncode == 1 and "SHA256SUMS.minisig" in result.stderr
    assert sandbox.nothing_installed()


def test_without_minisign(release: Release, sandbox: Sandbox, signed: tuple[str, str, str]) -> None:
    url, public, _ = signed
    script = signed_script(release, sandbox, public)
    sandbox.path_without("minisign")
    required = sandbox.run(script, "--base-url", url, "--verify-signature")
    assert required.returncode == 1 and "minisign is not installed" in required.stderr
    assert sandbox.nothing_installed()
    optional = sandbox.run(script, "--base-url", url)
    assert "signature of SHA256SUMS is not checked" in optional.stderr
    assert_installed(sandbox, optional, MUSL_X86_64)


def test_verify_signature_of_an_unsigned_release_is_refused(script: Path, sandbox: Sandbox) -> None:
    result = sandbox.run(script, "--verify-signature")
    assert result.returncode == 1 and "not signed with minisign" in result.stderr
    assert sandbox.nothing_installed()


# --- an https folder never steps down to http ------------------------------------------------------------


class _Redirecting(http.server.BaseHTTPRequestHandler):
    """Every path answers 302 to the same path on `target` (a plain-http server)."""

    target = ""

    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", f"{self.target}{self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def downgrading(tmp_path: Path) -> Iterator[tuple[str, Path, Server]]:
    """An https folder (its certificate in a file of its own) whose every file redirects to plain http."""
    openssl = require_tool("openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    plain = Server(tmp_path / "plain")
    (tmp_path / "plain" / "v1.2.0").mkdir(parents=True)
    (tmp_path / "plain" / "v1.2.0" / SUMS_NAME).write_text("0" * 64 + "  x\n", encoding="utf-8")
    handler = type("Redirect", (_Redirecting,), {"target": plain.url})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}/v1.2.0", cert, plain
    finally:
        httpd.shutdown()
        httpd.server_close()
        plain.close()


@pytest.mark.parametrize("downloader", ["curl", "wget"])
def test_an_https_folder_never_steps_down_to_http(
    downgrading: tuple[str, Path, Server], sandbox: Sandbox, tmp_path: Path, downloader: str
) -> None:
    """A redirect from the https folder to plain http is refused: curl never follows it, wget's is caught."""
    require_tool(downloader)
    folder, cert, _plain = downgrading
    if downloader == "wget":
        sandbox.path_without("curl")
    script = tmp_path / "install.sh"
    script.write_bytes(installers.render_install_sh(fixture_release()))
    wgetrc = tmp_path / "wgetrc"
    wgetrc.write_text(f"ca_certificate = {cert}\n", encoding="utf-8")
    result = sandbox.run(script, "--base-url", folder, env={"CURL_CA_BUNDLE": str(cert), "WGETRC": str(wgetrc)})
    assert result.returncode == 1, result.stderr
    said = "redirected to plain http: refusing it" if downloader == "wget" else f"cannot download {folder}/SHA256SUMS"
    assert said in result.stderr
    assert sandbox.nothing_installed()

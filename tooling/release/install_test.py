"""The install tests of `invoke release`: the fresh release installed the way users get it, then run.

After dist/ is complete (archives, SHA256SUMS, install.sh, packages), and
before anything is uploaded:

- dist/ is served read-only over a loopback HTTP server; install.sh runs with
  `--base-url <server>` (its documented mirror option: the archives and
  SHA256SUMS in one folder, as dist/'s top level holds them), so it downloads,
  checks the SHA-256 and unpacks exactly as on a user's machine.
- For each Linux (or, on a Mac, macOS) architecture this machine can run, the
  build install.sh picks there is installed into a temporary folder: natively
  for this machine's architecture; for another one under qemu-user, with a
  fake `uname` first on PATH saying that architecture (install.sh has no other
  way to be told). The other archives of a runnable target (the gnu ones, which
  install.sh never picks while the release has musl) are checked as a manual
  download: SHA-256 against SHA256SUMS, unpacked.
- Each .deb of dist/packages/deb is installed with dpkg into an empty root of
  its own.
- Every installed binary then runs with the smoke arguments and expectations
  of its build (tooling/build/smoke.py's `smoke_test`, natively or under qemu).

A target or package this machine cannot run (macOS and Windows builds on
Linux, no qemu, no dpkg) is listed as skipped with the reason, never dropped.
Any failure raises InstallTestError naming the install, what failed and the
end of the command's output. In a dry run nothing is served, installed or run:
the checks that would run are returned.

Which build is checked how, and every command line, are pure functions below.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tooling import manifest, proc
from tooling.artifacts import checksum, fence
from tooling.build import smoke
from tooling.build.toolchain import host_platform
from tooling.errors import CommandError, InstallTestError, PackageError, ReleaseError, VerificationError
from tooling.packagers import base, deb
from tooling.publish import installers
from tooling.targets import Target, get_target

if TYPE_CHECKING:
    from tooling.config import ReleaseConfig

# How a check runs (InstallCheck.how).
NATIVE = "native"
QEMU = "qemu"
SKIPPED = "skipped"
WOULD_RUN = "would run"

RUNS_IT = {NATIVE: "natively", QEMU: "under qemu-user"}

# What a check installs (PlannedCheck.kind).
KIND_INSTALL_SH = "install.sh"
KIND_ARCHIVE = "archive"
KIND_DEB = "deb"

DEB_FOLDER = "packages/deb"
INSTALL_TIMEOUT = 300.0  # seconds for one install.sh or dpkg run (qemu-user makes nothing slow here)
OUTPUT_TAIL_LINES = 15

# The server is on this machine: a proxy from the environment must not see its requests.
LOOPBACK = "127.0.0.1"
NO_PROXY = f"{LOOPBACK},localhost"


@dataclass(frozen=True)
class InstallCheck:
    """One install test as the summary shows it."""

    what: str  # "install.sh x86_64-unknown-linux-musl", "archive x86_64-unknown-linux-gnu", "deb amd64"
    how: str  # native | qemu | skipped | would run
    detail: str  # what it showed, why it was skipped, or what it would do


@dataclass(frozen=True)
class ReleaseArchive:
    """An archive of the release: its target and its path inside dist/ (which is also its name in SHA256SUMS)."""

    target: Target
    file: str


@dataclass(frozen=True)
class PlannedCheck:
    """What one check installs and how it runs the result (pure data)."""

    kind: str  # install.sh | archive | deb
    what: str
    file: str  # inside dist/: the archive install.sh must pick, the archive, or the .deb
    target: Target | None  # the build the installed binary is (None: unknown, then skipped)
    how: str  # native | qemu | skipped
    detail: str  # how it installs, or why it is skipped
    machine: str = ""  # what a fake `uname -m` says ("": the real uname is used)


# --- decisions (pure) -------------------------------------------------------------------------------


def run_how(target: Target, host_os: str, host_arch: str, qemu_arches: frozenset[str]) -> tuple[str, str]:
    """(how, why it is skipped or "") for running a binary of `target` on this host (pure).

    The same decision as the build's smoke run (smoke.smoke_method); a qemu-user
    target is skipped when qemu-<arch> is not installed.
    """
    method = smoke.smoke_method(target, host_os, host_arch)
    if method == "native":
        return NATIVE, ""
    if method == "qemu-user":
        if target.arch in qemu_arches:
            return QEMU, ""
        return SKIPPED, f"qemu-{target.arch} is not installed (Debian: apt-get install qemu-user)"
    if target.os == "windows":
        return SKIPPED, "Windows build: structural checks only, no runner here (install.ps1 needs Windows)"
    return SKIPPED, f"{target.os} build on a {host_os} {host_arch} machine: structural checks only, no runner here"


def install_sh_pick(archives: Sequence[ReleaseArchive], os_name: str, arch: str) -> ReleaseArchive | None:
    """The archive install.sh installs on a glibc `os_name` `arch` machine (pure): musl first, then gnu."""
    if os_name not in installers.SCRIPT_OSES[installers.INSTALL_SH]:
        return None
    for libc in installers.LIBC_ORDER.get(os_name, ()):
        for item in archives:
            if (item.target.os, item.target.arch, item.target.libc) == (os_name, arch, libc):
                return item
    return None


def plan_archive_checks(
    archives: Sequence[ReleaseArchive],
    *,
    has_install_sh: bool,
    host_os: str,
    host_arch: str,
    qemu_arches: frozenset[str],
) -> list[PlannedCheck]:
    """One check per archive (pure): install.sh for the build it picks, a manual download for the rest.

    A target this host cannot run is skipped with the reason.
    """
    planned = []
    for item in archives:
        target = item.target
        how, why = run_how(target, host_os, host_arch, qemu_arches)
        pick = install_sh_pick(archives, target.os, target.arch) if has_install_sh else None
        if pick == item:
            kind, what = KIND_INSTALL_SH, f"install.sh {target.triple}"
            detail = f"sh install.sh --base-url <loopback server of dist/> picks it on {target.os} {target.arch}"
        else:
            kind, what = KIND_ARCHIVE, f"archive {target.triple}"
            detail = "downloaded by hand: SHA-256 checked against SHA256SUMS, unpacked" + (
                f" (install.sh installs {pick.target.triple} on {target.os} {target.arch})" if pick else ""
            )
        if how == SKIPPED:
            detail = why
        # Another architecture's build is what install.sh picks only when `uname -m` says that architecture.
        machine = target.arch if kind == KIND_INSTALL_SH and how == QEMU else ""
        planned.append(PlannedCheck(kind, what, item.file, target, how, detail, machine))
    return planned


def deb_arch_of(file_name: str) -> str:
    """The Debian architecture of a .deb from its name, `<package>_<version>_<arch>.deb` (pure)."""
    return file_name.removesuffix(".deb").rsplit("_", 1)[-1]


def deb_target(deb_arch: str, libc: str, archives: Sequence[ReleaseArchive]) -> Target | None:
    """The build a .deb of `deb_arch` carries: the release's Linux archive of that arch and the channel's libc."""
    arch = {debian: ours for ours, debian in deb.DEB_ARCH.items()}.get(deb_arch)
    for item in archives:
        if (item.target.os, item.target.arch, item.target.libc) == ("linux", arch, libc):
            return item.target
    return None


def plan_deb_checks(
    deb_files: Sequence[str],
    *,
    libc: str,
    archives: Sequence[ReleaseArchive],
    host_os: str,
    host_arch: str,
    qemu_arches: frozenset[str],
    has_dpkg: bool,
) -> list[PlannedCheck]:
    """One check per .deb (pure): dpkg into an empty root, then the binary natively or under qemu."""
    planned = []
    for file in deb_files:
        arch = deb_arch_of(Path(file).name)
        target = deb_target(arch, libc, archives)
        what = f"deb {arch}"
        if target is None:
            planned.append(
                PlannedCheck(KIND_DEB, what, file, None, SKIPPED, f"the release has no linux {libc} build for {arch}")
            )
            continue
        how, why = run_how(target, host_os, host_arch, qemu_arches)
        if how != SKIPPED and (host_os != "linux" or not has_dpkg):
            how, why = SKIPPED, "dpkg is not installed (Debian: apt-get install dpkg)"
        detail = why if how == SKIPPED else f"dpkg --root <empty root> --install, then the {target.triple} binary"
        planned.append(PlannedCheck(KIND_DEB, what, file, target, how, detail))
    return planned


def would_run(check: PlannedCheck) -> InstallCheck:
    """The summary row of a check in a dry run (pure): skipped stays skipped, the rest would run."""
    if check.how == SKIPPED:
        return InstallCheck(check.what, SKIPPED, check.detail)
    return InstallCheck(check.what, WOULD_RUN, f"{check.detail}; runs it {RUNS_IT[check.how]}")


def install_sh_argv(script: Path, dest: Path, base_url: str) -> list[str]:
    """`sh install.sh` into `dest` from the mirror `base_url` (pure)."""
    return ["sh", str(script), "--to", str(dest), "--base-url", base_url]


def install_sh_env(home: Path, tmp: Path, shims: Path | None, inherited_path: str) -> dict[str, str]:
    """The environment changes of an install.sh run (pure): its own home and temporary folder, no proxy,
    and `shims` (the fake uname) first on PATH when given."""
    env = {"HOME": str(home), "TMPDIR": str(tmp), "no_proxy": NO_PROXY, "NO_PROXY": NO_PROXY}
    if shims is not None:
        env["PATH"] = f"{shims}{os.pathsep}{inherited_path}"
    return env


def fake_uname_script(machine: str, real_uname: str) -> str:
    """A `uname` saying `machine` for -m, the real one for anything else (pure)."""
    return f'#!/bin/sh\ncase "$1" in\n    -m) echo {machine} ;;\n    *) exec {real_uname} "$@" ;;\nesac\n'


def dpkg_argv(root: Path, *args: str) -> list[str]:
    """dpkg acting on the database under `root` (pure); --force-not-root lets a normal user install there."""
    return ["dpkg", f"--root={root}", "--force-not-root", f"--log={root / 'dpkg.log'}", *args]


def dpkg_install_argv(root: Path, package: Path) -> list[str]:
    """Install `package` into `root` (pure). --force-depends: the root holds no other package (libc6)."""
    return dpkg_argv(root, "--force-depends", "--install", str(package))


def output_tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    """The last `lines` non-blank lines of a command's output, indented for an error message (pure)."""
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join(f"  {line}" for line in kept) if kept else "  (no output)"


def release_archives(record: manifest.Manifest) -> list[ReleaseArchive]:
    """The archives the manifest records, in its order (pure)."""
    return [
        ReleaseArchive(get_target(artifact.target), artifact.path)
        for artifact in record.artifacts
        if artifact.kind == "archive" and artifact.target
    ]


# --- effects ---------------------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files only (no writes); the commands' own output tells what was fetched."""

    def log_message(self, format: str, *args: object) -> None:
        return None


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve `folder` read-only on a free loopback port; yields its URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="install-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _run_installed(folder: Path, check: PlannedCheck, config: ReleaseConfig, runner: proc.Runner) -> str:
    """Run every installed binary in `folder` as its build's smoke run did; the reports, joined."""
    assert check.target is not None
    reports = []
    for binary in config.binaries:
        path = folder / check.target.executable(binary)
        if not path.is_file():
            raise InstallTestError(
                f"{check.what}: {path.name} is not where the install put the binaries ({folder})",
                hint="the archive or package lacks the binary: remake dist/ with invoke package",
            )
        try:
            reports.append(smoke.smoke_test(path, check.target, config, None, runner))
        except (VerificationError, CommandError) as error:
            raise InstallTestError(
                f"{check.what} ({check.how}): the installed {path.name} failed its run: {error.message}",
                hint=error.hint
                or "the build's smoke run passed, so the released file differs from the build: "
                "remake dist/ with invoke package",
            ) from error
        except ReleaseError as error:  # no runner after all (qemu removed since the plan): say so, same class
            raise InstallTestError(f"{check.what}: {error.message}", hint=error.hint) from error
    return "; ".join(reports)


def _install_sh(check: PlannedCheck, config: ReleaseConfig, runner: proc.Runner, url: str, scratch: Path) -> str:
    """install.sh from the loopback server into scratch/dest, then the binaries run; the detail."""
    assert check.target is not None
    home, tmp, shims, dest = (scratch / name for name in ("home", "tmp", "bin", "dest"))
    for folder in (home, tmp, shims):
        folder.mkdir(parents=True)
    if check.machine:
        uname = shims / "uname"
        uname.write_text(fake_uname_script(check.machine, shutil.which("uname") or "/bin/uname"), encoding="utf-8")
        uname.chmod(0o755)
    script = config.dist_dir / installers.INSTALL_SH
    result = runner.run(
        install_sh_argv(script, dest, url),
        env=install_sh_env(home, tmp, shims if check.machine else None, os.environ.get("PATH", "/usr/bin:/bin")),
        capture=True,
        check=False,
        timeout=INSTALL_TIMEOUT,
    )
    output = result.stdout + result.stderr
    if not result.ok:
        raise InstallTestError(
            f"{check.what}: `sh install.sh` failed with exit code {result.returncode}:\n{output_tail(output)}",
            hint="the script's last lines above say why; a changed archive or SHA256SUMS means dist/ is not what "
            "invoke package made: remake it with invoke package (and sign it again)",
        )
    if f"({check.target.triple})" not in output:
        raise InstallTestError(
            f"{check.what}: install.sh did not install {check.target.triple}:\n{output_tail(output)}",
            hint="install.sh's build table and the release's archives disagree: remake dist/ with invoke package",
        )
    return f"install.sh installed {check.target.triple}; {_run_installed(dest, check, config, runner)}"


def _manual_download(check: PlannedCheck, config: ReleaseConfig, runner: proc.Runner, scratch: Path) -> str:
    """The archive checked against SHA256SUMS and unpacked, as a user downloading it by hand does; the detail."""
    dist = config.dist_dir
    sums_path = dist / checksum.SUMS_NAME
    if not sums_path.is_file():
        raise InstallTestError(
            f"{check.what}: dist/ has no {checksum.SUMS_NAME} to check {check.file} against",
            hint="make the release folder with invoke package first",
        )
    listed = checksum.parse_sums(sums_path.read_text(encoding="utf-8")).get(check.file)
    actual = manifest.sha256_file(fence.inside(dist, check.file, "the manifest"))
    if listed is None or listed.lower() != actual:
        said = f"lists {listed}" if listed else "lists nothing"
        raise InstallTestError(
            f"{check.what}: {checksum.SUMS_NAME} {said} for {check.file}, the file is {actual}: "
            "a user's sha256sum -c would refuse it",
            hint="dist/ changed after invoke package: remake it with invoke package (and sign it again)",
        )
    try:
        top = base.unpack_archive(dist / check.file, scratch / "unpacked")
    except PackageError as error:
        raise InstallTestError(f"{check.what}: {error.message}", hint=error.hint) from error
    return f"SHA-256 matches, unpacked; {_run_installed(top, check, config, runner)}"


def _dpkg_install(check: PlannedCheck, config: ReleaseConfig, runner: proc.Runner, scratch: Path) -> str:
    """The .deb installed with dpkg into scratch/root (an empty dpkg database), then the binaries run; the detail."""
    root = scratch / "root"
    admin = root / "var" / "lib" / "dpkg"
    for folder in ("info", "updates", "triggers"):
        (admin / folder).mkdir(parents=True)
    for file in ("status", "available"):
        (admin / file).touch()
    package = fence.inside(config.dist_dir, check.file, DEB_FOLDER)
    arch = deb_arch_of(package.name)
    commands = []
    if arch != proc.read(["dpkg", "--print-architecture"]).stdout.strip():
        commands.append(dpkg_argv(root, "--add-architecture", arch))
    commands.append(dpkg_install_argv(root, package))
    for argv in commands:
        result = runner.run(argv, capture=True, check=False, timeout=INSTALL_TIMEOUT)
        if not result.ok:
            raise InstallTestError(
                f"{check.what}: dpkg could not install {package.name} into an empty root "
                f"(exit code {result.returncode}):\n{output_tail(result.stdout + result.stderr)}",
                hint=f"see `dpkg-deb --info {package}`; fix [tool.release.packages.deb] or remake it with "
                "invoke package",
            )
    return f"dpkg installed {package.name}; {_run_installed(root / 'usr' / 'bin', check, config, runner)}"


def _perform(check: PlannedCheck, config: ReleaseConfig, runner: proc.Runner, url: str) -> InstallCheck:
    with tempfile.TemporaryDirectory(prefix="install-test-") as name:
        scratch = Path(name)
        if check.kind == KIND_INSTALL_SH:
            detail = _install_sh(check, config, runner, url, scratch)
        elif check.kind == KIND_ARCHIVE:
            detail = _manual_download(check, config, runner, scratch)
        else:
            detail = _dpkg_install(check, config, runner, scratch)
    return InstallCheck(check.what, check.how, detail)


def plan_install_tests(config: ReleaseConfig) -> list[PlannedCheck]:
    """Every check for config.dist_dir on this machine (reads dist/ and looks for qemu and dpkg)."""
    dist = config.dist_dir
    archives = release_archives(manifest.read(dist / "manifest.json"))
    for item in archives:
        fence.inside(dist, item.file, "the manifest")
    has_install_sh = (dist / installers.INSTALL_SH).is_file()
    if config.install_scripts and not has_install_sh and archives:
        raise InstallTestError(
            f"dist/ has no {installers.INSTALL_SH}, though tool.release.install-scripts is on",
            hint="make the release folder with invoke package first",
        )
    host_os, host_arch = host_platform()
    qemu_arches = frozenset(item.target.arch for item in archives if shutil.which(f"qemu-{item.target.arch}"))
    planned = plan_archive_checks(
        archives, has_install_sh=has_install_sh, host_os=host_os, host_arch=host_arch, qemu_arches=qemu_arches
    )
    deb_folder = dist / DEB_FOLDER
    deb_files = sorted(f"{DEB_FOLDER}/{p.name}" for p in deb_folder.glob("*.deb")) if deb_folder.is_dir() else []
    settings: Mapping[str, object] = config.packages.get(deb.NAME) or {}
    planned += plan_deb_checks(
        deb_files,
        libc=str(settings.get("linux-libc") or "musl"),
        archives=archives,
        host_os=host_os,
        host_arch=host_arch,
        qemu_arches=qemu_arches,
        has_dpkg=shutil.which("dpkg") is not None,
    )
    if not deb_files and deb.NAME in (config.packages.get("channels") or ()):
        planned.append(PlannedCheck(KIND_DEB, "deb", DEB_FOLDER, None, SKIPPED, f"dist/{DEB_FOLDER} holds no .deb"))
    return planned


def run_install_tests(config: ReleaseConfig, runner: proc.Runner) -> list[InstallCheck]:
    """Install the release in config.dist_dir the way users get it and run it; one row per check.

    Raises InstallTestError at the first install or run that fails. In a dry run
    nothing is served, installed or run: the rows say what would run.
    """
    planned = plan_install_tests(config)
    if runner.dry_run:
        return [would_run(check) for check in planned]
    results = []
    with serve(config.dist_dir) as url:
        for check in planned:
            if check.how == SKIPPED:
                results.append(InstallCheck(check.what, SKIPPED, check.detail))
            else:
                results.append(_perform(check, config, runner, url))
    return results

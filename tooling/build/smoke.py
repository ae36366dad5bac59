"""Run a freshly built binary where this host can, and check what it prints.

`smoke_method` and `plan_smoke` are pure: from the target row and the host they
decide native / qemu-user / wine / structural and the exact command. The run
happens in a throwaway sandbox folder, so helper files (the wine shim) never
land in dist/.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tooling import proc, resources
from tooling.build.toolchain import host_platform
from tooling.cache import cache_dir
from tooling.errors import CommandError, ManifestError, ToolchainError, VerificationError
from tooling.targets import Target

if TYPE_CHECKING:
    from tooling.config import ReleaseConfig

WINE_CANDIDATES = ("/usr/lib/wine/wine64", "wine64", "wine")
SHIM_DLL = "bcryptprimitives.dll"
SMOKE_TIMEOUT = 300.0  # the first wine start creates its prefix, which takes a while


@dataclass(frozen=True)
class SmokePlan:
    method: str  # native | qemu-user | wine | structural
    argv: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    needs_shim: bool = False


def smoke_method(target: Target, host_os: str, host_arch: str) -> str:
    """How `target`'s binaries run on this host. The table's column describes
    an x86_64 Linux host; a matching architecture always runs natively."""
    if target.os == host_os and target.arch == host_arch:
        return "native"
    if host_os != "linux":
        return "structural"
    if target.os == "linux":
        return "qemu-user"
    if target.os == "windows" and host_arch == "x86_64":
        return "wine"
    return "structural"


def plan_smoke(
    target: Target,
    binary: Path,
    args: tuple[str, ...],
    *,
    host_os: str,
    host_arch: str,
    wine: str | None,
    wine_prefix: Path,
) -> SmokePlan:
    """The command that runs `binary` with `args` on this host (pure)."""
    method = smoke_method(target, host_os, host_arch)
    if method == "native":
        return SmokePlan(method, (str(binary), *args))
    if method == "qemu-user":
        # -L: the target's libc root from the table (a cross libc package), so a dynamic binary finds its
        # loader without a multiarch libc in / (GitHub's runners have none); qemu falls back to / for the rest.
        sysroot = ("-L", target.qemu_sysroot) if target.qemu_sysroot else ()
        return SmokePlan(method, (f"qemu-{target.arch}", *sysroot, str(binary), *args))
    if method == "wine":
        env = (
            ("WINEPREFIX", str(wine_prefix)),
            ("WINEDEBUG", "-all"),
            # No Mono or Gecko install dialogs: a console program needs neither.
            ("WINEDLLOVERRIDES", "mscoree,mshtml="),
        )
        return SmokePlan(method, (wine or "wine64", str(binary), *args), env, needs_shim=True)
    return SmokePlan("structural")


NAME_PLACEHOLDER = "{name}"  # met by the crate's name or the binary's: `rg --version` prints "ripgrep 15.2.0"


def expected_strings(
    templates: tuple[str, ...], version: str, triple: str, *, crate: str = "", binary: str = ""
) -> list[tuple[str, ...]]:
    """Each template filled in (pure): a tuple of the spellings that satisfy it, any one of them.

    `{name}` gives two spellings, the crate's name and the binary's; the other
    placeholders one each.
    """
    names = tuple(dict.fromkeys(n for n in (crate, binary) if n)) or ("",)
    expected: list[tuple[str, ...]] = []
    for template in templates:
        spellings = names if NAME_PLACEHOLDER in template else names[:1]
        filled = (
            template.format(version=version, triple=triple, crate=crate, binary=binary, name=name) for name in spellings
        )
        expected.append(tuple(dict.fromkeys(filled)))
    return expected


def check_output(output: str, expected: list[tuple[str, ...]]) -> list[str]:
    """The expectations `output` misses, case-insensitively, each as ` or `-joined spellings (pure).

    Case does not matter: CLIs print "ripgrep 15.2.0", "Foo v1.0" or "FOO 1.0".
    """
    folded = output.casefold()
    return [
        " or ".join(repr(s) for s in spellings)
        for spellings in expected
        if not any(s.casefold() in folded for s in spellings)
    ]


def binary_name(path: Path, target: Target) -> str:
    """The binary's name without the target's executable suffix (rg.exe -> rg)."""
    suffix = target.executable("")
    return path.name[: -len(suffix)] if suffix and path.name.endswith(suffix) else path.name


# --- side effects ------------------------------------------------------------


def find_wine() -> str | None:
    for candidate in WINE_CANDIDATES:
        path = candidate if Path(candidate).is_file() else shutil.which(candidate)
        if path:
            return str(path)
    return None


def build_wine_shim(zig: Path, cache: Path, runner: proc.Runner) -> Path:
    """Compile the bcryptprimitives shim once per source version; return the DLL."""
    source = resources.read_bytes("bcryptprimitives_shim.c")
    folder = cache / "wine-shim" / hashlib.sha256(source).hexdigest()[:12]
    dll = folder / SHIM_DLL
    if dll.is_file():
        return dll
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "shim.c").write_bytes(source)
    runner.run(
        [
            str(zig),
            "cc",
            "-target",
            "x86_64-windows-gnu",
            "-shared",
            "-O2",
            "-o",
            str(dll),
            str(folder / "shim.c"),
            "-ladvapi32",
        ],
        cwd=folder,
    )
    return dll


def smoke_test(binary: Path, target: Target, config: ReleaseConfig, zig: Path | None, runner: proc.Runner) -> str:
    """Run `binary` (or check it structurally); return a one-line report."""
    host_os, arch = host_platform()
    cache = cache_dir()
    smoke_args, smoke_expect = config.smoke_for(target, binary_name(binary, target))
    wine = find_wine()
    plan = plan_smoke(
        target,
        binary,
        smoke_args,
        host_os=host_os,
        host_arch=arch,
        wine=wine,
        wine_prefix=cache / "wine-prefix",
    )
    if plan.method == "structural":
        return "structural: checked format, architecture and load commands (cannot run here)"
    if plan.method == "qemu-user" and not shutil.which(plan.argv[0]):
        raise ToolchainError(
            f"cannot smoke-run {target.triple}: {plan.argv[0]} is not installed",
            hint="install qemu-user (Debian: apt-get install qemu-user)",
        )
    if plan.method == "wine" and wine is None:
        raise ToolchainError(
            f"cannot smoke-run {target.triple}: wine is not installed",
            hint="install wine (Debian: apt-get install wine wine64)",
        )
    with tempfile.TemporaryDirectory(prefix="smoke-") as sandbox_name:
        sandbox = Path(sandbox_name)
        argv = list(plan.argv)
        if plan.needs_shim:
            if zig is None:
                raise ToolchainError("the wine smoke test needs zig to build its shim DLL")
            # Copy the exe beside the shim so Windows' DLL search finds the shim first.
            shutil.copy2(binary, sandbox / binary.name)
            shutil.copy2(build_wine_shim(zig, cache, runner), sandbox / SHIM_DLL)
            argv[argv.index(str(binary))] = str(sandbox / binary.name)
        try:
            # The binary runs in a throwaway sandbox folder; it changes nothing we keep.
            result = proc.read(argv, env=dict(plan.env), cwd=sandbox, check=False, timeout=SMOKE_TIMEOUT, echo=True)
        except CommandError as error:
            raise VerificationError(f"smoke test of {binary.name} for {target.triple}: {error.message}") from error
    output = result.stdout + result.stderr
    expected = expected_strings(
        smoke_expect,
        config.binary_version or config.version,
        target.triple,
        crate=config.name,
        binary=binary_name(binary, target),
    )
    missing = check_output(output, expected)
    if not result.ok or missing:
        raise VerificationError(
            f"smoke test ({plan.method}) of {binary.name} for {target.triple} failed: "
            + (f"exit code {result.returncode}" if not result.ok else "output lacks " + ", ".join(missing)),
            hint=f"ran {binary.name} {' '.join(smoke_args)}; got: {output.strip()[:500]!r}. If the "
            "binary is right, set smoke-args / smoke-expect in [tool.release], "
            f'[tool.release.target."{target.triple}"] or [tool.release.binary."{binary_name(binary, target)}"]',
        )
    return f"{plan.method}: {output.strip().splitlines()[0] if output.strip() else ''}"


def smoke_built(folder: Path, target: Target, config: ReleaseConfig, runner: proc.Runner) -> list[tuple[str, str]]:
    """Smoke-run every binary of `target` in `folder` (a build's dist/<triple>/); (file name, report) each.

    For a CI job that runs binaries built on another runner (macOS ones on a
    Mac, windows-gnu ones on Windows) with the same arguments and
    expectations as the build's own smoke run. This host must be able to run
    them: a job that only checked their structure would pass having run
    nothing. Each binary is copied into a scratch folder first, because a
    downloaded CI artifact has lost its executable bit.
    """
    host_os, host_arch = host_platform()
    method = smoke_method(target, host_os, host_arch)
    if method == "structural":
        raise ToolchainError(
            f"cannot run {target.triple} binaries on this machine ({host_os} {host_arch})",
            hint=f"run this on {target.smoke_runner or target.runner}, where they run natively",
        )
    names = [target.executable(binary) for binary in config.binaries]
    absent = [name for name in names if not (folder / name).is_file()]
    if absent:
        raise ManifestError(
            f"{folder} has no {', '.join(absent)} to smoke-run",
            hint=f"build it there with `nox -s build-{target.triple}`, or download the build job's "
            f"dist-{target.triple} artifact into {folder}",
        )
    from tooling.build.zig import zig_path  # the wine shim is built with zig; nothing else here needs it

    zig = zig_path() if method == "wine" else None
    reports = []
    with tempfile.TemporaryDirectory(prefix="smoke-built-") as scratch:
        for name in names:
            copy = Path(scratch) / name
            shutil.copyfile(folder / name, copy)
            copy.chmod(0o755)
            reports.append((name, smoke_test(copy, target, config, zig, runner)))
    return reports

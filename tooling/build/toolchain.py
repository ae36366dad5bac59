"""How each target gets its Rust standard library, a cargo, and a linker.

`probe_system` looks at the machine once (rustup, every rustc we know of,
their sysroots) and returns plain data without changing anything; `resolve`
is a pure function of that data, so every decision is unit-tested from a
described machine. The order:

1. the active rustup toolchain already has the target's std;
2. `rustup target add` (planned when rustup may add targets here; the add
   itself happens at build time in `install_std`, or with `doctor --fix`);
3. another rustc whose sysroot has the std (configured, or found, e.g.
   Debian's rustc-web with its multiarch libstd-rust-web-dev:<arch>);
4. `-Zbuild-std` with a rust-src that matches that rustc (RUSTC_BOOTSTRAP=1);
5. otherwise a ToolchainError listing the remedies.

Every route considers only the rustcs the crate accepts (its `rust-version`
and rust-toolchain channel, a RustRequirement), and stable releases before
beta or nightly ones: a nightly is chosen only when the crate asks for it or
nothing else can build the target.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tooling import proc
from tooling.build.requirement import ANY_RUSTC, STABLE, RustRequirement, rustc_kind
from tooling.errors import CommandError, ToolchainError
from tooling.targets import Target, get_target

# Where distributions put a system rustc besides rustup's proxies.
SYSTEM_RUSTC_CANDIDATES = ("/usr/bin/rustc", "/usr/local/bin/rustc")
NO_RUSTUP_ADD_ENV = "RELEASE_NO_RUSTUP_ADD"  # "1": never try to download a std
_TRUE_WORDS = ("1", "true", "yes")
RUSTUP_ADD_TIMEOUT = 300.0  # a std download is tens of MB; a machine without the mirror fails fast anyway

ROUTE_RUSTUP = "rustup"
ROUTE_RUSTUP_ADD = "rustup target add"
ROUTE_SYSROOT = "sysroot std"
ROUTE_BUILD_STD = "build-std"


@dataclass(frozen=True)
class RustInstall:
    """One rustc on this machine and what its sysroot holds."""

    rustc: Path
    cargo: Path
    version: str
    sysroot: Path
    std_targets: frozenset[str]
    has_rust_src: bool
    rustup_toolchain: str | None = None  # set for the active rustup toolchain


@dataclass(frozen=True)
class SystemFacts:
    """Everything `resolve` needs to know about the machine."""

    host_os: str  # linux | macos | windows
    host_arch: str  # x86_64 | aarch64
    installs: tuple[RustInstall, ...]  # the active rustup toolchain first, then rustup's others, then other rustcs
    # rustup is here and may download a std (RELEASE_NO_RUSTUP_ADD is not set):
    # `rustup target add` is then a planned route, carried out at build time.
    rustup_can_add: bool = False
    xwin_ready: bool = False  # cargo-xwin and Microsoft's CRT/SDK cache are present


@dataclass(frozen=True)
class Toolchain:
    """The resolved way to build one target."""

    triple: str
    route: str
    builder: str
    rustc: Path
    cargo: Path
    version: str
    build_std: bool
    rustup_toolchain: str | None = None  # the rustup toolchain name, for routes through rustup
    reason: str = ""  # why this rustc, when the crate's requirement ruled others out

    @property
    def how(self) -> str:
        text = f"{self.route} via {self.builder} (rustc {self.version} at {self.rustc})"
        return f"{text}; {self.reason}" if self.reason else text


def rustup_add_argv(toolchain: str, triple: str) -> list[str]:
    """The command that downloads `triple`'s std into the rustup `toolchain`."""
    return ["rustup", "target", "add", "--toolchain", toolchain, triple]


def builder_for(target: Target, host_os: str) -> str:
    """The builder for `target` on this host: MSVC is built natively on Windows."""
    if target.builder == "cargo-xwin" and host_os == "windows":
        return "cargo"
    return target.builder


def _msvc_problem(target: Target, facts: SystemFacts) -> str | None:
    if builder_for(target, facts.host_os) != "cargo-xwin" or facts.xwin_ready:
        return None
    return (
        f"{target.triple} links against Microsoft's C runtime and Windows SDK, which are not on this "
        "machine and cannot be downloaded here"
    )


MSVC_REMEDIES = (
    "build it on a Windows runner (runs-on: windows-latest) with `nox -s build-{triple}`, which uses plain cargo there",
    "or install cargo-xwin where downloads from Microsoft are allowed "
    "(it fetches the CRT and SDK into its cache on first use)",
)


def remedies(target: Target) -> list[str]:
    """What a person can do when no route works for `target`."""
    items = [
        f"rustup target add {target.triple}   (where the rustup mirror is reachable)",
        f"install a rustc whose sysroot has {target.triple}'s std and list it in tool.release.rustc",
    ]
    if target.triple == "aarch64-unknown-linux-gnu":
        items.append("on Debian: dpkg --add-architecture arm64 && apt-get install rustc-web libstd-rust-web-dev:arm64")
    items.append("install rust-src matching a rustc (Debian: rustc-web with rust-web-src) to build std from source")
    return items


def install_name(install: RustInstall) -> str:
    """A rustc in a few words: its version and which toolchain or path it is."""
    where = f"rustup {install.rustup_toolchain}" if install.rustup_toolchain else str(install.rustc)
    return f"rustc {install.version} ({where})"


def accepted_installs(
    installs: Iterable[RustInstall], requirement: RustRequirement
) -> tuple[list[RustInstall], list[tuple[RustInstall, str]]]:
    """(the rustcs `requirement` accepts, the others with why), in machine order (pure)."""
    accepted: list[RustInstall] = []
    refused: list[tuple[RustInstall, str]] = []
    for install in installs:
        problem = requirement.problem(install.version)
        if problem:
            refused.append((install, problem))
        else:
            accepted.append(install)
    return accepted, refused


def preference_pools(installs: list[RustInstall], requirement: RustRequirement) -> list[list[RustInstall]]:
    """The accepted rustcs in the order routes are tried: stable releases first, beta and nightly after (pure).

    A release is built with a stable compiler unless rust-toolchain asks for
    another channel; a nightly rustup toolchain on the machine must not win
    merely because it is newer.
    """
    if requirement.wants_prerelease:
        return [installs]
    stable = [i for i in installs if rustc_kind(i.version) == STABLE]
    others = [i for i in installs if rustc_kind(i.version) != STABLE]
    return [pool for pool in (stable, others) if pool]


def requirement_error(
    target: Target, requirement: RustRequirement, refused: list[tuple[RustInstall, str]]
) -> ToolchainError:
    """No rustc here satisfies the crate: name what it asks, what was found, and the commands that fix it."""
    found = "".join(f"\n  - {install_name(i)}: {why}" for i, why in refused) or " none"
    return ToolchainError(
        f"the crate needs {requirement.describe()}, which no rustc on this machine satisfies "
        f"(to build {target.triple}); found:{found}",
        hint="\n    - ".join(
            [
                "any one of:",
                f"{requirement.install_command()}   (where the rustup mirror is reachable)",
                "on Debian: apt-get install rustc-web (its rustc is /usr/bin/rustc; list another path in "
                "tool.release.rustc)",
                "or lower rust-version / change rust-toolchain if the crate builds with an older rustc",
            ]
        ),
    )


def _reason(requirement: RustRequirement, refused: list[tuple[RustInstall, str]], install: RustInstall) -> str:
    """Why `install` was chosen, in words, when the crate's requirement shaped the choice."""
    if not requirement.any:
        return ""
    text = f"meets {requirement.describe()}"
    if refused:
        text += "; ruled out: " + ", ".join(install_name(i) for i, _ in refused)
    return text


def _route(target: Target, facts: SystemFacts, pool: list[RustInstall]) -> tuple[RustInstall, str, bool] | None:
    """(rustc, route, build_std) of the first route `pool` offers for `target`, or None (pure)."""
    rustups = [i for i in pool if i.rustup_toolchain]
    for install in rustups:
        if target.triple in install.std_targets:
            return install, ROUTE_RUSTUP, False
    if rustups and facts.rustup_can_add:
        return rustups[0], ROUTE_RUSTUP_ADD, False
    others = [i for i in pool if not i.rustup_toolchain]
    for install in others:
        if target.triple in install.std_targets:
            return install, ROUTE_SYSROOT, False
    # build-std needs the sources of the very rustc that compiles them.
    for install in [*others, *rustups]:
        if install.has_rust_src:
            return install, ROUTE_BUILD_STD, True
    return None


def resolve(target: Target, facts: SystemFacts, requirement: RustRequirement = ANY_RUSTC) -> Toolchain:
    """The first route that can build `target` with a rustc `requirement` accepts, or a ToolchainError with remedies."""
    msvc_problem = _msvc_problem(target, facts)
    if msvc_problem:
        raise ToolchainError(
            msvc_problem,
            hint="; ".join(r.format(triple=target.triple) for r in MSVC_REMEDIES),
        )
    builder = builder_for(target, facts.host_os)
    accepted, refused = accepted_installs(facts.installs, requirement)
    if refused and not accepted:
        raise requirement_error(target, requirement, refused)
    for pool in preference_pools(accepted, requirement):
        found = _route(target, facts, pool)
        if found:
            install, route, build_std = found
            return Toolchain(
                target.triple,
                route,
                builder,
                install.rustc,
                install.cargo,
                install.version,
                build_std,
                install.rustup_toolchain,
                _reason(requirement, refused, install),
            )
    ruled_out = [f"{install_name(i)}: {why}" for i, why in refused]
    hint_lines = ["any one of:", *remedies(target)]
    if ruled_out:
        hint_lines.append("the crate's requirement ruled out " + "; ".join(ruled_out))
    raise ToolchainError(
        f"no Rust standard library for {target.triple} on this machine"
        + (f" in a rustc that meets {requirement.describe()}" if requirement.any else ""),
        hint="\n    - ".join(hint_lines),
    )


@dataclass(frozen=True)
class Readiness:
    """One row of `nox -s doctor`."""

    triple: str
    ready: bool
    how: str
    missing: str


def readiness(
    targets: Iterable[Target], facts: SystemFacts, requirement: RustRequirement = ANY_RUSTC
) -> list[Readiness]:
    """Can each target be built here, how, and if not, what is missing."""
    rows = []
    for target in targets:
        try:
            toolchain = resolve(target, facts, requirement)
        except ToolchainError as error:
            rows.append(Readiness(target.triple, False, "-", str(error)))
        else:
            rows.append(Readiness(target.triple, True, toolchain.how, ""))
    return rows


# --- probing the machine (the only part with side effects) -------------------

_VERSION = re.compile(r"rustc (\d+\.\d+\.\d+\S*)")


def host_platform() -> tuple[str, str]:
    """(os, arch) of this machine in the target table's words."""
    system = {"Linux": "linux", "Darwin": "macos", "Windows": "windows"}.get(platform.system(), "linux")
    machine = platform.machine().lower()
    arch = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}.get(machine, machine)
    return system, arch


def std_targets_in(sysroot: Path) -> frozenset[str]:
    """Triples whose compiled std sits in `sysroot` (lib/rustlib/<triple>/lib/libstd-*)."""
    rustlib = sysroot / "lib" / "rustlib"
    if not rustlib.is_dir():
        return frozenset()
    return frozenset(
        entry.name for entry in rustlib.iterdir() if entry.is_dir() and any((entry / "lib").glob("libstd-*.rlib"))
    )


def has_rust_src(sysroot: Path) -> bool:
    return (sysroot / "lib" / "rustlib" / "src" / "rust" / "library" / "std" / "Cargo.toml").is_file()


def describe_rustc(rustc: Path, rustup_toolchain: str | None = None) -> RustInstall | None:
    """Ask `rustc` its version and sysroot; None when it does not answer."""
    env = {"RUSTUP_TOOLCHAIN": rustup_toolchain} if rustup_toolchain else {}
    try:
        version = proc.read([str(rustc), "-V"], env=env)
        sysroot = proc.read([str(rustc), "--print", "sysroot"], env=env)
    except CommandError:
        return None
    match = _VERSION.search(version.stdout)
    if not match:
        return None
    root = Path(sysroot.stdout.strip())
    # Use the toolchain's own binaries, not rustup's proxies, so that cargo and
    # rustc always come from the same release.
    real_rustc = root / "bin" / rustc.name if rustup_toolchain else rustc
    cargo = real_rustc.with_name("cargo" + (".exe" if rustc.suffix == ".exe" else ""))
    return RustInstall(
        rustc=real_rustc,
        cargo=cargo,
        version=match.group(1),
        sysroot=root,
        std_targets=std_targets_in(root),
        has_rust_src=has_rust_src(root),
        rustup_toolchain=rustup_toolchain,
    )


def _active_rustup_toolchain() -> str | None:
    if not shutil.which("rustup"):
        return None
    try:
        result = proc.read(["rustup", "show", "active-toolchain"])
    except CommandError:
        return None
    words = result.stdout.split()
    return words[0] if words else None


def _rustup_toolchains() -> list[str]:
    """Names of every installed rustup toolchain (`rustup toolchain list`), or none when rustup does not answer."""
    try:
        result = proc.read(["rustup", "toolchain", "list"])
    except CommandError:
        return []
    return rustup_toolchain_names(result.stdout)


def rustup_toolchain_names(listing: str) -> list[str]:
    """The toolchain names of `rustup toolchain list` output (pure): the first word of each line."""
    names = [line.split()[0] for line in listing.splitlines() if line.strip()]
    return [name for name in names if name != "no"]  # "no installed toolchains"


def _xwin_ready() -> bool:
    if not shutil.which("cargo-xwin"):
        return False
    cache = Path(os.environ.get("XWIN_CACHE_DIR", Path.home() / ".cache" / "cargo-xwin" / "xwin"))
    return (cache / "crt").is_dir() and (cache / "sdk").is_dir()


def rustup_add_allowed(environ: Mapping[str, str]) -> bool:
    """False when the environment forbids std downloads (RELEASE_NO_RUSTUP_ADD=1/true/yes)."""
    return environ.get(NO_RUSTUP_ADD_ENV, "").strip().lower() not in _TRUE_WORDS


def probe_system(extra_rustc: Iterable[Path] = ()) -> SystemFacts:
    """Look at this machine: rustup's toolchains (the active one first), other rustc installs, cargo-xwin.

    Read-only: it asks each rustc for its version and sysroot and reads
    directories, nothing more. Whether `rustup target add` can be planned is
    decided from rustup's presence and RELEASE_NO_RUSTUP_ADD alone; the add
    itself is `install_std`, a build-time effect.
    """
    host_os, host_arch = host_platform()
    installs: list[RustInstall] = []
    active = _active_rustup_toolchain()
    if active:
        # Every installed toolchain, so that a crate's rust-version can pick one that is not the default.
        names = [active, *(name for name in _rustup_toolchains() if name != active)]
        for name in names:
            install = describe_rustc(Path("rustc"), rustup_toolchain=name)
            if install:
                installs.append(install)
    seen = {i.sysroot.resolve() for i in installs}
    for candidate in [*extra_rustc, *map(Path, SYSTEM_RUSTC_CANDIDATES)]:
        if not candidate.is_file():
            continue
        install = describe_rustc(candidate)
        if install and install.sysroot.resolve() not in seen:
            seen.add(install.sysroot.resolve())
            installs.append(install)
    has_rustup = bool(installs and installs[0].rustup_toolchain)
    can_add = has_rustup and rustup_add_allowed(os.environ)
    return SystemFacts(host_os, host_arch, tuple(installs), can_add, _xwin_ready())


def install_std(toolchain: Toolchain, runner: proc.Runner) -> None:
    """Carry out the planned `rustup target add` of `toolchain` (a no-op for every other route).

    This is the only place a std gets installed: probing and `resolve` merely
    plan it, so looking at a machine never changes it. A dry-run `runner`
    shows the command and runs nothing.
    """
    if toolchain.route != ROUTE_RUSTUP_ADD:
        return
    target = get_target(toolchain.triple)
    if not toolchain.rustup_toolchain:
        raise ToolchainError(
            f"{toolchain.triple} was planned through `rustup target add` without a rustup toolchain",
            hint="\n    - ".join(["any one of:", *remedies(target)]),
        )
    try:
        result = runner.run(
            rustup_add_argv(toolchain.rustup_toolchain, toolchain.triple),
            effect=proc.Effect.LOCAL,  # downloads into ~/.rustup: a change to this machine
            capture=True,
            check=False,
            timeout=RUSTUP_ADD_TIMEOUT,
        )
    except CommandError as error:  # rustup vanished, or the download hung
        failure = error.message
    else:
        if result.ok:
            return
        lines = (result.stderr or result.stdout).strip().splitlines()
        failure = lines[-1] if lines else f"exit code {result.returncode}"
    raise ToolchainError(
        f"rustup could not add {toolchain.triple}'s standard library: {failure}",
        hint="\n    - ".join(
            ["any one of:", f"set {NO_RUSTUP_ADD_ENV}=1 so a route without downloads is chosen", *remedies(target)]
        ),
    )

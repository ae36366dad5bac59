"""Native (C) dependencies of the crate per target, found before building.

`cargo metadata --filter-platform <triple>` resolves the dependency graph a
target really builds. `native_dependencies` (pure) picks the packages with a
`links` key, and the crates that link Apple frameworks on macOS targets, and
classifies each from its build dependencies and features:

- builds its C code itself (cc / cmake, or its vendored feature is on): fine with zig;
- vendored feature available but off: name the feature that builds it from source;
- needs a system library for the target (pkg-config / vcpkg): a cross build will not find one;
- needs a macOS SDK (Apple frameworks).

`blocker` (pure) decides from that classification and the target's
[tool.release.target] env whether a build of the target will fail here; the
release plan and `build` skip such targets up front unless forced. A library
installed on the build machine is not taken as present: zig's C compiler does
not search the host's multiarch include folders, so only env that points the
build at a library (or SDK) for the target counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooling.crate import ask_cargo
from tooling.targets import Target

BUILDS_ITSELF = "builds its C code itself"
VENDORED_OFF = "vendored feature available but off"
NEEDS_SYSTEM = "needs a system library for the target"
NEEDS_SDK = "needs a macOS SDK"
UNKNOWN = "links a C library"

# Features that make a -sys crate compile its C library from source.
VENDOR_FEATURES = ("vendored", "bundled", "static", "vendored-openssl", "vendored-libgit2", "vendored-zlib")
# Build dependencies that compile C code (fine through zig) or look for a system copy (not found when cross-building).
C_BUILDERS = frozenset({"cc", "cmake"})
SYSTEM_FINDERS = frozenset({"pkg-config", "vcpkg"})
# Crates that link Apple frameworks on macOS; zig provides libSystem but no frameworks.
FRAMEWORK_CRATES = frozenset(
    {"core-foundation-sys", "security-framework-sys", "coreaudio-sys", "objc2-foundation", "system-configuration-sys"}
)


@dataclass(frozen=True)
class NativeDependency:
    """One package of the target's graph that brings C code or a system library."""

    package: str
    version: str
    links: str | None
    kind: str  # one of the constants above
    remedy: str  # what to do, "" when nothing is needed

    @property
    def blocks_cross_build(self) -> bool:
        """Will a build for another machine fail here as things stand?"""
        return self.kind in (VENDORED_OFF, NEEDS_SYSTEM, NEEDS_SDK)


# The environment that provides what a blocking kind needs, in the target's [tool.release.target] env: with one of
# these set the user has pointed the build at a library or SDK for the target, and the tool lets it try.
PROVIDED_BY: Mapping[str, tuple[str, ...]] = {
    NEEDS_SDK: ("SDKROOT",),
    NEEDS_SYSTEM: ("PKG_CONFIG_SYSROOT_DIR", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR", "{LINKS}_DIR", "{LINKS}_LIB_DIR"),
    VENDORED_OFF: ("PKG_CONFIG_SYSROOT_DIR", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR", "{LINKS}_DIR", "{LINKS}_LIB_DIR"),
}


def provided(dependency: NativeDependency, env: Mapping[str, str]) -> bool:
    """Does `env` (the target's settings) point the build at what `dependency` needs? (pure)"""
    links = (dependency.links or "").upper().replace("-", "_")
    names = [name.format(LINKS=links) for name in PROVIDED_BY.get(dependency.kind, ())]
    return any(env.get(name) for name in names)


def blocker(dependencies: Sequence[NativeDependency], env: Mapping[str, str]) -> str | None:
    """Why building a target with these native dependencies will fail here, or None (pure).

    Only kinds that fail for sure count (system library, vendored feature off,
    macOS SDK), and only when the target's env does not provide the library or
    SDK. The reason names each crate, its kind and its remedy.
    """
    blocking = [d for d in dependencies if d.blocks_cross_build and not provided(d, env)]
    if not blocking:
        return None
    return "native dependencies: " + "; ".join(f"{d.package} {d.kind} ({d.remedy})" for d in blocking)


def metadata_argv(manifest: Path, triple: str) -> list[str]:
    """`cargo metadata` with the dependency graph `triple` builds (reads the lock file, changes nothing)."""
    return [
        "cargo",
        "metadata",
        "--format-version",
        "1",
        "--manifest-path",
        str(manifest),
        "--filter-platform",
        triple,
        "--locked",
    ]


def _build_dependency_names(package: Mapping[str, Any]) -> set[str]:
    return {str(d["name"]) for d in package.get("dependencies", ()) if d.get("kind") == "build"}


def classify(package: Mapping[str, Any], enabled: Sequence[str], is_macos: bool) -> NativeDependency | None:
    """How one package's native part fares in a cross build (pure); None when it has none."""
    name, version = str(package["name"]), str(package.get("version", ""))
    links = package.get("links")
    if is_macos and name in FRAMEWORK_CRATES:
        return NativeDependency(
            name,
            version,
            links,
            NEEDS_SDK,
            'build macOS targets on a macOS runner, or set SDKROOT in [tool.release.target."*-apple-darwin"] env',
        )
    if not links:
        return None
    vendor = [f for f in VENDOR_FEATURES if f in package.get("features", {})]
    builders = _build_dependency_names(package)
    if any(f in enabled for f in vendor):
        return NativeDependency(name, version, links, BUILDS_ITSELF, "")
    if builders & SYSTEM_FINDERS:
        if vendor:
            return NativeDependency(
                name,
                version,
                links,
                VENDORED_OFF,
                f"enable {name}'s `{vendor[0]}` feature (through a feature of your crate, in tool.release.features "
                'or [tool.release.target."<triple>"] features)',
            )
        return NativeDependency(
            name,
            version,
            links,
            NEEDS_SYSTEM,
            f"install lib{links} built for the target and set PKG_CONFIG_SYSROOT_DIR / PKG_CONFIG_PATH in "
            '[tool.release.target."<triple>"] env, or use a crate that does without it',
        )
    if builders & C_BUILDERS:
        return NativeDependency(name, version, links, BUILDS_ITSELF, "")
    return NativeDependency(name, version, links, UNKNOWN, f"check how {name} finds lib{links} for another target")


def native_dependencies(metadata: Mapping[str, Any], is_macos: bool) -> list[NativeDependency]:
    """The native dependencies in a `cargo metadata --filter-platform` answer, by package name (pure)."""
    packages = {p["id"]: p for p in metadata.get("packages", ())}
    nodes = (metadata.get("resolve") or {}).get("nodes", ())
    found = []
    for node in nodes:
        package = packages.get(node["id"])
        if package is None:
            continue
        dependency = classify(package, node.get("features", ()), is_macos)
        if dependency is not None:
            found.append(dependency)
    return sorted(found, key=lambda d: d.package)


def read_native_dependencies(manifest: Path, triple: str, is_macos: bool) -> list[NativeDependency]:
    """Ask cargo for `triple`'s dependency graph (read-only) and classify its native dependencies."""
    data = ask_cargo(
        metadata_argv(manifest, triple),
        manifest,
        refused=f"cargo cannot resolve the dependencies of {manifest} for {triple}",
        hint="run `cargo metadata --locked` in the crate and fix what it says (Cargo.lock must be current)",
    )
    return native_dependencies(data, is_macos)


COLUMNS = ("target", "crate", "links", "status", "what to do")


def table_rows(found: Mapping[str, Sequence[NativeDependency]]) -> list[list[str]]:
    """Rows for ui.summary, one per target and native dependency, the target named once per group (pure)."""
    rows = []
    for triple, dependencies in found.items():
        for index, dep in enumerate(dependencies):
            rows.append(
                [triple if index == 0 else "", f"{dep.package} {dep.version}", dep.links or "-", dep.kind, dep.remedy]
            )
    return rows


def per_target(manifest: Path, targets: Sequence[Target]) -> dict[str, list[NativeDependency]]:
    """The native dependencies of each target (one read-only `cargo metadata` per target)."""
    return {t.triple: read_native_dependencies(manifest, t.triple, t.is_macos) for t in targets}

"""[tool.release] in pyproject.toml: read, validate, and complete from Cargo.toml.

Every mistake becomes one ConfigError naming the key and the fix. What the
crate's Cargo.toml already states (name, version, binaries, description,
license, homepage, authors) is taken from there unless the table overrides it.
"""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tooling import config_schema
from tooling.build.requirement import ANY_RUSTC, RustRequirement, read_requirement
from tooling.config_schema import check_table
from tooling.crate import CrateFacts, read_crate, read_toml
from tooling.errors import ConfigError, TargetError
from tooling.targets import Target, all_targets, get_target, select_targets
from tooling.versioning.settings import parse_versioning

CONFIG_ENV = "RELEASE_CONFIG"  # path of another pyproject.toml / release.toml
DIST_ENV = "RELEASE_DIST_DIR"  # where artifacts go (tests and CI jobs use it)

# MAJOR.MINOR without leading zeros: "2.017" would reach cargo-zigbuild as written.
_VERSION_PAIR = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)$")

# The glibc floors a gnu target can be built for. The oldest is Rust std's own
# floor for *-linux-gnu; the newest is the last glibc the pinned ziglang wheel
# carries symbol lists for (lib/libc/glibc/abilists; ziglang 0.17.1: 2.44). A
# floor outside this range is a typo ("2.71") or a build zig cannot honour, and
# would silently give a binary that needs a newer glibc than claimed. A unit
# test reads the wheel's abilists and keeps GLIBC_NEWEST in step with the pin.
GLIBC_OLDEST: tuple[int, int] = (2, 17)
GLIBC_NEWEST: tuple[int, int] = (2, 44)

# Compression levels each archive writer accepts (tooling.artifacts.archive):
# zlib (tar.gz, zip) and xz presets go 0-9; zstd 1-19 (20-22 need --ultra to decompress).
COMPRESSION_LEVELS: dict[str, tuple[int, int]] = {
    "tar.gz": (0, 9),
    "tar.xz": (0, 9),
    "tar.zst": (1, 19),
    "zip": (0, 9),
}


# Placeholders of smoke-expect; {name} stands for the crate's name or the binary's (either counts).
SMOKE_PLACEHOLDERS = ("name", "crate", "binary", "version", "triple")

# Environment variables the tool sets itself, which a [tool.release.target] env must not replace.
RESERVED_ENV: Mapping[str, str] = {
    "RUSTFLAGS": "list the flags in rustflags = [...]; the tool adds its own (build-std, link paths) to them",
    "RUSTC": "the rustc is chosen from the crate's rust-version and rust-toolchain, or tool.release.rustc",
    "CARGO": "cargo comes with the chosen rustc",
    "CARGO_ZIGBUILD_ZIG_PATH": "zig comes from the pinned ziglang package",
}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class TargetSettings:
    """What [tool.release] and every matching [tool.release.target."<pattern>"] say about one target."""

    features: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    rustflags: tuple[str, ...] = ()
    smoke_args: tuple[str, ...] = ("--version",)
    smoke_expect: tuple[str, ...] = ("{name}", "{version}")
    allowed_libraries: tuple[str, ...] = ()


@dataclass(frozen=True)
class PackageMetadata:
    """What package managers need to describe the tool."""

    description: str
    homepage: str
    license: str
    maintainer: str
    repository: str


@dataclass(frozen=True)
class ReleaseConfig:
    """The validated release configuration of one crate."""

    root: Path
    crate_manifest: Path
    name: str
    version: str
    binaries: tuple[str, ...]
    targets: tuple[Target, ...]
    glibc: str
    macos_deployment_target: Mapping[str, str]
    profile: str
    features: tuple[str, ...]
    no_default_features: bool
    all_features: bool
    dist_dir: Path
    rustc: tuple[Path, ...]
    archive_unix: str
    archive_windows: str
    include: tuple[str, ...]
    package: PackageMetadata
    smoke_args: tuple[str, ...] = ("--version",)
    smoke_expect: tuple[str, ...] = ("{name}", "{version}")
    # [tool.release.target."<pattern>"] tables, validated, in the order written.
    target_tables: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    # [tool.release.binary."<name>"] tables, validated: binary name -> its settings.
    binary_tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    rust_version: str | None = None  # the package's rust-version (cargo metadata)
    # rust-version plus the channel of the crate's rust-toolchain(.toml): which rustc may build it.
    rust_requirement: RustRequirement = ANY_RUSTC
    # Sub-tables owned and validated by the modules that use them.
    sign: Mapping[str, Any] = field(default_factory=dict)  # tooling.sign
    versioning: Mapping[str, Any] = field(default_factory=dict)  # tooling.version
    packages: Mapping[str, Any] = field(default_factory=dict)  # tooling.packagers (checked, defaults filled in)
    completions: tuple[str, ...] = ()  # command printing a shell's completions ({bin}, {shell})
    man: tuple[str, ...] = ()  # command printing the man page ({bin})
    install_scripts: bool = False  # install.sh / install.ps1 among the release files
    publish: Mapping[str, Any] = field(default_factory=dict)  # tooling.publish channels (checked, defaults filled)
    regression: Mapping[str, Any] = field(default_factory=dict)  # the regression gate's settings (checked)
    gates: Mapping[str, Any] = field(default_factory=dict)  # `invoke release`'s quality gates (checked)
    announce: Mapping[str, Any] = field(default_factory=dict)  # the announcement's settings (checked)
    build_mode: str = "per-target"  # tooling.build.plan.PER_TARGET or COMBINED
    # The version the binaries print when it is not Cargo.toml's: a promoted prerelease's (tooling.release.promote).
    binary_version: str | None = None

    @property
    def crate_dir(self) -> Path:
        return self.crate_manifest.parent

    def macos_min(self, target: Target) -> str | None:
        """MACOSX_DEPLOYMENT_TARGET for `target` (None for non-macOS targets)."""
        if not target.is_macos:
            return None
        return self.macos_deployment_target.get(target.triple, target.macos_min)

    def archive_format(self, target: Target) -> str:
        return self.archive_windows if target.is_windows else self.archive_unix

    def target_settings(self, target: Target) -> TargetSettings:
        """The settings of `target`: [tool.release] merged with every matching target table, in order (pure).

        Lists add up (features, rustflags, allowed-libraries), env values of a
        later table replace earlier ones, smoke-args and smoke-expect of the
        last table that sets them win over [tool.release]'s.
        """
        features = list(self.features)
        env: dict[str, str] = {}
        rustflags: list[str] = []
        allowed: list[str] = []
        smoke_args, smoke_expect = self.smoke_args, self.smoke_expect
        for pattern, table in self.target_tables:
            if not fnmatch.fnmatchcase(target.triple, pattern):
                continue
            features += [f for f in table.get("features") or () if f not in features]
            env.update(table.get("env") or {})
            rustflags += table.get("rustflags") or ()
            allowed += table.get("allowed-libraries") or ()
            if table.get("smoke-args") is not None:
                smoke_args = tuple(table["smoke-args"])
            if table.get("smoke-expect") is not None:
                smoke_expect = tuple(table["smoke-expect"])
        return TargetSettings(tuple(features), env, tuple(rustflags), smoke_args, smoke_expect, tuple(allowed))

    def smoke_for(self, target: Target, binary: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(args, expected templates) of `binary`'s run on `target`: its own table wins over the target's (pure)."""
        settings = self.target_settings(target)
        own = self.binary_tables.get(binary, {})
        args = own.get("smoke-args")
        expect = own.get("smoke-expect")
        return (
            tuple(args) if args is not None else settings.smoke_args,
            tuple(expect) if expect is not None else settings.smoke_expect,
        )


# --- validation ---------------------------------------------------------------


def validate_table(table: Mapping[str, Any]) -> dict[str, Any]:
    """Check every key of [tool.release] and its tables; return the values with defaults filled in."""
    values = check_table(config_schema.RELEASE, table)
    package = values["package"]
    metadata_table = config_schema.METADATA
    if isinstance(package, dict):
        # The old spelling of [tool.release.metadata]; messages name the key as written.
        if table.get("metadata"):
            raise ConfigError(
                "tool.release.package (a table) and tool.release.metadata say the same thing twice",
                hint="keep [tool.release.metadata] and remove [tool.release.package]",
            )
        values["metadata"], values["package"] = package, None
        metadata_table = replace(metadata_table, path="tool.release.package")
    values["metadata"] = check_table(metadata_table, values["metadata"])
    values["archive"] = check_table(config_schema.ARCHIVE, values["archive"])
    check_table(config_schema.SIGN, values["sign"])
    values["packages"] = config_schema.check_packages(values["packages"])
    values["publish"] = config_schema.check_publish(values["publish"])
    values["regression"] = check_table(config_schema.REGRESSION, values["regression"])
    values["gates"] = check_table(config_schema.GATES, values["gates"])
    values["announce"] = check_table(config_schema.ANNOUNCE, values["announce"])
    check_doc_commands(values["completions"], values["man"])
    check_glibc(values["glibc"])
    check_smoke_expect("tool.release.smoke-expect", values["smoke-expect"])
    values["target"] = [check_target_table(pattern, table) for pattern, table in values["target"].items()]
    values["binary"] = {name: check_binary_table(name, raw) for name, raw in values["binary"].items()}
    for triple, version in values["macos-deployment-target"].items():
        _check_triple("tool.release.macos-deployment-target", triple)
        if not get_target(triple).is_macos:
            raise ConfigError(
                f"tool.release.macos-deployment-target.{triple}: not a macOS target",
                hint="list only *-apple-darwin triples here: "
                + ", ".join(t.triple for t in all_targets() if t.is_macos),
            )
        check_macos_version(triple, version, get_target(triple).macos_min or "")
    return values


def check_doc_commands(completions: Sequence[str], man: Sequence[str]) -> None:
    """The completions command names {bin} and {shell}; the man command names {bin}."""
    for key, command, needed in (("completions", completions, ("{bin}", "{shell}")), ("man", man, ("{bin}",))):
        if not command:
            continue
        absent = [word for word in needed if not any(word in arg for arg in command)]
        if absent:
            raise ConfigError(
                f"tool.release.{key} = {command!r} lacks {' and '.join(absent)}",
                hint=f"e.g. {key} = {config_schema.RELEASE.fields[key].example}",
            )


def _placeholder_list() -> str:
    """ "{name}, {crate}, {binary}, {version} and {triple}"."""
    names = ["{" + p + "}" for p in SMOKE_PLACEHOLDERS]
    return ", ".join(names[:-1]) + " and " + names[-1]


def check_smoke_expect(key: str, templates: Sequence[str]) -> None:
    """ConfigError unless every template uses only SMOKE_PLACEHOLDERS."""
    for template in templates:
        try:
            template.format(**dict.fromkeys(SMOKE_PLACEHOLDERS, ""))
        except (KeyError, IndexError, ValueError) as error:
            raise ConfigError(
                f"{key}: {template!r} has an unknown placeholder ({error})",
                hint="the placeholders are " + _placeholder_list(),
            ) from error


def check_binary_table(name: str, raw: Any) -> dict[str, Any]:
    """One [tool.release.binary."<name>"] table, checked (that `name` is a binary of the crate is checked later)."""
    key = f'tool.release.binary."{name}"'
    if not isinstance(raw, dict):
        raise ConfigError(f"{key} must be a table, not {type(raw).__name__}", hint='e.g. smoke-args = ["-V"]')
    values = check_table(replace(config_schema.BINARY, path=key), raw)
    check_smoke_expect(f"{key}.smoke-expect", values["smoke-expect"] or ())
    return values


def check_target_table(pattern: str, raw: Any) -> tuple[str, dict[str, Any]]:
    """One [tool.release.target."<pattern>"] table, checked: the pattern matches a known triple, keys and values."""
    key = f'tool.release.target."{pattern}"'
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{key} must be a table, not {type(raw).__name__}",
            hint=f'e.g. [tool.release.target."{pattern}"] with features = ["vendored"]',
        )
    if pattern.startswith("!"):
        raise ConfigError(
            f'{key}: a target table names the targets it applies to; "!" cannot',
            hint='write a pattern that matches only those targets, e.g. "*-linux-*"',
        )
    try:
        select_targets([pattern])
    except TargetError as error:
        raise ConfigError(f"{key}: {error.message}", hint=error.hint) from error
    values = check_table(replace(config_schema.TARGET, path=key), raw)
    for name in values["env"]:
        if not _ENV_NAME.match(name):
            raise ConfigError(f"{key}.env: {name!r} is not an environment variable name", hint="e.g. SDKROOT")
        if name in RESERVED_ENV:
            raise ConfigError(f"{key}.env.{name} is set by the tool", hint=RESERVED_ENV[name])
    check_smoke_expect(f"{key}.smoke-expect", values["smoke-expect"] or ())
    return pattern, values


def _version_pair(text: str) -> tuple[int, int] | None:
    """(major, minor) of "MAJOR.MINOR", else None (pure)."""
    match = _VERSION_PAIR.match(text)
    return (int(match[1]), int(match[2])) if match else None


def _pair_text(pair: tuple[int, int]) -> str:
    return f"{pair[0]}.{pair[1]}"


def check_glibc(value: str) -> None:
    """ConfigError unless `value` is a glibc floor zig can build for (GLIBC_OLDEST to GLIBC_NEWEST)."""
    supported = f"{_pair_text(GLIBC_OLDEST)} to {_pair_text(GLIBC_NEWEST)}"
    pair = _version_pair(value)
    if pair is None:
        raise ConfigError(
            f"tool.release.glibc = {value!r} is not a glibc version",
            hint=f'write it as MAJOR.MINOR, e.g. glibc = "2.17"; supported floors: {supported}',
        )
    if not GLIBC_OLDEST <= pair <= GLIBC_NEWEST:
        why = (
            "older than Rust's standard library supports"
            if pair < GLIBC_OLDEST
            else "newer than any glibc the pinned zig can target"
        )
        raise ConfigError(
            f"tool.release.glibc = {value!r} is outside the supported range: {why}",
            hint=f"set a floor from {supported} (the oldest glibc your users run; 2.17 reaches the most systems)",
        )


def check_macos_version(triple: str, value: str, floor: str) -> None:
    """ConfigError unless `value` is MAJOR.MINOR and not older than Rust's minimum for `triple` (`floor`)."""
    key = f"tool.release.macos-deployment-target.{triple}"
    pair = _version_pair(value)
    if pair is None:
        raise ConfigError(f"{key} = {value!r} is not a macOS version", hint=f'write it as MAJOR.MINOR, e.g. "{floor}"')
    minimum = _version_pair(floor)
    if minimum is not None and pair < minimum:
        raise ConfigError(
            f"{key} = {value!r} is older than Rust supports for {triple} ({floor})",
            hint=f'set "{floor}" or newer',
        )


def _check_triple(key: str, triple: str) -> None:
    try:
        get_target(triple)
    except TargetError as error:
        raise ConfigError(f"{key}: {error.message}", hint=error.hint) from error


# --- reading files -------------------------------------------------------------


def _not_utf8(path: Path, what: str, error: UnicodeDecodeError) -> ConfigError:
    return ConfigError(
        f"{what} is not UTF-8 text: {path} (byte {error.object[error.start]:#04x} at offset {error.start})",
        hint="TOML files must be UTF-8: re-save it as UTF-8, e.g. `iconv -f latin1 -t utf-8`",
    )


def _with_hint(error: ConfigError) -> ConfigError:
    """`error` from crate.read_toml, with a hint saying what to do (it names only the problem)."""
    if error.hint:
        return error
    if isinstance(error.__cause__, tomllib.TOMLDecodeError):
        hint = "fix the TOML syntax at the line and column named (https://toml.io)"
    else:
        hint = "check the path, and that the file exists"
    return ConfigError(error.message, hint=hint)


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    """read_toml, with every failure (missing, broken, not UTF-8) a ConfigError with a hint."""
    try:
        return read_toml(path, what)
    except UnicodeDecodeError as error:
        raise _not_utf8(path, what, error) from error
    except ConfigError as error:
        raise _with_hint(error) from error.__cause__


def _read_crate(manifest: Path, package: str | None) -> CrateFacts:
    """read_crate, with every failure to read a Cargo.toml (or its workspace's) a ConfigError with a hint."""
    try:
        return read_crate(manifest, package)
    except UnicodeDecodeError as error:
        raise _not_utf8(manifest, "the crate's Cargo.toml (or its workspace's)", error) from error
    except ConfigError as error:
        raise _with_hint(error) from error.__cause__


# --- putting it together -----------------------------------------------------


def build_config(table: Mapping[str, Any], root: Path, environ: Mapping[str, str]) -> ReleaseConfig:
    """Validate `table` ([tool.release]) found in `root` and complete it from Cargo.toml."""
    values = validate_table(table)
    manifest = (root / values["crate"]).resolve()
    if manifest.is_dir():
        manifest = manifest / "Cargo.toml"
    if not manifest.is_file():
        raise ConfigError(
            f"tool.release.crate: no Cargo.toml at {manifest}",
            hint="set tool.release.crate to the path of your crate's Cargo.toml, relative to pyproject.toml",
        )
    # Validated here too, so a typo in a versioning key stops every command, not only the versioning ones.
    parse_versioning(values["versioning"])
    crate = _read_crate(manifest, values["package"])
    # A workspace member chosen by name is built from its own Cargo.toml.
    manifest = crate.manifest or manifest
    binaries = tuple(values["binaries"] or crate.binaries)
    if not binaries:
        raise ConfigError(
            f"{manifest} declares no binary",
            hint="add a [[bin]] target or src/main.rs, or list tool.release.binaries",
        )
    missing = [name for name in binaries if name not in crate.binaries]
    if missing:
        raise ConfigError(
            f"tool.release.binaries: {', '.join(missing)} not a binary of crate {crate.name!r}",
            hint="the crate's binaries are: " + (", ".join(crate.binaries) or "(none)"),
        )
    strangers = [name for name in values["binary"] if name not in binaries]
    if strangers:
        raise ConfigError(
            f'tool.release.binary."{strangers[0]}": not a binary this release ships',
            hint="the binaries shipped are: " + ", ".join(binaries),
        )
    try:
        targets = select_targets(values["targets"])
    except TargetError as error:
        raise ConfigError(f"tool.release.targets: {error.message}", hint=error.hint) from error
    meta = values["metadata"]
    package = PackageMetadata(
        description=meta["description"] or crate.description,
        homepage=meta["homepage"] or crate.homepage or crate.repository,
        license=meta["license"] or crate.license,
        maintainer=meta["maintainer"] or (crate.authors[0] if crate.authors else ""),
        repository=meta["repository"] or crate.repository,
    )
    dist = Path(environ.get(DIST_ENV) or root / values["dist-dir"])
    return ReleaseConfig(
        root=root,
        crate_manifest=manifest,
        name=crate.name,
        version=crate.version,
        binaries=binaries,
        targets=targets,
        glibc=values["glibc"],
        macos_deployment_target=dict(values["macos-deployment-target"]),
        profile=values["profile"],
        build_mode=values["build-mode"],
        features=tuple(values["features"]),
        no_default_features=values["no-default-features"],
        all_features=values["all-features"],
        dist_dir=dist.resolve(),
        rustc=tuple(Path(p) for p in values["rustc"]),
        archive_unix=values["archive"]["unix"],
        archive_windows=values["archive"]["windows"],
        include=tuple(values["include"]),
        package=package,
        smoke_args=tuple(values["smoke-args"]),
        smoke_expect=tuple(values["smoke-expect"]),
        target_tables=tuple(values["target"]),
        binary_tables=dict(values["binary"]),
        sign=dict(values["sign"]),
        versioning=dict(values["versioning"]),
        packages=dict(values["packages"]),
        completions=tuple(values["completions"]),
        man=tuple(values["man"]),
        install_scripts=values["install-scripts"],
        publish=dict(values["publish"]),
        regression=dict(values["regression"]),
        gates=dict(values["gates"]),
        announce=dict(values["announce"]),
        rust_version=crate.rust_version,
        rust_requirement=read_requirement(crate.rust_version, manifest.parent, crate.workspace_root),
    )


def find_config_file(start: Path, environ: Mapping[str, str]) -> Path:
    """$RELEASE_CONFIG, else the nearest pyproject.toml with [tool.release]."""
    if environ.get(CONFIG_ENV):
        path = Path(environ[CONFIG_ENV])
        if not path.is_file():
            raise ConfigError(
                f"{CONFIG_ENV}={path}: no such file",
                hint=f"point {CONFIG_ENV} at a pyproject.toml with a [tool.release] table, or unset it",
            )
        return path
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            tool = _read_toml(candidate, "pyproject.toml").get("tool")
            if isinstance(tool, dict) and "release" in tool:
                return candidate
    raise ConfigError(
        f"no pyproject.toml with a [tool.release] table in {start} or above",
        hint=f"run from the project folder, or set {CONFIG_ENV} to the file",
    )


def config_file(config: ReleaseConfig, environ: Mapping[str, str]) -> Path:
    """The file `config` was read from: $RELEASE_CONFIG, else the pyproject.toml in its folder."""
    return Path(environ[CONFIG_ENV]).resolve() if environ.get(CONFIG_ENV) else config.root / "pyproject.toml"


def load_config(start: Path | None = None, environ: Mapping[str, str] | None = None) -> ReleaseConfig:
    """Find, read and validate the release configuration."""
    env = os.environ if environ is None else environ
    path = find_config_file((start or Path.cwd()).resolve(), env)
    data = _read_toml(path, "configuration file")
    tool = data.get("tool")
    table = tool.get("release") if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        raise ConfigError(
            f"{path} has no [tool.release] table",
            hint='add one, e.g. [tool.release] with crate = "path/to/Cargo.toml"',
        )
    return build_config(table, path.parent.resolve(), env)


# --- command-line options checked against the configuration -----------------


def archive_formats(
    config: ReleaseConfig, targets: Sequence[Target], unix_format: str | None = None
) -> dict[str, tuple[str, ...]]:
    """{archive format: the triples packed in it} for a run over `targets` (`unix_format` overrides tar.*)."""
    formats: dict[str, list[str]] = {}
    for target in targets:
        fmt = config.archive_format(target) if target.is_windows or not unix_format else unix_format
        formats.setdefault(fmt, []).append(target.triple)
    return {fmt: tuple(triples) for fmt, triples in formats.items()}


def _level_ranges() -> str:
    return ", ".join(f"{fmt} {low}-{high}" for fmt, (low, high) in COMPRESSION_LEVELS.items())


def check_jobs(raw: str | int | None) -> int:
    """--jobs as a whole number of parallel archive jobs (0 or absent: one per CPU); ConfigError otherwise."""
    if raw is None:
        return 0
    text = str(raw).strip()
    if not text.isdigit():
        raise ConfigError(
            f"--jobs {raw!r} is not a number of parallel jobs",
            hint="give a whole number, e.g. --jobs 2, or leave it out for one job per CPU",
        )
    return int(text)


def check_compression_level(raw: str | int, formats: Mapping[str, Sequence[str]]) -> int:
    """`raw` (the --level option) as an int every format of the run accepts, or a ConfigError naming the ranges.

    One level applies to every archive of a run, so it must suit each format in `formats`.
    """
    text = str(raw).strip()
    if not re.fullmatch(r"-?\d+", text):
        raise ConfigError(
            f"--level {text!r} is not a whole number",
            hint=f"compression levels per format: {_level_ranges()} (default 6)",
        )
    level = int(text)
    for fmt, triples in formats.items():
        low, high = COMPRESSION_LEVELS.get(fmt, (0, 9))
        if not low <= level <= high:
            raise ConfigError(
                f"--level {level} is out of range for {fmt} archives ({', '.join(triples)}): {fmt} takes {low}-{high}",
                hint=f"compression levels per format: {_level_ranges()}; one level applies to every archive of "
                "the run, so choose one each format accepts, or narrow --target",
            )
    return level

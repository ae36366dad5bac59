"""cargo: `cargo publish --locked` of the crate, and of the workspace members it depends on, first.

Which packages, in which order. `cargo metadata --no-deps` lists each
workspace member's dependencies with the `path` of a path dependency; the
crate's normal and build path dependencies among the members (and theirs)
must be on the registry before it, so they are published first, dependencies
before dependents (`publish_order`). Dev-dependencies are left out, as cargo
leaves them out of what it uploads.

Which registry. tool.release.publish.cargo.registry, else cargo's own
default (CARGO_REGISTRY_DEFAULT, else `[registry] default` in cargo's
configuration, else its built-in registry, which cargo calls crates-io).
A named registry's index URL is read where cargo reads it:
CARGO_REGISTRIES_<NAME>_INDEX, else `[registries.<name>] index` in the
.cargo/config.toml files from the crate's folder up to the root, then in
$CARGO_HOME/config.toml (the nearest wins). `cargo config get` would say the
same, but it is unstable (nightly only), so the files are read here.

Is a version there already? Asked of the registry's index, never guessed
from cargo's error. A sparse index (`sparse+https://…/`) is read here: one
file per crate at cargo's prefix path (1/a, 2/ab, 3/a/abc, ab/cd/abcd…),
one JSON line per version, 404 when the crate has none; it is fetched with
the token when the index's config.json says `auth-required`. Cargo's
built-in registry is asked through cargo itself (`cargo info
<name>@<version> --registry crates-io`), so its address is cargo's business
and none is written here; cargo info failing (no such crate, or no network)
counts as "not there", and cargo publish, which checks the index again
before uploading, is the judge. A git index is asked the same way.

The token. It comes from the variable tool.release.publish.cargo.token-env
and reaches cargo only in its environment, under the name cargo reads for
that registry (CARGO_REGISTRY_TOKEN for crates-io,
CARGO_REGISTRIES_<NAME>_TOKEN for another), never in argv; every text made
from cargo's output is masked with it, and output lines holding it are not
shown.

The run. Preflight (read-only): the packages, the registry, the index.
Then, for what is not there yet, `cargo publish --dry-run --locked` of all of
them at once (cargo packages and builds them as they would be published,
resolving members against each other); in a dry run of ours nothing else
runs. Then each one, in order, `cargo publish --locked --no-verify` (the
gate just built exactly these sources), which waits until the registry's
index lists it. A publish that fails is looked up in the index again: listed
means it went through (only the reply was lost); a 5xx or no answer is
tried again within the retry budget (cargo retries its index reads itself,
not the upload); a 401/403 is one error naming the variable.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import requests

from tooling import __version__, crate, proc, ui
from tooling.build.plan import default_target_dir
from tooling.errors import CommandError, ConfigError, PublishError
from tooling.publish import github, retry, urls
from tooling.publish.channels import PUBLISHED, UNCHANGED, WOULD_PUBLISH, ChannelJob, Outcome

CHANNEL = "cargo"
SETTING = "tool.release.publish.cargo"
BUILT_IN = "crates-io"  # the name cargo gives its built-in registry (a name only; its address is cargo's)
SPARSE_PREFIX = "sparse+"
USER_AGENT = f"release-tooling/{__version__}"
READ_TIMEOUT = (10.0, 60.0)
PUBLISHED_KINDS = (None, "normal", "build")  # dependency kinds a published package needs on the registry
_RERUN_HINT = "run the same command again: it checks the registry's index and publishes only what is missing"


# --- cargo's configuration ---------------------------------------------------------------------


def cargo_home(environ: Mapping[str, str]) -> Path:
    """$CARGO_HOME, else ~/.cargo, as cargo finds it."""
    if environ.get("CARGO_HOME"):
        return Path(environ["CARGO_HOME"])
    return Path(environ.get("HOME") or Path.home()) / ".cargo"


def config_files(start: Path, home: Path) -> list[Path]:
    """cargo's configuration files for a command run in `start`, the one that wins first.

    In each folder from `start` up to the root, .cargo/config.toml (or the
    older .cargo/config), then $CARGO_HOME's, unless one of those already was it.
    """
    found: list[Path] = []
    for folder in (start, *start.parents):
        for name in ("config.toml", "config"):
            candidate = folder / ".cargo" / name
            if candidate.is_file():
                found.append(candidate)
                break
    for name in ("config.toml", "config"):
        candidate = home / name
        if candidate.is_file():
            if candidate.resolve() not in {path.resolve() for path in found}:
                found.append(candidate)
            break
    return found


def read_configs(files: Sequence[Path]) -> list[dict[str, Any]]:
    """Each file's TOML; a broken one is a ConfigError naming it (cargo would refuse it too)."""
    tables = []
    for path in files:
        try:
            tables.append(tomllib.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"{CHANNEL}: cannot read cargo's configuration {path}: {error}") from error
    return tables


def config_value(tables: Sequence[Mapping[str, Any]], *keys: str) -> str | None:
    """The string at `keys` in the first table that has one (tables in precedence order) (pure)."""
    for table in tables:
        value: Any = table
        for key in keys:
            value = value.get(key) if isinstance(value, Mapping) else None
        if isinstance(value, str) and value:
            return value
    return None


def env_key(registry: str) -> str:
    """A registry's name as cargo spells it in environment variables: upper case, - as _ (pure)."""
    return registry.upper().replace("-", "_")


def token_variable(registry: str) -> str:
    """The variable cargo reads the token of `registry` from (pure)."""
    return "CARGO_REGISTRY_TOKEN" if registry == BUILT_IN else f"CARGO_REGISTRIES_{env_key(registry)}_TOKEN"


def chosen_registry(setting: str, tables: Sequence[Mapping[str, Any]], environ: Mapping[str, str]) -> str:
    """The registry to publish to: the setting, else cargo's default registry (pure)."""
    return (
        setting.strip()
        or environ.get("CARGO_REGISTRY_DEFAULT", "").strip()
        or config_value(tables, "registry", "default")
        or BUILT_IN
    )


def registry_index(registry: str, tables: Sequence[Mapping[str, Any]], environ: Mapping[str, str]) -> str | None:
    """The index URL of a named registry, where cargo reads it; None for the built-in one (pure)."""
    if registry == BUILT_IN:
        return None
    index = environ.get(f"CARGO_REGISTRIES_{env_key(registry)}_INDEX", "").strip() or config_value(
        tables, "registries", registry, "index"
    )
    if not index:
        raise ConfigError(
            f"{CHANNEL}: {SETTING}.registry = {registry!r} is not a registry cargo knows: no index for it "
            "in .cargo/config.toml or $CARGO_HOME/config.toml",
            hint=f'add [registries.{registry}] index = "sparse+https://<host>/<index>/" to .cargo/config.toml, '
            f"or set {SETTING}.registry to the name used there",
        )
    return index


def sparse_root(index: str, setting: str = "the registry's index") -> str | None:
    """The http(s) URL of a sparse index, ending in /; None for any other kind of index (git) (pure).

    The token may be sent to it: https, or plain http only to this machine (ConfigError naming `setting`).
    """
    if not index.startswith(SPARSE_PREFIX):
        return None
    url = index.removeprefix(SPARSE_PREFIX)
    try:
        if urls.split(url, setting).scheme.lower() not in urls.SCHEMES:
            return None
        urls.check_secret_url(url, setting)
    except ConfigError as error:
        raise ConfigError(f"{CHANNEL}: {error.message}", hint=error.hint) from None
    return url if url.endswith("/") else url + "/"


# --- the packages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Package:
    """A package to publish, as `cargo metadata` describes it."""

    name: str
    version: str
    manifest: Path
    publish: tuple[str, ...] | None  # registries it may go to; None: any


def _package(data: Mapping[str, Any]) -> Package:
    allowed = data.get("publish")
    return Package(
        name=str(data["name"]),
        version=str(data["version"]),
        manifest=Path(str(data["manifest_path"])),
        publish=None if allowed is None else tuple(str(name) for name in allowed),
    )


def publish_order(metadata: Mapping[str, Any], name: str) -> list[Package]:
    """`name` and the workspace members it needs on the registry, dependencies first (pure).

    Needed: its normal and build dependencies that are path dependencies on
    workspace members, and theirs. Ties are broken by name, so the order is stable.
    """
    members = set(metadata.get("workspace_members") or ())
    packages = {str(p["name"]): p for p in metadata.get("packages", ()) if not members or p.get("id") in members}
    by_folder = {Path(str(p["manifest_path"])).parent.resolve(): n for n, p in packages.items()}
    if name not in packages:
        raise ConfigError(f"{CHANNEL}: cargo metadata lists no package {name!r}", hint="check tool.release.crate")

    def needs(package: str) -> list[str]:
        found = set()
        for dependency in packages[package].get("dependencies") or ():
            path = dependency.get("path")
            if path and dependency.get("kind") in PUBLISHED_KINDS:
                member = by_folder.get(Path(str(path)).resolve())
                if member is not None:
                    found.add(member)
        return sorted(found)

    order: list[str] = []
    visiting: list[str] = []

    def visit(package: str) -> None:
        if package in order:
            return
        if package in visiting:  # cargo refuses such a cycle already; say it plainly if one gets here
            cycle = " -> ".join([*visiting[visiting.index(package) :], package])
            raise ConfigError(f"{CHANNEL}: the workspace's path dependencies form a cycle: {cycle}")
        visiting.append(package)
        for dependency in needs(package):
            visit(dependency)
        visiting.pop()
        order.append(package)

    visit(name)
    return [_package(packages[package]) for package in order]


def check_publishable(packages: Iterable[Package], registry: str) -> None:
    """ConfigError when a package's `publish` field keeps it from `registry` (pure)."""
    for package in packages:
        if package.publish is None or registry in package.publish:
            continue
        said = "publish = false" if not package.publish else f"publish = {list(package.publish)}"
        raise ConfigError(
            f"{CHANNEL}: {package.name} cannot be published to {registry}: its Cargo.toml says {said}",
            hint=f'allow it in {package.manifest} (publish = ["{registry}"]), '
            f"or set {SETTING}.registry to a registry it allows",
        )


# --- the registry's index -----------------------------------------------------------------------------


def index_path(name: str) -> str:
    """The file of crate `name` in an index, relative to its root (cargo's prefix rule, lower case) (pure)."""
    lower = name.lower()
    if len(lower) <= 2:
        return f"{len(lower)}/{lower}"
    if len(lower) == 3:
        return f"3/{lower[0]}/{lower}"
    return f"{lower[:2]}/{lower[2:4]}/{lower}"


def without_build(version: str) -> str:
    """A version without its +build metadata, which the registry ignores when it compares versions (pure)."""
    return version.split("+", 1)[0]


def listed_versions(text: str) -> set[str]:
    """The versions an index file lists, one JSON line each (yanked ones too: their number is taken) (pure)."""
    versions = set()
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line from a newer index format we do not read: it names no version we could match
        if isinstance(entry, dict) and isinstance(entry.get("vers"), str):
            versions.add(without_build(entry["vers"]))
    return versions


class Index(Protocol):
    """Where to ask whether a version is on the registry."""

    def describe(self) -> str: ...

    def listed(self, name: str, version: str) -> bool: ...


@dataclass
class SparseIndex:
    """A sparse index, read over HTTP; transient failures retried by the policy in retry.py."""

    root: str
    registry: str
    token: str = field(repr=False)
    session: requests.Session
    policy: retry.Policy
    clock: retry.Clock
    auth_required: bool = False

    def describe(self) -> str:
        return f"the index of {self.registry}"

    def mask(self, text: str) -> str:
        return proc.mask(text, [self.token])

    def _get(self, url: str, what: str) -> requests.Response:
        attempts = retry.Attempts(self.policy, self.clock)
        while True:
            headers = {"User-Agent": USER_AGENT}
            if self.auth_required and self.token:
                headers["Authorization"] = self.token  # cargo's own form: the token, without a scheme
            failure = None
            try:
                response: requests.Response | None = self.session.get(url, headers=headers, timeout=READ_TIMEOUT)
            except requests.RequestException as error:
                response = None
                failure = github.describe_failure(error, github.Call("GET", url, what, timeout=READ_TIMEOUT))
            status = None if response is None else response.status_code
            reply_headers = {} if response is None else dict(response.headers)
            if response is not None and not retry.is_transient(status, reply_headers):
                return response
            step = attempts.after_failure(status=status, headers=reply_headers)
            problem = failure or f"the index answered {status}"
            if not isinstance(step, retry.Wait):
                reason = step.reason if isinstance(step, retry.GiveUp) else "not retried"
                raise PublishError(self.mask(f"{CHANNEL}: {what}: {problem}; gave up: {reason}"), hint=_RERUN_HINT)
            ui.warn(self.mask(f"{CHANNEL}: {what}: {problem}; trying again in {step.seconds:.1f} s"))
            attempts.sleep(step.seconds)

    def _refused(self, response: requests.Response, what: str) -> PublishError:
        variable = token_variable(self.registry)
        if response.status_code in (401, 403):
            return PublishError(
                f"{CHANNEL}: {self.describe()} refused {what} ({response.status_code}): it needs a valid token",
                hint=f"set the variable named by {SETTING}.token-env (cargo reads it as {variable})",
            )
        return PublishError(
            self.mask(f"{CHANNEL}: {what} in {self.describe()}: it answered {response.status_code}"),
            hint=f"check [registries.{self.registry}] index in .cargo/config.toml",
        )

    def read_config(self) -> None:
        """config.json: the index is there, and whether reading it needs the token (preflight)."""
        what = "reading config.json"
        response = self._get(self.root + "config.json", what)
        if response.status_code == 401 and self.token and not self.auth_required:
            # A registry that needs the token for reads says so with a 401 to config.json; cargo then
            # asks again with the token, and so do we.
            self.auth_required = True
            response = self._get(self.root + "config.json", what)
        if response.status_code != 200:
            raise self._refused(response, what)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise PublishError(
                f"{CHANNEL}: {self.describe()}'s config.json is not a JSON object",
                hint=f"check [registries.{self.registry}] index: it must be the index's root URL",
            )
        self.auth_required = self.auth_required or data.get("auth-required") is True

    def listed(self, name: str, version: str) -> bool:
        what = f"looking up {name}"
        response = self._get(self.root + index_path(name), what)
        if response.status_code in (404, 410, 451):  # what the sparse protocol answers for a crate it does not have
            return False
        if response.status_code != 200:
            raise self._refused(response, what)
        return without_build(version) in listed_versions(response.text)


@dataclass
class CargoInfoIndex:
    """The built-in registry (or a git index), asked through `cargo info`, which knows where it is."""

    registry: str
    runner: proc.Runner
    cwd: Path

    def describe(self) -> str:
        return self.registry

    def listed(self, name: str, version: str) -> bool:
        argv = ["cargo", "info", "--registry", self.registry, f"{name}@{version}"]
        result = self.runner.run(argv, effect=proc.Effect.READ, cwd=self.cwd, capture=True, check=False)
        return result.ok and info_version(result.stdout) == without_build(version)


def info_version(output: str) -> str | None:
    """The version `cargo info` describes ("version: 1.2.3 (latest 1.4.0)") (pure)."""
    found = re.search(r"^version:\s*(\S+)", output, re.MULTILINE)
    return without_build(found.group(1)) if found else None


# --- cargo publish ---------------------------------------------------------------------------------------


def publish_argv(manifest: Path, registry: str, names: Sequence[str], *, dry_run: bool) -> list[str]:
    """`cargo publish` of `names` (packages of the workspace holding `manifest`) (pure)."""
    argv = ["cargo", "publish", "--locked", "--manifest-path", str(manifest)]
    if registry != BUILT_IN:
        argv += ["--registry", registry]
    # The real publish does not build again: the dry run just built these very sources.
    argv += ["--dry-run"] if dry_run else ["--no-verify"]
    for name in names:
        argv += ["--package", name]
    return argv


@dataclass(frozen=True)
class Failure:
    """How a `cargo publish` failed, read from its output: the HTTP status it names, or no answer at all."""

    status: int | None
    no_answer: bool

    @property
    def transient(self) -> bool:
        return self.no_answer or (self.status is not None and (self.status >= 500 or self.status == 429))

    @property
    def refused(self) -> bool:
        return self.status in (401, 403)


def read_failure(output: str) -> Failure:
    """What cargo's error says went wrong with the upload (pure).

    Only to choose between trying again, naming the token and giving up: a
    version already there is never told from this text but from the index.
    Cargo writes "(status 403 Forbidden)" for an HTTP error and a curl code
    ("[52] Server returned nothing") for a request that got no answer.
    """
    status = re.search(r"\(status (\d{3})\b", output)
    no_answer = re.search(r"^\s*\[\d+\] ", output, re.MULTILINE) is not None
    return Failure(int(status.group(1)) if status else None, no_answer and status is None)


def _tail(output: str, token: str, lines: int = 12) -> str:
    kept = [line for line in output.strip().splitlines() if line.strip()]
    return proc.mask("\n".join(kept[-lines:]), [token])


def _shown(token: str) -> Callable[[str], bool]:
    """Which lines of cargo's output to show as they come: all but one holding the token (it never should)."""
    return lambda line: not token or proc.mask(line, [token]) == line


@dataclass
class Publishing:
    """What one run publishes, and with what."""

    job: ChannelJob
    registry: str
    index: Index
    token: str = field(repr=False)
    variable: str  # the variable the token came from (token-env)
    policy: retry.Policy
    clock: retry.Clock

    @property
    def env(self) -> dict[str, str]:
        # The build the dry run makes goes where this tool's builds go: outside the clone, warm on a re-run.
        env = {"CARGO_TARGET_DIR": str(default_target_dir(self.job.config, self.job.environ))}
        return env | ({token_variable(self.registry): self.token} if self.token else {})

    def run(self, argv: list[str], effect: proc.Effect) -> proc.Result:
        return self.job.runner.run(
            argv, effect=effect, env=self.env, cwd=self.job.config.crate_dir, check=False,
            secrets=[self.token] if self.token else [], progress=_shown(self.token),
        )  # fmt: skip

    def gate(self, pending: Sequence[Package]) -> None:
        """`cargo publish --dry-run` of everything pending: cargo's own checks, before anything is uploaded."""
        names = [p.name for p in pending]
        result = self.run(
            publish_argv(self.job.config.crate_manifest, self.registry, names, dry_run=True), proc.Effect.READ
        )
        if not result.ok:
            raise CommandError(
                f"{CHANNEL}: `cargo publish --dry-run` of {', '.join(names)} failed "
                f"(exit code {result.returncode}):\n{_tail(result.stdout, self.token)}",
                hint="fix what cargo says above; nothing was uploaded",
            )

    def upload(self, package: Package) -> bool:
        """`cargo publish` of one package until it is on the registry; False in a dry run (only shown)."""
        argv = publish_argv(self.job.config.crate_manifest, self.registry, [package.name], dry_run=False)
        attempts = retry.Attempts(self.policy, self.clock)
        while True:
            result = self.run(argv, proc.Effect.REMOTE)
            if result.skipped:
                return False
            if result.ok or self.index.listed(package.name, package.version):
                return True  # listed after a failure: it went through and only the reply was lost
            failure = read_failure(result.stdout)
            said = _tail(result.stdout, self.token)
            if failure.refused:
                raise PublishError(
                    f"{CHANNEL}: {self.registry} refused the token in {self.variable} to publish {package.name} "
                    f"({failure.status}):\n{said}",
                    hint=f"set {self.variable} to a token of {self.registry} that may publish {package.name} "
                    f"(cargo gets it as {token_variable(self.registry)})",
                )
            # The index said it is not there: sending it again is safe (force), within the budget.
            step = attempts.after_failure(status=failure.status, force=True) if failure.transient else None
            if not isinstance(step, retry.Wait):
                gave_up = f"; gave up: {step.reason}" if isinstance(step, retry.GiveUp) else ""
                raise CommandError(
                    f"{CHANNEL}: `cargo publish` of {package.name} {package.version} to {self.registry} failed "
                    f"(exit code {result.returncode}){gave_up}:\n{said}",
                    hint=_RERUN_HINT if failure.transient else "fix what cargo says above; " + _RERUN_HINT,
                )
            shown = failure.status or "no answer"
            ui.warn(f"{CHANNEL}: publishing {package.name} failed ({shown}); trying again in {step.seconds:.1f} s")
            attempts.sleep(step.seconds)


def _make_index(
    registry: str, tables: Sequence[Mapping[str, Any]], job: ChannelJob, token: str, policy: retry.Policy,
    clock: retry.Clock, session: requests.Session,
) -> Index:  # fmt: skip
    url = registry_index(registry, tables, job.environ)
    setting = f"the index of {registry} ([registries.{registry}] index, or CARGO_REGISTRIES_{env_key(registry)}_INDEX)"
    root = sparse_root(url, setting) if url else None
    if root is None:
        return CargoInfoIndex(registry, job.runner, job.config.crate_dir)
    index = SparseIndex(root, registry, token, session, policy, clock)
    index.read_config()
    return index


def publish(
    job: ChannelJob,
    *,
    session: requests.Session | None = None,
    policy: retry.Policy | None = None,
    clock: retry.Clock | None = None,
) -> Outcome:
    """Publish the crate (and the members it needs first) to the registry, skipping versions it lists."""
    client = requests.Session() if session is None else session
    try:
        return _publish(job, client, policy or retry.Policy(), clock or retry.Clock())
    finally:
        if session is None:  # ours to close
            client.close()


def _publish(job: ChannelJob, session: requests.Session, policy: retry.Policy, clock: retry.Clock) -> Outcome:
    """Preflight (packages, registry, index), then the gate and each upload of what is missing."""
    tables = read_configs(config_files(job.config.crate_dir, cargo_home(job.environ)))
    registry = chosen_registry(str(job.settings.get("registry", "")), tables, job.environ)
    packages = publish_order(crate.cargo_metadata(job.config.crate_manifest), job.config.name)
    check_publishable(packages, registry)
    token = job.secret("token-env")
    index = _make_index(registry, tables, job, token, policy, clock, session)
    pending = [p for p in packages if not index.listed(p.name, p.version)]
    listed = [p for p in packages if p not in pending]
    names = ", ".join(f"{p.name} {p.version}" for p in packages)
    if not pending:
        return Outcome(UNCHANGED, f"{names} on {registry} already")
    variable = str(job.settings["token-env"])
    if not token:
        raise ConfigError(
            f"{CHANNEL}: no registry token: {variable} is not set",
            hint=f"set {variable} to a token of {registry} that may publish {', '.join(p.name for p in pending)}",
        )
    for package in listed:
        ui.say(f"{CHANNEL}: {package.name} {package.version} is on {registry} already")
    work = Publishing(job, registry, index, token, variable, policy, clock)
    work.gate(pending)
    uploaded = [package for package in pending if work.upload(package)]
    pending_names = ", ".join(f"{p.name} {p.version}" for p in pending)
    if not uploaded:
        return Outcome(WOULD_PUBLISH, f"{pending_names}: cargo publish --dry-run passed; would publish to {registry}")
    return Outcome(PUBLISHED, f"{pending_names} published to {registry}")

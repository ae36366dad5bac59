"""The Homebrew, Scoop and AUR publishers against real git remotes on this machine.

The tap and the bucket are bare repositories served over smart HTTP by git's own `git http-backend`
behind a small server that checks Basic auth (tests/git_remote.py): the token must reach git through
the publisher's GIT_ASKPASS script, as it would reach a forge over https. The AUR package repository
is a bare repository behind a real OpenSSH sshd on 127.0.0.1 with a throwaway host key and one
authorized key: the publisher's own GIT_SSH_COMMAND (its key file, its known-hosts file) is what
connects. Chosen over a fake `ssh` wrapper because the wrapper would check only what the test already
believes; sshd checks the key the way the AUR does.

What users rely on: the first run commits the channel's files (right path, right bytes, the
configured author, the conventional message) and pushes them; a second run finds them there and
changes nothing; a branch that moved meanwhile is rebased onto and pushed once; a network fault is
retried; a wrong or missing credential is one error naming the channel and the variable to set; a
dry run pushes nothing; commits can be GPG-signed; and the secret is in no output, no argument and
no file left behind.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, require_tool
from tests.git_remote import (
    SSHD,
    GitHttpServer,
    HttpFault,
    SshServer,
    bare_repository,
    branch_file,
    branch_files,
    branch_log,
    git_http_server,
    make_ssh_key,
    push_commit,
)
from tooling import proc
from tooling.config import ReleaseConfig, load_config
from tooling.errors import ConfigError, PublishError, SigningError
from tooling.publish import git_channels, retry
from tooling.publish.channels import PUBLISHED, UNCHANGED, WOULD_PUBLISH, ChannelJob

pytestmark = pytest.mark.integration

TOKEN = "canary-tap-token-7f3a9c1e5b"  # a throwaway value the tests search for
AUTHOR = ("Release Bot", "release-bot@example.invalid")


# --- the job ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def packages(package_dist: Path) -> Path:
    """dist/packages/ of `invoke package` with every channel on (only read: the publishers never write there)."""
    return package_dist / "packages"


@pytest.fixture(scope="module")
def config() -> ReleaseConfig:
    base = load_config(ROOT)
    publish = {**base.publish, "author-name": AUTHOR[0], "author-email": AUTHOR[1]}
    return dataclasses.replace(base, publish=publish)


@pytest.fixture(autouse=True)
def _tools() -> None:
    require_tool("git", "the publishers run git")


@dataclass(frozen=True)
class RecordingRunner(proc.Runner):
    """The real runner, recording each command (argv and env) and calling `before` first (to move the remote)."""

    calls: list[tuple[tuple[str, ...], dict[str, str]]] = field(default_factory=list)
    before: Callable[[tuple[str, ...], Mapping[str, str]], None] | None = None

    def run(self, argv: Sequence[str], **options: Any) -> proc.Result:
        command = tuple(str(arg) for arg in argv)
        env = dict(options.get("env") or {})
        self.calls.append((command, env))
        if self.before is not None:
            self.before(command, env)
        return super().run(argv, **options)

    def subcommands(self) -> list[str]:
        """The git subcommand of each call (the first argument after git's own options)."""
        return [next(a for a in argv[1:] if not a.startswith("--")) for argv, _ in self.calls]


@dataclass
class Sleeps:
    """A retry clock that does not wait: it records each wait and may act at the first (start a server)."""

    at_first: Callable[[], None] | None = None
    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        if not self.waits and self.at_first is not None:
            self.at_first()
        self.waits.append(seconds)

    def retrying(self) -> git_channels.Retrying:
        return git_channels.Retrying(clock=retry.Clock(sleep=self, draw=lambda: 0.5))


def make_job(
    channel: str,
    config: ReleaseConfig,
    packages: Path,
    scratch: Path,
    environ: Mapping[str, str],
    runner: proc.Runner | None = None,
    **settings: str,
) -> ChannelJob:
    table = {**config.publish[channel], **{key.replace("_", "-"): value for key, value in settings.items()}}
    scratch.mkdir(parents=True, exist_ok=True)
    return ChannelJob(
        channel=channel,
        files=packages / channel,
        config=config,
        settings=table,
        tag=f"v{config.version}",
        environ=dict(environ),
        runner=runner or RecordingRunner(),
        scratch=scratch,
    )


def message(config: ReleaseConfig) -> str:
    return f"chore(release): {config.name} {config.version}"


def files_holding(folder: Path, secret: str) -> list[Path]:
    """Every file under `folder` whose bytes hold `secret` (or one of its lines)."""
    needles = [line.strip().encode() for line in secret.splitlines() if len(line.strip()) >= 8] or [secret.encode()]
    return [
        path
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink() and any(n in path.read_bytes() for n in needles)
    ]


def assert_secret_hidden(secret: str, text: str, runner: RecordingRunner, *folders: Path) -> None:
    """`secret` in no output, no argument, no file under `folders`; only in the variable meant to carry it."""
    lines = [line.strip() for line in secret.splitlines() if len(line.strip()) >= 8] or [secret]
    for line in lines:
        assert line not in text
    for argv, env in runner.calls:
        assert not any(line in arg for arg in argv for line in lines), argv
        carriers = [name for name, value in env.items() if any(line in value for line in lines)]
        assert carriers in ([], [git_channels.TOKEN_VARIABLE]), carriers
    for folder in folders:
        assert files_holding(folder, secret) == []


def receive_posts(server: GitHttpServer) -> int:
    return sum(1 for seen in server.seen if seen.method == "POST" and "git-receive-pack" in seen.path)


# --- Homebrew and Scoop over https with a token -------------------------------------------------------


@pytest.fixture
def remotes(tmp_path: Path) -> Iterator[GitHttpServer]:
    root = tmp_path / "remotes"
    root.mkdir()
    bare_repository(root / "homebrew-tap.git", "main")
    bare_repository(root / "scoop-bucket.git", "main")
    with git_http_server(root, TOKEN) as server:
        yield server


def test_homebrew_first_run_pushes_the_formula_and_a_second_changes_nothing(
    config: ReleaseConfig, packages: Path, remotes: GitHttpServer, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    bare = remotes.root / "homebrew-tap.git"
    environ = {"HOMEBREW_TAP_TOKEN": TOKEN}
    (formula,) = sorted((packages / "homebrew" / "Formula").glob("*.rb"))
    seen_askpass: list[tuple[int, str]] = []

    def watch(argv: tuple[str, ...], env: Mapping[str, str]) -> None:
        if "GIT_ASKPASS" in env:
            script = Path(env["GIT_ASKPASS"])
            seen_askpass.append((script.stat().st_mode & 0o777, script.read_text(encoding="utf-8")))

    runner = RecordingRunner(before=watch)
    first = git_channels.publish_homebrew(
        make_job(
            "homebrew", config, packages, tmp_path / "s1", environ, runner, repository=remotes.url("homebrew-tap.git")
        )
    )
    assert first.state == PUBLISHED
    log = branch_log(bare, "main")
    assert [(e.author, e.email, e.committer, e.subject) for e in log] == [(*AUTHOR, AUTHOR[0], message(config))]
    assert branch_files(bare, "main") == [f"Formula/{formula.name}"]
    assert branch_file(bare, "main", f"Formula/{formula.name}") == formula.read_bytes()
    # The token went through the askpass script (0700, holding no secret) and the server accepted it.
    assert seen_askpass and all(mode == 0o700 and TOKEN not in text for mode, text in seen_askpass)
    assert any(seen.authorized and "git-receive-pack" in seen.path for seen in remotes.seen)
    pushes = receive_posts(remotes)

    second_runner = RecordingRunner()
    second = git_channels.publish_homebrew(
        make_job(
            "homebrew",
            config,
            packages,
            tmp_path / "s2",
            environ,
            second_runner,
            repository=remotes.url("homebrew-tap.git"),
        )
    )
    assert second.state == UNCHANGED
    assert branch_log(bare, "main") == log  # no new commit
    assert receive_posts(remotes) == pushes  # no push at all
    assert "commit" not in second_runner.subcommands() and "push" not in second_runner.subcommands()

    output = capfd.readouterr()
    assert_secret_hidden(TOKEN, output.out + output.err, runner, tmp_path, remotes.root)
    assert_secret_hidden(TOKEN, output.out + output.err, second_runner, tmp_path, remotes.root)
    assert not (tmp_path / "s1" / "git-homebrew" / "private").exists()  # the askpass script is gone


def test_the_next_release_changes_the_formula_in_a_new_commit(
    config: ReleaseConfig, packages: Path, tmp_path: Path
) -> None:
    bare = bare_repository(tmp_path / "tap.git")
    ours = tmp_path / "packages"
    shutil.copytree(packages / "homebrew", ours / "homebrew")
    (formula,) = sorted((ours / "homebrew" / "Formula").glob("*.rb"))
    first = git_channels.publish_homebrew(
        make_job("homebrew", config, ours, tmp_path / "s1", {}, repository=bare.as_uri())
    )
    assert first.state == PUBLISHED and f"Formula/{formula.name} (new)" in first.detail
    formula.write_bytes(formula.read_bytes().replace(config.version.encode(), b"99.0.0"))
    later = dataclasses.replace(config, version="99.0.0")
    second = git_channels.publish_homebrew(
        make_job("homebrew", later, ours, tmp_path / "s2", {}, repository=bare.as_uri())
    )
    assert second.state == PUBLISHED and f"Formula/{formula.name} (changed)" in second.detail
    assert [e.subject for e in branch_log(bare, "main")] == [message(later), message(config)]
    assert branch_file(bare, "main", f"Formula/{formula.name}") == formula.read_bytes()


def test_scoop_dry_run_pushes_nothing_then_the_real_run_keeps_the_buckets_other_apps(
    config: ReleaseConfig, packages: Path, remotes: GitHttpServer, tmp_path: Path
) -> None:
    bare = remotes.root / "scoop-bucket.git"
    other = push_commit(bare, "main", "bucket/other.json", b'{"version": "1.0"}\n', tmp_path / "other")
    environ = {"SCOOP_BUCKET_TOKEN": TOKEN}
    (manifest,) = sorted((packages / "scoop").glob("*.json"))
    url = remotes.url("scoop-bucket.git")

    dry_runner = RecordingRunner(dry_run=True)
    dry = git_channels.publish_scoop(
        make_job("scoop", config, packages, tmp_path / "dry", environ, dry_runner, repository=url)
    )
    assert dry.state == WOULD_PUBLISH
    assert f"bucket/{manifest.name} (new)" in dry.detail
    assert [e.sha for e in branch_log(bare, "main")] == [other]
    assert receive_posts(remotes) == 0

    real = git_channels.publish_scoop(make_job("scoop", config, packages, tmp_path / "real", environ, repository=url))
    assert real.state == PUBLISHED
    assert branch_files(bare, "main") == sorted(["bucket/other.json", f"bucket/{manifest.name}"])
    assert branch_file(bare, "main", f"bucket/{manifest.name}") == manifest.read_bytes()
    assert [e.subject for e in branch_log(bare, "main")] == [message(config), "other change"]


def test_a_branch_that_moved_between_fetch_and_push_is_rebased_onto_and_pushed_once(
    config: ReleaseConfig, packages: Path, remotes: GitHttpServer, tmp_path: Path
) -> None:
    bare = remotes.root / "homebrew-tap.git"
    push_commit(bare, "main", "README.md", b"# tap\n", tmp_path / "first")
    moved: list[str] = []

    def move_remote(argv: tuple[str, ...], env: Mapping[str, str]) -> None:
        if "push" in argv and not moved:  # someone else pushes right before our first push
            moved.append(push_commit(bare, "main", "Formula/other.rb", b"# another formula\n", tmp_path / "second"))

    runner = RecordingRunner(before=move_remote)
    outcome = git_channels.publish_homebrew(
        make_job(
            "homebrew",
            config,
            packages,
            tmp_path / "s",
            {"HOMEBREW_TAP_TOKEN": TOKEN},
            runner,
            repository=remotes.url("homebrew-tap.git"),
        )
    )
    assert outcome.state == PUBLISHED
    assert runner.subcommands().count("push") == 2 and runner.subcommands().count("pull") == 1
    log = branch_log(bare, "main")
    assert [e.subject for e in log] == [message(config), "other change", "other change"]
    assert log[1].sha == moved[0]  # ours sits on top of theirs: nothing of theirs was lost
    (formula,) = sorted((packages / "homebrew" / "Formula").glob("*.rb"))
    assert branch_files(bare, "main") == sorted(["README.md", "Formula/other.rb", f"Formula/{formula.name}"])


def test_the_same_files_pushed_meanwhile_leave_nothing_to_push(
    config: ReleaseConfig, packages: Path, remotes: GitHttpServer, tmp_path: Path
) -> None:
    bare = remotes.root / "homebrew-tap.git"
    push_commit(bare, "main", "README.md", b"# tap\n", tmp_path / "first")
    (formula,) = sorted((packages / "homebrew" / "Formula").glob("*.rb"))
    raced: list[str] = []

    def race(argv: tuple[str, ...], env: Mapping[str, str]) -> None:
        if "push" in argv and not raced:  # another run of the release got there first, with the same file
            raced.append(push_commit(bare, "main", f"Formula/{formula.name}", formula.read_bytes(), tmp_path / "o"))

    outcome = git_channels.publish_homebrew(
        make_job(
            "homebrew",
            config,
            packages,
            tmp_path / "s",
            {"HOMEBREW_TAP_TOKEN": TOKEN},
            RecordingRunner(before=race),
            repository=remotes.url("homebrew-tap.git"),
        )
    )
    assert outcome.state == UNCHANGED
    assert branch_log(bare, "main")[0].sha == raced[0]


def test_network_faults_are_retried_and_a_push_whose_reply_was_lost_lands_once(
    config: ReleaseConfig, packages: Path, remotes: GitHttpServer, tmp_path: Path
) -> None:
    remotes.faults += [
        HttpFault("service=git-upload-pack", 503),  # the first ls-remote meets a 503
        HttpFault("/git-receive-pack", 502, method="POST", lost=True),  # the push lands, its reply is lost
    ]
    sleeps = Sleeps()
    outcome = git_channels.publish_homebrew(
        make_job(
            "homebrew",
            config,
            packages,
            tmp_path / "s",
            {"HOMEBREW_TAP_TOKEN": TOKEN},
            repository=remotes.url("homebrew-tap.git"),
        ),
        retrying=sleeps.retrying(),
    )
    assert outcome.state == PUBLISHED
    assert len(sleeps.waits) == 2
    assert [e.subject for e in branch_log(remotes.root / "homebrew-tap.git", "main")] == [message(config)]
    assert all(fault.times == 0 for fault in remotes.faults)


def test_a_fault_that_outlasts_the_budget_is_one_error(
    config: ReleaseConfig, packages: Path, remotes: GitHttpServer, tmp_path: Path
) -> None:
    remotes.faults.append(HttpFault("service=git-upload-pack", 503, times=1000))
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    retrying = git_channels.Retrying(
        policy=retry.Policy(budget_seconds=20.0, base_delay=2.0, max_delay=8.0),
        clock=retry.Clock(monotonic=lambda: now[0], sleep=sleep, draw=lambda: 1.0),
    )
    with pytest.raises(PublishError) as caught:
        git_channels.publish_homebrew(
            make_job(
                "homebrew",
                config,
                packages,
                tmp_path / "s",
                {"HOMEBREW_TAP_TOKEN": TOKEN},
                repository=remotes.url("homebrew-tap.git"),
            ),
            retrying=retrying,
        )
    assert caught.value.message.startswith("homebrew: git ls-remote failed")
    assert "503" in caught.value.message and "retry budget" in caught.value.message
    assert branch_log(remotes.root / "homebrew-tap.git", "main") == []


@pytest.mark.parametrize("anonymous_reads", [False, True], ids=["private-tap", "public-tap"])
def test_a_wrong_token_is_one_error_naming_the_channel_and_the_variable(
    config: ReleaseConfig,
    packages: Path,
    tmp_path: Path,
    anonymous_reads: bool,
    capfd: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "remotes"
    bare = bare_repository(root / "homebrew-tap.git")
    wrong = "canary-wrong-token-51d0e2"
    runner = RecordingRunner()
    with git_http_server(root, TOKEN, anonymous_reads=anonymous_reads) as server:
        job = make_job(
            "homebrew",
            config,
            packages,
            tmp_path / "s",
            {"HOMEBREW_TAP_TOKEN": wrong},
            runner,
            repository=server.url("homebrew-tap.git"),
        )
        with pytest.raises(PublishError) as caught:
            git_channels.publish_homebrew(job)
    error = str(caught.value)
    assert error.startswith("homebrew: ") and "refused the token in HOMEBREW_TAP_TOKEN" in error
    assert "hint: set HOMEBREW_TAP_TOKEN to a token that may push" in error
    # A private tap refuses the read-only preflight already; a public one, the push.
    assert ("git ls-remote" in error) is not anonymous_reads
    assert branch_log(bare, "main") == []
    output = capfd.readouterr()
    assert_secret_hidden(wrong, output.out + output.err + error, runner, tmp_path)


def test_a_missing_token_is_a_config_error_before_any_command(
    config: ReleaseConfig, packages: Path, remotes: GitHttpServer, tmp_path: Path
) -> None:
    runner = RecordingRunner()
    job = make_job("scoop", config, packages, tmp_path / "s", {}, runner, repository=remotes.url("scoop-bucket.git"))
    with pytest.raises(ConfigError, match=r"^scoop: no token .* SCOOP_BUCKET_TOKEN is not set"):
        git_channels.publish_scoop(job)
    assert runner.calls == [] and remotes.seen == []


# --- signed commits -------------------------------------------------------------------------------------


def test_commits_are_gpg_signed_when_asked_and_stay_signed_through_a_rebase(
    config: ReleaseConfig,
    packages: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    require_tool("gpg", "signing commits")
    from tests.integration.signing_keys import PASSPHRASE, make_gpg_home

    bare = bare_repository(tmp_path / "tap.git")
    push_commit(bare, "main", "README.md", b"# tap\n", tmp_path / "first")
    moved: list[str] = []

    def move_remote(argv: tuple[str, ...], env: Mapping[str, str]) -> None:
        if "push" in argv and not moved:  # the rebase makes a new commit: it must be signed too
            moved.append(push_commit(bare, "main", "Formula/other.rb", b"# other\n", tmp_path / "second"))

    signed = dataclasses.replace(config, publish={**config.publish, "sign-commits": True})
    for home in make_gpg_home():
        monkeypatch.setenv("GNUPGHOME", str(home.home))  # the key check reads the keyring too
        environ = {
            "GNUPGHOME": str(home.home),
            "RELEASE_GPG_KEY": home.fingerprint,
            "RELEASE_GPG_PASSPHRASE": PASSPHRASE,
        }
        runner = RecordingRunner(before=move_remote)
        outcome = git_channels.publish_homebrew(
            make_job("homebrew", signed, packages, tmp_path / "s", environ, runner, repository=bare.as_uri())
        )
        assert outcome.state == PUBLISHED and moved
        ours, theirs, _ = branch_log(bare, "main", env={"GNUPGHOME": str(home.home)})
        assert theirs.sha == moved[0] and theirs.signature == "N"
        assert (ours.subject, ours.signature, ours.signer) == (message(config), "G", home.fingerprint)
        output = capfd.readouterr()
        assert PASSPHRASE not in output.out + output.err
        assert files_holding(tmp_path, PASSPHRASE) == []


def test_a_wrong_gpg_passphrase_is_one_signing_error_and_nothing_is_pushed(
    config: ReleaseConfig, packages: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_tool("gpg", "signing commits")
    from tests.integration.signing_keys import make_gpg_home

    bare = bare_repository(tmp_path / "tap.git")
    signed = dataclasses.replace(config, publish={**config.publish, "sign-commits": True})
    wrong = "not the passphrase at all"
    for home in make_gpg_home():
        monkeypatch.setenv("GNUPGHOME", str(home.home))
        environ = {"GNUPGHOME": str(home.home), "RELEASE_GPG_KEY": home.fingerprint, "RELEASE_GPG_PASSPHRASE": wrong}
        with pytest.raises(SigningError) as caught:
            git_channels.publish_homebrew(
                make_job("homebrew", signed, packages, tmp_path / "s", environ, repository=bare.as_uri())
            )
        assert caught.value.message == (
            f"homebrew: cannot sign the commit: GPG refused the passphrase for key {home.fingerprint}"
        )
        assert "RELEASE_GPG_PASSPHRASE" in str(caught.value.hint)
        assert wrong not in str(caught.value)
        assert branch_log(bare, "main") == []


# --- the AUR over ssh ---------------------------------------------------------------------------------


@pytest.fixture
def aur_remote(tmp_path: Path) -> Iterator[tuple[SshServer, Path, str]]:
    """(sshd accepting a fresh key, the bare package repository, the key's private text); not started yet."""
    require_tool(SSHD, "the AUR stand-in is a real sshd (Debian: openssh-server)")
    require_tool("ssh-keygen")
    keys = tmp_path / "keys"
    keys.mkdir()
    _, text = make_ssh_key(keys / "maintainer")
    server = SshServer(tmp_path / "sshd", (keys / "maintainer.pub").read_text(encoding="utf-8"))
    bare = bare_repository(tmp_path / "aur" / "crcsum-bin.git", "master")
    try:
        yield server, bare, text
    finally:
        server.stop()


def aur_job(
    config: ReleaseConfig, packages: Path, scratch: Path, url: str, key: str, runner: proc.Runner | None = None
) -> ChannelJob:
    return make_job("aur", config, packages, scratch, {"AUR_SSH_KEY": key}, runner, repository=url)


def test_aur_first_run_pushes_pkgbuild_and_srcinfo_and_a_second_changes_nothing(
    config: ReleaseConfig,
    packages: Path,
    aur_remote: tuple[SshServer, Path, str],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    server, bare, key_text = aur_remote
    server.start()
    key_modes: list[int] = []

    def watch(argv: tuple[str, ...], env: Mapping[str, str]) -> None:
        if "GIT_SSH_COMMAND" in env:
            command = env["GIT_SSH_COMMAND"].split()
            key_modes.append(Path(command[command.index("-i") + 1]).stat().st_mode & 0o777)
            assert "IdentitiesOnly=yes" in command and "StrictHostKeyChecking=accept-new" in command

    runner = RecordingRunner(before=watch)
    first = git_channels.publish_aur(aur_job(config, packages, tmp_path / "s1", server.url(bare), key_text, runner))
    assert first.state == PUBLISHED
    assert branch_files(bare, "master") == [".SRCINFO", "PKGBUILD"]
    for name in (".SRCINFO", "PKGBUILD"):
        assert branch_file(bare, "master", name) == (packages / "aur" / name).read_bytes()
    (entry,) = branch_log(bare, "master")
    assert (entry.author, entry.email, entry.subject) == (*AUTHOR, message(config))
    assert key_modes and set(key_modes) == {0o600}
    assert "Accepted publickey" in server.log  # sshd, not a shortcut, let the push in

    # The key given as a file path instead of its text: the same branch, found identical.
    second_runner = RecordingRunner()
    key_file = tmp_path / "keys" / "maintainer"
    second = git_channels.publish_aur(
        aur_job(config, packages, tmp_path / "s2", server.url(bare), str(key_file), second_runner)
    )
    assert second.state == UNCHANGED
    assert branch_log(bare, "master") == [entry]
    assert "push" not in second_runner.subcommands()

    output = capfd.readouterr()
    assert_secret_hidden(key_text, output.out + output.err, runner, tmp_path / "s1", tmp_path / "s2", bare)


def test_aur_connection_refused_is_retried_until_sshd_is_up(
    config: ReleaseConfig, packages: Path, aur_remote: tuple[SshServer, Path, str], tmp_path: Path
) -> None:
    server, bare, key_text = aur_remote
    sleeps = Sleeps(at_first=server.start)  # nothing listens at first: sshd comes up during the backoff
    outcome = git_channels.publish_aur(
        aur_job(config, packages, tmp_path / "s", server.url(bare), key_text), retrying=sleeps.retrying()
    )
    assert outcome.state == PUBLISHED
    assert len(sleeps.waits) == 1
    assert len(branch_log(bare, "master")) == 1


def test_aur_with_a_key_it_does_not_know_is_one_error_naming_the_variable(
    config: ReleaseConfig,
    packages: Path,
    aur_remote: tuple[SshServer, Path, str],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    server, bare, _ = aur_remote
    server.start()
    _, stranger = make_ssh_key(tmp_path / "keys" / "stranger")
    runner = RecordingRunner()
    with pytest.raises(PublishError) as caught:
        git_channels.publish_aur(aur_job(config, packages, tmp_path / "s", server.url(bare), stranger, runner))
    error = str(caught.value)
    assert error.startswith("aur: ") and "refused the ssh key in AUR_SSH_KEY" in error
    assert "Permission denied (publickey)" in error and "hint: set AUR_SSH_KEY" in error
    assert branch_log(bare, "master") == []
    output = capfd.readouterr()
    assert_secret_hidden(stranger, output.out + output.err + error, runner, tmp_path / "s", bare)


def test_aur_without_a_key_is_a_config_error_naming_the_variable(
    config: ReleaseConfig, packages: Path, aur_remote: tuple[SshServer, Path, str], tmp_path: Path
) -> None:
    server, bare, _ = aur_remote
    runner = RecordingRunner()
    with pytest.raises(ConfigError, match=r"^aur: no ssh key .* AUR_SSH_KEY is not set"):
        git_channels.publish_aur(
            make_job("aur", config, packages, tmp_path / "s", {}, runner, repository=server.url(bare))
        )
    assert runner.calls == []


def test_a_remote_without_the_configured_branch_is_one_error_naming_the_setting(
    config: ReleaseConfig, packages: Path, tmp_path: Path
) -> None:
    bare = bare_repository(tmp_path / "bucket.git", "master")
    push_commit(bare, "master", "bucket/other.json", b"{}\n", tmp_path / "other")
    job = make_job("scoop", config, packages, tmp_path / "s", {}, repository=bare.as_uri())  # branch: main
    with pytest.raises(PublishError, match=r"^scoop: .* has no branch 'main' \(it has master\)") as caught:
        git_channels.publish_scoop(job)
    assert "tool.release.publish.scoop.branch" in str(caught.value)
    assert branch_files(bare, "master") == ["bucket/other.json"]


def test_a_push_the_remotes_rules_refuse_is_one_error_quoting_the_remote(
    config: ReleaseConfig, packages: Path, tmp_path: Path
) -> None:
    bare = bare_repository(tmp_path / "crcsum-bin.git", "master")
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'error: the package crcsum-bin belongs to another maintainer' >&2\nexit 1\n")
    hook.chmod(0o755)
    job = make_job("aur", config, packages, tmp_path / "s", {}, repository=bare.as_uri())
    with pytest.raises(PublishError) as caught:
        git_channels.publish_aur(job)
    error = str(caught.value)
    assert error.startswith(f"aur: the AUR package {bare.as_uri()} refused the commit")
    assert "remote: error: the package crcsum-bin belongs to another maintainer" in error
    assert branch_log(bare, "master") == []

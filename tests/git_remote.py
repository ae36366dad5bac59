"""Stand-ins for the git remotes the channel publishers push to: bare repositories served the real way.

- `bare_repository`: an empty bare repository (a tap, a bucket, an AUR package), and helpers that read it
  (`branch_log`, `branch_file`) or move it as someone else would (`push_commit`).
- `GitHttpServer`: git's own `git http-backend` (smart HTTP, as GitHub serves it) behind a small HTTP
  server on 127.0.0.1 that checks Basic auth: the token as the password, any user name. Faults can be
  injected per request (an HTTP status before the backend runs), and every request is recorded.
- `SshServer`: a real OpenSSH sshd on 127.0.0.1 with a throwaway host key, accepting one public key for
  the current user, so `ssh://user@127.0.0.1:<port>/<path>.git` reaches a bare repository as the AUR's
  ssh remote is reached. It may be started late (a test of retries starts it during the backoff).

Nothing here is the tool's code: the tests use these to watch the publishers from the outside.
"""

from __future__ import annotations

import base64
import getpass
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

# Git commands the tests run themselves: no user config, English messages.
GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}


def git(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run git for the test (not through the tool), returning stdout; a failure fails the test."""
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"git {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


def bare_repository(path: Path, branch: str = "main") -> Path:
    """An empty bare repository whose HEAD names `branch`."""
    git("init", "--quiet", "--bare", f"--initial-branch={branch}", str(path))
    return path


@dataclass(frozen=True)
class LogEntry:
    sha: str
    author: str
    email: str
    committer: str
    subject: str
    signature: str  # %G?: G good, N none, ...
    signer: str  # %GF: the signing key's fingerprint ("" when unsigned)


def branch_log(bare: Path, branch: str, env: dict[str, str] | None = None) -> list[LogEntry]:
    """The commits of `branch`, newest first ([] when the branch does not exist)."""
    heads = git("--git-dir", str(bare), "for-each-ref", "--format=%(refname)", "refs/heads/")
    if f"refs/heads/{branch}" not in heads.split():
        return []
    output = git("--git-dir", str(bare), "log", "--format=%H%x1f%an%x1f%ae%x1f%cn%x1f%s%x1f%G?%x1f%GF", branch, env=env)
    return [LogEntry(*line.split("\x1f")) for line in output.splitlines() if line]


def branch_file(bare: Path, branch: str, path: str) -> bytes:
    """The bytes of `path` on `branch`."""
    result = subprocess.run(
        ["git", "--git-dir", str(bare), "show", f"{branch}:{path}"],
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        check=True,
    )
    return result.stdout


def branch_files(bare: Path, branch: str) -> list[str]:
    """Every file path on `branch`."""
    return sorted(git("--git-dir", str(bare), "ls-tree", "-r", "--name-only", branch).split())


def push_commit(bare: Path, branch: str, path: str, content: bytes, work: Path, message: str = "other change") -> str:
    """Someone else's commit on `branch` (a full clone, a change to `path`, a push; the branch's first commit
    when it has none yet); its sha."""
    if work.exists():
        shutil.rmtree(work)
    git("clone", "--quiet", str(bare), str(work))
    exists = f"refs/remotes/origin/{branch}" in git("for-each-ref", "--format=%(refname)", cwd=work).split()
    git("checkout", "--quiet", "-B", branch, *([f"origin/{branch}"] if exists else []), cwd=work)
    (work / path).parent.mkdir(parents=True, exist_ok=True)
    (work / path).write_bytes(content)
    identity = {
        "GIT_AUTHOR_NAME": "Someone Else",
        "GIT_AUTHOR_EMAIL": "else@example.invalid",
        "GIT_COMMITTER_NAME": "Someone Else",
        "GIT_COMMITTER_EMAIL": "else@example.invalid",
    }
    git("add", "--", path, cwd=work)
    git("commit", "--quiet", "-m", message, cwd=work, env=identity)
    git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=work)
    return git("rev-parse", "HEAD", cwd=work).strip()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- smart HTTP with Basic auth ------------------------------------------------------------------------


@dataclass
class HttpFault:
    """Answer the next `times` requests whose path contains `path_part` (and method matches) with `status`.

    lost: the backend runs first (a push lands) and only its answer is replaced: the reply was lost.
    """

    path_part: str
    status: int = 503
    method: str = ""  # "" for any
    times: int = 1
    lost: bool = False


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    user: str  # the Basic-auth user name ("" without credentials)
    authorized: bool  # the password was the token
    status: int


@dataclass
class GitHttpServer:
    """Bare repositories under `root`, served by `git http-backend` at http://127.0.0.1:<port>/<name>.git."""

    root: Path
    token: str
    faults: list[HttpFault] = field(default_factory=list)
    seen: list[SeenRequest] = field(default_factory=list)
    anonymous_reads: bool = False  # a public repository: fetches need no credentials, pushes do
    _server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # quiet: the test reads `seen`
                pass

            def do_GET(self) -> None:
                owner._handle(self)

            def do_POST(self) -> None:
                owner._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- one request ---

    def _credentials(self, header: str | None) -> tuple[str, bool]:
        if not header or not header.lower().startswith("basic "):
            return "", False
        try:
            decoded = base64.b64decode(header.split(None, 1)[1]).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return "", False
        user, _, password = decoded.partition(":")
        return user, password == self.token

    def _fault_for(self, method: str, path: str) -> HttpFault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.path_part in path and fault.method in ("", method):
                fault.times -= 1
                return fault
        return None

    @staticmethod
    def _body(handler: BaseHTTPRequestHandler) -> bytes:
        if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    handler.rfile.readline()
                    return b"".join(chunks)
                chunks.append(handler.rfile.read(size))
                handler.rfile.readline()
        return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        method = handler.command
        user, authorized = self._credentials(handler.headers.get("Authorization"))
        body = self._body(handler) if method == "POST" else b""

        def answer(status: int, headers: dict[str, str], payload: bytes = b"") -> None:
            self.seen.append(SeenRequest(method, handler.path, user, authorized, status))
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)

        fault = self._fault_for(method, handler.path)
        if fault is not None and not fault.lost:
            answer(fault.status, {"Content-Type": "text/plain"}, b"injected fault\n")
            return
        pushing = "git-receive-pack" in handler.path
        if not authorized and (pushing or not self.anonymous_reads):
            # What a forge says to a missing or wrong token: 401 with a Basic challenge.
            answer(401, {"WWW-Authenticate": 'Basic realm="git"', "Content-Type": "text/plain"}, b"no access\n")
            return
        env = {
            **os.environ,
            **GIT_ENV,
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": parts.path,
            "QUERY_STRING": parts.query,
            "REQUEST_METHOD": method,
            "CONTENT_TYPE": handler.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_USER": user if authorized else "",
            "GIT_PROTOCOL": handler.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": handler.headers.get("Content-Encoding", ""),
        }
        result = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=False)
        if fault is not None:  # a lost reply: the work is done, the client hears only the fault
            answer(fault.status, {"Content-Type": "text/plain"}, b"injected fault\n")
            return
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        status, headers = 200, {}
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers[name] = value.strip()
        answer(status, headers, payload)


@contextmanager
def git_http_server(root: Path, token: str, **options: object) -> Iterator[GitHttpServer]:
    server = GitHttpServer(root, token, **options)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- ssh ---------------------------------------------------------------------------------------------


SSHD = "/usr/sbin/sshd"
PRIVILEGE_SEPARATION_DIR = Path("/run/sshd")  # sshd running as root insists on it (the service makes it)


def make_ssh_key(path: Path, comment: str = "release test") -> tuple[Path, str]:
    """A new ed25519 key pair without a passphrase: (private key file, its text)."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path, path.read_text(encoding="utf-8")


@dataclass
class SshServer:
    """sshd on 127.0.0.1:<port>, accepting `authorized` (a public key's text) for the current user."""

    folder: Path
    authorized: str
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        host_key = self.folder / "host_key"
        if not host_key.exists():
            make_ssh_key(host_key, "host")
        (self.folder / "authorized_keys").write_text(self.authorized, encoding="utf-8")
        (self.folder / "authorized_keys").chmod(0o600)
        (self.folder / "sshd_config").write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {host_key}",
                    f"AuthorizedKeysFile {self.folder / 'authorized_keys'}",
                    f"PidFile {self.folder / 'sshd.pid'}",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",  # the temporary folders' modes are the test's, not a home's
                    "PermitRootLogin prohibit-password",
                    f"AllowUsers {getpass.getuser()}",
                    "",
                ]
            ),
            encoding="utf-8",
        )

    @property
    def user(self) -> str:
        return getpass.getuser()

    def url(self, repository: Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{repository}"

    @property
    def log(self) -> str:
        path = self.folder / "sshd.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def start(self) -> None:
        if self.process is not None:
            return
        if os.geteuid() == 0 and not PRIVILEGE_SEPARATION_DIR.is_dir():
            PRIVILEGE_SEPARATION_DIR.mkdir(mode=0o755)
        config = self.folder / "sshd_config"
        check = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True, check=False)
        assert check.returncode == 0, f"sshd refuses its configuration: {check.stderr}"
        self.process = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config), "-E", str(self.folder / "sshd.log")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            assert self.process.poll() is None, f"sshd exited:\n{self.log}"
            time.sleep(0.05)
        raise AssertionError(f"sshd did not listen on {self.port}:\n{self.log}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

"""The contract every bad-input case is held to (issue: safety and trust).

A case runs one real command (invoke, python -m tooling or nox) in a
sandbox that holds a copy of the project's config and crate, and asserts:
- a non-zero exit code, the one documented for the error (tooling/errors.py);
- one message naming the problem, and a hint naming the fix;
- no traceback;
- no file changed outside dist/ (the sandbox and a guard folder beside it);
- dist/ either exactly as before, or complete (it verifies).

Family test files (tests/integration/test_bad_input_<family>.py) build their
cases with `Sandbox` and check them with `assert_refused`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import ROOT

BIN = Path(sys.executable).parent


def digest_tree(root: Path) -> dict[str, str]:
    """{relative path: sha256 or 'dir' or 'link:<target>'} of everything under root."""
    found: dict[str, str] = {}
    if not root.exists():
        return found
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[name] = "link:" + os.readlink(path)
        elif path.is_dir():
            found[name] = "dir"
        else:
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@dataclass
class Sandbox:
    """A project folder (pyproject.toml + the sample crate) with dist/ inside and a guard folder beside it."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def make(cls, base: Path, *, release_table: str | None = None) -> Sandbox:
        root = base / "project"
        shutil.copytree(ROOT / "sample", root / "sample", ignore=shutil.ignore_patterns("target"), dirs_exist_ok=True)
        table = release_table if release_table is not None else '[tool.release]\ncrate = "sample/Cargo.toml"\n'
        (root / "pyproject.toml").write_text(table, encoding="utf-8")
        guard = base / "guard"
        guard.mkdir(exist_ok=True)
        (guard / "PRECIOUS.txt").write_text("must survive\n", encoding="utf-8")
        env = {**os.environ, "RELEASE_CONFIG": str(root / "pyproject.toml"), "RELEASE_DIST_DIR": str(root / "dist")}
        env.pop("NOX_CURRENT_SESSION", None)
        env.pop("GITHUB_ACTIONS", None)
        return cls(root, env)

    @property
    def dist(self) -> Path:
        return self.root / "dist"

    @property
    def guard(self) -> Path:
        return self.root.parent / "guard"

    def outside_dist(self) -> dict[str, str]:
        """Digest of everything a command must not touch: the project without dist/, and the guard folder."""
        project = {k: v for k, v in digest_tree(self.root).items() if not (k == "dist" or k.startswith("dist/"))}
        return {
            **{f"project/{k}": v for k, v in project.items()},
            **{f"guard/{k}": v for k, v in digest_tree(self.guard).items()},
        }

    def run(
        self, *argv: str, env: dict[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """Run `invoke ...` (argv[0] == "invoke"), `python -m tooling ...` (argv[0] == "tooling") or any command."""
        # invoke finds the project's tasks from here; the sandbox's config comes from RELEASE_CONFIG.
        invoke = [str(BIN / "invoke"), "--search-root", str(ROOT)]
        head = {"invoke": invoke, "tooling": [sys.executable, "-m", "tooling"]}.get(argv[0], [argv[0]])
        return subprocess.run(
            [*head, *argv[1:]],
            cwd=self.root,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def assert_refused(
    sandbox: Sandbox,
    argv: tuple[str, ...],
    *,
    code: int,
    names: tuple[str, ...],
    fix: str,
    env: dict[str, str] | None = None,
    dist_may_complete: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run `argv` in `sandbox` and check the bad-input contract; return the result for further checks.

    names: strings the message must contain (the problem, e.g. the key or the file).
    fix: a string the hint must contain (what to do).
    dist_may_complete: a dist/ that changed must then verify (else it must be as before).
    """
    outside_before = sandbox.outside_dist()
    dist_before = digest_tree(sandbox.dist)
    result = sandbox.run(*argv, env=env)
    output = result.stdout + result.stderr
    shown = f"{' '.join(argv)} -> {result.returncode}\n{output[-3000:]}"
    assert result.returncode == code, shown
    assert "Traceback" not in output, shown
    assert "error:" in result.stderr, shown
    for name in names:
        assert name in output, f"message does not name {name!r}:\n{shown}"
    hint = output[output.find("hint:") :] if "hint:" in output else ""
    assert fix in hint, f"hint does not say {fix!r}:\n{shown}"
    assert sandbox.outside_dist() == outside_before, f"files outside dist/ changed:\n{shown}"
    dist_after = digest_tree(sandbox.dist)
    if dist_after != dist_before:
        assert dist_may_complete, f"dist/ changed although the command failed:\n{shown}"
        verified = sandbox.run("invoke", "verify", "--allow-partial", "--no-signatures")
        assert verified.returncode == 0, f"dist/ was left incomplete:\n{shown}\n{verified.stderr[-2000:]}"
    return result

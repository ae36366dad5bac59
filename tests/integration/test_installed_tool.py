"""The tool as a user gets it: a wheel installed into a fresh venv, used in a new crate's repository.

Nothing here runs from this checkout: the wheel is built, installed with its
pinned dependencies into a venv in a temp dir, and `init`, `nox` and `invoke`
run in a crate made by `cargo new` with a second binary in src/bin/.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_tool
from tooling import __version__
from tooling.errors import ConfigError

pytestmark = pytest.mark.integration

HOST = "x86_64-unknown-linux-gnu"
MAIN = """fn main() {
    if std::env::args().any(|a| a == "--version") {
        println!("{} {}", env!("CARGO_BIN_NAME"), env!("CARGO_PKG_VERSION"));
        return;
    }
    println!("hello");
}
"""


def run(argv: list[str], cwd: Path, env: dict[str, str], ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200, check=False)
    if ok:
        assert result.returncode == 0, (
            f"{' '.join(argv)} -> {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        )
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ of a fresh venv holding the built wheel and its pinned dependencies."""
    uv = require_tool("uv", "builds the wheel and the fresh venv")
    base = tmp_path_factory.mktemp("installed")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "NOX_CURRENT_SESSION")}
    run([uv, "build", "--wheel", "--out-dir", str(base / "wheel"), str(ROOT)], base, env)
    [wheel] = (base / "wheel").glob("release_tooling-*.whl")
    run([uv, "venv", "--python", "3.11", str(base / "venv")], base, env)
    run([uv, "pip", "install", "--python", str(base / "venv" / "bin" / "python"), str(wheel)], base, env)
    return base / "venv" / "bin"


@pytest.fixture(scope="module")
def crate(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A new crate with two binaries (src/main.rs and src/bin/extra.rs), committed, and `init` run in it."""
    require_tool("cargo")
    require_tool("git")
    folder = tmp_path_factory.mktemp("crate")
    # The user's own shell: nothing of this checkout's environment, the venv's bin/ first on PATH.
    dropped = ("VIRTUAL_ENV", "NOX_CURRENT_SESSION", "RELEASE_CONFIG", "RELEASE_DIST_DIR")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env["PATH"] = f"{installed}{os.pathsep}{env['PATH']}"
    run(["cargo", "new", "--bin", "--vcs", "none", "demo"], folder, env)
    root = folder / "demo"
    (root / "src" / "main.rs").write_text(MAIN)
    (root / "src" / "bin").mkdir()
    (root / "src" / "bin" / "extra.rs").write_text(MAIN)
    (root / "LICENSE").write_text("MIT\n")
    run(["cargo", "generate-lockfile", "--offline"], root, env)
    run([str(installed / "release-tooling"), "init"], root, env)
    # Two package channels, so their templates and dpkg-deb are used from the installed wheel.
    with (root / "pyproject.toml").open("a") as pyproject:
        pyproject.write(PACKAGES)
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=T", "-c", "user.email=t@example.invalid", "commit", "-qm", "feat: demo"],
    ):
        run(["git", *args], root, env)
    return root, env


PACKAGES = """
[tool.release.metadata]
description = "A demo tool"
homepage = "https://example.invalid/demo"
license = "MIT"
maintainer = "Demo Maintainers <demo@example.invalid>"

[tool.release.packages]
channels = ["homebrew", "deb"]
download-url = "https://downloads.example.invalid/{tag}/{file}"

[tool.release.packages.homebrew]
linux-libc = "gnu"

[tool.release.packages.deb]
linux-libc = "gnu"
depends = ["libc6 (>= 2.17)"]
"""


def test_the_installed_tool_says_its_version(installed: Path) -> None:
    result = subprocess.run(
        [str(installed / "release-tooling"), "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().endswith(__version__)


def test_init_writes_the_thin_entry_points(crate: tuple[Path, dict[str, str]]) -> None:
    root, _ = crate
    assert "[tool.release]" in (root / "pyproject.toml").read_text()
    assert "import tooling.nox_sessions" in (root / "noxfile.py").read_text()
    assert "from tooling.invoke_tasks import namespace" in (root / "tasks.py").read_text()
    assert (root / ".github" / "workflows" / "release.yml").is_file()


def test_build_and_package_both_binaries_in_the_new_crate(installed: Path, crate: tuple[Path, dict[str, str]]) -> None:
    root, env = crate
    run([str(installed / "nox"), "-s", f"build-{HOST}"], root, env)
    for name in ("demo", "extra"):
        assert (root / "dist" / HOST / name).is_file()
    run([str(installed / "invoke"), "package", "--unsigned", "--target", HOST], root, env)
    archive = root / "dist" / f"demo-0.1.0-{HOST}.tar.gz"
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert f"demo-0.1.0-{HOST}/demo" in names and f"demo-0.1.0-{HOST}/extra" in names
    assert archive.name in (root / "dist" / "SHA256SUMS").read_text()
    formula = (root / "dist" / "packages" / "homebrew" / "Formula" / "demo.rb").read_text()
    assert f'url "https://downloads.example.invalid/v0.1.0/{archive.name}"' in formula
    assert (root / "dist" / "packages" / "deb" / "demo_0.1.0_amd64.deb").is_file()
    verified = run([str(installed / "invoke"), "verify", "--no-signatures"], root, env)
    assert "artifacts match" in verified.stderr


def test_init_check_passes_then_names_an_edited_file(installed: Path, crate: tuple[Path, dict[str, str]]) -> None:
    root, env = crate
    run([str(installed / "release-tooling"), "init", "--check"], root, env)
    noxfile = root / "noxfile.py"
    original = noxfile.read_text()
    noxfile.write_text(original + "# local tweak\n")
    try:
        result = run([str(installed / "release-tooling"), "init", "--check"], root, env, ok=False)
        assert result.returncode == ConfigError.exit_code
        assert "noxfile.py: drifted" in result.stderr
    finally:
        noxfile.write_text(original)

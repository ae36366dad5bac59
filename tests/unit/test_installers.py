"""install.sh and install.ps1 rendered from the fixture release (pure: nothing runs here).

tests/integration/test_install_sh.py runs install.sh for real. PowerShell is
not installable on these machines, so install.ps1 is checked here only as text:
its values, its URLs, the absence of hashes, and a structural reading
(brackets balance outside strings and comments, every function it calls is
defined, no syntax newer than Windows PowerShell 5.1). Whether it parses and
runs is not shown.

The expected renders live in tests/fixtures/installers/ (regenerate with
REGENERATE_INSTALLER_FIXTURES=1 and review the diff).
"""

from __future__ import annotations

import base64
import dataclasses
import os
import re
from pathlib import Path

import pytest

from tests.packager_fixtures import BASE_URL, TRIPLES, fixture_archive, fixture_release
from tooling.errors import ConfigError, PackageError
from tooling.packagers.base import Release
from tooling.publish import installers
from tooling.publish.installers import render_install_ps1, render_install_sh

FIXTURES = Path(__file__).parent.parent / "fixtures" / "installers"
REGENERATE = "REGENERATE_INSTALLER_FIXTURES"
# A minisign public key of the right shape: "Ed", an 8-byte key id, a 32-byte Ed25519 key.
KEY_LINE = base64.b64encode(b"Ed" + bytes(range(8)) + bytes(range(100, 132))).decode()
PUBLIC_KEY_FILE = f"untrusted comment: minisign public key 0706050403020100\n{KEY_LINE}\n"
FOLDER = f"{BASE_URL}/v1.2.0"


def sh(release: Release | None = None, key: str | None = None) -> str:
    return render_install_sh(release or fixture_release(), key).decode("ascii")


def ps1(release: Release | None = None) -> str:
    return render_install_ps1(release or fixture_release()).decode("ascii")


def assignment(script: str, name: str) -> str:
    """The value assigned to `name` in the script's header (the text after `name=` or `$name = `)."""
    found = re.search(rf"^\$?{re.escape(name)} ?= ?(.*)$", script, re.MULTILINE)
    assert found, f"{name} is not assigned"
    return found.group(1)


def sh_table(script: str) -> list[str]:
    found = re.search(r"^BUILDS='([^']*)'$", script, re.MULTILINE)
    assert found
    return found.group(1).split("\n")


def compare_with_expected(name: str, content: bytes) -> None:
    path = FIXTURES / name
    if os.environ.get(REGENERATE):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    assert path.is_file(), f"{path} is missing (regenerate with {REGENERATE}=1)"
    assert content == path.read_bytes(), f"{name} differs from {path} (regenerate with {REGENERATE}=1 and review)"


# --- names, expected renders -------------------------------------------------------------------


def test_names() -> None:
    assert installers.NAMES == ("install.sh", "install.ps1")
    assert installers.base_url_env("crcsum") == "CRCSUM_INSTALL_BASE_URL"
    assert installers.base_url_env("my-tool") == "MY_TOOL_INSTALL_BASE_URL"
    assert installers.SIGNATURE_NAME == "SHA256SUMS.minisig"


def test_expected_renders() -> None:
    compare_with_expected("install.sh", render_install_sh(fixture_release(), PUBLIC_KEY_FILE))
    compare_with_expected("install.ps1", render_install_ps1(fixture_release()))


def test_render_installers_only_for_served_systems() -> None:
    assert sorted(installers.render_installers(fixture_release())) == ["install.ps1", "install.sh"]
    linux = fixture_release(triples=("x86_64-unknown-linux-musl",))
    assert list(installers.render_installers(linux)) == ["install.sh"]
    windows = fixture_release(triples=("x86_64-pc-windows-msvc",))
    assert list(installers.render_installers(windows)) == ["install.ps1"]
    with pytest.raises(PackageError, match=r"install\.ps1: the release has no archive for windows"):
        render_install_ps1(linux)
    with pytest.raises(PackageError, match=r"install\.sh: the release has no archive for linux or macos"):
        render_install_sh(windows)


# --- install.sh ----------------------------------------------------------------------------------


def test_sh_table_lists_every_unix_build_best_first() -> None:
    assert sh_table(sh()) == [
        "linux aarch64 musl aarch64-unknown-linux-musl tar.gz",
        "linux aarch64 gnu aarch64-unknown-linux-gnu tar.gz",
        "linux x86_64 musl x86_64-unknown-linux-musl tar.gz",
        "linux x86_64 gnu x86_64-unknown-linux-gnu tar.gz",
        "macos aarch64 system aarch64-apple-darwin tar.gz",
        "macos x86_64 system x86_64-apple-darwin tar.gz",
    ]
    partial = fixture_release(triples=("x86_64-unknown-linux-gnu", "x86_64-pc-windows-msvc"))
    assert sh_table(sh(partial)) == ["linux x86_64 gnu x86_64-unknown-linux-gnu tar.gz"]


def test_sh_values_default_version_and_folder() -> None:
    script = sh()
    assert assignment(script, "NAME") == "'crcsum'"
    assert assignment(script, "DEFAULT_VERSION") == "'1.2.0'"
    assert assignment(script, "BINARIES") == "'crcsum'"
    assert assignment(script, "URL_HEAD") == f"'{BASE_URL}/v'"
    assert assignment(script, "URL_TAIL") == "''"
    assert assignment(script, "URL_HAS_VERSION") == "1"
    assert assignment(script, "SUMS") == "'SHA256SUMS'"
    assert assignment(script, "SIGNATURE") == "'SHA256SUMS.minisig'"
    assert assignment(script, "PUBLIC_KEY") == "''"
    assert "base_url=${CRCSUM_INSTALL_BASE_URL:-}" in script
    two = dataclasses.replace(fixture_release(), binaries=("crcsum", "crcsum-check"))
    assert assignment(sh(two), "BINARIES") == "'crcsum crcsum-check'"


def test_sh_public_key_from_the_pub_file_or_its_line() -> None:
    assert assignment(sh(key=PUBLIC_KEY_FILE), "PUBLIC_KEY") == f"'{KEY_LINE}'"
    assert assignment(sh(key=f"  {KEY_LINE}\r\n"), "PUBLIC_KEY") == f"'{KEY_LINE}'"
    assert assignment(sh(key=""), "PUBLIC_KEY") == "''"


@pytest.mark.parametrize(
    "text",
    [
        "untrusted comment: minisign public key\n",
        "untrusted comment: x\nnot base64!\n",
        "untrusted comment: x\n" + base64.b64encode(b"Ed" + bytes(156)).decode() + "\n",  # a secret key's length
        "untrusted comment: x\n" + base64.b64encode(b"XX" + bytes(40)).decode() + "\n",
        f"{KEY_LINE}\n{KEY_LINE}\n",
    ],
)
def test_bad_public_key_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="minisign-public-key is not a minisign public key") as raised:
        render_install_sh(fixture_release(), text)
    assert raised.value.hint


def test_folder_without_the_version() -> None:
    """A download folder that does not name the version: --version needs --base-url then."""
    latest = "https://example.invalid/crcsum/latest"
    archives = tuple(dataclasses.replace(a, url=f"{latest}/{a.file}") for a in fixture_release().archives)
    release = fixture_release(archives=archives, sums_url=f"{latest}/SHA256SUMS")
    script = sh(release)
    assert assignment(script, "URL_HEAD") == f"'{latest}'"
    assert assignment(script, "URL_HAS_VERSION") == "0"
    assert assignment(ps1(release), "UrlHasVersion") == "$false"


def test_sh_shape() -> None:
    script = sh()
    assert script.startswith("#!/bin/sh\n")
    assert "\nset -eu\n" in script
    # The last line runs everything: a download cut short runs nothing.
    assert script.endswith('\nmain "$@"\n')
    for tool in ("curl --fail", "wget -S", "sha256sum", "shasum -a 256", "openssl dgst -sha256", "minisign -V"):
        assert tool in script
    assert "sysctl -in sysctl.proc_translated" in script
    assert "mktemp -d" in script and "trap cleanup EXIT" in script


def test_sh_downloads_from_an_https_folder_never_step_down_to_http() -> None:
    """curl may speak only https, redirects included; wget's logged replies are read for a redirect to http."""
    script = sh()
    fetch = re.search(r"^fetch\(\) \{\n(.*?)^\}", script, re.MULTILINE | re.DOTALL)
    assert fetch
    body = fetch.group(1)
    assert "https://*) only_https=1 ;;" in body
    secure = re.search(r"^\s*curl:1\) curl (.*);;$", body, re.MULTILINE)
    plain = re.search(r"^\s*curl:0\) curl (.*);;$", body, re.MULTILINE)
    assert secure and "--proto '=https' --tlsv1.2 " in secure.group(1) and "--location" in secure.group(1)
    assert plain and "--proto" not in plain.group(1)  # an http mirror (--base-url) still works
    assert "wget -S " in body and "grep -i '^ *location: *http:'" in body and "redirected to plain http" in body


def test_ps1_refuses_a_download_that_ended_on_http() -> None:
    script = ps1()
    assert "-UseBasicParsing -PassThru" in script
    assert "$final = Get-FinalUri $response" in script
    assert "$Url.StartsWith('https://') -and $final -and $final.Scheme -ne 'https'" in script
    assert "redirected to plain http" in script


def test_no_hash_is_embedded() -> None:
    """Both scripts read hashes from SHA256SUMS at run time (see tooling/publish/installers.py)."""
    release = fixture_release()
    for script in (sh(release), ps1(release)):
        for item in release.archives:
            assert item.sha256 not in script


def test_every_value_is_ascii_and_plain() -> None:
    """Header assignments are single-quoted words without a quote inside, or numbers/booleans."""
    for line in sh().splitlines()[:30]:
        if re.match(r"^[A-Z_]+=", line):
            name, value = line.split("=", 1)
            # BUILDS opens a word that spans the table's lines.
            assert re.fullmatch(r"'[^']*" if name == "BUILDS" else r"'[^']*'|[01]", value), line


# --- install.ps1 ------------------------------------------------------------------------------------


def test_ps1_values_and_urls() -> None:
    script = ps1()
    assert "[string]$Version = '1.2.0'," in script
    assert assignment(script, "Name") == "'crcsum'"
    assert assignment(script, "Binaries") == "@('crcsum')"
    assert assignment(script, "UrlHead") == f"'{BASE_URL}/v'"
    assert assignment(script, "UrlTail") == "''"
    assert assignment(script, "UrlHasVersion") == "$true"
    assert assignment(script, "Sums") == "'SHA256SUMS'"
    assert assignment(script, "BaseUrlVariable") == "'CRCSUM_INSTALL_BASE_URL'"
    assert assignment(script, "LibcOrder") == "@('msvc', 'gnu')"
    rows = re.findall(r"^    @\{ (.*) \}", script, re.MULTILINE)
    assert rows == ["Arch = 'x86_64'; Libc = 'msvc'; Triple = 'x86_64-pc-windows-msvc'; Format = 'zip'"]
    # The URL the script builds for the default version is the archive's.
    archive = fixture_archive("x86_64-pc-windows-msvc")
    assert f"{BASE_URL}/v" + "1.2.0" + "/" + archive.file == archive.url
    assert 'Get-File "$folder/$Sums"' in script and 'Get-File "$folder/$file"' in script


def test_ps1_tools() -> None:
    script = ps1()
    calls = re.findall(r"^\s*(?:try \{ )?(?:\$\w+ = )?Invoke-WebRequest .*$", script, re.MULTILINE)
    assert calls and all("-UseBasicParsing" in call for call in calls)
    assert "Get-FileHash -Algorithm SHA256" in script
    assert "[System.IO.Compression.ZipFile]::OpenRead" in script
    assert "[System.IO.Compression.ZipFile]::ExtractToDirectory" in script
    assert "IsPathRooted" in script and "-contains '..'" in script
    # PATH is only explained, never changed.
    assert "SetEnvironmentVariable" in script
    assert not re.search(r"^\s*\[Environment\]::SetEnvironmentVariable", script, re.MULTILINE)
    assert script.rstrip().endswith("Install-Release")


def test_ps1_gnu_build_and_arm64() -> None:
    gnu = fixture_archive("x86_64-unknown-linux-gnu")
    windows_gnu = dataclasses.replace(
        gnu,
        triple="x86_64-pc-windows-gnu",
        os="windows",
        libc="gnu",
        format="zip",
        file="crcsum-1.2.0-x86_64-pc-windows-gnu.zip",
        top="crcsum-1.2.0-x86_64-pc-windows-gnu",
        url=f"{FOLDER}/crcsum-1.2.0-x86_64-pc-windows-gnu.zip",
    )
    script = ps1(fixture_release(archives=(windows_gnu,)))
    assert re.findall(r"Triple = '([^']+)'", script) == ["x86_64-pc-windows-gnu"]
    assert "no ARM64 build for Windows" in script


def _strip_strings_and_comments(text: str) -> str:
    """PowerShell text with strings and comments blanked out (single quotes doubled, backtick escapes)."""
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if text.startswith("<#", i):
            end = text.index("#>", i) + 2
            i = end
        elif char == "#":
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
        elif char == "'":
            i += 1
            while True:
                if text[i] == "'" and text[i + 1 : i + 2] == "'":
                    i += 2
                elif text[i] == "'":
                    i += 1
                    break
                else:
                    i += 1
            out.append("''")
        elif char == '"':
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "`" else 1
            i += 1
            out.append('""')
        else:
            out.append(char)
            i += 1
    return "".join(out)


def test_ps1_structure() -> None:
    """As far as it can be checked without PowerShell: balanced, self-contained, 5.1 syntax."""
    text = ps1()
    code = _strip_strings_and_comments(text)
    # Calls may sit inside "...$(...)..." strings: count them in the text without comments.
    uncommented = re.sub(r"^\s*#.*$", "", re.sub(r"<#.*?#>", "", text, flags=re.DOTALL), flags=re.MULTILINE)
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for char in code:
        if char in "([{":
            stack.append(char)
        elif char in pairs:
            assert stack and stack.pop() == pairs[char], "unbalanced brackets"
    assert not stack, "unclosed brackets"
    for newer in ("&&", "||", "??", "?."):
        assert newer not in code, f"{newer} needs PowerShell 7"
    defined = set(re.findall(r"^function ([A-Za-z-]+)", code, re.MULTILINE))
    assert {"Say", "Fail", "Install-Release", "Select-Build", "Test-ZipEntries"} <= defined
    for name in defined:
        assert len(re.findall(rf"(?<![\w-]){re.escape(name)}(?![\w-])", uncommented)) >= 2, f"{name} is never called"
    verb_nouns = set(re.findall(r"(?<![\w$.-])([A-Z][a-z]+-[A-Z][A-Za-z]+)", code))
    builtin = {
        "Set-StrictMode",
        "Join-Path",
        "Test-Path",
        "Invoke-WebRequest",
        "Get-Content",
        "Get-FileHash",
        "ForEach-Object",
        "Remove-Item",
        "New-Item",
        "Copy-Item",
        "Move-Item",
        "Add-Type",
        "Out-Null",
    }
    assert verb_nouns - builtin <= defined, "a command that is neither defined here nor a cmdlet"


# --- check: refusals ----------------------------------------------------------------------------------


def _with_folder(folder: str) -> Release:
    release = fixture_release()
    archives = tuple(dataclasses.replace(a, url=f"{folder}/{a.file}") for a in release.archives)
    return dataclasses.replace(release, archives=archives, sums_url=f"{folder}/SHA256SUMS")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "crc sum"}, "name: 'crc sum' holds characters"),
        ({"name": "crc'sum"}, 'name: "crc\'sum" holds characters'),
        ({"name": "crcsum\n"}, "name: 'crcsum\\\\n' holds characters"),
        ({"version": "1.2.0;rm"}, "version: '1.2.0;rm' holds characters"),
        ({"binaries": ("crc$um",)}, "binaries: 'crc\\$um' holds characters"),
        ({"binaries": ()}, "binaries: the release installs no binary"),
        ({"archives": ()}, "archives: the release has no archive"),
        ({"sums_url": "https://elsewhere.invalid/SHA256SUMS"}, "sums_url: .* is not SHA256SUMS in the archives"),
    ],
)
def test_check_refuses_release_values(changes: dict[str, object], message: str) -> None:
    release = dataclasses.replace(fixture_release(), **changes)  # type: ignore[arg-type]
    with pytest.raises(PackageError, match=f"^installers: {message}"):
        installers.check(release)


@pytest.mark.parametrize(
    "folder",
    [
        "https://example.invalid/a b/v1.2.0",
        "https://example.invalid/$HOME/v1.2.0",
        "https://example.invalid/it's/v1.2.0",
        "https://example.invalid/dl?tag=v1.2.0",
        "https://example.invalid/a;b/v1.2.0",
        "https://example.invalid/`id`/v1.2.0",
        "ftp://example.invalid/v1.2.0",
    ],
)
def test_check_refuses_urls_that_need_quoting(folder: str) -> None:
    with pytest.raises(PackageError, match=r"download-url: the download folder .* would need quoting") as raised:
        installers.check(_with_folder(folder))
    assert raised.value.hint and "download-url" in raised.value.hint


def test_check_refuses_archives_in_two_folders_or_misnamed() -> None:
    release = fixture_release()
    first, *rest = release.archives
    moved = dataclasses.replace(first, url=f"https://mirror.invalid/{first.file}")
    with pytest.raises(PackageError, match="more than one folder"):
        installers.check(dataclasses.replace(release, archives=(moved, *rest)))
    renamed = dataclasses.replace(first, url=f"{FOLDER}/latest.tar.gz", file="latest.tar.gz")
    with pytest.raises(PackageError, match=r"'latest\.tar\.gz' .* is not named crcsum-1\.2\.0-"):
        installers.check(dataclasses.replace(release, archives=(renamed, *rest)))
    elsewhere = dataclasses.replace(first, url=f"{FOLDER}/other-name")
    with pytest.raises(PackageError, match="does not end in /"):
        installers.check(dataclasses.replace(release, archives=(elsewhere, *rest)))


def test_formats_each_script_can_unpack() -> None:
    release = fixture_release(triples=("x86_64-unknown-linux-musl",))
    (musl,) = release.archives
    zipped = dataclasses.replace(musl, format="zip", file=musl.top + ".zip", url=f"{FOLDER}/{musl.top}.zip")
    with pytest.raises(PackageError, match=r"install\.sh cannot unpack zip"):
        render_install_sh(dataclasses.replace(release, archives=(zipped,)))
    for fmt in ("tar.xz", "tar.zst"):
        other = dataclasses.replace(musl, format=fmt, file=f"{musl.top}.{fmt}", url=f"{FOLDER}/{musl.top}.{fmt}")
        assert sh_table(sh(dataclasses.replace(release, archives=(other,)))) == [
            f"linux x86_64 musl x86_64-unknown-linux-musl {fmt}"
        ]


def test_every_fixture_triple_is_served_by_one_script() -> None:
    served = {b.triple for name in installers.NAMES for b in installers.builds_for(fixture_release(), name)}
    assert served == set(TRIPLES)


def test_a_minisign_public_key_that_is_not_text_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from tooling.artifacts import steps

    key = tmp_path / "minisign.pub"
    key.write_bytes(b"\xff\xfe untrusted comment\n")
    settings = SimpleNamespace(backends=("minisign",), minisign_public_key=str(key))
    monkeypatch.setattr(steps, "settings_for", lambda context: settings)
    with pytest.raises(ConfigError, match=f"cannot read the minisign public key {key}: it is not UTF-8 text"):
        steps.minisign_public_key_text(None)  # type: ignore[arg-type]

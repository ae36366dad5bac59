"""The one definition of [tool.release]: every table, key, type, default and meaning.

From this table of tables come the validation of every table (one checker:
unknown keys with a "did you mean", wrong types and values, each message
naming the full key path), the JSON Schema shipped in the package
(resources/schemas/release-config.schema.json, for editors and CI), and the
configuration reference in docs/configuration.md. Tests keep both generated
files current. Checks that need more than a key's own value (the crate
exists, a glibc floor is in range) stay with the modules that own them.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tooling.errors import ConfigError
from tooling.targets import ARCHIVE_FORMATS

SIGN_BACKENDS = ("gpg", "minisign")

# Kinds of value a key takes, with how a person writes each in TOML.
KINDS = {
    "string": "a string",
    "boolean": "true or false",
    "strings": "a list of strings",
    "string-table": "a table of strings",
    "table": "a table",
    "string-or-table": "a string or a table",
}


@dataclass(frozen=True)
class Field:
    """One key: its kind, what it means, an example, its default, and the values it may take."""

    kind: str
    meaning: str
    example: str  # TOML text of a typical value
    default: Any = None
    choices: tuple[str, ...] = ()  # allowed values (of the string, or of each list item / table value)
    default_text: str = ""  # how the docs describe a default computed elsewhere

    def accepts(self, value: Any) -> bool:
        """Is `value` of this key's kind (pure)?"""
        if self.kind == "string":
            return isinstance(value, str)
        if self.kind == "boolean":
            return isinstance(value, bool)
        if self.kind == "strings":
            return isinstance(value, list) and all(isinstance(item, str) for item in value)
        if self.kind == "string-table":
            return isinstance(value, dict) and all(isinstance(item, str) for item in value.values())
        if self.kind == "table":
            return isinstance(value, dict)
        return isinstance(value, (str, dict))  # string-or-table


@dataclass(frozen=True)
class Table:
    """One TOML table of the configuration."""

    path: str
    meaning: str
    fields: Mapping[str, Field]


RELEASE = Table(
    "tool.release",
    "The crate being shipped and how it is built. What Cargo.toml states is taken from there.",
    {
        "crate": Field(
            "string",
            "path of the crate's (or its workspace's) Cargo.toml, relative to this file",
            '"Cargo.toml"',
            "Cargo.toml",
        ),
        "package": Field(
            "string-or-table",
            "the workspace member to release, when the workspace has several "
            "with binaries (a table here is the old spelling of [tool.release.metadata])",
            '"mytool"',
            None,
            default_text="the only member with binaries",
        ),
        "binaries": Field(
            "strings", "binaries to ship", '["mytool"]', None, default_text="every binary cargo builds for the package"
        ),
        "targets": Field(
            "strings", 'triples or shell patterns from the target table; "!" removes', '["*", "!*-windows-msvc"]', ["*"]
        ),
        "glibc": Field(
            "string", "glibc floor of *-linux-gnu targets (2.17 to the newest the pinned zig knows)", '"2.17"', "2.17"
        ),
        "macos-deployment-target": Field(
            "string-table",
            "MACOSX_DEPLOYMENT_TARGET per macOS triple",
            '{ "aarch64-apple-darwin" = "11.0" }',
            {},
            default_text="Rust's: 11.0 arm64, 10.12 x86_64",
        ),
        "profile": Field("string", "cargo profile", '"release"', "release"),
        "build-mode": Field(
            "string",
            "per-target: one cargo run per target, as CI's runners build (the release is byte-identical either "
            "way); combined: targets whose builds differ only in the target share one cargo run (faster here, "
            "but cargo gives their crates other hashes, so the binaries differ from one-target builds)",
            '"combined"',
            "per-target",
            choices=("combined", "per-target"),
        ),
        "features": Field("strings", "cargo features to enable", '["tls"]', []),
        "no-default-features": Field("boolean", "build without the default features", "true", False),
        "all-features": Field("boolean", "build with every feature", "true", False),
        "dist-dir": Field(
            "string", "output folder, relative to this file ($RELEASE_DIST_DIR overrides)", '"dist"', "dist"
        ),
        "rustc": Field("strings", "extra rustc paths to consider for cross std", '["/usr/bin/rustc"]', []),
        "archive": Field("table", "archive formats, see [tool.release.archive]", '{ unix = "tar.xz" }', {}),
        "include": Field(
            "strings",
            "extra files for the archives (globs, relative to the crate)",
            '["README*", "LICENSE*"]',
            ["README*", "LICENSE*", "CHANGELOG*"],
        ),
        "smoke-args": Field("strings", "arguments of the run after each build", '["--version"]', ["--version"]),
        "smoke-expect": Field(
            "strings",
            "strings that run must print, case-insensitively ({version}, {triple}, {binary} and {crate} are "
            "filled in; {name} is met by the crate's name or the binary's)",
            '["{name}", "{version}"]',
            ["{name}", "{version}"],
        ),
        "target": Field(
            "table",
            'settings for some targets, see [tool.release.target."<triple or pattern>"]',
            '{ "*-apple-darwin" = { env = { SDKROOT = "/opt/MacOSX.sdk" } } }',
            {},
        ),
        "binary": Field(
            "table",
            'settings for one binary, see [tool.release.binary."<name>"]',
            '{ rg = { smoke-expect = ["ripgrep {version}"] } }',
            {},
        ),
        "metadata": Field("table", "package-manager metadata, see [tool.release.metadata]", "{}", {}),
        "sign": Field("table", "signing, see [tool.release.sign]", "{}", {}),
        "versioning": Field("table", "versions, tags and changelogs, see [tool.release.versioning]", "{}", {}),
        "packages": Field("table", "package-manager channels, see [tool.release.packages]", "{}", {}),
        "publish": Field("table", "where `invoke publish` pushes each channel, see [tool.release.publish]", "{}", {}),
        "regression": Field("table", "the binary size and start-up gate, see [tool.release.regression]", "{}", {}),
        "gates": Field("table", "the quality gates of `invoke release`, see [tool.release.gates]", "{}", {}),
        "announce": Field("table", "the release announcement, see [tool.release.announce]", "{}", {}),
        "completions": Field(
            "strings",
            "command that prints a shell's completions, run with a binary built for this machine "
            "({bin} and {shell}: bash, zsh, fish, powershell); empty: none",
            '["{bin}", "completions", "{shell}"]',
            [],
        ),
        "man": Field(
            "strings",
            "command that prints the binary's man page (roff), run like completions; empty: none",
            '["{bin}", "man"]',
            [],
        ),
        "install-scripts": Field(
            "boolean",
            "render install.sh and install.ps1 for the release, released with the archives",
            "true",
            False,
        ),
    },
)

TARGET = Table(
    'tool.release.target."<triple or pattern>"',
    "Settings for the targets a triple or shell pattern matches (e.g. `*-apple-darwin`). Every matching table "
    "applies, in the order written: lists add up, env values and smoke settings of a later table win.",
    {
        "features": Field(
            "strings",
            "cargo features to enable for these targets, beside tool.release.features",
            '["vendored-openssl"]',
            [],
        ),
        "env": Field(
            "string-table",
            "environment of the build (not RUSTFLAGS, RUSTC or CARGO: see rustflags and rust-version)",
            '{ SDKROOT = "/opt/MacOSX14.sdk" }',
            {},
        ),
        "rustflags": Field("strings", "extra rustc flags, after the tool's own", '["-C", "target-cpu=x86-64-v2"]', []),
        "smoke-args": Field(
            "strings", "arguments of the run after each build", '["-V"]', None, default_text="tool.release.smoke-args"
        ),
        "smoke-expect": Field(
            "strings",
            "strings that run must print (placeholders as in tool.release.smoke-expect)",
            '["ripgrep {version}"]',
            None,
            default_text="tool.release.smoke-expect",
        ),
        "allowed-libraries": Field(
            "strings",
            "shared libraries the binaries may need beyond what the platform guarantees (file names or globs)",
            '["libssl.so.3"]',
            [],
        ),
    },
)

METADATA = Table(
    "tool.release.metadata",
    "What package managers show about the tool; each key defaults to Cargo.toml's.",
    {
        "description": Field(
            "string", "one-line description", '"Checks tasks"', None, default_text="Cargo.toml's description"
        ),
        "homepage": Field(
            "string",
            "project homepage",
            '"https://example.org"',
            None,
            default_text="Cargo.toml's homepage, else repository",
        ),
        "license": Field(
            "string", "SPDX license expression", '"MIT OR Apache-2.0"', None, default_text="Cargo.toml's license"
        ),
        "maintainer": Field(
            "string",
            "who maintains the packages",
            '"Ann <ann@example.org>"',
            None,
            default_text="the first of Cargo.toml's authors",
        ),
        "repository": Field(
            "string",
            "source repository URL",
            '"https://example.org/repo"',
            None,
            default_text="Cargo.toml's repository",
        ),
    },
)

ARCHIVE = Table(
    "tool.release.archive",
    "Archive formats of the release files.",
    {
        "unix": Field("string", "format for Linux and macOS targets", '"tar.gz"', "tar.gz", ARCHIVE_FORMATS),
        "windows": Field("string", "format for Windows targets", '"zip"', "zip", ARCHIVE_FORMATS),
    },
)

SIGN = Table(
    "tool.release.sign",
    "Who signs the release and which keys `verify` trusts. Secrets come only from the environment.",
    {
        "backends": Field("strings", "signers", '["gpg", "minisign"]', list(SIGN_BACKENDS), SIGN_BACKENDS),
        "gpg-key": Field("string", "the signing key (id, fingerprint or e-mail)", '"releases@example.org"', ""),
        "gpg-fingerprints": Field(
            "strings",
            "full fingerprints whose signatures verify accepts",
            '["0123456789ABCDEF0123456789ABCDEF01234567"]',
            [],
        ),
        "gpg-program": Field("string", "the gpg executable", '"gpg2"', "gpg"),
        "minisign-key": Field("string", "the minisign secret key file", '"~/.minisign/minisign.key"', ""),
        "minisign-public-key": Field("string", "the minisign public key file verify trusts", '"minisign.pub"', ""),
        "minisign-program": Field("string", "the minisign executable", '"minisign"', "minisign"),
    },
)

VERSIONING = Table(
    "tool.release.versioning",
    "Versions, tags, branches, changelog and release notes.",
    {
        "tag-prefix": Field("string", "prefix of release tags", '"v"', "v"),
        "sign-tags": Field("boolean", "GPG-sign release tags", "true", False),
        "signing-key": Field("string", "key for signed tags (needs sign-tags)", '"0xA1B2C3D4"', ""),
        "main-branch": Field("string", "the branch every release may be cut from", '"main"', "main"),
        "release-branches": Field(
            "string",
            "maintenance branches, with {major} and {minor}",
            '"release/{major}.{minor}"',
            "release/{major}.{minor}",
        ),
        "acknowledged-breaking": Field(
            "strings", "versions whose breaking changes are accepted without a major bump", '["1.5.0"]', []
        ),
        "changelog": Field(
            "string",
            "the changelog file",
            '"CHANGELOG.md"',
            "",
            default_text="CHANGELOG.md beside the crate's Cargo.toml",
        ),
        "cliff-config": Field(
            "string",
            "git-cliff configuration",
            '"cliff.toml"',
            "",
            default_text="the repository's cliff.toml, else the packaged one",
        ),
        "templates": Field(
            "string", "folder of Jinja2 templates overriding the packaged ones", '"packaging/templates"', ""
        ),
        "migrations-dir": Field("string", "where migration guides are written", '"docs/migrations"', "docs/migrations"),
        "checksums-file": Field("string", "checksum file named in release notes", '"SHA256SUMS"', "SHA256SUMS"),
        "signature-file": Field("string", "its signature named in release notes", '"SHA256SUMS.asc"', "SHA256SUMS.asc"),
        "commit-types": Field(
            "strings",
            "allowed conventional-commit types",
            '["feat", "fix"]',
            [],
            default_text="feat, fix, perf, refactor, docs, test, build, ci, chore, style, revert",
        ),
        "prerelease-notes": Field(
            "string",
            "a prerelease's notes list the changes since the previous prerelease, or since the last stable release",
            '"stable"',
            "prerelease",
            choices=("prerelease", "stable"),
        ),
        "main-changelog": Field(
            "string",
            "a patch release cut from a release branch adds its CHANGELOG.md section to the main branch: "
            "in a follow-up commit there, or as printed instructions",
            '"print"',
            "commit",
            choices=("commit", "print"),
        ),
        "commit-lint-since": Field(
            "string",
            "the last commit written before the rules were adopted",
            '"0a147bd2fc2e51978ee490799a1107b18a553e94"',
            "",
        ),
    },
)

BINARY = Table(
    'tool.release.binary."<name>"',
    "Settings for one of the binaries shipped. They win over the target tables' and [tool.release]'s.",
    {
        "smoke-args": Field(
            "strings", "arguments of this binary's run after each build", '["-V"]', None, default_text="the target's"
        ),
        "smoke-expect": Field(
            "strings",
            "strings its run must print (placeholders as in tool.release.smoke-expect)",
            '["ripgrep {version}"]',
            None,
            default_text="the target's",
        ),
    },
)

# --- package channels ---------------------------------------------------------------------

CHANNEL_NAMES = ("homebrew", "scoop", "chocolatey", "winget", "binstall", "deb", "rpm", "snap", "aur")

PACKAGES = Table(
    "tool.release.packages",
    "Which package-manager channels a release makes, where their downloads live, and each channel's options "
    "([tool.release.packages.<channel>]).",
    {
        "channels": Field("strings", "channels to make; none unless listed", '["homebrew", "deb"]', [], CHANNEL_NAMES),
        "download-url": Field(
            "string",
            "URL of a release file ({repository} without .git, {tag}, {version}, {file})",
            '"https://example.org/releases/{tag}/{file}"',
            "{repository}/releases/download/{tag}/{file}",
        ),
        "templates": Field(
            "string",
            "folder whose <channel>/<file> templates replace the packaged ones",
            '"packaging/templates"',
            "",
        ),
        **{name: Field("table", f"options of the {name} channel", "{}", {}) for name in CHANNEL_NAMES},
    },
)


def _prerelease(choices: tuple[str, ...], default: str) -> Field:
    """What a channel does with a prerelease version: skip, mark (the channel's own way) or separate (a new name)."""
    return Field(
        "string",
        "what a prerelease version does here: " + ", ".join(choices),
        f'"{choices[-1]}"',
        default,
        choices,
    )


def _linux_libc() -> Field:
    return Field("string", "which Linux build the package holds", '"gnu"', "musl", ("musl", "gnu"))


CHANNEL_TABLES: dict[str, Table] = {
    "homebrew": Table(
        "tool.release.packages.homebrew",
        "A formula for a Homebrew tap.",
        {
            "formula": Field("string", "formula name", '"mytool"', "", default_text="the crate's name"),
            "tap": Field("string", "the tap repository (owner/homebrew-name)", '"me/homebrew-tap"', ""),
            "linux-libc": _linux_libc(),
            "prerelease": _prerelease(("skip", "separate"), "separate"),
        },
    ),
    "scoop": Table(
        "tool.release.packages.scoop",
        "A manifest for a Scoop bucket.",
        {
            "bucket": Field("string", "the bucket repository (owner/name)", '"me/scoop-bucket"', ""),
            "prerelease": _prerelease(("skip", "separate"), "separate"),
        },
    ),
    "chocolatey": Table(
        "tool.release.packages.chocolatey",
        "A Chocolatey package (.nupkg).",
        {
            "id": Field("string", "package id (lower case)", '"mytool"', "", default_text="the crate's name"),
            "authors": Field("string", "authors of the software", '"Ann"', "", default_text="the maintainer"),
            "tags": Field("strings", "gallery tags", '["cli", "checksum"]', []),
            "prerelease": _prerelease(("skip", "mark"), "mark"),
        },
    ),
    "winget": Table(
        "tool.release.packages.winget",
        "Multi-file manifests for winget-pkgs.",
        {
            "identifier": Field("string", "PackageIdentifier (Publisher.Package)", '"Ann.MyTool"', ""),
            "publisher": Field("string", "publisher shown by winget", '"Ann"', "", default_text="the maintainer"),
            "locale": Field("string", "locale of the default-locale manifest", '"en-US"', "en-US"),
            "prerelease": _prerelease(("skip", "separate"), "skip"),
        },
    ),
    "binstall": Table(
        "tool.release.packages.binstall",
        "[package.metadata.binstall] for cargo-binstall (`invoke binstall-metadata` writes it into Cargo.toml).",
        {},
    ),
    "deb": Table(
        "tool.release.packages.deb",
        "Debian packages (amd64, arm64).",
        {
            "package": Field(
                "string", "Debian package name", '"my-tool"', "", default_text="the crate's name, lower case, _ as -"
            ),
            "linux-libc": _linux_libc(),
            "section": Field("string", "Debian section", '"utils"', "utils"),
            "priority": Field("string", "Debian priority", '"optional"', "optional"),
            "depends": Field("strings", "Depends entries (a gnu build needs libc6)", '["libc6 (>= 2.17)"]', []),
            "prerelease": _prerelease(("skip", "mark"), "mark"),
        },
    ),
    "rpm": Table(
        "tool.release.packages.rpm",
        "RPM packages (x86_64, aarch64).",
        {
            "linux-libc": _linux_libc(),
            "release": Field("string", "the package's Release", '"1"', "1"),
            "group": Field("string", "the package's Group", '"Applications/System"', "Applications/System"),
            "prerelease": _prerelease(("skip", "mark"), "mark"),
        },
    ),
    "snap": Table(
        "tool.release.packages.snap",
        "Snaps (amd64, arm64) and a snapcraft.yaml.",
        {
            "name": Field("string", "snap name", '"mytool"', "", default_text="the crate's name"),
            "linux-libc": _linux_libc(),
            "base": Field("string", "the snap's base", '"core24"', "core22", ("core22", "core24")),
            "confinement": Field("string", "confinement", '"classic"', "strict", ("strict", "classic", "devmode")),
            "plugs": Field("strings", "interfaces every app plugs", '["home", "network"]', ["home"]),
            "summary": Field(
                "string", "one line, at most 78 characters", '"Checks tasks"', "", default_text="the description"
            ),
            "prerelease": _prerelease(("skip", "mark"), "mark"),
        },
    ),
    "aur": Table(
        "tool.release.packages.aur",
        "A PKGBUILD and .SRCINFO for an AUR -bin package.",
        {
            "package": Field("string", "pkgname", '"mytool-bin"', "", default_text="<crate>-bin"),
            "linux-libc": _linux_libc(),
            "prerelease": _prerelease(("skip", "separate"), "skip"),
        },
    ),
}

REGRESSION = Table(
    "tool.release.regression",
    "The regression gate: each shipped binary's size and start-up time against the previous release's, "
    "measured alternately old/new.",
    {
        "args": Field("strings", "arguments of the timed run", '["--help"]', ["--version"]),
        "runs": Field("string", "timed runs of each binary (the median counts)", '"21"', "15"),
        "max-time-increase": Field("string", "slower than this fails the gate", '"10%"', "10%"),
        "max-size-increase": Field("string", "larger than this fails the gate", '"5%"', "5%"),
    },
)

GATES = Table(
    "tool.release.gates",
    "The quality gates `invoke release` runs before it changes anything (each can be skipped only by name, "
    "with --skip, and the skip is written into the release notes).",
    {
        "advisory-db": Field(
            "string",
            "a RustSec advisory database checked out on this machine, read offline by cargo-deny; "
            "empty: advisories are not checked (the summary says so)",
            '"~/.cache/advisory-db"',
            "",
        ),
        "deny-config": Field(
            "string",
            "cargo-deny's configuration (licenses, bans, advisories)",
            '"deny.toml"',
            "",
            default_text="deny.toml beside the crate's Cargo.toml when there is one, else cargo-deny's defaults",
        ),
        "test-args": Field("strings", "more arguments of the crate's `cargo test --locked`", '["--all-features"]', []),
        "regression-baseline": Field(
            "string",
            "the previous release for the regression gate: its dist/ folder, binaries or an archive; "
            "empty: the previous release's archive for this machine, from its GitHub release",
            '"../previous-dist"',
            "",
        ),
    },
)

ANNOUNCE = Table(
    "tool.release.announce",
    "The announcement written after publishing: markdown (a discussion or blog post), a short plain-text post, "
    "and an optional webhook post.",
    {
        "templates": Field(
            "string", "folder of templates overriding announcement.md.j2 and post.txt.j2", '"packaging/announce"', ""
        ),
        "webhook-env": Field(
            "string",
            "environment variable holding the webhook URL (a secret); unset or empty: no webhook post",
            '"RELEASE_WEBHOOK_URL"',
            "RELEASE_WEBHOOK_URL",
        ),
        "webhook-format": Field(
            "string", "the JSON the webhook takes", '"discord"', "slack", choices=("slack", "discord")
        ),
    },
)

# --- publishing channels ---------------------------------------------------------------------

PUBLISHER_NAMES = ("homebrew", "scoop", "aur", "winget", "chocolatey", "cargo")

PUBLISH = Table(
    "tool.release.publish",
    "Which channels `invoke publish` pushes after the GitHub release, and as whom. Secrets come only from the "
    "environment variables each channel's table names.",
    {
        "channels": Field(
            "strings", "channels to push; none unless listed", '["homebrew", "cargo"]', [], PUBLISHER_NAMES
        ),
        "author-name": Field("string", "author of the commits to taps, buckets and the AUR", '"Release Bot"', ""),
        "author-email": Field("string", "their e-mail", '"release-bot@example.org"', ""),
        "sign-commits": Field("boolean", "GPG-sign those commits (tool.release.sign.gpg-key)", "true", False),
        **{name: Field("table", f"where the {name} channel is pushed", "{}", {}) for name in PUBLISHER_NAMES},
    },
)


def _secret_env(default: str, what: str) -> Field:
    return Field("string", f"environment variable holding {what}", f'"{default}"', default)


PUBLISHER_TABLES: dict[str, Table] = {
    "homebrew": Table(
        "tool.release.publish.homebrew",
        "The Homebrew tap the formula is committed to (Formula/<name>.rb).",
        {
            "repository": Field(
                "string",
                "git URL of the tap",
                '"https://github.com/me/homebrew-tap.git"',
                "",
                default_text="https://github.com/<tool.release.packages.homebrew.tap>.git",
            ),
            "branch": Field("string", "branch to push", '"main"', "main"),
            "token-env": _secret_env("HOMEBREW_TAP_TOKEN", "a token that may push over https"),
        },
    ),
    "scoop": Table(
        "tool.release.publish.scoop",
        "The Scoop bucket the manifest is committed to (bucket/<name>.json).",
        {
            "repository": Field(
                "string",
                "git URL of the bucket",
                '"https://github.com/me/scoop-bucket.git"',
                "",
                default_text="https://github.com/<tool.release.packages.scoop.bucket>.git",
            ),
            "branch": Field("string", "branch to push", '"main"', "main"),
            "token-env": _secret_env("SCOOP_BUCKET_TOKEN", "a token that may push over https"),
        },
    ),
    "aur": Table(
        "tool.release.publish.aur",
        "The AUR package repository PKGBUILD and .SRCINFO are pushed to (over ssh).",
        {
            "repository": Field(
                "string",
                "git URL of the package",
                '"ssh://aur@aur.archlinux.org/mytool-bin.git"',
                "",
                default_text="ssh://aur@aur.archlinux.org/<package>.git",
            ),
            "branch": Field("string", "branch to push", '"master"', "master"),
            "ssh-key-env": _secret_env("AUR_SSH_KEY", "the ssh private key (its text, or a file path)"),
        },
    ),
    "winget": Table(
        "tool.release.publish.winget",
        "The pull request to winget-pkgs, from a fork.",
        {
            "fork": Field("string", "your fork (owner/winget-pkgs)", '"me/winget-pkgs"', ""),
            "upstream": Field(
                "string", "the repository the pull request goes to", '"microsoft/winget-pkgs"', "microsoft/winget-pkgs"
            ),
            "token-env": _secret_env("WINGET_TOKEN", "a token that may push to the fork and open pull requests"),
        },
    ),
    "chocolatey": Table(
        "tool.release.publish.chocolatey",
        "The NuGet v2 feed the .nupkg is pushed to.",
        {
            "feed": Field("string", "push URL of the feed", '"https://nuget.example.org/api/v2/package"', ""),
            "api-key-env": _secret_env("CHOCOLATEY_API_KEY", "the feed's API key"),
        },
    ),
    "cargo": Table(
        "tool.release.publish.cargo",
        "`cargo publish` of the crate (and its workspace members, in dependency order).",
        {
            "registry": Field(
                "string",
                "a registry named in .cargo/config.toml",
                '"my-registry"',
                "",
                default_text="cargo's default registry",
            ),
            "token-env": _secret_env("CARGO_REGISTRY_TOKEN", "the registry token"),
        },
    ),
}

TABLES: tuple[Table, ...] = (
    RELEASE,
    TARGET,
    BINARY,
    METADATA,
    ARCHIVE,
    SIGN,
    VERSIONING,
    PACKAGES,
    *CHANNEL_TABLES.values(),
    PUBLISH,
    *PUBLISHER_TABLES.values(),
    REGRESSION,
    GATES,
    ANNOUNCE,
)


def check_publish(raw: Mapping[str, Any]) -> dict[str, Any]:
    """[tool.release.publish] checked, with every channel's table checked and filled in (pure)."""
    values = check_table(PUBLISH, raw)
    for name, table in PUBLISHER_TABLES.items():
        values[name] = check_table(table, values[name])
    return values


def check_packages(raw: Mapping[str, Any]) -> dict[str, Any]:
    """[tool.release.packages] checked, with every channel's table checked and filled in (pure)."""
    values = check_table(PACKAGES, raw)
    for name, table in CHANNEL_TABLES.items():
        values[name] = check_table(table, values[name])
    return values


def _type_name(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def unknown_key(table: Table, key: str) -> ConfigError:
    """The error for a key `table` does not have, with the closest one it does."""
    allowed = list(table.fields)
    close = difflib.get_close_matches(key, allowed, n=1)
    return ConfigError(
        f"unknown key {table.path}.{key}",
        hint=(f"did you mean {close[0]!r}? " if close else "") + "allowed keys: " + ", ".join(allowed),
    )


def check_table(table: Table, raw: Mapping[str, Any]) -> dict[str, Any]:
    """`raw` checked against `table` (names, kinds, allowed values); returned with defaults filled in (pure)."""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        spec = table.fields.get(key)
        if spec is None:
            raise unknown_key(table, key)
        if not spec.accepts(value):
            raise ConfigError(
                f"{table.path}.{key} must be {KINDS[spec.kind]}, not {_type_name(value)} ({value!r})",
                hint=f"e.g. {key} = {spec.example}",
            )
        if spec.choices:
            given = value if isinstance(value, list) else [value]
            wrong = [item for item in given if item not in spec.choices]
            if wrong:
                raise ConfigError(
                    f"{table.path}.{key}: {wrong[0]!r} is not one of " + ", ".join(spec.choices),
                    hint=f"e.g. {key} = {spec.example}",
                )
        values[key] = value
    for key, spec in table.fields.items():
        values.setdefault(key, spec.default)
    return values


# --- generated outputs -------------------------------------------------------------------


def _json_type(field: Field) -> dict[str, Any]:
    string: dict[str, Any] = {"type": "string", **({"enum": list(field.choices)} if field.choices else {})}
    if field.kind == "string":
        return string
    if field.kind == "boolean":
        return {"type": "boolean"}
    if field.kind == "strings":
        return {"type": "array", "items": string}
    if field.kind == "string-table":
        return {"type": "object", "additionalProperties": string}
    if field.kind == "table":
        return {"type": "object"}
    return {"type": ["string", "object"]}


def _table_schema(table: Table) -> dict[str, Any]:
    properties = {}
    for key, field in table.fields.items():
        prop = {"description": field.meaning, **_json_type(field)}
        if field.default not in (None, "", [], {}):
            prop["default"] = field.default
        properties[key] = prop
    return {"type": "object", "description": table.meaning, "additionalProperties": False, "properties": properties}


def json_schema() -> dict[str, Any]:
    """The JSON Schema of [tool.release] (draft 2020-12)."""
    schema = _table_schema(RELEASE)
    nested = {
        "metadata": METADATA,
        "archive": ARCHIVE,
        "sign": SIGN,
        "versioning": VERSIONING,
        "packages": PACKAGES,
        "publish": PUBLISH,
    }
    for key, table in nested.items():
        schema["properties"][key] = {**schema["properties"][key], **_table_schema(table)}
    for key, tables in (("packages", CHANNEL_TABLES), ("publish", PUBLISHER_TABLES)):
        parent = schema["properties"][key]
        for name, table in tables.items():
            parent["properties"][name] = {**parent["properties"][name], **_table_schema(table)}
    schema["properties"]["target"]["additionalProperties"] = _table_schema(TARGET)
    schema["properties"]["binary"]["additionalProperties"] = _table_schema(BINARY)
    schema["properties"]["package"]["oneOf"] = [{"type": "string"}, _table_schema(METADATA)]
    del schema["properties"]["package"]["type"]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "release-tooling/release-config.schema.json",
        "title": "[tool.release] of pyproject.toml",
        **schema,
    }


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def _default_text(field: Field) -> str:
    if field.default_text:
        return field.default_text
    if field.default in (None, "", [], {}):
        return "-"
    return f"`{json.dumps(field.default)}`"


def reference_markdown() -> str:
    """The configuration reference: one Markdown table per TOML table."""
    parts = []
    for table in TABLES:
        rows = [
            f"| `{key}` | {KINDS[field.kind]} | {_default_text(field)} | {field.meaning}"
            + (" (one of " + ", ".join(f"`{c}`" for c in field.choices) + ")" if field.choices else "")
            + f"; e.g. `{field.example}` |"
            for key, field in table.fields.items()
        ]
        parts.append(
            f"### [{table.path}]\n\n{table.meaning}\n\n| key | type | default | meaning |\n|---|---|---|---|\n"
            + "\n".join(rows)
        )
    return "\n\n".join(parts)

"""Detached signatures: GPG (armored `.asc`) and minisign (`.minisig`).

Settings come from [tool.release.sign] and the environment; passphrases only
from the environment. Verification trusts only what the configuration pins:
a GPG signature counts when gpg reports VALIDSIG for one of the pinned
fingerprints (`gpg-fingerprints`, else the signing key when it is given as a
full fingerprint), a minisign signature when it verifies with the configured
public key. Commands are planned by pure functions and run through
tooling.proc with the passphrase on stdin (never on the command line, masked
in every message). Each signature is written to a temporary file and renamed
into place only when the signer succeeded, so a failure leaves nothing behind.
"""

from __future__ import annotations

import base64
import binascii
import re
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooling import config_schema, proc
from tooling.config_schema import check_table
from tooling.errors import ConfigError, SigningError
from tooling.files import atomic_output, private_folder, write_private

BACKENDS = config_schema.SIGN_BACKENDS
SUFFIXES = {"gpg": ".asc", "minisign": ".minisig"}

# Environment variables; the *_PASSPHRASE and *_SECRET_KEY ones are secrets.
GPG_KEY_ENV = "RELEASE_GPG_KEY"
GPG_PASSPHRASE_ENV = "RELEASE_GPG_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
MINISIGN_KEY_ENV = "RELEASE_MINISIGN_KEY"  # path of the secret key file
MINISIGN_SECRET_KEY_ENV = "RELEASE_MINISIGN_SECRET_KEY"  # noqa: S105 - the variable's name, not a secret
MINISIGN_PUBLIC_KEY_ENV = "RELEASE_MINISIGN_PUBLIC_KEY"  # path of the public key file
MINISIGN_PASSPHRASE_ENV = "RELEASE_MINISIGN_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
PASSPHRASE_ENVS = {"gpg": GPG_PASSPHRASE_ENV, "minisign": MINISIGN_PASSPHRASE_ENV}

# Shorter passphrases are refused: proc.mask could show them only as whole words, and they are guessed at once.
MIN_PASSPHRASE_LENGTH = proc.MIN_SECRET_LENGTH
# A minisign secret key file: an untrusted comment line, then base64 of 158 bytes starting with the
# algorithm "Ed" (minisign's key format: algorithm, KDF, checksum algorithm, salt, limits, key material).
_MINISIGN_COMMENT = "untrusted comment:"
_MINISIGN_SECRET_KEY_BYTES = 158
_MINISIGN_PUBLIC_KEY_BYTES = 42  # algorithm, key id, Ed25519 public key


# --- settings ------------------------------------------------------------------


@dataclass(frozen=True)
class SignSettings:
    """Who signs, with which key; passphrases are kept out of repr()."""

    backends: tuple[str, ...]
    gpg_key: str
    gpg_program: str
    minisign_key: str
    minisign_key_content: str = field(default="", repr=False)
    minisign_public_key: str = ""
    minisign_program: str = "minisign"
    gpg_passphrase: str = field(default="", repr=False)
    minisign_passphrase: str = field(default="", repr=False)
    gpg_fingerprints: tuple[str, ...] = ()  # the keys whose signatures verify accepts (pinned_fingerprints)

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.gpg_passphrase, self.minisign_passphrase, self.minisign_key_content) if s)


def check_backends(backends: Sequence[str]) -> tuple[str, ...]:
    """`backends` as a tuple; ConfigError for a signer we do not know or one named twice (pure)."""
    for backend in backends:
        if backend not in BACKENDS:
            raise ConfigError(
                f"tool.release.sign.backends: unknown signer {backend!r}", hint="use any of " + ", ".join(BACKENDS)
            )
    if len(set(backends)) != len(backends):
        raise ConfigError(
            f"tool.release.sign.backends lists a signer twice: {list(backends)}", hint="name each signer once"
        )
    return tuple(backends)


def sign_settings(
    table: Mapping[str, Any],
    environ: Mapping[str, str],
    root: Path,
    backends: Sequence[str] | None = None,
) -> SignSettings:
    """Validate [tool.release.sign] and overlay the environment (pure).

    `backends` (from the command line) replaces tool.release.sign.backends.
    """
    # Names, kinds and allowed signers come from the one definition of the configuration.
    values = check_table(config_schema.SIGN, table)
    chosen = check_backends(backends if backends is not None else values["backends"])

    def path_value(raw: str) -> str:
        if not raw:
            return ""
        path = Path(raw).expanduser()
        return str(path if path.is_absolute() else root / path)

    gpg_key = environ.get(GPG_KEY_ENV) or values["gpg-key"]
    key_content = environ.get(MINISIGN_SECRET_KEY_ENV, "")
    if key_content and "minisign" in chosen:
        problem = minisign_secret_key_problem(key_content)
        if problem:
            raise SigningError(
                f"{MINISIGN_SECRET_KEY_ENV} {problem}",
                hint=f"set it to the whole text of the secret key file (both lines), or unset it and point "
                f"{MINISIGN_KEY_ENV} at the file",
            )
    return SignSettings(
        backends=chosen,
        gpg_key=gpg_key,
        gpg_fingerprints=pinned_fingerprints(values["gpg-fingerprints"], gpg_key),
        gpg_program=values["gpg-program"],
        minisign_key=path_value(environ.get(MINISIGN_KEY_ENV) or values["minisign-key"]),
        minisign_key_content=key_content,
        minisign_public_key=path_value(environ.get(MINISIGN_PUBLIC_KEY_ENV) or values["minisign-public-key"]),
        minisign_program=values["minisign-program"],
        gpg_passphrase=passphrase_from(environ, "gpg", checked="gpg" in chosen),
        minisign_passphrase=passphrase_from(environ, "minisign", checked="minisign" in chosen),
    )


def passphrase_from(environ: Mapping[str, str], backend: str, *, checked: bool = True) -> str:
    """The passphrase of `backend`'s key from the environment ("" when unset); a too short one is refused (pure).

    `checked` is False for a signer this run does not use: its variable is
    read (so it is still masked) but not judged.
    """
    name = PASSPHRASE_ENVS[backend]
    value = environ.get(name, "")
    if checked and value and len(value) < MIN_PASSPHRASE_LENGTH:
        # The message names the variable and the rule, never the value or its exact length.
        raise SigningError(
            f"{name} is shorter than {MIN_PASSPHRASE_LENGTH} characters, which is refused",
            hint="a passphrase that short is guessed at once and cannot be hidden in logs: give the key a longer "
            + ("one (gpg --change-passphrase <key>)" if backend == "gpg" else "one (minisign -C -s <key file>)")
            + f" and set {name} to it, or unset {name} for a key without one",
        )
    return value


def minisign_key_lines(text: str) -> list[str]:
    """The non-blank lines of a minisign key's text, stripped (CI secrets often gain indentation or CRLF) (pure)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def minisign_secret_key_problem(text: str) -> str | None:
    """What makes `text` not a minisign secret key, phrased to follow its source's name; None when it is one (pure).

    Never quotes the text: it may be a real key in a slightly wrong shape.
    """
    lines = minisign_key_lines(text)
    if len(lines) != 2 or not lines[0].startswith(_MINISIGN_COMMENT):
        return f"is not a minisign secret key: expected two lines, {_MINISIGN_COMMENT!r} and the base64 key"
    try:
        raw = base64.b64decode(lines[1], validate=True)
    except (binascii.Error, ValueError):
        return "is not a minisign secret key: its second line is not base64"
    if raw.startswith(b"Ed") and len(raw) == _MINISIGN_PUBLIC_KEY_BYTES:
        return "is a minisign public key: signing needs the secret key"
    if not raw.startswith(b"Ed") or len(raw) != _MINISIGN_SECRET_KEY_BYTES:
        return "is not a minisign secret key: its key data has the wrong algorithm or length"
    return None


_FINGERPRINT = re.compile(r"^(?:[0-9A-F]{40}|[0-9A-F]{64})$")  # OpenPGP v4 (SHA-1) or v5/v6 (SHA-256)


def normal_fingerprint(text: str) -> str:
    """A fingerprint as gpg prints it in status lines: upper case, no spaces, no 0x."""
    return text.replace(" ", "").upper().removeprefix("0X")


def pinned_fingerprints(configured: Sequence[str], gpg_key: str) -> tuple[str, ...]:
    """The fingerprints verify trusts (pure): tool.release.sign.gpg-fingerprints, else the signing key's.

    The signing key counts only when it is written as a full fingerprint: a
    key id or an e-mail names whatever key the keyring holds, which pins nothing.
    """
    pinned = tuple(normal_fingerprint(item) for item in configured)
    for item, fingerprint in zip(configured, pinned, strict=True):
        if not _FINGERPRINT.match(fingerprint):
            raise ConfigError(
                f"tool.release.sign.gpg-fingerprints: {item!r} is not a full fingerprint (40 or 64 hex digits)",
                hint="copy it from `gpg --fingerprint <key>` (spaces are fine)",
            )
    if pinned:
        return pinned
    key = normal_fingerprint(gpg_key)
    return (key,) if _FINGERPRINT.match(key) else ()


# --- pure decisions ---------------------------------------------------------------


def signature_name(name: str, backend: str) -> str:
    """`SHA256SUMS` -> `SHA256SUMS.asc` (gpg) or `SHA256SUMS.minisig` (minisign)."""
    return name + SUFFIXES[backend]


def gpg_sign_argv(program: str, key: str, file: Path, output: Path, *, with_passphrase: bool) -> list[str]:
    """gpg, non-interactive: batch mode, loopback pinentry, passphrase (if any) read from stdin."""
    argv = [program, "--batch", "--yes", "--no-tty", "--pinentry-mode", "loopback"]
    if with_passphrase:
        argv += ["--passphrase-fd", "0"]
    return [*argv, "--local-user", key, "--armor", "--detach-sign", "--output", str(output), str(file)]


def gpg_list_key_argv(program: str, key: str) -> list[str]:
    return [program, "--batch", "--no-tty", "--with-colons", "--fixed-list-mode", "--list-secret-keys", key]


def gpg_verify_argv(program: str, signature: Path, file: Path) -> list[str]:
    """gpg --verify with machine-readable status lines on stdout (fd 1), which gpg_verdict reads."""
    return [program, "--batch", "--no-tty", "--status-fd", "1", "--verify", str(signature), str(file)]


def minisign_sign_argv(program: str, key: Path, file: Path, output: Path, comment: str) -> list[str]:
    # A fixed trusted comment (minisign's default holds the time) keeps the
    # Ed25519 signature itself identical across runs.
    return [program, "-S", "-s", str(key), "-m", str(file), "-x", str(output), "-t", comment, "-c", comment]


def minisign_verify_argv(program: str, public_key: Path, signature: Path, file: Path) -> list[str]:
    return [program, "-V", "-q", "-p", str(public_key), "-m", str(file), "-x", str(signature)]


@dataclass(frozen=True)
class GpgKey:
    """A secret key as `gpg --with-colons --list-secret-keys` describes it."""

    fingerprint: str
    validity: str
    expires: int | None
    capabilities: str
    user_id: str


def parse_secret_keys(colons: str) -> list[GpgKey]:
    """The primary secret keys in gpg's colon listing (fields per doc/DETAILS in GnuPG)."""
    keys: list[GpgKey] = []
    current: dict[str, Any] | None = None

    def close() -> None:
        if current is not None:
            keys.append(GpgKey(**current))

    for line in colons.splitlines():
        fields = line.split(":")
        kind = fields[0]
        if kind == "sec":
            close()
            expires = fields[6] if len(fields) > 6 else ""
            current = {
                "fingerprint": "",
                "validity": fields[1] if len(fields) > 1 else "",
                "expires": int(expires) if expires.isdigit() else None,
                "capabilities": fields[11] if len(fields) > 11 else "",
                "user_id": "",
            }
        elif current is not None and kind == "fpr" and not current["fingerprint"]:
            current["fingerprint"] = fields[9] if len(fields) > 9 else ""
        elif current is not None and kind == "uid" and not current["user_id"]:
            current["user_id"] = fields[9] if len(fields) > 9 else ""
    close()
    return keys


def usable_signing_key(keys: Sequence[GpgKey], wanted: str, now: float) -> GpgKey:
    """The one key that can sign for `wanted`, or a SigningError saying why none can."""
    if not keys:
        raise SigningError(
            f"no GPG secret key matches {wanted!r} in the keyring",
            hint=f"import the key (gpg --import), point GNUPGHOME at the keyring, or set {GPG_KEY_ENV}",
        )
    if len(keys) > 1:
        raise SigningError(
            f"{wanted!r} matches {len(keys)} GPG secret keys: " + ", ".join(k.fingerprint for k in keys),
            hint=f"name one by its full fingerprint in tool.release.sign.gpg-key or {GPG_KEY_ENV}",
        )
    key = keys[0]
    label = f"{key.fingerprint} ({key.user_id})" if key.user_id else key.fingerprint
    if key.validity == "r":
        raise SigningError(f"GPG key {label} is revoked", hint="sign with another key")
    if key.validity == "e" or (key.expires is not None and key.expires <= now):
        raise SigningError(
            f"GPG key {label} has expired",
            hint="extend it (gpg --quick-set-expire <fingerprint> 1y) and publish the updated public key",
        )
    if "S" not in key.capabilities:
        raise SigningError(
            f"GPG key {label} has no usable signing (sub)key",
            hint="add a signing subkey (gpg --quick-add-key <fingerprint> default sign)",
        )
    return key


def explain_gpg_failure(stderr: str, key: str) -> SigningError:
    """A readable error for what gpg wrote to stderr when signing failed."""
    text = stderr.lower()
    if "bad passphrase" in text:
        return SigningError(
            f"GPG refused the passphrase for key {key}", hint=f"set {GPG_PASSPHRASE_ENV} to the key's passphrase"
        )
    if any(s in text for s in ("no passphrase given", "no pinentry", "inappropriate ioctl", "batchmode")):
        return SigningError(
            f"GPG key {key} needs a passphrase and none was given",
            hint=f"set {GPG_PASSPHRASE_ENV} in the environment (never on a command line)",
        )
    if "expired" in text:
        return SigningError(f"GPG key {key} has expired", hint="extend its expiry or sign with another key")
    if "no secret key" in text or "unusable secret key" in text:
        return SigningError(f"GPG cannot sign with key {key}: no usable secret key", hint="check GNUPGHOME")
    return SigningError(f"gpg could not sign with key {key}:\n{stderr.strip()[-1500:]}")


def explain_minisign_failure(stderr: str, key: str) -> SigningError:
    """A readable error for a failed `minisign -S`."""
    text = stderr.lower()
    if "wrong password" in text:
        return SigningError(
            f"minisign refused the password for {key}", hint=f"set {MINISIGN_PASSPHRASE_ENV} to the key's password"
        )
    if "get_password" in text or "password" in text:
        return SigningError(
            f"minisign key {key} needs a password and none was given",
            hint=f"set {MINISIGN_PASSPHRASE_ENV} in the environment",
        )
    return SigningError(f"minisign could not sign with {key}:\n{stderr.strip()[-1500:]}")


# --- effects ---------------------------------------------------------------------


def _require_program(program: str, backend: str) -> str:
    found = shutil.which(program)
    if not found:
        package = "gnupg" if backend == "gpg" else "minisign"
        raise SigningError(
            f"cannot sign with {backend}: {program!r} is not installed or not on PATH",
            hint=f"install it (Debian: apt-get install {package}) or drop {backend!r} from tool.release.sign.backends",
        )
    return found


def check_gpg_key(settings: SignSettings, now: float | None = None) -> GpgKey:
    """Make sure the configured GPG key exists here, can sign, and has not expired."""
    if not settings.gpg_key:
        raise SigningError(
            "no GPG key chosen for signing",
            hint=f"set tool.release.sign.gpg-key or {GPG_KEY_ENV} (a fingerprint), or drop gpg from the backends",
        )
    program = _require_program(settings.gpg_program, "gpg")
    listing = proc.read(gpg_list_key_argv(program, settings.gpg_key), check=False)
    return usable_signing_key(parse_secret_keys(listing.stdout), settings.gpg_key, time.time() if now is None else now)


def check_minisign_key(settings: SignSettings) -> None:
    """Make sure a minisign secret key is chosen and is one: the key text, or a readable key file."""
    if settings.minisign_key_content:
        problem = minisign_secret_key_problem(settings.minisign_key_content)
        if problem:
            raise SigningError(f"{MINISIGN_SECRET_KEY_ENV} {problem}", hint="set it to the key file's whole text")
        return
    if not settings.minisign_key:
        raise SigningError(
            "no minisign secret key chosen for signing",
            hint=f"set tool.release.sign.minisign-key or {MINISIGN_KEY_ENV} (a path), "
            f"or {MINISIGN_SECRET_KEY_ENV} (the key text), or drop minisign from the backends",
        )
    path = Path(settings.minisign_key)
    where = f"check {MINISIGN_KEY_ENV} or tool.release.sign.minisign-key"
    if not path.exists():
        raise SigningError(f"minisign secret key {path} does not exist", hint=where)
    if not path.is_file():
        raise SigningError(f"minisign secret key {path} is not a file", hint=where)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else "it is not text"
        raise SigningError(
            f"cannot read the minisign secret key {path}: {reason}",
            hint=f"make it readable by this user, or {where}",
        ) from error
    problem = minisign_secret_key_problem(text)
    if problem:
        raise SigningError(f"minisign secret key file {path} {problem}", hint=where)


@contextmanager
def _minisign_key_file(settings: SignSettings) -> Iterator[Path]:
    """The secret key path: the configured file, or the key text from the environment in a private folder.

    The text is written only into files.private_folder (0700, the file 0600),
    which is removed when signing ends, however it ends (SIGTERM included).
    """
    check_minisign_key(settings)
    if settings.minisign_key_content:
        with private_folder(prefix="release-minisign-") as folder:
            text = "\n".join(minisign_key_lines(settings.minisign_key_content)) + "\n"
            yield write_private(folder / "release.key", text)
        return
    yield Path(settings.minisign_key)


def _sign_gpg(runner: proc.Runner, settings: SignSettings, key: GpgKey, file: Path, output: Path) -> None:
    with atomic_output(output) as temporary:
        argv = gpg_sign_argv(
            settings.gpg_program, key.fingerprint, file, temporary, with_passphrase=bool(settings.gpg_passphrase)
        )
        # Empty stdin without a passphrase: gpg must never wait for a terminal.
        stdin = settings.gpg_passphrase + "\n" if settings.gpg_passphrase else ""
        result = runner.run(argv, capture=True, check=False, stdin_text=stdin, secrets=settings.secrets)
        if not result.ok or not temporary.is_file() or temporary.stat().st_size == 0:
            raise explain_gpg_failure(proc.mask(result.stderr, settings.secrets), settings.gpg_key)


def _sign_minisign(
    runner: proc.Runner, settings: SignSettings, key_file: Path, file: Path, output: Path, comment: str
) -> None:
    with atomic_output(output) as temporary:
        argv = minisign_sign_argv(settings.minisign_program, key_file, file, temporary, comment)
        stdin = settings.minisign_passphrase + "\n" if settings.minisign_passphrase else ""
        result = runner.run(argv, capture=True, check=False, stdin_text=stdin, secrets=settings.secrets)
        if not result.ok or not temporary.is_file():
            raise explain_minisign_failure(proc.mask(result.stderr + result.stdout, settings.secrets), str(key_file))


def sign_files(
    settings: SignSettings, files: Sequence[Path], *, comment: str, runner: proc.Runner | None = None
) -> dict[Path, list[Path]]:
    """Sign every file with every configured backend; {file: [signature paths]}.

    All preconditions (programs, keys, expiry) are checked before the first
    signature is written, so a bad setup fails without touching dist/.
    """
    runner = runner or proc.Runner()
    made: dict[Path, list[Path]] = {file: [] for file in files}
    if not settings.backends or not files:
        return made
    gpg_key = None
    if "gpg" in settings.backends:
        gpg_key = check_gpg_key(settings)
    if "minisign" in settings.backends:
        _require_program(settings.minisign_program, "minisign")
        check_minisign_key(settings)
    for backend in settings.backends:
        if backend == "gpg":
            assert gpg_key is not None
            for file in files:
                output = file.with_name(signature_name(file.name, "gpg"))
                _sign_gpg(runner, settings, gpg_key, file, output)
                made[file].append(output)
        else:
            with _minisign_key_file(settings) as key_file:
                for file in files:
                    output = file.with_name(signature_name(file.name, "minisign"))
                    _sign_minisign(runner, settings, key_file, file, output, f"{comment} {file.name}")
                    made[file].append(output)
    return made


# --- verification ----------------------------------------------------------------


@dataclass(frozen=True)
class GpgStatus:
    """What `gpg --status-fd` said about one signature file (doc/DETAILS in GnuPG)."""

    valid: tuple[tuple[str, str], ...] = ()  # VALIDSIG: (signing key fingerprint, primary key fingerprint)
    bad: tuple[str, ...] = ()  # BADSIG: key ids whose signature does not match the file
    revoked: tuple[str, ...] = ()  # REVKEYSIG: good signatures by revoked keys
    unknown: tuple[str, ...] = ()  # ERRSIG: signatures gpg could not check (mostly: key not in the keyring)


def parse_gpg_status(text: str) -> GpgStatus:
    """The VALIDSIG, BADSIG, REVKEYSIG and ERRSIG lines of gpg's status output (pure)."""
    found: dict[str, list[Any]] = {"VALIDSIG": [], "BADSIG": [], "REVKEYSIG": [], "ERRSIG": []}
    for line in text.splitlines():
        words = line.split()
        if len(words) < 3 or words[0] != "[GNUPG:]" or words[1] not in found:
            continue
        args = words[2:]
        if words[1] == "VALIDSIG":
            # The primary key's fingerprint is the tenth argument; a primary key signing itself may omit it.
            found["VALIDSIG"].append((args[0].upper(), (args[9] if len(args) > 9 else args[0]).upper()))
        elif words[1] == "ERRSIG":
            # The seventh argument, when gpg gives it, is the signer's full fingerprint; else the key id.
            found["ERRSIG"].append((args[6] if len(args) > 6 and args[6] != "-" else args[0]).upper())
        else:
            found[words[1]].append(args[0].upper())
    return GpgStatus(
        valid=tuple(found["VALIDSIG"]),
        bad=tuple(found["BADSIG"]),
        revoked=tuple(found["REVKEYSIG"]),
        unknown=tuple(found["ERRSIG"]),
    )


def gpg_verdict(status: GpgStatus, pinned: Sequence[str], name: str) -> str | None:
    """None when `status` shows a good signature by a pinned key and nothing bad; else why not (pure).

    A key counts as pinned when its signing (sub)key's or its primary key's
    fingerprint is one of `pinned`. Any bad, revoked or uncheckable signature
    in the file fails it, even beside a good one.
    """
    if status.bad:
        return f"{name}: bad GPG signature by key {status.bad[0]}: the file changed after it was signed"
    if status.revoked:
        return f"{name}: signed by key {status.revoked[0]}, which is revoked"
    if status.unknown:
        return (
            f"{name}: signed by key {status.unknown[0]}, which is not in the keyring, so it cannot be checked "
            "(only the pinned keys are trusted)"
        )
    if not status.valid:
        return f"{name}: gpg found no valid signature in it"
    if not pinned:
        return f"{name}: no GPG fingerprint is pinned, so no signature can be trusted"
    strangers = [primary for signing, primary in status.valid if signing not in pinned and primary not in pinned]
    if strangers:
        return f"{name}: signed by key {strangers[0]}, which is not pinned (trusted: {', '.join(pinned)})"
    return None


def verifier_problem(settings: SignSettings, backend: str) -> str | None:
    """Why signatures of `backend` cannot be checked against a pinned key with these settings, or None (pure)."""
    if backend == "gpg" and not settings.gpg_fingerprints:
        return (
            "no GPG fingerprint is pinned for verification: set tool.release.sign.gpg-fingerprints "
            f"(or tool.release.sign.gpg-key / {GPG_KEY_ENV} as a full fingerprint)"
        )
    if backend == "minisign" and not settings.minisign_public_key:
        return (
            "no minisign public key is configured for verification: set tool.release.sign.minisign-public-key "
            f"or {MINISIGN_PUBLIC_KEY_ENV}"
        )
    if backend == "minisign" and not Path(settings.minisign_public_key).is_file():
        return f"the minisign public key {settings.minisign_public_key} does not exist"
    return None


def verify_signature(settings: SignSettings, signature: Path, file: Path) -> str | None:
    """None if `signature` is a good signature of `file` by a pinned key, else why not (read-only, runs in dry runs)."""
    backend = "gpg" if signature.name.endswith(SUFFIXES["gpg"]) else "minisign"
    program_name = settings.gpg_program if backend == "gpg" else settings.minisign_program
    program = shutil.which(program_name)
    if not program:
        return f"cannot check {signature.name}: {program_name} is not installed"
    problem = verifier_problem(settings, backend)
    if problem:
        return f"cannot check {signature.name}: {problem}"
    if backend == "gpg":
        result = proc.read(gpg_verify_argv(program, signature, file), check=False, echo=True)
        verdict = gpg_verdict(parse_gpg_status(result.stdout), settings.gpg_fingerprints, signature.name)
        if verdict is None and not result.ok:
            # gpg failed without a status line that explains it: show what it said.
            return f"{signature.name}: gpg could not verify it ({result.stderr.strip()[-300:]})"
        return verdict
    result = proc.read(
        minisign_verify_argv(program, Path(settings.minisign_public_key), signature, file), check=False, echo=True
    )
    detail = (result.stderr or result.stdout).strip()[-300:]
    return None if result.ok else f"{signature.name}: bad minisign signature ({detail})"

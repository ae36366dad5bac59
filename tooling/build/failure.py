"""A failed cargo build in a few lines: the failing crate, the first real error, and what to do.

`summarize` is pure: it reads cargo's output (hundreds of lines of build
script and linker noise, typically) and returns the crate that failed, the
first `error:` / `error[E...]` block, and the first matching diagnosis from
DIAGNOSES, a table of known failures and their remedies. `write_log` keeps
the whole output under the cache folder, whose path the message names.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MAX_ERROR_LINES = 12  # of the first error block; with the crate, diagnosis and log path: at most ~20 lines

# "error: failed to run custom build command for `openssl-sys v0.9.109`"
# "error: could not compile `foo` (bin "foo") due to 2 previous errors"
_FAILED_CRATE = re.compile(
    r"error: (?:failed to run custom build command for|could not compile) `([^`]+?)(?: v[0-9][^`]*)?`"
)
_ERROR_START = re.compile(r"^\s*error(?:\[E\d+\])?: ")
# cargo's closing lines repeat what failed; the first real error is elsewhere.
_SUMMARY_ERROR = re.compile(r"^error: (could not compile|failed to run custom build command|aborting due to)")


@dataclass(frozen=True)
class Diagnosis:
    """A known way a build fails: what to look for in the output, what it means, what to do."""

    pattern: str  # a regular expression searched in the whole output
    meaning: str
    remedy: str


# Most specific first: the first match is reported.
DIAGNOSES: tuple[Diagnosis, ...] = (
    Diagnosis(
        r"rustc [0-9.]+\S* is not supported by the following packages",
        "a dependency needs a newer rustc than the one chosen",
        "raise the crate's rust-version so the tool picks a newer rustc, or install one "
        "(rustup toolchain install stable / Debian: apt-get install rustc-web)",
    ),
    Diagnosis(
        r"openssl/opensslconf\.h|Could not find (?:directory of )?OpenSSL|Failed to find OpenSSL development headers",
        "openssl-sys found no OpenSSL built for this target (a cross build through zig does not see the "
        "system's multiarch headers)",
        "enable OpenSSL's vendored build (a feature enabling openssl/vendored, per target in "
        '[tool.release.target."<triple>"] features), switch to rustls, or set OPENSSL_DIR in that target\'s env',
    ),
    Diagnosis(
        r"framework not found|unable to find framework|-framework (?:Security|CoreFoundation)",
        "the crate links Apple frameworks, which need a macOS SDK",
        'build macOS targets on a macOS runner, or set SDKROOT in [tool.release.target."*-apple-darwin"] env',
    ),
    Diagnosis(
        r"pkg-config (?:has not been configured|exited with status)|The system library `[^`]+` required by crate"
        r"|pkg-config command could not be found",
        "a -sys crate asked pkg-config for a C library this target does not have",
        "enable the crate's vendored/static feature, or install that library for the target and set "
        'PKG_CONFIG_SYSROOT_DIR / PKG_CONFIG_PATH in [tool.release.target."<triple>"] env',
    ),
    Diagnosis(
        r"unable to find (?:dynamic system )?library -?l?\"?[\w.+-]+|cannot find -l[\w.+-]+"
        r"|could not find native static library `[^`]+`",
        "the linker did not find a C library for this target",
        "enable the -sys crate's vendored/static feature, or provide the library for the target "
        '(its folder in rustflags = ["-L", "<dir>"])',
    ),
)


@dataclass(frozen=True)
class CargoFailure:
    """What a failed cargo run comes down to."""

    crate: str | None  # the package whose build failed, when cargo names one
    error: tuple[str, ...]  # the first real error block, trimmed
    diagnosis: Diagnosis | None


MAX_LINE = 160  # a linker command line runs to thousands of characters; its start is enough


def _short(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


def _linker_lines(block: list[str]) -> list[str]:
    """A linker failure without its command line: the first line and the linker's own errors (pure)."""
    errors = [line for line in block[1:] if re.search(r"\berror\b|undefined reference|undefined symbol", line)]
    return [block[0], *errors] if errors else block


def _first_error_block(lines: Sequence[str]) -> tuple[str, ...]:
    """The first `error:` block that is not cargo's closing summary, up to the next blank line (pure)."""
    starts = [i for i, line in enumerate(lines) if _ERROR_START.match(line) and not _SUMMARY_ERROR.match(line)]
    if not starts:
        starts = [i for i, line in enumerate(lines) if _ERROR_START.match(line)]
    if not starts:
        return tuple(_short(line) for line in lines[-MAX_ERROR_LINES:] if line.strip())
    block: list[str] = []
    build_script = "failed to run custom build command" in lines[starts[0]]
    for line in lines[starts[0] :]:
        if build_script and block and (line.startswith(("warning: build failed", "error:"))):
            break
        if not line.strip():
            if build_script:
                continue  # a build script's panic comes after blank lines; it is the real message
            if block:
                break
        block.append(line.rstrip())
    if block and block[0].lstrip().startswith("error: linking with"):
        block = _linker_lines(block)
    return tuple(_short(line) for line in block[:MAX_ERROR_LINES])


# cargo's own status lines: what it is compiling, then how it ended.
_PROGRESS = re.compile(r"^\s+(Compiling|Checking|Building|Finished|Downloading|Downloaded|Updating|Locking)\s")


def is_progress(line: str) -> bool:
    """Is `line` one of cargo's progress lines (shown live while the rest goes to the log)?"""
    return bool(_PROGRESS.match(line))


def summarize(output: str) -> CargoFailure:
    """The failing crate, the first error and the matching diagnosis of cargo's `output` (pure)."""
    lines = output.splitlines()
    crate_match = _FAILED_CRATE.search(output)
    diagnosis = next((d for d in DIAGNOSES if re.search(d.pattern, output)), None)
    # A build script's own panic ("Failed to find OpenSSL ...") is more telling than cargo's wrapper around it.
    return CargoFailure(crate_match.group(1) if crate_match else None, _first_error_block(lines), diagnosis)


def failure_message(failure: CargoFailure, triple: str, log: Path | None) -> tuple[str, str]:
    """(message, hint) of the BuildError for `failure`: a few lines, the full log's path last."""
    what = f"building {triple} failed" + (f" in crate {failure.crate}" if failure.crate else "")
    message = "\n".join([what + ":", *(f"  {line}" for line in failure.error)])
    hints = []
    if failure.diagnosis:
        hints.append(f"{failure.diagnosis.meaning}: {failure.diagnosis.remedy}")
    hints.append(f"full cargo output: {log}" if log else "run the build again to see cargo's full output")
    return message, "\n    ".join(hints)


def log_path(cache: Path, triple: str, now: float | None = None) -> Path:
    """Where the log of one build goes: <cache>/logs/build-<triple>-<UTC time>.log (pure)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    return cache / "logs" / f"build-{triple}-{stamp}.log"


def write_log(path: Path, text: str) -> Path:
    """Keep cargo's whole output at `path`; the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path

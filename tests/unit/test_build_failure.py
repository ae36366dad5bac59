"""A failed cargo build told in a few lines."""

from __future__ import annotations

from pathlib import Path

from tooling.build.failure import failure_message, log_path, summarize

OPENSSL = (
    "   Compiling libc v0.2.183\n"
    + "".join(f"warning: openssl-sys@0.9.109: noise line {i}\n" for i in range(300))
    + """error: failed to run custom build command for `openssl-sys v0.9.109`

Caused by:
  process didn't exit successfully: `/t/build/openssl-sys-1/build-script-main` (exit status: 101)
  --- stderr
  thread 'main' panicked at build/find_normal.rs:190:5:


  Could not find directory of OpenSSL installation, and this `-sys` crate cannot
  proceed without this knowledge. If OpenSSL is installed and this crate had
  trouble finding it,  you can set the `OPENSSL_DIR` environment variable for the
  compilation process.

warning: build failed, waiting for other jobs to finish...
"""
)

COMPILE = """   Compiling tool v0.1.0 (/src/tool)
error[E0425]: cannot find value `x` in this scope
 --> src/main.rs:2:20
  |
2 |     println!("{}", x);
  |                    ^ not found in this scope

error: could not compile `tool` (bin "tool") due to 1 previous error
"""

LINKER = (
    "error: linking with `/c/zigcc-x86_64-unknown-linux-gnu.2.17.sh` failed: exit status: 1\n"
    '  |\n  = note:  "/c/zigcc.sh" "-m64" ' + '"-lfoo" ' * 400 + "\n"
    "  = note: some arguments are omitted. use `--verbose` to show all linker arguments\n"
    '  = note: error: unable to find dynamic system library "git2" using strategy no_fallback. searched paths:\n'
    "            /t/deps/libgit2.so\n\n"
    'error: could not compile `tool` (bin "tool") due to 1 previous error\n'
)


def test_openssl_failure_names_the_crate_and_the_vendored_remedy() -> None:
    failure = summarize(OPENSSL)
    assert failure.crate == "openssl-sys"
    assert failure.error[0] == "error: failed to run custom build command for `openssl-sys v0.9.109`"
    assert "  Could not find directory of OpenSSL installation, and this `-sys` crate cannot" in failure.error
    assert failure.diagnosis is not None and "vendored" in failure.diagnosis.remedy
    message, hint = failure_message(failure, "x86_64-unknown-linux-gnu", Path("/cache/logs/build.log"))
    assert message.startswith("building x86_64-unknown-linux-gnu failed in crate openssl-sys:")
    assert len((message + "\n" + hint).splitlines()) <= 20
    assert hint.endswith("full cargo output: /cache/logs/build.log")


def test_a_compile_error_shows_the_error_not_cargos_summary() -> None:
    failure = summarize(COMPILE)
    assert failure.crate == "tool"
    assert failure.error[0] == "error[E0425]: cannot find value `x` in this scope"
    assert failure.diagnosis is None


def test_a_linker_failure_drops_the_command_line() -> None:
    failure = summarize(LINKER)
    assert failure.error[0].startswith("error: linking with")
    assert len(failure.error) == 2 and 'library "git2"' in failure.error[1]
    assert all(len(line) <= 160 for line in failure.error)
    assert failure.diagnosis is not None and "linker did not find a C library" in failure.diagnosis.meaning


def test_output_without_an_error_line_keeps_its_end() -> None:
    failure = summarize("a\nb\nKilled\n")
    assert (failure.crate, failure.error) == (None, ("a", "b", "Killed"))


def test_a_dependency_needing_a_newer_rustc_says_to_raise_rust_version() -> None:
    failure = summarize(
        "error: rustc 1.95.0 is not supported by the following packages:\n  foo@2.0 requires rustc 1.96\n"
    )
    assert failure.diagnosis is not None and "rust-version" in failure.diagnosis.remedy


def test_logs_go_under_the_cache_named_by_target_and_time() -> None:
    assert log_path(Path("/c"), "x86_64-unknown-linux-gnu", now=0) == Path(
        "/c/logs/build-x86_64-unknown-linux-gnu-19700101T000000Z.log"
    )


def test_only_cargo_s_progress_lines_are_shown_live() -> None:
    from tooling.build.failure import is_progress

    assert is_progress("   Compiling clap v4.6.9\n")
    assert is_progress("    Finished `release` profile [optimized] target(s) in 0.02s")
    assert not is_progress("warning: unused variable: `x`")
    assert not is_progress("error[E0425]: cannot find value `y` in this scope")
    assert not is_progress("  = note: some linker note Compiling")

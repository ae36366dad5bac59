//! crcsum: print CRC-32 checksums of files or standard input.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;

extern "C" {
    fn crcsum_update(crc: u32, data: *const u8, len: usize) -> u32;
}

/// The version line names the target triple so a smoke test can check it.
const VERSION_LINE: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("CRCSUM_TARGET"), ")");

#[derive(Parser)]
#[command(name = "crcsum", version = VERSION_LINE, about = "Print CRC-32 checksums of files")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Files to checksum; standard input when none are given.
    files: Vec<PathBuf>,

    /// Print checksums in upper-case hexadecimal.
    #[arg(long)]
    upper: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Check that FILE has the expected checksum.
    Check {
        /// Expected checksum, 8 hexadecimal digits.
        expected: String,
        /// File to check.
        file: PathBuf,
    },
    /// Print the completion script for SHELL.
    Completions {
        /// bash, zsh, fish, powershell or elvish.
        shell: Shell,
    },
    /// Print the man page (roff).
    Man,
}

fn crc32(data: &[u8]) -> u32 {
    // SAFETY: the pointer and length describe one live, initialised slice.
    unsafe { crcsum_update(0, data.as_ptr(), data.len()) }
}

fn read_all(path: Option<&PathBuf>) -> io::Result<Vec<u8>> {
    let mut buffer = Vec::new();
    match path {
        Some(path) => File::open(path)?.read_to_end(&mut buffer)?,
        None => io::stdin().read_to_end(&mut buffer)?,
    };
    Ok(buffer)
}

fn format_crc(crc: u32, upper: bool) -> String {
    if upper {
        format!("{crc:08X}")
    } else {
        format!("{crc:08x}")
    }
}

fn run(cli: Cli) -> io::Result<bool> {
    match &cli.command {
        Some(Command::Check { expected, file }) => {
            let actual = format_crc(crc32(&read_all(Some(file))?), false);
            let matches = actual.eq_ignore_ascii_case(expected);
            println!("{}: {}", file.display(), if matches { "OK" } else { "FAILED" });
            return Ok(matches);
        }
        Some(Command::Completions { shell }) => {
            clap_complete::generate(*shell, &mut Cli::command(), "crcsum", &mut io::stdout());
            return Ok(true);
        }
        Some(Command::Man) => {
            // The page is the same for every target: its version line leaves the triple out.
            clap_mangen::Man::new(Cli::command().version(env!("CARGO_PKG_VERSION"))).render(&mut io::stdout())?;
            return Ok(true);
        }
        None => {}
    }
    if cli.files.is_empty() {
        println!("{}  -", format_crc(crc32(&read_all(None)?), cli.upper));
    }
    // A file named twice is read once; HashSet's RandomState also makes the
    // Windows build import std's random source, which the wine smoke run covers.
    let mut seen = HashSet::new();
    for file in cli.files.iter().filter(|file| seen.insert(*file)) {
        println!("{}  {}", format_crc(crc32(&read_all(Some(file))?), cli.upper), file.display());
    }
    Ok(true)
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("crcsum: {error}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer() {
        // The standard CRC-32 check value.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}

"""Release automation for Rust command-line tools."""

__version__ = "0.1.0"

"""Building one target: toolchain routes, the cargo command, binary checks, smoke runs, zig."""

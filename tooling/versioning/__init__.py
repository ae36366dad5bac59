"""Versions from git history: semver bumps, Cargo edits, commits, changelog, notes, CLI surface."""

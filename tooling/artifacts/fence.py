"""dist/ is a fence: the rules that keep every read, write and delete inside the folder the tool made.

Paths in a manifest, a plan or a CI build folder are data someone else may
have written (a pull request can run a build job). Before such a path is
opened, replaced or deleted it goes through `inside`, which refuses absolute
paths, `..`, and anything whose resolved form (symbolic links followed) lands
outside dist/. The other rules decide whether a folder may be dist/ at all
(never the project, the crate, a repository, a home folder or `/`), whether
the tool may write into it (it made it: the marker file is there, or it is new
or empty) and whether it may delete it (the marker is there).

Everything here decides; the only file-system access is `Path.resolve` in
`inside`, which reads links and changes nothing. The effects (making the
marker, holding the lock, deleting) live in tooling.artifacts.dist.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path, PurePosixPath

from tooling.errors import FenceError, ManifestError, TargetError
from tooling.targets import get_target, triples

MARKER_NAME = ".release-dist"
MARKER_TEXT = (
    "This folder is made and managed by release-tooling (invoke package, python -m tooling build).\n"
    "The tool writes and deletes files only in a folder that holds this file; `invoke clean` removes the folder.\n"
    "Do not keep anything of your own in here.\n"
)
# A folder holding one of these is a project or a repository, never a dist folder.
PROJECT_MARKS = ("Cargo.toml", ".git", "pyproject.toml")

# Why a single path segment is refused; checked in this order.
_SEGMENT_RULES: tuple[tuple[str, str], ...] = (
    ("", "has an empty segment (// or a trailing /)"),
    (".", "has a '.' segment"),
    ("..", "climbs out with '..'"),
)
# Characters no artifact name holds: a Windows separator or drive, or a byte that ends a C string.
_FORBIDDEN = re.compile(r"[\\:\x00]")

_RELEASE_HINT = "the file was not written by this tool: remove the folder (invoke clean) and make it again"


def path_problem(relative: str) -> str | None:
    """Why `relative` cannot name a file inside dist/, or None when it can (pure, no file-system access)."""
    if not relative:
        return "is empty"
    if relative.startswith("/"):
        return "is absolute"
    if _FORBIDDEN.search(relative):
        return "holds a backslash, a colon or a NUL byte"
    for segment in relative.split("/"):
        for bad, reason in _SEGMENT_RULES:
            if segment == bad:
                return reason
    return None


def check_relative(relative: str, what: str) -> str:
    """`relative` itself when it can name a file inside dist/; else a FenceError naming `what` (its source)."""
    problem = path_problem(relative)
    if problem:
        # The problem first, where it was found last: the message stays readable when a long path wraps.
        raise FenceError(
            f"the path {relative!r} {problem}, so it could reach outside dist/ (in {what})", hint=_RELEASE_HINT
        )
    return relative


def inside(dist: Path, relative: str, what: str = "a path read from dist/") -> Path:
    """`dist / relative`, after making sure it stays inside `dist` once symbolic links are followed.

    `relative` is a dist-relative POSIX path as manifests and plans store it.
    The path returned is not resolved (callers keep dist-relative names), but
    its resolved form is inside the resolved dist folder.
    """
    check_relative(relative, what)
    path = dist.joinpath(*PurePosixPath(relative).parts)
    root = dist.resolve()
    resolved = path.resolve()
    if resolved == root or not resolved.is_relative_to(root):
        raise FenceError(
            f"{relative} leads outside dist/ through a symbolic link: to {resolved}, outside {root} (in {what})",
            hint="remove the link; the tool never makes links in dist/, so something else put it there",
        )
    return path


def check_triple(triple: object, what: str) -> str:
    """`triple` when it is a row of the target table; else a ManifestError naming `what` (its source)."""
    if not isinstance(triple, str):
        raise ManifestError(f"target {triple!r} is not a target triple (in {what})", hint=_RELEASE_HINT)
    try:
        get_target(triple)
    except TargetError:
        raise ManifestError(
            f"target {triple!r} is not a row of the target table (in {what})",
            hint="known targets: " + ", ".join(triples()) + "; " + _RELEASE_HINT,
        ) from None
    return triple


def partial_problems(entries: Collection[tuple[str, str | None, str]], folder: str | None) -> list[str]:
    """Why a build job's manifest cannot describe dist/<folder>/ (pure; empty when it can).

    entries: (path, target, kind) of every artifact. A partial manifest lists
    only binaries, each in its own target's folder (`<triple>/<file name>`);
    `folder` is the folder it was found in (None for one named on the command line).
    """
    found = []
    for path, target, kind in entries:
        head, _, name = path.partition("/")
        if kind != "binary":
            found.append(f"{path}: a build job records binaries only, not {kind!r}")
        if target is None or head != target or not name or "/" in name:
            found.append(f"{path}: not <triple>/<file name> of its own target {target!r}")
        if folder is not None and target != folder:
            found.append(f"{path}: target {target!r} does not match its folder {folder}/")
    if not entries:
        found.append("lists no binary")
    return found


# --- which folders may be dist/ -------------------------------------------------


def dist_dir_problem(dist: Path, protected: Mapping[str, Path], present: Collection[str]) -> str | None:
    """Why `dist` must not be the dist folder, or None (pure).

    dist: the resolved folder. protected: {what it is: resolved path} of
    folders dist/ must neither be nor contain (the project root, the crate,
    the home folder). present: which of PROJECT_MARKS the folder holds.
    """
    if dist == Path(dist.anchor):
        return "it is the root of the file system"
    for what, path in protected.items():
        if dist == path:
            return f"it is {what}"
        if path.is_relative_to(dist):
            return f"it holds {what} ({path})"
    for mark in PROJECT_MARKS:
        if mark in present:
            return f"it holds {mark}, so it is a project or a repository, not an output folder"
    return None


def check_dist_dir(dist: Path, protected: Mapping[str, Path], present: Collection[str]) -> Path:
    """`dist` when it may be the dist folder; else a FenceError saying why and what to set."""
    problem = dist_dir_problem(dist, protected, present)
    if problem:
        raise FenceError(
            f"refusing to use {dist} as the dist folder: {problem}; the tool deletes and replaces files there",
            hint='point tool.release.dist-dir (or RELEASE_DIST_DIR, or --dist) at a folder of its own, e.g. "dist"',
        )
    return dist


def write_problem(entries: Collection[str], marked: bool) -> str | None:
    """Why the tool may not write into an existing folder holding `entries`, or None (pure).

    The tool writes into a folder it made (the marker is there) or an empty one.
    """
    if marked or not entries:
        return None
    shown = ", ".join(sorted(entries)[:5]) + (" ..." if len(entries) > 5 else "")
    return f"it already holds files ({shown}) and no {MARKER_NAME} marker, so the tool did not make it"


def check_writable(dist: Path, entries: Collection[str], marked: bool) -> None:
    """FenceError when the tool may not write into `dist`."""
    problem = write_problem(entries, marked)
    if problem:
        raise FenceError(
            f"refusing to write into {dist}: {problem}",
            hint=f"choose a new or empty folder with --dist (or tool.release.dist-dir); if {dist} holds only "
            f"release output of this tool, mark it as the tool's by creating {dist / MARKER_NAME}",
        )


def check_deletable(dist: Path, marked: bool) -> None:
    """FenceError unless `dist` carries the marker: clean deletes only what the tool made."""
    if not marked:
        raise FenceError(
            f"refusing to delete {dist}: it has no {MARKER_NAME} marker, so this tool did not make it",
            hint="check --dist, tool.release.dist-dir and RELEASE_DIST_DIR; "
            "if the folder really is disposable, delete it yourself",
        )

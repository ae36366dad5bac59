"""The names of what dist/ holds besides the release files: the plan, the lock, the release state.

Kept apart from tooling.plan (which imports the build and artifact modules), so that the commands
that only look after dist/ (`invoke clean`, `invoke verify`) start quickly.
"""

from __future__ import annotations

PLAN_NAME = "plan.json"
# dist/announce/: the announcement `invoke release` wrote; it describes the release, it is not a release file.
ANNOUNCE_DIR = "announce"
STATE_NAME = "release-state.json"  # dist/release-state.json: `invoke release`'s steps, for --resume
LOCK_NAME = ".lock"  # dist/.lock: held while a step writes dist/; never an artifact
PACKAGES_PREFIX = "packages/"  # dist/packages/<channel>/: the package channels' files

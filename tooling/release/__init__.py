"""`invoke release` and its companions: the orchestrator (check, act, check again), its resumable state in dist/,
the quality gates, install tests, announcements, release branches, backports and promotion of a prerelease."""

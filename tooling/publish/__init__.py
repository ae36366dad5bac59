"""Publishing a release: the GitHub release with its assets (github, retry, releases)."""

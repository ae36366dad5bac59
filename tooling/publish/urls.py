"""Where a secret may be sent: the one check for every http(s) URL a token or an API key travels to.

https anywhere; plain http only to this machine (a loopback address, as the local test servers
use), since a token would otherwise cross the network in clear. No user name or password inside
the URL: secrets travel in headers (or through git's askpass), never in a URL that logs and error
messages may repeat. A malformed URL (`https://[x`, a port that is not a number) is a ConfigError
naming the setting, never Python's ValueError.

Messages name the setting; they show the URL only once it is known to hold no user part, and the
message about a user part or a malformed URL never shows it.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit

from tooling.errors import ConfigError

SCHEMES = ("https", "http")
PLAIN_HTTP_HINT = "use https (plain http is accepted only for a server on this machine)"


def is_loopback(host: str | None) -> bool:
    """Is `host` this machine: localhost, 127.0.0.0/8 or ::1 (pure)?"""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split(url: str, setting: str) -> SplitResult:
    """urlsplit(url), its port read too; ConfigError naming `setting` (not the value) when it is malformed (pure)."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # urlsplit checks the port only when it is read
    except ValueError as error:
        why = "its port is not a number from 0 to 65535" if "port" in str(error).lower() else "its host is malformed"
        raise ConfigError(
            f"{setting} is not a valid URL: {why}", hint=f"set {setting} to a URL such as https://host/path"
        ) from None
    return parts


def check_secret_url(url: str, setting: str, *, carries: str = "the token") -> SplitResult:
    """The parts of `url`, checked to be a URL `carries` (a secret) may be sent to; else a ConfigError (pure)."""
    parts = split(url, setting)
    if "@" in parts.netloc:
        # It may hold a secret: not repeated here.
        raise ConfigError(
            f"{setting} holds a user name or a secret inside the URL (before '@')",
            hint=f"remove it from the URL: {carries} comes from its environment variable, never from the URL",
        )
    if parts.scheme.lower() not in SCHEMES or not parts.hostname:
        raise ConfigError(f"{setting} = {url!r} is not an http(s) URL", hint=f"set {setting} to an https:// URL")
    if parts.scheme.lower() == "http" and not is_loopback(parts.hostname):
        raise ConfigError(f"{setting} = {url!r} would send {carries} unencrypted", hint=PLAIN_HTTP_HINT)
    return parts

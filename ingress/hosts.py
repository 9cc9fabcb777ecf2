"""Which `Host` names this server answers to (DNS rebinding always names the attacker's domain)."""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from daemon.settings import Settings

# Names the operating system resolves only on this machine or the local link: a web attacker
# cannot point them at a page of theirs (`.localhost` is RFC 6761, `.local` is mDNS, RFC 6762).
LOCAL_SUFFIXES = (".localhost", ".local")
NAME = re.compile(r"[a-z0-9_.-]+")


class BadHost(ValueError):
    """The Host header is not a host[:port] at all (400, not 421)."""


def split_host(value: str) -> str:
    """`host[:port]` (IPv6 in brackets) -> the lower-case host without port or trailing dot."""
    text = value.strip().lower()
    if not text:
        raise BadHost("the Host header is empty")
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not _is_port(rest)) or not is_ip_literal(host):
            raise BadHost(f"Host {value[:100]!r} is not [ipv6]:port")
        return host
    if text.count(":") > 1 and is_ip_literal(text):  # a bare IPv6 literal: unambiguous
        return text
    host, sep, port = text.partition(":")
    if sep and not port.isdigit():
        raise BadHost(f"Host {value[:100]!r} has no valid port")
    if not NAME.fullmatch(host):
        raise BadHost(f"Host {value[:100]!r} is not a host name")
    return host.rstrip(".")


def _is_port(rest: str) -> bool:
    return rest.startswith(":") and rest[1:].isdigit()


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@cache
def machine_names() -> frozenset[str]:
    """This machine's host name, fully qualified name and mDNS name (looked up once)."""
    names: set[str] = set()
    try:
        hostname = socket.gethostname()
        names.update({hostname, f"{hostname.split('.')[0]}.local", socket.getfqdn()})
    except OSError:
        pass
    return frozenset(n.lower().rstrip(".") for n in names if n)


@dataclass(frozen=True)
class HostPolicy:
    """Exact names and `*.suffix` patterns allowed besides IPs and local names."""

    names: frozenset[str]
    suffixes: tuple[str, ...]
    any_host: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> HostPolicy:
        names = set(machine_names())
        public = urlsplit(settings.public_url).hostname if settings.public_url else None
        if public:
            names.add(public.lower().rstrip("."))
        suffixes: list[str] = []
        for entry in settings.allowed_hosts:
            pattern = entry.strip().lower()
            if pattern == "*":
                return cls(frozenset(names), (), any_host=True)
            if pattern.startswith(("*.", ".")):  # the domain and every name under it
                domain = pattern.lstrip("*.")
                names.add(domain)
                suffixes.append("." + domain)
            elif pattern:
                names.add(split_host(pattern))
        return cls(frozenset(names), tuple(suffixes), any_host=False)

    def allows(self, host: str) -> bool:
        """True for an allowed host name (already split from its port)."""
        if self.any_host or is_ip_literal(host) or host == "localhost":
            return True
        if host in self.names:
            return True
        return host.endswith(LOCAL_SUFFIXES) or host.endswith(self.suffixes)


def refusal(host: str) -> str:
    """The 421 detail: what happened and which variable to set."""
    return (
        f"this server does not answer to the host name {host!r} (a guard against DNS "
        "rebinding). If you reach media-sync by this name, add it to "
        "MEDIA_SYNC_ALLOWED_HOSTS (comma-separated), or set MEDIA_SYNC_PUBLIC_URL to a URL "
        "using it; IP addresses and localhost always work."
    )

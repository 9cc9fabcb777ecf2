"""The URL a phone on the LAN will use, and whether it can work: MEDIA_SYNC_PUBLIC_URL, else a
guess from this host's outbound address, which is useless when it is a loopback address or a
container's own (Docker, Podman): then the user must set MEDIA_SYNC_PUBLIC_URL.

Standard library only, so the ingress can show the same note beside the phone URL (/health's
``lan_url_note``) that `media-sync doctor` prints.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from daemon.settings import Settings

CONTAINER_MARKERS = (".dockerenv", "run/.containerenv")  # Docker's and Podman's
CGROUP_HINTS = ("docker", "containerd", "kubepods", "libpod", "lxc")  # in PID 1's cgroup (v1)
_PROBE_TARGET = ("192.0.2.1", 9)  # TEST-NET-1: a UDP connect only picks a route, sends nothing


@dataclass(frozen=True)
class PhoneUrl:
    """The URL phones get, where it came from, and (when it cannot work) why and what to set."""

    url: str
    guessed: bool  # True: from this host's address; False: MEDIA_SYNC_PUBLIC_URL
    problem: str | None = None
    fix: str | None = None

    @property
    def note(self) -> str | None:
        """One sentence for the page and the logs: the problem and its fix, or None."""
        if self.problem is None:
            return None
        return f"{self.problem}; {self.fix}" if self.fix else self.problem


def outbound_address() -> str:
    """This host's address on the route to the LAN (no packet is sent); 127.0.0.1 when there
    is no route."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(_PROBE_TARGET)
            address: str = probe.getsockname()[0]
            return address
    except OSError:
        return "127.0.0.1"


def in_container(root: Path = Path("/")) -> bool:
    """True inside a container: Docker's `/.dockerenv`, Podman's `/run/.containerenv`, or a
    container runtime named in PID 1's cgroup (cgroup v1). ``root``: the file system root to
    look in (a test points it at a temp dir)."""
    if any((root / marker).exists() for marker in CONTAINER_MARKERS):
        return True
    try:
        cgroups = (root / "proc" / "1" / "cgroup").read_text(errors="replace")
    except OSError:
        return False
    return any(hint in cgroups for hint in CGROUP_HINTS)


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address: a phone reaching it reaches itself."""
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def public_url_problem(url: str) -> str | None:
    """What is wrong with a MEDIA_SYNC_PUBLIC_URL value for phones, or None."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        return f"MEDIA_SYNC_PUBLIC_URL={url!r} is not a URL ({exc})"
    if parts.scheme not in {"http", "https"}:
        return f"MEDIA_SYNC_PUBLIC_URL={url!r} must start with http:// or https://"
    if not host:
        return f"MEDIA_SYNC_PUBLIC_URL={url!r} names no host"
    if is_loopback(host):
        return f"MEDIA_SYNC_PUBLIC_URL={url!r} is a loopback address: a phone cannot reach it"
    return None


def phone_url(
    settings: Settings, *, address: str | None = None, container: bool | None = None
) -> PhoneUrl:
    """The URL phones will be given, and why it cannot work when it cannot (``address`` and
    ``container`` default to this host's own)."""
    example = f"MEDIA_SYNC_PUBLIC_URL=http://<this machine's LAN address>:{settings.port}"
    if settings.public_url:
        url = settings.public_url.rstrip("/")
        problem = public_url_problem(url)
        return PhoneUrl(url, False, problem, f"set {example}" if problem else None)
    address = outbound_address() if address is None else address
    container = in_container() if container is None else container
    url = f"http://{address}:{settings.port}"
    if container:
        problem = (
            f"media-sync runs in a container, so {address} is the container's own address, "
            "which phones cannot reach"
        )
        fix = f"set {example} (the host's LAN address and the published port)"
        return PhoneUrl(url, True, problem, fix)
    if is_loopback(address):
        return PhoneUrl(
            url, True, f"no LAN address was found ({address} is loopback)", f"set {example}"
        )
    return PhoneUrl(url, True)

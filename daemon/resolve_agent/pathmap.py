"""Pure mapping of a job's source-relative paths onto this workstation's roots (Windows or POSIX).

A mapping ``primary=B:\\Video\\Projects`` says where the server's source ``primary`` is mounted
here. Roots keep their own flavour: drive-letter (``B:\\x`` or ``B:/x``) and UNC
(``\\\\nas\\share\\x``) roots give backslashed Windows paths compared without case; POSIX
roots (``/Volumes/x``) give slashed paths. Relative paths that are absolute, carry a drive,
contain ``..`` or control characters are refused, so a mapped path never leaves its root.

Case, decided: source names always compare without case (``--map PRIMARY=...`` serves the
server's ``primary``; server source names are lowercase anyway). Paths compare without case
under Windows roots only; POSIX paths compare exactly (a macOS volume may be case-sensitive).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Literal

from daemon.resolve_agent.errors import AgentError

Flavour = Literal["windows", "posix"]
Mappings = Mapping[str, str] | Iterable[tuple[str, str]]

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"|?*]')
_SEPARATORS = re.compile(r"[\\/]+")


class PathMappingError(AgentError):
    """A mapping or a relative path cannot be turned into a safe local path."""


def flavour_of(root: str) -> Flavour:
    """``windows`` for drive-letter and UNC roots, ``posix`` for the rest."""
    if _DRIVE.match(root) or root.startswith(("\\\\", "//")):
        return "windows"
    return "posix"


def _check_text(text: str, what: str) -> None:
    if not text:
        raise PathMappingError(f"{what} is empty")
    if _CONTROL.search(text):
        raise PathMappingError(f"{what} {text!r} contains control characters")


def _root_parts(parts: list[str], root: str) -> list[str]:
    kept = [part for part in parts if part not in ("", ".")]
    if ".." in kept:
        raise PathMappingError(f"root {root!r} must not contain '..'")
    return kept


def normalise_root(root: str) -> str:
    """The root with one kind of separator, no repeated or trailing ones (``B:\\`` keeps its)."""
    _check_text(root, "root")
    if flavour_of(root) == "posix":
        if not root.startswith("/"):
            raise PathMappingError(
                f"root {root!r} must be absolute (like /Volumes/Video/Projects, "
                "B:\\Video\\Projects or \\\\nas\\Video\\Projects)"
            )
        return "/" + "/".join(_root_parts(root.split("/"), root))
    if _DRIVE.match(root):
        drive, rest = root[:2].upper(), root[2:]
        return drive + "\\" + "\\".join(_root_parts(_SEPARATORS.split(rest), root))
    parts = _root_parts(_SEPARATORS.split(root[2:]), root)
    if len(parts) < 2:
        raise PathMappingError(f"UNC root {root!r} must name a server and a share (\\\\nas\\share)")
    return "\\\\" + "\\".join(parts)


def parse_map(spec: str) -> tuple[str, str]:
    """``primary=B:\\Video\\Projects`` -> (``primary``, normalised root)."""
    source, sep, root = spec.partition("=")
    if not sep or not source.strip() or not root.strip():
        raise PathMappingError(
            f"--map {spec!r} must look like SOURCE=LOCAL_ROOT (e.g. primary=B:\\Video\\Projects)"
        )
    return source.strip(), normalise_root(root)


def _table(mappings: Mappings) -> dict[str, tuple[str, str]]:
    """casefolded source -> (source as written, normalised root)."""
    pairs = mappings.items() if isinstance(mappings, Mapping) else mappings
    return {source.casefold(): (source, normalise_root(root)) for source, root in pairs}


def root_for(mappings: Mappings, source: str) -> str:
    """The local root of ``source`` (names compare without case), or an error naming the known."""
    table = _table(mappings)
    found = table.get(source.casefold())
    if found is None:
        known = ", ".join(sorted(name for name, _ in table.values())) or "none"
        raise PathMappingError(
            f"source {source!r} is not mapped on this workstation (mapped: {known}); "
            f"start the agent with --map {source}=LOCAL_ROOT"
        )
    return found[1]


def safe_parts(rel_path: str, flavour: Flavour) -> list[str]:
    """The components of a relative path, refusing anything that could leave the root."""
    _check_text(rel_path, "relative path")
    if rel_path.startswith(("/", "\\")) or _DRIVE.match(rel_path):
        raise PathMappingError(f"path {rel_path!r} must be relative to the source root")
    parts = [part for part in _SEPARATORS.split(rel_path) if part not in ("", ".")]
    if not parts:
        raise PathMappingError(f"path {rel_path!r} names no file")
    if ".." in parts:
        raise PathMappingError(f"path {rel_path!r} must not contain '..'")
    if flavour == "windows":
        for part in parts:
            if _WINDOWS_FORBIDDEN.search(part):
                raise PathMappingError(f'path {rel_path!r} has a name Windows refuses (<>:"|?*)')
    return parts


def _join(root: str, parts: list[str], flavour: Flavour) -> str:
    sep = "\\" if flavour == "windows" else "/"
    return (root if root.endswith(sep) else root + sep) + sep.join(parts)


def to_local(mappings: Mappings, source: str, source_rel_path: str) -> str:
    """The workstation path of ``source_rel_path`` (``/``-separated) under ``source``'s root."""
    root = root_for(mappings, source)
    flavour = flavour_of(root)
    return _join(root, safe_parts(source_rel_path, flavour), flavour)


def _comparable(path: str, flavour: Flavour) -> str:
    return path.casefold() if flavour == "windows" else path


def to_relative(mappings: Mappings, source: str, local_path: str) -> str:
    """The ``/``-separated path of ``local_path`` relative to ``source``'s root (inverse)."""
    root = root_for(mappings, source)
    flavour = flavour_of(root)
    sep = "\\" if flavour == "windows" else "/"
    if flavour_of(local_path) != flavour:
        raise PathMappingError(f"{local_path!r} is not under {root!r}")
    local = normalise_root(local_path)
    prefix = root if root.endswith(sep) else root + sep
    if not _comparable(local, flavour).startswith(_comparable(prefix, flavour)):
        raise PathMappingError(f"{local_path!r} is not under {root!r}")
    rest = local[len(prefix) :]
    return "/".join(safe_parts(rest, flavour))


def same_path(left: str, right: str) -> bool:
    """Whether two local paths name the same file (Windows paths: any separator, any case)."""
    flavour = flavour_of(left)
    if flavour != flavour_of(right):
        return False
    if flavour == "posix":
        return left == right
    return left.replace("/", "\\").casefold() == right.replace("/", "\\").casefold()

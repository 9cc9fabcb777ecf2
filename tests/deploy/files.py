"""Paths of the deploy files and small parsers for the formats the checks read."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DATA = Path(__file__).resolve().parent / "data"
SETTING_NAME = re.compile(r"\bMEDIA_SYNC_[A-Z0-9_]+\b")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=value lines of an env file (compose .env / systemd EnvironmentFile); comments skipped."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key), f"{path}:{number}: {line!r}"
        assert key not in values, f"{path}:{number}: {key} set twice"
        values[key] = value
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose-style ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error} substitution."""

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        value = env.get(name)
        if op in (":?", "?") and (value is None or (op == ":?" and not value)):
            raise KeyError(f"{name}: {arg}")
        if (op == ":-" and not value) or (op == "-" and value is None):
            return arg
        return value or ""

    return _VARIABLE.sub(replace, text)


def variables(text: str) -> set[str]:
    """Names of the ${...} variables a compose file uses."""
    return {match.group(1) for match in _VARIABLE.finditer(text)}


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    keyword: str
    args: str
    line: int


def dockerfile_stages(path: Path) -> list[list[Instruction]]:
    """The Dockerfile's instructions grouped per stage (index 0: the ARGs before the first FROM)."""
    stages: list[list[Instruction]] = [[]]
    pending, start = "", 0
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        if not pending and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        keyword, _, args = (pending + raw).strip().partition(" ")
        pending = ""
        if keyword.upper() == "FROM":
            stages.append([])
        stages[-1].append(Instruction(keyword.upper(), " ".join(args.split()), start))
    return stages


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Whether a context path is left out by .dockerignore patterns (last match wins)."""
    excluded = False
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        clean = pattern.lstrip("!").strip("/")
        for prefix in prefixes:
            if fnmatchcase(prefix, clean) or (
                clean.startswith("**/") and fnmatchcase(prefix.split("/")[-1], clean[3:])
            ):
                excluded = not negate
                break
    return excluded


def dockerignore_patterns(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def unit_entries(path: Path) -> list[tuple[str, str, str]]:
    """(section, key, value) of a systemd unit, in order; repeated keys are kept."""
    entries: list[tuple[str, str, str]] = []
    section = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if stripped.startswith("["):
            section = stripped.strip("[]")
            continue
        key, _, value = stripped.partition("=")
        entries.append((section, key.strip(), value.strip()))
    return entries


def unit_values(path: Path, key: str, section: str = "Service") -> list[str]:
    return [v for s, k, v in unit_entries(path) if s == section and k == key]


def windows_argv(command_line: str) -> list[str]:
    """Split a Windows command line (double quotes group, backslashes are literal)."""
    return [part.replace('"', "") for part in shlex.split(command_line, posix=False)]


def app_graceful_timeout() -> float:
    """The seconds `media-sync serve` gives in-flight requests on SIGTERM (from ingress/cli.py)."""
    source = (REPO / "ingress" / "cli.py").read_text()
    match = re.search(r"timeout_graceful_shutdown\s*=\s*(\d+(?:\.\d+)?)", source)
    assert match, "ingress/cli.py no longer passes timeout_graceful_shutdown= to uvicorn"
    return float(match.group(1))


def seconds(value: str) -> float:
    """A duration such as 75, 75s, 1m15s or 1min 15s in seconds."""
    units = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value):
        total += float(number) * units[unit]
    return total

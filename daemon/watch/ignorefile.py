"""Gitignore-style `.mediasyncignore` files in a source root or a project folder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

IGNORE_FILE = ".mediasyncignore"


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    negate: bool
    dir_only: bool


def _glob_to_regex(glob: str) -> str:
    out = []
    i = 0
    while i < len(glob):
        char = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = glob.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = glob[i + 1 : end].replace("\\", "\\\\")
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def parse_rule(line: str) -> Rule | None:
    """One line of a gitignore-style file as a Rule (None for blanks and comments)."""
    text = line.rstrip("\n").rstrip()
    if not text or text.startswith("#"):
        return None
    negate = text.startswith("!")
    if negate:
        text = text[1:]
    if text.startswith("\\"):
        text = text[1:]
    dir_only = text.endswith("/")
    text = text.strip("/") if dir_only else text
    anchored = "/" in text
    text = text.lstrip("/")
    if not text:
        return None
    body = _glob_to_regex(text)
    prefix = "" if anchored or text.startswith("**") else "(?:.*/)?"
    return Rule(re.compile(f"^{prefix}{body}$"), negate, dir_only)


@dataclass(frozen=True)
class IgnoreRules:
    """Rules from one file; paths are relative to the folder holding it."""

    rules: tuple[Rule, ...]

    @classmethod
    def parse(cls, text: str) -> IgnoreRules:
        return cls(tuple(r for r in map(parse_rule, text.splitlines()) if r is not None))

    def ignored(self, rel: str, is_dir: bool) -> bool:
        """Last matching rule wins; a dir-only rule only matches directories."""
        result = False
        for rule in self.rules:
            if rule.dir_only and not is_dir:
                continue
            if rule.pattern.match(rel):
                result = not rule.negate
        return result


def load_rules(directory: Path) -> IgnoreRules | None:
    """The `.mediasyncignore` in ``directory``, or None when absent or unreadable."""
    try:
        text = (directory / IGNORE_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    rules = IgnoreRules.parse(text)
    return rules if rules.rules else None

"""The README documents every setting, and documents no setting that does not exist."""

from __future__ import annotations

import re

from daemon.settings import SETTINGS
from tests.support.server import REPO

README = REPO / "README.md"
TABLE_ROW = re.compile(r"^\|\s*`(MEDIA_SYNC_[A-Z0-9_]+)`\s*\|")


def documented_in_table() -> set[str]:
    return {m.group(1) for line in README.read_text().splitlines() if (m := TABLE_ROW.match(line))}


def test_readme_table_lists_every_setting() -> None:
    missing = {s.env for s in SETTINGS} - documented_in_table()
    assert not missing, f"README settings table lacks: {sorted(missing)}"


def test_every_setting_named_in_readme_exists() -> None:
    mentioned = set(re.findall(r"MEDIA_SYNC_[A-Z0-9_]*[A-Z0-9]", README.read_text()))
    unknown = mentioned - {s.env for s in SETTINGS}
    assert not unknown, f"README mentions unknown settings: {sorted(unknown)}"


def test_table_defaults_match_settings() -> None:
    rows = {}
    for line in README.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and TABLE_ROW.match(line):
            rows[cells[0].strip("`")] = cells[1].strip("`")
    for setting in SETTINGS:
        assert rows.get(setting.env) == setting.default, setting.env

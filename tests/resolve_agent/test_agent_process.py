"""The agent's detached command runner really starts a process (signals, a killed agent and the
standard-library-only import are tested against the real server in test_agent_live.py)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from daemon.resolve_agent.reveal import run_detached


def test_run_detached_really_runs_a_harmless_command(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    run_detached([sys.executable, "-c", f"open({str(marker)!r}, 'w').write('yes')"])
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.read_text() == "yes"

"""schemathesis against the served OpenAPI schema of a real `media-sync serve` on a temp root:
no 5xx and no response outside its declared schema, bounded in time, with a fixed seed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import LiveServer

pytestmark = pytest.mark.e2e

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
MAX_SECONDS = 90  # schemathesis's own budget; the test allows a minute more
CHECKS = "not_a_server_error,response_schema_conformance"


def failures(ndjson: Path) -> list[str]:
    """Every failed check in the run's event stream, as one line each."""
    found = []
    for line in ndjson.read_text().splitlines():
        for check in _checks(json.loads(line)):
            if check.get("status") == "FAILURE":
                found.append(json.dumps(check)[:2000])
    return found


def _checks(event: object) -> Iterator[dict[str, object]]:
    """Check results nested anywhere in an event (their layout varies between event types)."""
    if isinstance(event, dict):
        if "status" in event and "name" in event and event.get("name") in CHECKS.split(","):
            yield event
        for value in event.values():
            yield from _checks(value)
    elif isinstance(event, list):
        for value in event:
            yield from _checks(value)


def test_schemathesis_finds_no_5xx_and_no_schema_violation(
    quiet_server: LiveServer, tmp_path: Path
) -> None:
    assert SCHEMATHESIS.is_file(), "schemathesis is missing: pip install -e '.[dev]'"
    report = tmp_path / "events.ndjson"
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{quiet_server.url}/schema/openapi.json",
        f"--checks={CHECKS}",
        "--max-examples=3",
        "--seed=20261",
        f"--max-time={MAX_SECONDS}",
        "--request-timeout=20",
        "--continue-on-failure",
        "--exclude-path=/api/events",  # a live stream: it ends only when the client leaves
        "--report=ndjson",
        f"--report-ndjson-path={report}",
        "--no-color",
    ]
    run = subprocess.run(
        command, capture_output=True, text=True, timeout=MAX_SECONDS + 60, check=False
    )
    summary = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, summary
    assert failures(report) == [], summary
    assert "generated" in run.stdout and " passed" in run.stdout, summary
    log = quiet_server.log()
    assert "Traceback" not in log and "unhandled error" not in log, log[-4000:]

"""The agent's side of ``/api/resolve/jobs``: claim, heartbeat, complete, fail, release (urllib)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from http.client import HTTPException
from typing import Any

from daemon.resolve_agent.errors import AgentError

HTTP_TIMEOUT = 10.0
MAX_QUERY_ERROR = 1000
TOKEN_ENV = "MEDIA_SYNC_API_TOKEN"


class ServerUnavailable(AgentError):
    """The server cannot be reached or answered 5xx (or nonsense): back off and retry."""


class JobGone(AgentError):
    """409/404: the job is no longer this agent's (canceled, expired, taken by another)."""


class ServerRejected(AgentError):
    """The server refused the request (4xx other than 404/409): retrying will not help."""


class ServerClient:
    """The agent endpoints of ``/api/resolve`` over urllib, as one named agent."""

    def __init__(
        self, base_url: str, name: str, timeout: float = HTTP_TIMEOUT, token: str = ""
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.timeout = timeout
        self.token = token

    def _post(self, path: str, query: dict[str, str], body: dict[str, Any] | None = None) -> Any:
        url = f"{self.base_url}{path}?{urllib.parse.urlencode(query)}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method="POST")
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise self._refusal(path, exc) from exc
        except (urllib.error.URLError, HTTPException, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise ServerUnavailable(f"{self.base_url} unreachable: {reason}") from exc

    def _refusal(self, path: str, exc: urllib.error.HTTPError) -> AgentError:
        """The error an HTTP error status stands for (what the agent does next depends on it)."""
        detail = exc.read().decode(errors="replace")[:300]
        if exc.code in (404, 409):
            return JobGone(f"HTTP {exc.code}: {detail}")
        if exc.code in (401, 403) and "token" in detail.lower():
            hint = "a valid token" if self.token else f"a token: --token or ${TOKEN_ENV}"
            return ServerRejected(f"HTTP {exc.code}: the server needs {hint} ({detail})")
        if 400 <= exc.code < 500 and exc.code not in (408, 429):
            return ServerRejected(f"HTTP {exc.code} from {path}: {detail}")
        return ServerUnavailable(f"HTTP {exc.code} from {path}: {detail}")

    def claim(self) -> dict[str, Any] | None:
        """``{jobs: [job]}`` -> the job, or None; anything else is a server talking nonsense."""
        answer = self._post("/api/resolve/jobs/next", {"limit": "1", "claimed_by": self.name})
        jobs = answer.get("jobs") if isinstance(answer, dict) else None
        if not isinstance(jobs, list):
            raise ServerUnavailable(f"unexpected answer to a claim: {answer!r:.200}")
        if not jobs:
            return None
        job = jobs[0]
        if not isinstance(job, dict) or not _is_id(job.get("id")):
            raise ServerUnavailable(f"a claimed job without an id: {job!r:.200}")
        return job

    def _job(self, job_id: int, action: str, body: dict[str, Any] | None = None) -> None:
        self._post(f"/api/resolve/jobs/{job_id}/{action}", {"claimed_by": self.name}, body)

    def heartbeat(self, job_id: int) -> None:
        self._job(job_id, "heartbeat")

    def complete(self, job_id: int, results: list[dict[str, str]]) -> None:
        self._job(job_id, "complete", {"claimed_by": self.name, "results": results})

    def fail(self, job_id: int, error: str) -> None:
        """The contract's ``?error=`` (shortened: it is a URL) and the whole error in the body."""
        query = {"claimed_by": self.name, "error": error[:MAX_QUERY_ERROR]}
        body = {"claimed_by": self.name, "error": error}
        self._post(f"/api/resolve/jobs/{job_id}/fail", query, body)

    def release(self, job_id: int) -> None:
        self._job(job_id, "release")


def _is_id(value: object) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and value.isdigit()
    )

"""The agent's own error tree (it runs on the workstation and shares no code with the server)."""

from __future__ import annotations


class AgentError(Exception):
    """Base of everything the resolve-agent raises on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

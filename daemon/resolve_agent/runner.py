"""Running one claimed job on this workstation: map its paths, import into Resolve or reveal.

``JobRunner.run`` never raises: whatever goes wrong becomes the ``Outcome`` the agent reports,
so one bad job never stops the agent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from daemon.resolve_agent.adapter import (
    ClipResult,
    ResolveAdapter,
    ResolveError,
    ResolveUnavailable,
    ScriptApp,
)
from daemon.resolve_agent.pathmap import PathMappingError, to_local
from daemon.resolve_agent.reveal import Runner, reveal

log = logging.getLogger("media_sync.resolve_agent")


class Released(Exception):
    """The agent is stopping before the job started: hand it back."""


class Dropped(Exception):
    """The server took the job away while it ran: stop and report nothing."""


@dataclass
class Outcome:
    """How a job ended on this side: results to complete with, an error, or nothing to say."""

    results: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None
    released: bool = False
    dropped: bool = False


def results_of(job: dict[str, Any], clips: list[ClipResult]) -> list[dict[str, str]]:
    """One result per clip, named by the job's media path (the server's name for it), with
    ``proxy`` (linked, missing or failed) when the job named a proxy for it."""
    rel_paths = [str(p) for p in job.get("media_rel_paths") or []]
    results = []
    for i, clip in enumerate(clips):
        result = {
            "path": rel_paths[i] if i < len(rel_paths) else clip.local_path,
            "local_path": clip.local_path,
            "status": clip.status,
            "detail": clip.detail,
        }
        if clip.proxy:
            result["proxy"] = clip.proxy
        results.append(result)
    return results


def summary(results: list[dict[str, str]]) -> str:
    counts = {s: 0 for s in ("imported", "skipped", "missing", "failed")}
    for result in results:
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    text = ", ".join(f"{n} {status}" for status, n in counts.items())
    linked = sum(result.get("proxy") == "linked" for result in results)
    return f"{text}, {linked} proxies linked" if linked else text


@dataclass
class JobRunner:
    """What a job needs here: the path mappings, Resolve (or how to load it), the reveal runner."""

    mappings: list[tuple[str, str]]
    stop: threading.Event
    loader: Callable[[], ScriptApp]
    runner: Runner
    scriptapp: ScriptApp | None = None

    def local_paths(self, job: dict[str, Any]) -> list[str]:
        source = str(job.get("source") or "primary")
        rel_paths = job.get("source_rel_paths")
        if not isinstance(rel_paths, list):
            folder = job.get("project_folder") or job.get("project")
            rel_paths = [f"{folder}/{rel}" for rel in job.get("media_rel_paths") or []]
        return [to_local(self.mappings, source, str(rel)) for rel in rel_paths]

    def proxy_paths(self, job: dict[str, Any]) -> list[str | None]:
        """Per clip, the local path of its proxy (mapped like the clips), or None."""
        source = str(job.get("source") or "primary")
        proxies = job.get("proxy_rel_paths")
        if not isinstance(proxies, list):
            return []
        return [to_local(self.mappings, source, p) if isinstance(p, str) else None for p in proxies]

    def run(self, job: dict[str, Any], lost: threading.Event) -> Outcome:
        """Import or reveal; a stop before Resolve changed anything hands the job back."""

        def checkpoint(may_release: bool) -> None:
            if lost.is_set():
                raise Dropped
            if may_release and self.stop.is_set():
                raise Released

        try:
            checkpoint(True)
            local = self.local_paths(job)
            proxies = self.proxy_paths(job)
            if job.get("mode") == "reveal_in_explorer":
                return Outcome(results=results_of(job, reveal(local, self.runner)))
            adapter = ResolveAdapter(self.scriptapp or self.loader())
            adapter.connect()
            checkpoint(True)  # nothing has changed in Resolve yet: a stop still hands it back
            adapter.open_or_create_project(
                job.get("resolve_project") or job.get("new_project_name")
            )
            checkpoint(False)
            bin_name = str(job.get("project") or "media-sync")
            clips = adapter.import_media(bin_name, local, proxies)
            return Outcome(results=results_of(job, clips))
        except Released:
            return Outcome(released=True)
        except Dropped:
            return Outcome(dropped=True)
        except (PathMappingError, ResolveUnavailable, ResolveError) as exc:
            return Outcome(error=exc.detail)
        except Exception as exc:
            log.exception("job %s: unexpected error", job.get("id"))
            return Outcome(error=f"resolve-agent error: {type(exc).__name__}: {exc}")

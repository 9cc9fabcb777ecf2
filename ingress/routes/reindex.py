"""Reindex and sweep endpoints: the watcher's reconcile, run synchronously on request."""

from __future__ import annotations

from typing import Any

from litestar import post, route

from daemon.ingest.foreign import unadopted_folders
from daemon.storage.conventions import LOOSE_PROJECT
from daemon.storage.indexfile import project_counts
from daemon.storage.sources import Source
from daemon.watch.execute import SourceResult
from daemon.watch.reconcile import Scope, reconciler_for, reindex, settle_wait
from ingress.deps import Lib

TOTALS = ("indexed", "removed", "renamed", "relocated", "unchanged", "settling", "held")


def _settle_wait(lib: Lib) -> float:
    """How long a request waits for dropped files to finish settling."""
    return settle_wait(lib.settings)


def summarize(results: list[SourceResult], sources: list[Source] | None = None) -> dict[str, Any]:
    """The original's summary over one or more sources (offline ones listed, never pruned),
    with our finer counts beside it."""
    body: dict[str, Any] = {key: sum(getattr(r, key) for r in results) for key in TOTALS}
    body["skipped_unsupported"] = sum(r.skipped_unsupported for r in results)
    offline = [
        {"source": r.source, "reason": r.offline_reason} for r in results if r.status != "ok"
    ]
    errors = [{"source": r.source, **e} for r in results for e in r.errors]
    roots = {s.name: s for s in sources or []}
    body.update(
        status="ok" if not offline and not errors else "degraded",
        sources=[_source_entry(r, roots.get(r.source)) for r in results],
        offline_sources=offline,
        moves=[{"source": r.source, **m} for r in results for m in r.moves],
        errors=errors,
        files=[entry for r in results for entry in r.new_files],
        indexed_projects=sum(len(r.per_project) for r in results),
        indexed_files=body["indexed"],
        removed_missing=body["removed"],
    )
    return body


def _source_entry(result: SourceResult, source: Source | None) -> dict[str, Any]:
    entry = result.as_dict()
    if source is not None:
        entry["root"] = str(source.root)
    entry["accessible"] = result.status == "ok"
    if result.status != "ok":
        entry["error"] = result.offline_reason
    return entry


def _hint(body: dict[str, Any]) -> str:
    parts = []
    if body["offline_sources"]:
        names = ", ".join(o["source"] for o in body["offline_sources"])
        parts.append(f"Source(s) {names} are offline; their records were kept. Check the mount.")
    if body["settling"]:
        parts.append(f"{body['settling']} file(s) are still being written; they will be indexed "
                     "once complete.")  # fmt: skip
    if body["errors"]:
        parts.append("Some files or projects could not be processed; see 'errors'.")
    return " ".join(parts) or "Catalog and index.json match the files on disk."


@route(
    "/api/projects/{project:str}/reindex",
    http_method=["GET", "POST"],
    sync_to_thread=True,
    status_code=200,
)
def reindex_project(lib: Lib, project: str, source: str | None = None) -> dict[str, Any]:
    """Reconcile one project: index new files, prune missing ones, relocate strays."""
    ref = lib.project(source, project)
    scope = Scope(frozenset({ref.name}), root=False)
    result = reconciler_for(lib).reconcile(ref.source, scope, wait_settle=_settle_wait(lib))
    body = {"project": ref.name, "source": ref.source.name, **summarize([result], [ref.source])}
    body["source"] = ref.source.name
    body["counts"] = project_counts(ref, lib.catalog)
    body["instructions"] = _hint(body)
    return body


@route("/reindex", http_method=["GET", "POST"], sync_to_thread=True, status_code=200)
def reindex_all(lib: Lib) -> dict[str, Any]:
    """Reconcile every enabled source and project in one sweep (loose root files included)."""
    enabled = list(lib.registry().enabled)
    results = reindex(lib, enabled, Scope())  # the same sweep as `media-sync reindex`
    body = summarize(results, enabled)
    body["unadopted_folders"] = unadopted_folders(lib)  # media in folders that are not projects
    body["instructions"] = _hint(body)
    if body["unadopted_folders"]:
        body["instructions"] += (
            " Some folders are not projects (see 'unadopted_folders'); adopt one with "
            "POST /api/folders/adopt."
        )
    return body


def _sweep_sources(lib: Lib, source: str | None) -> list[Source]:
    return [lib.source(source)] if source else list(lib.registry().enabled)


@post("/api/projects/auto-organize", sync_to_thread=True, status_code=200)
def auto_organize(
    lib: Lib,
    source: str | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Move media sitting loose in a root into `Unsorted-Loose/ingest/originals/` and index it;
    `?dry_run=true` returns the moves without making them."""
    reconciler = reconciler_for(lib)
    scope = Scope(frozenset(), root=True)
    sweep = _sweep_sources(lib, source)
    results = [
        reconciler.reconcile(
            src, scope, wait_settle=0 if dry_run else _settle_wait(lib), dry=dry_run
        )
        for src in sweep
    ]
    body = summarize(results, sweep)
    body["health"] = body["status"]
    body["status"] = "ok"  # the original's answer; `health`, `errors` and `offline_sources` tell
    body["moved"] = body["relocated"]
    for entry, result in zip(body["sources"], results, strict=True):
        moved = [m["from"] for m in result.moves]
        entry["moved"] = len(moved)
        entry["destination_project"] = LOOSE_PROJECT if moved else None
        entry["files"] = moved
    body["dry_run"] = dry_run
    body["instructions"] = (
        f"Dry run: {len(body['moves'])} file(s) would move; nothing was changed."
        if dry_run
        else f"Moved {body['relocated']} loose file(s) into Unsorted-Loose. " + _hint(body)
    )
    return body


ROUTES = [reindex_project, reindex_all, auto_organize]

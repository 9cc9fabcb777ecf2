"""A reconcile pass: catalog rows (kept while unchanged), listing, plan, executor."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from daemon.catalog import intake, utcnow
from daemon.library import Library
from daemon.settings import Settings
from daemon.storage.sources import Source
from daemon.watch.execute import SourceResult, dry_run, execute
from daemon.watch.listing import list_source
from daemon.watch.observed import report_pass, report_reindex
from daemon.watch.plan import Key, Plan, Row, Seen, plan_source
from daemon.watch.relocate import ROOT, excluded_dirs
from daemon.watch.settle import SettleTracker

log = logging.getLogger("media_sync.watch")


class RowCache:
    """The catalog rows of each project, kept between passes while the project's generation
    (bumped by the catalog's triggers on every write to its files, whichever process writes)
    holds: an unchanged pass reads one small table instead of every row."""

    def __init__(self) -> None:
        self._catalog_id: str | None = None
        self._rows: dict[tuple[str, str], tuple[int, dict[str, Row]]] = {}

    def load(
        self, lib: Library, source: str, projects: Collection[str] | None
    ) -> tuple[dict[str, dict[str, Row]], dict[str, int]]:
        """The rows of the scanned projects (those holding any) and every project's count.
        Generations are read before rows: a write in between only makes them look stale."""
        catalog_id, generations = intake.generations(lib.catalog, source)
        if catalog_id != self._catalog_id:
            self._catalog_id, self._rows = catalog_id, {}
        for key in [k for k in self._rows if k[0] == source and k[1] not in generations]:
            del self._rows[key]
        stale = [p for p, g in generations.items() if self._generation(source, p) != g]
        if stale:
            whole = len(stale) * 2 > len(generations)  # one scan beats many indexed queries
            fresh = intake.project_rows(lib.catalog, source, None if whole else stale)
            for project in stale:
                self._rows[(source, project)] = (generations[project], fresh.get(project, {}))
        wanted = generations.keys() if projects is None else projects
        rows = {p: found for p in wanted if (found := self._found(source, p))}
        totals = {p: len(found) for p in generations if (found := self._found(source, p))}
        return rows, totals

    def _generation(self, source: str, project: str) -> int | None:
        cached = self._rows.get((source, project))
        return cached[0] if cached is not None else None

    def _found(self, source: str, project: str) -> dict[str, Row]:
        cached = self._rows.get((source, project))
        return cached[1] if cached is not None else {}


@dataclass
class Scope:
    """What a pass looks at: every project (``projects=None``) or some, and the root's loose files."""

    projects: frozenset[str] | None = None
    root: bool = True

    def keys(self) -> set[str] | None:
        if self.projects is None:
            return None
        return set(self.projects) | ({ROOT} if self.root else set())


@dataclass
class SourceState:
    """Whether a source is held offline (pruning held back) and since when, in this process."""

    offline_reason: str | None = None
    offline_since: str | None = None
    last_error: str | None = None  # a pass that decided nothing (e.g. out of file descriptors)
    last_result: dict[str, Any] = field(default_factory=dict)


class Reconciler:
    """Serializes passes in a process and keeps the settle observations between them."""

    def __init__(self, lib: Library) -> None:
        self.lib = lib
        self.tracker = SettleTracker()
        self.lock = threading.RLock()
        self.states: dict[str, SourceState] = {}
        self.rows = RowCache()

    def state(self, source: str) -> SourceState:
        return self.states.setdefault(source, SourceState())

    def offline_sources(self) -> dict[str, str]:
        return {n: s.offline_reason for n, s in self.states.items() if s.offline_reason}

    def offline_details(self) -> dict[str, dict[str, str | None]]:
        """Each source held offline: ``offline_reason`` and ``offline_since``."""
        return {
            name: {"offline_reason": s.offline_reason, "offline_since": s.offline_since}
            for name, s in list(self.states.items())
            if s.offline_reason
        }

    def pass_source(
        self,
        source: Source,
        scope: Scope,
        *,
        dry: bool = False,
        cancel: threading.Event | None = None,
    ) -> SourceResult:
        """One pass over ``source``: rows are read before the listing, so a file placed by an
        upload that committed first is always listed (never pruned by a race)."""
        settings = self.lib.settings
        with self.lock:
            rows, totals = self.rows.load(self.lib, source.name, scope.projects)
            listing = list_source(
                source.root, excluded_dirs(settings.relocate_exclude), scope.projects, scope.root
            )
            window = 0.0 if dry else settings.settle_seconds
            seen = {} if dry else self.tracker.snapshot(source.name)
            relocate = bool(getattr(source, "relocate", True))
            plan = plan_source(
                listing, rows, totals, seen, time.monotonic(), window, relocate=relocate
            )
            if dry:
                return dry_run(source, plan)
            self._record_state(source.name, plan, full=scope.projects is None)
            if plan.error is None:
                self.tracker.update(source.name, scope.keys(), plan.seen)
            adopt = frozenset(
                p for p, lst in listing.projects.items() if lst.has_index and not totals.get(p)
            )
            result = execute(
                self.lib,
                source,
                plan,
                adopt=adopt,
                tracker=self.tracker,
                cancel=cancel,
                first_seen=_first_seen(seen),
            )
            self.state(source.name).last_result = {"at": utcnow(), **_brief(result)}
            report_pass(self.lib, result)  # drop lines, relocations, bytes ingested by drop
            return result

    def _record_state(self, name: str, plan: Plan, *, full: bool) -> None:
        """Offline (pruning held) or online; an erroneous pass changes neither, and only a full
        pass (the watcher re-runs one every poll interval while offline) brings a source back."""
        state = self.state(name)
        state.last_error = plan.error
        if plan.error is not None or (plan.offline is None and not full):
            return
        if plan.offline is not None:
            if state.offline_reason is None:
                log.warning("source %s is offline: %s", name, plan.offline)
                state.offline_since = utcnow()
            state.offline_reason = plan.offline
        else:
            if state.offline_reason is not None:
                log.info("source %s is back online", name)
            state.offline_reason = state.offline_since = None

    def reconcile(
        self, source: Source, scope: Scope, *, wait_settle: float = 0.0, dry: bool = False
    ) -> SourceResult:
        """A pass; with ``wait_settle`` re-pass until nothing settles or that many seconds pass."""
        started = time.monotonic()
        result = self.pass_source(source, scope, dry=dry)
        deadline = time.monotonic() + wait_settle
        while result.settling and time.monotonic() < deadline:
            due = self.tracker.next_due(self.lib.settings.settle_seconds) or time.monotonic()
            time.sleep(min(max(due - time.monotonic(), 0.02), max(deadline - time.monotonic(), 0)))
            pending = self.tracker.pending(source.name)
            again = Scope(frozenset(pending - {ROOT}), ROOT in pending and scope.root)
            if scope.projects is not None:
                again = Scope(frozenset(again.projects or ()) & scope.projects, again.root)
            result.merge(self.pass_source(source, again))
        if not dry:
            named = "all projects" if scope.projects is None else ", ".join(sorted(scope.projects))
            report_reindex(self.lib, result, named or "loose files", time.monotonic() - started)
        return result


def _brief(result: SourceResult) -> dict[str, Any]:
    body = result.as_dict()
    body["errors"] = len(result.errors)
    body.pop("moves", None)
    return body


_reconcilers: weakref.WeakKeyDictionary[Library, Reconciler] = weakref.WeakKeyDictionary()
_reconcilers_lock = threading.Lock()


def _first_seen(seen: Mapping[Key, Seen]) -> dict[Key, str]:
    """When each settling file was first seen as it is now, in UTC (a drop's arrival, journaled
    for its timeline)."""
    offset = time.time() - time.monotonic()
    return {
        key: datetime.fromtimestamp(obs.since + offset, UTC)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z")
        for key, obs in seen.items()
    }


def reconciler_for(lib: Library) -> Reconciler:
    """The process's Reconciler for ``lib`` (shared by the watcher and the reindex endpoints)."""
    with _reconcilers_lock:
        found = _reconcilers.get(lib)
        if found is None:
            found = _reconcilers[lib] = Reconciler(lib)
        return found


def settle_wait(settings: Settings) -> float:
    """How long a reindex waits for dropped files to finish settling."""
    return min(30.0, 2 * settings.settle_seconds + 1.0)


def reindex(lib: Library, sources: Sequence[Source], scope: Scope) -> list[SourceResult]:
    """A reindex (GET /reindex, `media-sync reindex`): one reconcile of each source over
    ``scope``, waiting for dropped files to settle."""
    reconciler = reconciler_for(lib)
    wait = settle_wait(lib.settings)
    return [reconciler.reconcile(source, scope, wait_settle=wait) for source in sources]

"""The live feed's event table stays bounded: pruned by age and by count, cheaply, without ever
restarting ids; the watcher prunes at each full reconcile."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from daemon.catalog import Catalog, events
from daemon.library import Library
from daemon.settings import Settings
from daemon.watch.service import Tuning, WatchService


def _add(catalog: Catalog, count: int, at: str | None = None) -> list[int]:
    with catalog.write():
        for i in range(count):
            events.add(catalog, "stored", "primary", "P1-A", f"f{i}.mov", {"n": i})
    added = [e.id for e in events.after(catalog, 0, 1_000_000)][-count:]
    if at is not None:
        Event = catalog.models.Event
        Event.update(at=at).where(Event.id.in_(added)).execute()
    return added


def _ids(catalog: Catalog) -> list[int]:
    return [e.id for e in events.after(catalog, 0, 1_000_000)]


def test_old_events_go_and_the_newest_always_stays(catalog: Catalog) -> None:
    now = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
    old = _add(catalog, 3, at="2025-06-01T00:00:00Z")  # 9 days old
    recent = _add(catalog, 2, at="2025-06-09T00:00:00Z")  # 1.5 days old
    with catalog.write():
        assert events.prune(catalog, now=now) == 3
    assert _ids(catalog) == recent
    with catalog.write():  # everything is old now: all but the newest go
        assert events.prune(catalog, now=now + timedelta(days=30)) == 1
    assert _ids(catalog) == recent[-1:]
    later = _add(catalog, 1)
    assert later[0] == recent[-1] + 1 and old[0] < recent[0]  # ids never restart


def test_only_the_newest_rows_are_kept(catalog: Catalog) -> None:
    added = _add(catalog, 30)
    with catalog.write():
        assert events.prune(catalog, max_rows=10) == 20
    assert _ids(catalog) == added[-10:]
    with catalog.write():
        assert events.prune(catalog, max_rows=10) == 0
    assert events.after(catalog, added[-2])[0].data == {"n": 29}


def test_adding_events_prunes_every_so_often(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events, "PRUNE_EVERY", 50)
    monkeypatch.setattr(events, "MAX_ROWS", 100)
    added = _add(catalog, 120)
    assert _ids(catalog) == added  # not pruned at the 50th or 100th add: still under the cap
    added += _add(catalog, 30)  # the 150th add prunes: the newest 100 stay
    assert _ids(catalog) == added[-100:]
    added += _add(catalog, 49)
    assert len(_ids(catalog)) == 149  # no prune before the next 50th add
    added += _add(catalog, 1)
    assert _ids(catalog) == added[-100:]


def test_the_watchers_full_reconcile_prunes_old_events(settings: Settings) -> None:
    lib = Library.open(settings.with_overrides(watch="off"))
    try:
        old = _add(lib.catalog, 5, at="2000-01-01T00:00:00Z")
        kept = _add(lib.catalog, 2)
        service = WatchService(lib, Tuning(registry_every=60)).start()
        try:
            assert service.ready.wait(10)
        finally:
            service.stop()
        assert _ids(lib.catalog) == kept and old[-1] < kept[0]
    finally:
        lib.close()


def test_a_pruning_pass_over_a_full_table_is_cheap(catalog: Catalog) -> None:
    Event = catalog.models.Event
    stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    total = events.MAX_ROWS + events.PRUNE_EVERY  # the most a table holds between two prunes
    with catalog.write():
        rows = [{"type": "stored", "at": stamp, "data": "{}"} for _ in range(total)]
        for start in range(0, total, 5000):
            Event.insert_many(rows[start : start + 5000]).execute()
    started = time.perf_counter()
    with catalog.write():
        assert events.prune(catalog) == events.PRUNE_EVERY
    seconds = time.perf_counter() - started
    print(f"\npruning {events.PRUNE_EVERY} of {total} events: {seconds * 1000:.1f} ms")
    assert seconds < 1.0
    assert _ids(catalog) == list(range(events.PRUNE_EVERY + 1, total + 1))

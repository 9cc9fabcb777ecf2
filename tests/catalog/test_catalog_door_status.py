"""The watcher's status in the catalog: published at start, read as running while its heartbeat
is fresh, as stale when the beats stop without a stop, as stopped after a stop."""

from __future__ import annotations

import time

from daemon.catalog import Catalog, status
from daemon.catalog.status import Publisher

BODY = {
    "status": {"passes": 3, "offline_sources": {"nas": "root is missing"}},
    "sources": {
        "primary": {"mode": "native", "offline": False, "offline_reason": None},
        "nas": {"mode": "polling", "offline": True, "offline_reason": "root is missing"},
    },
}


def _publish(catalog: Catalog, publisher: Publisher, how: object = status.start) -> None:
    with catalog.write():
        how(catalog, publisher, BODY)  # type: ignore[operator]


def test_nothing_published_reads_as_not_running(catalog: Catalog) -> None:
    view = status.read(catalog)
    assert view.daemon == {"running": False, "stale": False} and view.sources == {}


def test_a_fresh_heartbeat_is_running_a_silent_one_is_stale(catalog: Catalog) -> None:
    publisher = Publisher("host", 4242, "2025-06-01T00:00:00Z", 2.0)
    _publish(catalog, publisher)
    beat = time.time()
    view = status.read(catalog, now=beat + 5.9)  # under three beats of 2 s
    assert view.running and view.daemon["stale"] is False
    assert (view.daemon["pid"], view.daemon["hostname"]) == (4242, "host")
    assert view.daemon["passes"] == 3 and view.daemon["watchers"] == 1
    assert view.daemon["offline_sources"] == {"nas": "root is missing"}
    assert view.sources["nas"]["offline_reason"] == "root is missing"
    late = status.read(catalog, now=beat + 6.5)  # three beats missed: the process died unseen
    assert late.daemon["running"] is False and late.daemon["stale"] is True
    assert late.sources == {} and late.daemon["offline_sources"] == {}
    assert late.daemon["heartbeat_at"] and late.daemon["stopped_at"] is None


def test_a_stopped_watcher_reads_as_stopped_at_once(catalog: Catalog) -> None:
    publisher = Publisher("host", 4242, "2025-06-01T00:00:00Z", 60.0)
    _publish(catalog, publisher)
    with catalog.write():
        status.stop(catalog, publisher)
    view = status.read(catalog)
    assert view.daemon["running"] is False and view.daemon["stale"] is False
    assert view.daemon["stopped_at"] and view.sources == {}


def test_the_freshest_of_two_watchers_is_shown_and_gone_ones_are_dropped(
    catalog: Catalog,
) -> None:
    first = Publisher("host", 1, "2025-06-01T00:00:00Z", 60.0)
    second = Publisher("host", 2, "2025-06-01T00:00:01Z", 60.0)
    _publish(catalog, first)
    _publish(catalog, second)
    view = status.read(catalog)
    assert view.daemon["pid"] == 2 and view.daemon["watchers"] == 2
    with catalog.write():
        status.stop(catalog, second)
    assert status.read(catalog).daemon["pid"] == 1  # the one still running
    third = Publisher("host", 3, "2025-06-01T00:00:02Z", 60.0)
    _publish(catalog, third)  # a start drops the stopped watcher's row
    Row = catalog.models.ServiceStatus
    assert sorted(row.pid for row in Row.select()) == [1, 3]

"""One holder per source root, on both engines: two processes' Holdings (two Libraries on one
catalog) never hold the same root; a released or lost root is taken by the other; the
holders are published for /health."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from daemon.catalog import leases
from daemon.library import Library
from daemon.watch.holding import Holdings
from daemon.watch.service import WatchService
from daemon.watch.watchstate import Tuning
from tests.support.env import settings_for
from tests.support.waiting import wait_until


@pytest.fixture
def replicas(roots: tuple[Path, Path]) -> Iterator[tuple[Library, Library]]:
    settings = settings_for(*roots, MEDIA_SYNC_WATCH="off")
    first, second = Library.open(settings), Library.open(settings)
    try:
        yield first, second
    finally:
        second.close()
        first.close()


def test_one_of_two_holds_a_root_and_the_other_takes_it_when_let_go(
    replicas: tuple[Library, Library],
) -> None:
    one, two = (Holdings(lib, 5.0) for lib in replicas)
    sources = replicas[0].registry().enabled
    try:
        assert one.refresh(sources) == (["primary"], [])
        assert two.refresh(sources) == ([], [])
        assert two.refresh(sources) == ([], [])  # and again: still held by the first
        assert one.held(sources) == sources and two.held(sources) == ()
        assert set(one.holds()) == {"primary"} and two.holds() == {}
        one.release_all()
        assert two.refresh(sources) == (["primary"], [])
        assert one.refresh(sources) == ([], [])
        assert two.refresh(()) == ([], [])  # a root no longer enabled is let go, not "lost"
        assert one.refresh(sources) == (["primary"], [])
    finally:
        one.release_all()
        two.release_all()


@pytest.mark.parametrize("engine", ["postgresql"])
def test_a_holder_whose_connection_dies_loses_the_root_to_the_other(
    replicas: tuple[Library, Library],
) -> None:
    one, two = (Holdings(lib, 5.0) for lib in replicas)
    sources = replicas[0].registry().enabled
    catalog = replicas[0].catalog
    try:
        assert one.refresh(sources) == (["primary"], [])
        with psycopg.connect(str(catalog.url), autocommit=True) as admin:
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'media-sync watch lease'"
            ).fetchall()
        assert ended == [(True,)]
        # the lock goes with the session (as soon as the server has ended it)
        taken = wait_until(lambda: two.refresh(sources)[0], 10, what="the other taking it")
        assert taken == ["primary"]
        assert one.refresh(sources) == ([], ["primary"])
    finally:
        one.release_all()
        two.release_all()


def test_watch_services_publish_which_process_holds_the_root(
    replicas: tuple[Library, Library],
) -> None:
    tuning = Tuning(heartbeat=0.2)
    first = WatchService(replicas[0], tuning).start()
    second = WatchService(replicas[1], tuning)
    try:
        wait_until(first.ready.is_set, 30, what="the first watcher's start-up pass")
        second.start()
        wait_until(second.ready.is_set, 30, what="the second watcher's start-up pass")
        catalog = replicas[1].catalog
        holders = wait_until(lambda: leases.holders(catalog), 10, what="a published holder")
        assert list(holders) == ["primary"]
        assert holders["primary"].since == first.holdings.holds()["primary"]
        assert second.holdings.holds() == {}
        assert first.published()["holds"] == first.holdings.holds()
    finally:
        second.stop()
        first.stop()
    assert leases.holders(replicas[0].catalog) == {}  # stopped: nobody holds it

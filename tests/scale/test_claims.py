"""Claims that keep several processes from doing one piece of work twice, on both engines:
a content's work (metadata, thumbnail) and Resolve jobs. Two Catalogs (two Libraries) on one
database stand for two replicas."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from daemon.catalog import SCHEMA_VERSION, Catalog, claims
from daemon.catalog.claims import Claim
from daemon.jobs.queue import claim_next, open_job
from daemon.jobs.requests import OpenRequest
from daemon.library import Library
from daemon.media.workclaims import WorkClaims
from daemon.storage.projects import create_project
from tests.support.env import settings_for

SHA = "a" * 64


@pytest.fixture
def replicas(roots: tuple[Path, Path]) -> Iterator[tuple[Library, Library]]:
    """Two Libraries on one catalog (MEDIA_SYNC_DATABASE_URL or the one sqlite file)."""
    settings = settings_for(*roots)
    first = Library.open(settings)
    second = Library.open(settings)
    try:
        yield first, second
    finally:
        second.close()
        first.close()


def _content(catalog: Catalog, sha256: str = SHA) -> None:
    with catalog.write():
        catalog.models.Content.insert(blake3=sha256[::-1], sha256=sha256, size=1).execute()


def test_a_content_is_claimed_by_one_holder_until_released(
    replicas: tuple[Library, Library],
) -> None:
    one, two = (lib.catalog for lib in replicas)
    _content(one)
    assert claims.claim_content(one, SHA, "host:1", 60) is Claim.CLAIMED
    assert claims.claim_content(two, SHA, "host:2", 60) is Claim.BUSY
    assert claims.claim_content(one, SHA, "host:1", 60) is Claim.BUSY  # even for itself
    assert claims.claim_content(two, "b" * 64, "host:2", 60) is Claim.ABSENT
    claims.release_content(two, SHA, "host:2")  # not its claim: nothing changes
    assert claims.claim_content(two, SHA, "host:2", 60) is Claim.BUSY
    claims.release_content(one, SHA, "host:1")
    assert claims.claim_content(two, SHA, "host:2", 60) is Claim.CLAIMED


def test_a_lapsed_claim_is_free_and_renewing_keeps_one(replicas: tuple[Library, Library]) -> None:
    one, two = (lib.catalog for lib in replicas)
    _content(one)
    _content(one, "c" * 64)
    assert claims.claim_content(one, SHA, "dead:1", -1) is Claim.CLAIMED  # lapsed at once
    assert claims.claim_content(two, SHA, "host:2", -1) is Claim.CLAIMED
    assert claims.renew(two, "host:2", 60) == 1  # renewed: no longer lapsed
    assert claims.claim_content(one, SHA, "host:1", 60) is Claim.BUSY
    assert claims.claim_content(two, "c" * 64, "host:2", 60) is Claim.CLAIMED
    assert claims.release_all(two, "host:2") == 2
    assert claims.claim_content(one, SHA, "host:1", 60) is Claim.CLAIMED


def test_racing_claimers_get_one_claim(replicas: tuple[Library, Library]) -> None:
    catalogs = [lib.catalog for lib in replicas]
    _content(catalogs[0])
    start = threading.Barrier(8)

    def claim(index: int) -> Claim:
        catalog = catalogs[index % 2]
        start.wait(10)
        try:
            return claims.claim_content(catalog, SHA, f"host:{index}", 60)
        finally:
            catalog.release()

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(claim, range(8)))
    assert sorted(got) == sorted([Claim.CLAIMED] + [Claim.BUSY] * 7)


def test_a_waiting_holder_finds_the_work_done_by_the_other(
    replicas: tuple[Library, Library],
) -> None:
    one, two = (WorkClaims(lib.catalog, f"host:{i}") for i, lib in enumerate(replicas))
    _content(one.catalog)
    done = threading.Event()
    outcome: list[bool] = []

    def wait_for_it() -> None:
        try:
            with two.hold(SHA, done.is_set) as mine:
                outcome.append(mine)
        finally:
            two.catalog.release()

    with one.hold(SHA, done.is_set) as mine:
        assert mine is True
        waiter = threading.Thread(target=wait_for_it)
        waiter.start()
        done.set()  # the work is done while this holder still has the claim
        waiter.join(30)
    assert not waiter.is_alive() and outcome == [False]
    with two.hold(SHA, lambda: False) as mine:  # and the claim was let go
        assert mine is True


def _jobs(lib: Library, count: int) -> list[int]:
    ref, _ = create_project(lib.settings, lib.source(None), "Jobs")
    clip = ref.path / "ingest" / "originals" / "clip.mov"
    clip.parent.mkdir(parents=True, exist_ok=True)
    clip.write_bytes(b"clip")
    ids = []
    for _ in range(count):
        request = OpenRequest(
            "", None, ref.name, "import", None, ("ingest/originals/clip.mov",), None
        )
        job, created = open_job(lib, request)
        assert created
        ids.append(job["id"])
    return ids


def test_agents_claiming_through_two_replicas_get_each_job_once(
    replicas: tuple[Library, Library],
) -> None:
    ids = _jobs(replicas[0], 60)
    start = threading.Barrier(6)

    def agent(index: int) -> list[int]:
        lib = replicas[index % 2]
        start.wait(10)
        got: list[int] = []
        try:
            for _ in range(60):  # bounded: each round claims at least one until none are left
                batch = claim_next(lib, f"agent-{index}", 3)
                if not batch:
                    return got
                got += [job["id"] for job in batch]
            return got
        finally:
            lib.catalog.release()

    with ThreadPoolExecutor(6) as pool:
        claimed = list(pool.map(agent, range(6)))
    every = [job for batch in claimed for job in batch]
    assert sorted(every) == sorted(ids)  # all of them, none twice


@pytest.mark.parametrize("engine", ["postgresql"])
def test_claims_do_not_wait_for_the_catalog_write_lock_on_postgresql(
    replicas: tuple[Library, Library],
) -> None:
    """A job claim locks only its rows: it goes through while another process holds the
    catalog's write lock (on sqlite, with one writer at a time, it waits: not tested)."""
    ids = _jobs(replicas[0], 2)
    held, claimed = threading.Event(), threading.Event()
    result: list[list[int]] = []

    def claim() -> None:
        held.wait(10)
        try:
            result.append([job["id"] for job in claim_next(replicas[1], "agent", 5)])
        finally:
            claimed.set()
            replicas[1].catalog.release()

    thread = threading.Thread(target=claim)
    thread.start()
    with replicas[0].catalog.write():
        held.set()
        finished_inside = claimed.wait(30)
    thread.join(30)
    assert finished_inside and result == [ids]


def test_a_schema_8_catalog_gains_the_claim_columns(locate: Callable[[str], Path | str]) -> None:
    """Upgrading: a catalog made before the claims (schema 8) gets their columns and index."""
    place = locate("old")
    catalog = Catalog.open(place)
    try:
        _content(catalog)
        with catalog.write():
            catalog.execute('DROP INDEX "content_claimed_by"')
            catalog.execute("ALTER TABLE content DROP COLUMN claimed_by")
            catalog.execute("ALTER TABLE content DROP COLUMN claimed_until")
            catalog.execute("UPDATE meta SET value = '8' WHERE key = 'schema_version'")
    finally:
        catalog.close()
    again = Catalog.open(place)
    try:
        assert again.schema_version() == SCHEMA_VERSION
        assert claims.claim_content(again, SHA, "host:1", 60) is Claim.CLAIMED
        assert claims.claim_content(again, SHA, "host:2", 60) is Claim.BUSY
    finally:
        again.close()

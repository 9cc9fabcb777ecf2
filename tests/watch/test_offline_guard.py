"""The offline guard on real folders: a renamed project folder is a rename, a vanished root is
held offline (and /health says so) until it is back, and running out of fds is not offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from daemon.ingest.tagging import update_tags
from daemon.library import Library
from daemon.storage.projects import ProjectRef
from daemon.storage.sources import Source
from daemon.watch.plan import (
    FD_EXHAUSTED,
    ProjectListing,
    SourceListing,
    Stat,
    offline_reason,
    plan_source,
)
from daemon.watch.reconcile import Reconciler, Scope
from daemon.watch.service import Tuning, WatchService
from tests.factories import make_jpeg
from tests.support.env import env_for
from tests.support.files import index_paths
from tests.support.server import REPO, serving
from tests.support.waiting import wait_until
from tests.watch.helpers import rows

ORIG = "ingest/originals"
FAST = Tuning(canary_timeout=2.0, debounce_quiet=0.05, debounce_max=0.3, registry_every=0.5)


def _fill(ref: ProjectRef, count: int, start: int = 0) -> list[str]:
    """``count`` small, distinct JPEGs in the project's originals; their rel paths."""
    names = [f"{ORIG}/c{i:02d}.jpg" for i in range(start, start + count)]
    for i, rel in enumerate(names, start):
        make_jpeg(ref.path / rel, (24, 16), variant=i)
    return names


def _identity(ref: ProjectRef) -> dict[str, tuple[Any, ...]]:
    """What must survive a rename: row id, content, uploaded_at and manual tags, per path."""
    return {
        rel: (row.id, row.blake3, row.uploaded_at, row.origin, row.tags)
        for rel, row in rows(ref).items()
    }


def _big_and_small(source: Source) -> tuple[ProjectRef, ProjectRef]:
    """A 25-file project (most of the source) and a 1-file one, tagged, not yet reconciled."""
    big, small = ProjectRef(source, "P1-Big"), ProjectRef(source, "P2-Small")
    _fill(big, 25)
    _fill(small, 1, start=50)
    return big, small


@given(st.integers(20, 300), st.integers(0, 30), st.booleans())
def test_a_renamed_folder_plans_renames_never_offline(moved: int, kept: int, full: bool) -> None:
    old = {f"{ORIG}/c{i}.mov": Stat(i + 1, 7, 1000 + i) for i in range(moved)}
    other = {f"{ORIG}/o{i}.mov": Stat(1, 1, 5000 + i) for i in range(kept)}
    rows = {"P1-Old": {r: tuple(s) for r, s in old.items()}}
    rows["P2-Other"] = {r: tuple(s) for r, s in other.items()}
    projects = {"P1-New": ProjectListing(originals=old)}
    if full:  # a full pass lists every folder there is; a scoped one both ends of the rename
        projects["P2-Other"] = ProjectListing(originals=other)
    else:
        projects["P1-Old"] = ProjectListing(exists=False)
    listing = SourceListing(
        reachable=True,
        top_names=frozenset({"P1-New", "P2-Other"}),
        projects=projects,
        complete=full,
    )
    totals = {"P1-Old": moved, "P2-Other": kept} if kept else {"P1-Old": moved}
    plan = plan_source(listing, rows, totals, {}, 0.0, 5.0)
    assert offline_reason(listing, rows, totals) is None and plan.offline is None
    assert (
        sorted((m.src_project, m.dst_project) for m in plan.renames)
        == [("P1-Old", "P1-New")] * moved
    )
    assert not plan.removes and not plan.ingest and not plan.settling


def test_renaming_the_folder_holding_most_files_is_a_rename_not_offline(
    lib: Library, primary: Source, reconcile: Callable[..., Any]
) -> None:
    big, _ = _big_and_small(primary)
    assert reconcile().indexed == 26
    update_tags(lib, big, [f"{ORIG}/c03.jpg"], ["keeper"], [])
    before = _identity(big)
    renamed = ProjectRef(primary, "P1-Renamed")
    os.rename(big.path, renamed.path)

    result = reconcile()  # a full pass, as after a restart

    assert (result.status, result.renamed, result.removed, result.indexed) == ("ok", 25, 0, 0)
    assert reconcile.reconciler.offline_sources() == {}  # type: ignore[attr-defined]
    assert _identity(renamed) == before and rows(big) == {}
    assert json.loads(rows(renamed)[f"{ORIG}/c03.jpg"].tags) == ["keeper"]
    assert sorted(index_paths(renamed)) == sorted(before)
    assert not big.path.exists()  # the move's journal did not bring the old folder back
    make_jpeg(renamed.originals / "later.jpg", (24, 16), variant=99)
    later = reconcile()
    assert (later.status, later.indexed) == ("ok", 1)
    assert f"{ORIG}/later.jpg" in rows(renamed)


def test_the_watcher_follows_a_renamed_folder_live_and_after_a_restart(lib: Library) -> None:
    lib.settings = lib.settings.with_overrides(watch="native", poll_interval_seconds=0.2)
    primary = lib.source(None)
    big, _ = _big_and_small(primary)
    first, second = ProjectRef(primary, "P1-Moved"), ProjectRef(primary, "P1-Moved-Again")
    service = WatchService(lib, FAST).start()
    try:
        assert service.ready.wait(20)
        wait_until(lambda: len(rows(big)) == 25, 15)
        before = _identity(big)
        os.rename(big.path, first.path)  # live: an event pass over both folders
        wait_until(lambda: _identity(first) == before, 15, detail=lambda: rows(first))
        # A full pass that lists the root mid-rename may hold pruning back for a moment (1 of
        # 26 listed); the next full pass, run every poll interval while offline, clears it.
        wait_until(lambda: not service.status_of("primary")["offline"], 15, what="back online")
    finally:
        service.stop()
    os.rename(first.path, second.path)  # while nothing runs: the start-up full pass sees it
    service = WatchService(lib, FAST).start()
    try:
        assert service.ready.wait(20)
        wait_until(lambda: _identity(second) == before, 15, detail=lambda: rows(second))
        assert rows(first) == {}
        assert service.status()["offline_sources"] == {}
        make_jpeg(second.originals / "dropped.jpg", (24, 16), variant=77)
        wait_until(lambda: f"{ORIG}/dropped.jpg" in rows(second), 15)
    finally:
        service.stop()


def test_a_partial_listing_holds_pruning_but_not_drops_and_a_healthy_root_recovers(
    lib: Library, tmp_path: Path
) -> None:
    nas = Source("nas", tmp_path / "nas", True)  # no `_sources/` yet: no sign of a real volume
    big, small = _big_and_small(nas)
    reconciler = Reconciler(lib)
    assert reconciler.reconcile(nas, Scope(), wait_settle=3).indexed == 26
    shutil.rmtree(big.path)  # deleted, not renamed: 1 of 26 files left

    held = reconciler.reconcile(nas, Scope())
    assert (held.status, held.removed) == ("offline", 0) and len(rows(big)) == 25
    assert "only 1 of 26" in (held.offline_reason or "")
    make_jpeg(small.originals / "new.jpg", (24, 16), variant=60)
    during = reconciler.reconcile(nas, Scope(), wait_settle=3)
    assert (during.status, during.indexed) == ("offline", 1)  # the guard does not blind drops
    assert f"{ORIG}/new.jpg" in rows(small)

    (nas.root / "_sources").mkdir()  # listable, `_sources/` readable, files present: healthy
    back = reconciler.reconcile(nas, Scope())
    assert (back.status, back.removed) == ("ok", 25)
    assert rows(big) == {} and reconciler.offline_sources() == {}


def test_relocation_off_counts_the_moves_and_moves_nothing(lib: Library, tmp_path: Path) -> None:
    nas = Source("nas", tmp_path / "nas", True, relocate=False)
    project = ProjectRef(nas, "P1-Shoot")
    make_jpeg(project.path / "stray.jpg", (24, 16), variant=1)
    make_jpeg(nas.root / "loose.jpg", (24, 16), variant=2)
    _fill(project, 1, start=3)
    reconciler = Reconciler(lib)
    dry = reconciler.reconcile(nas, Scope(), dry=True)
    assert (dry.relocated, dry.would_relocate, len(dry.moves)) == (0, 2, 2)
    result = reconciler.reconcile(nas, Scope(), wait_settle=3)
    assert (result.indexed, result.relocated, result.would_relocate) == (1, 0, 2)
    assert result.settling == 0  # the strays are not waited on forever
    assert (project.path / "stray.jpg").exists() and (nas.root / "loose.jpg").exists()
    assert not (nas.root / "Unsorted-Loose").exists()
    assert set(rows(project)) == {f"{ORIG}/c03.jpg"}


def _health(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/health")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _primary(body: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in body["sources"] if s["name"] == "primary")
    return found


def _file_count(client: httpx.Client, project: str) -> int:
    response = client.get(f"/api/projects/{project}")
    return len(response.json()["files"]) if response.status_code == 200 else -1


def _held_offline(client: httpx.Client, words: str) -> bool:
    body = _health(client)
    reason = _primary(body)["offline_reason"] or ""
    return body["status"] == "degraded" and words in reason


def test_a_vanished_root_is_held_offline_health_says_why_and_it_recovers(
    roots: tuple[Path, Path], tmp_path: Path
) -> None:
    root, state = roots
    _fill(ProjectRef(Source("primary", root), "P1-Big"), 25)
    env = {"MEDIA_SYNC_WATCH": "polling", "MEDIA_SYNC_POLL_INTERVAL_SECONDS": "0.2"}
    aside = tmp_path / "unmounted"
    with serving(root, state, env=env) as server, server.client() as http:
        wait_until(lambda: _file_count(http, "P1-Big") == 25, 30)
        assert _health(http)["status"] == "ok"
        aside.mkdir()
        for entry in list(root.iterdir()):  # unmounted: the mount point lists empty
            os.rename(entry, aside / entry.name)
        # "root lists empty ..." or, once the watcher's canary is back in the root, "only 0 of 25
        # catalogued files are listed": both name the catalog and hold the source offline
        wait_until(lambda: _held_offline(http, "catalog"), 15, detail=lambda: _health(http))
        body = _health(http)
        assert _primary(body)["offline_since"] and _primary(body)["watch"]["offline"]
        assert [o["source"] for o in body["offline_sources"]] == ["primary"]
        assert "held offline" in body["instructions"]
        for entry in list(aside.iterdir()):
            os.rename(entry, root / entry.name)
        wait_until(lambda: _health(http)["status"] == "ok", 15, detail=lambda: _health(http))
        assert _primary(_health(http))["offline_reason"] is None
        os.rename(root, aside / "root")  # the root itself is gone
        wait_until(lambda: _held_offline(http, "missing"), 15, detail=lambda: _health(http))
        os.rename(aside / "root", root)
        wait_until(lambda: _health(http)["status"] == "ok", 20, detail=lambda: _health(http))
        assert _file_count(http, "P1-Big") == 25  # nothing was pruned meanwhile


# A real child process runs the watcher under a low RLIMIT_NOFILE, then uses up its fds.
_EMFILE_CHILD = textwrap.dedent(
    """
    import json, os, resource, sys, time
    from daemon.library import Library
    from daemon.settings import Settings
    from daemon.watch.service import Tuning, WatchService

    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    settings = Settings.from_env(dict(os.environ)).with_overrides(
        watch="polling", poll_interval_seconds=0.1, reconcile_interval_seconds=0.2
    )
    lib = Library.open(settings)
    service = WatchService(lib, Tuning(registry_every=60)).start()
    assert service.ready.wait(30)
    seen = []
    hog = []
    try:
        while True:
            hog.append(os.open(os.devnull, os.O_RDONLY))
    except OSError as exc:
        seen.append({"hogged": len(hog), "errno": exc.errno})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.1)
        status, daemon = service.status_of("primary"), service.status()
        seen.append({"status": status, "offline_sources": daemon["offline_sources"],
                     "last_error": daemon["last_error"], "passes": daemon["passes"]})
        if status["error"] and daemon["last_error"] and len(seen) > 15:
            break
    for fd in hog:
        os.close(fd)
    time.sleep(1.0)
    seen.append({"after": service.status_of("primary"), "passes": service.status()["passes"]})
    service.stop()
    lib.close()
    print(json.dumps(seen))
    """
)


def test_out_of_file_descriptors_is_named_and_never_offline(roots: tuple[Path, Path]) -> None:
    root, state = roots
    big = ProjectRef(Source("primary", root), "P1-Big")
    _fill(big, 25)
    env = {**os.environ, **env_for(root, state, MEDIA_SYNC_SETTLE_SECONDS="0")}
    done = subprocess.run(
        [sys.executable, "-c", _EMFILE_CHILD],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen[0]["errno"] == 24 and seen[0]["hogged"] > 100  # EMFILE, really out of fds
    during, after = seen[1:-1], seen[-1]
    assert any(s["status"]["error"] == FD_EXHAUSTED for s in during), during[-1]
    assert any(FD_EXHAUSTED in (s["last_error"] or "") for s in during), during[-1]
    assert all(not s["status"]["offline"] and s["offline_sources"] == {} for s in during)
    assert not after["after"]["offline"] and after["after"]["error"] is None
    assert after["passes"] > during[-1]["passes"]  # passes went on, and succeed again
    assert len(rows(big)) == 25  # nothing was pruned

"""This process's claims on contents while it reads their metadata or makes their thumbnails,
so that several replicas on one catalog never decode the same bytes twice.

A claim is a lease on the content's row (``daemon.catalog.claims``) that a thread of its own
renews every third of LEASE_SECONDS: a holder that dies leaves a claim that lapses within
LEASE_SECONDS. Who finds the content claimed waits, checking every POLL_SECONDS whether the
work is done (then there is nothing left to do) or the claim is free (then it takes it and
looks again: the holder may have finished just then).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from daemon.catalog import Catalog, claims
from daemon.catalog.claims import Claim

log = logging.getLogger("media_sync.previews")

LEASE_SECONDS = 60.0
POLL_SECONDS = 0.1


def process_name() -> str:
    """``hostname:pid``: who holds a claim (one process at a time can have that name)."""
    return f"{socket.gethostname()}:{os.getpid()}"


class WorkClaims:
    """Claims on contents for one process; ``start`` renews them, ``stop`` joins the renewer
    (and makes waiters give up)."""

    def __init__(self, catalog: Catalog, holder: str | None = None) -> None:
        self.catalog = catalog
        self.holder = holder or process_name()
        self.stopping = threading.Event()
        self._held = 0  # claims this process has now (none: nothing to renew)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._renew, name="previews-claims", daemon=True)

    def start(self) -> None:
        try:  # a process that had this name before is gone: its claims are nobody's
            claims.release_all(self.catalog, self.holder)
        except Exception:
            log.exception("cannot release the claims of an earlier process of this name")
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def _renew(self) -> None:
        try:
            while not self.stopping.wait(LEASE_SECONDS / 3):
                with self._lock:
                    if not self._held:
                        continue
                try:
                    claims.renew(self.catalog, self.holder, LEASE_SECONDS)
                except Exception:  # a busy catalog: the next round renews (the lease is long)
                    log.exception("cannot renew this process's work claims")
        finally:
            self.catalog.release()

    @contextmanager
    def hold(self, sha256: str, done: Callable[[], bool]) -> Iterator[bool]:
        """Yields True while this process holds the work on ``sha256`` (released after the
        block), False when ``done()`` says another holder did it meanwhile, or when stopping
        (``stopping`` is set then). Waits while another holder's claim runs."""
        while True:
            state = claims.claim_content(self.catalog, sha256, self.holder, LEASE_SECONDS)
            if state is not Claim.BUSY:
                break
            if done() or self.stopping.wait(POLL_SECONDS):
                yield False
                return
        mine = state is Claim.CLAIMED
        if mine:
            with self._lock:
                self._held += 1
        try:
            yield True
        finally:
            if mine:
                with self._lock:
                    self._held -= 1
                try:
                    claims.release_content(self.catalog, sha256, self.holder)
                except Exception:  # it lapses within the lease
                    log.exception("cannot release the work claim on %s", sha256[:12])

"""A real PostgreSQL server for the tests: Debian's binaries, a cluster of its own in a temp dir.

``PostgresServer.start()`` runs ``initdb`` and ``pg_ctl`` (as the ``postgres`` user when the
tests run as root: PostgreSQL refuses to run as root) in a fresh temp directory, listening on
a free 127.0.0.1 port with its unix socket in that directory, trusting local connections (no
password needed; a URL may still carry one). The session fixture in tests/conftest.py starts
one per test session; ``database()`` gives each test a fresh database, dropped after it.

    with PostgresServer.start() as server:
        with server.database() as url:   # postgresql://postgres@127.0.0.1:<port>/test_<n>
            ...
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import psycopg

ENGINES = ("sqlite", "postgresql")
SUPERUSER = "postgres"
PREFIX = "media-sync-pg-"
OWNER = "owner.pid"  # the test process that started the cluster
_counter = itertools.count(1)


def find_bin_dir() -> Path:
    """Debian's newest installed PostgreSQL binaries (``apt-get install postgresql``)."""
    found = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not found:
        raise RuntimeError(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl): "
            "apt-get install postgresql (.ci/run does)"
        )
    return found[-1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_orphans(bin_dir: Path, as_postgres: bool) -> None:
    """Stop and remove the clusters of test sessions that are gone (killed before their
    teardown ran): each cluster's directory names the process that started it."""
    for base in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            owner = int((base / OWNER).read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        orphan = PostgresServer(bin_dir, base, 0, as_postgres)
        orphan.running = (base / "data" / "postmaster.pid").exists()
        orphan.stop(mode="immediate")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """A running PostgreSQL cluster of the tests' own (stop it: ``stop()`` or ``with``)."""

    def __init__(self, bin_dir: Path, base: Path, port: int, as_postgres: bool) -> None:
        self.bin_dir = bin_dir
        self.base = base
        self.data = base / "data"
        self.socket_dir = base / "socket"
        self.log = base / "server.log"
        self.port = port
        self.as_postgres = as_postgres
        self.running = False

    @classmethod
    def start(cls, attempts: int = 3) -> PostgresServer:
        """initdb + pg_ctl start in a new temp dir; a port taken meanwhile is retried. Clusters
        left running by a test session that was killed are stopped and removed first."""
        bin_dir = find_bin_dir()
        as_postgres = os.geteuid() == 0
        _sweep_orphans(bin_dir, as_postgres)
        base = Path(tempfile.mkdtemp(prefix=PREFIX))
        (base / OWNER).write_text(str(os.getpid()))
        (base / "socket").mkdir()
        if as_postgres:
            user = pwd.getpwnam(SUPERUSER)
            for path in (base, base / "socket"):
                os.chown(path, user.pw_uid, user.pw_gid)
        server = cls(bin_dir, base, _free_port(), as_postgres)
        try:
            server._initdb()
            for attempt in range(attempts):
                if server._pg_ctl_start():
                    return server
                if attempt + 1 < attempts:
                    server.port = _free_port()
            raise RuntimeError(f"PostgreSQL did not start:\n{server.log_tail()}")
        except BaseException:
            server.stop()
            raise

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.base, check=False
        )

    def _initdb(self) -> None:
        done = self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")

    def _pg_ctl_start(self) -> bool:
        options = " ".join(
            (
                f"-p {self.port}",
                f"-k {self.socket_dir}",
                "-c listen_addresses=127.0.0.1",
                "-c max_connections=300",
                "-c fsync=off",  # a test cluster: speed over durability
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            )
        )
        done = self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60",
            "start",
        )  # fmt: skip
        self.running = done.returncode == 0
        return self.running

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        """A URL for ``database`` over TCP (a ``password`` is accepted and ignored: trust)."""
        auth = SUPERUSER if password is None else f"{SUPERUSER}:{password}"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        """An autocommit connection to the ``postgres`` database (CREATE/DROP DATABASE)."""
        return psycopg.connect(self.url(), autocommit=True, connect_timeout=10)

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; its name comes back."""
        name = name or f"test_{os.getpid()}_{next(_counter)}"
        with self.admin() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop the database, ending any connection still open on it."""
        with self.admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @contextlib.contextmanager
    def database(self, password: str | None = None) -> Iterator[str]:
        """A fresh database for one test: its URL, dropped afterwards."""
        name = self.create_database()
        try:
            yield self.url(name, password)
        finally:
            self.drop_database(name)

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster (a fast shutdown) and remove its directory."""
        if self.running:
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
            self.running = False
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

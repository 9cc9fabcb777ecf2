"""Issue 11: temp files are owned by a lock held while they are written, not by a PID, so a
crashed upload's bytes go at the next start even when its PID lives on (zombie, reuse)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from daemon.library import Library
from daemon.storage.conventions import TEMP_PREFIX, open_locked_temp, temp_path_for
from daemon.storage.spool import TempWriter, remove_stale_temps
from tests.support.env import settings_for
from tests.support.server import REPO, serving
from tests.support.waiting import wait_until

# A child that starts writing an upload temp (TempWriter, as the ingress does), says where,
# and then either waits to be killed or exits at once without being reaped (a zombie).
WRITER = """
import os, sys, time
from pathlib import Path
from daemon.storage.spool import TempWriter
writer = TempWriter(Path(sys.argv[1]), "clip.mov")
writer.write(b"partial upload bytes" * 1000)
print(writer.path, flush=True)
if sys.argv[2] == "exit":
    os._exit(0)
time.sleep(60)
"""


def originals_of(root: Path) -> Path:
    folder = root / "P1-Temps" / "ingest/originals"
    folder.mkdir(parents=True)
    return folder


def start_writer(folder: Path, mode: str) -> tuple[subprocess.Popen[str], Path]:
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(folder), mode],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    assert line, "the writer child printed no temp path"
    return child, Path(line)


def state_of(pid: int) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("State:"):
            return line.split()[1]
    raise AssertionError("no State line")


def test_a_killed_uploads_temp_goes_at_the_next_start_and_a_live_one_stays(
    roots: tuple[Path, Path],
) -> None:
    root, state = roots
    folder = originals_of(root)
    killed, dead_temp = start_writer(folder, "wait")
    alive, live_temp = start_writer(folder, "wait")
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        assert dead_temp.stat().st_size == 20_000
        with serving(root, state, env={"MEDIA_SYNC_WATCH": "off"}):
            assert not dead_temp.exists()  # the crashed upload's bytes are gone
            assert live_temp.exists()  # the upload still being written is not touched
    finally:
        for child in (killed, alive):
            child.kill()
            child.wait(10)
            assert child.stdout is not None
            child.stdout.close()
    assert remove_stale_temps_in(root) == 1  # its writer gone now, it goes too
    assert not live_temp.exists()


def remove_stale_temps_in(root: Path) -> int:
    """What the start-up cleanup removes under ``root`` now (``state`` beside it)."""
    lib = Library.open(settings_for(root, root.parent / "state"))
    try:
        return remove_stale_temps(lib.registry().sources)
    finally:
        lib.close()


def test_a_zombie_writer_does_not_keep_its_temp(roots: tuple[Path, Path]) -> None:
    """The writer exited but is not reaped: its PID still exists (kill(pid, 0) succeeds)."""
    root, _ = roots
    folder = originals_of(root)
    zombie, temp = start_writer(folder, "exit")
    try:
        wait_until(lambda: state_of(zombie.pid) == "Z", what="the child to become a zombie")
        os.kill(zombie.pid, 0)  # the PID is still there, as it was for the PID-based check
        assert temp.exists()
        assert remove_stale_temps_in(root) == 1
        assert not temp.exists()
        assert state_of(zombie.pid) == "Z"
    finally:
        zombie.wait(10)
        assert zombie.stdout is not None
        zombie.stdout.close()


def test_a_reused_pid_does_not_keep_a_dead_writers_temp(roots: tuple[Path, Path]) -> None:
    """A temp named after a PID that now belongs to another live process (here: this test's
    own process and a sleeper, as after a container restart) is removed: nobody holds it."""
    root, _ = roots
    folder = originals_of(root)
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        ours = temp_path_for(folder, "a.mov")  # carries this live process's PID
        ours.write_bytes(b"left by a crashed writer whose PID we now have")
        name = ours.name.replace(f"-{os.getpid()}-", f"-{sleeper.pid}-")
        theirs = folder / name
        theirs.write_bytes(b"left by a crashed writer whose PID the sleeper has")
        assert remove_stale_temps_in(root) == 2
        assert list(folder.iterdir()) == []
    finally:
        sleeper.kill()
        sleeper.wait(10)


def test_a_temp_is_locked_from_creation_to_placement(tmp_path: Path) -> None:
    """TempWriter and atomic writes hold the lock while the temp exists; finish() keeps it."""
    writer = TempWriter(tmp_path, "clip.mov")
    writer.write(b"bytes")
    writer.finish()
    assert remove_stale_temps_dir(tmp_path) == 0 and writer.path.exists()
    os.link(writer.path, tmp_path / "clip.mov")  # placed, as ingest does
    writer.path.unlink()
    writer.close()
    path, fd = open_locked_temp(tmp_path, "index.json")
    try:
        assert remove_stale_temps_dir(tmp_path) == 0 and path.exists()
    finally:
        os.close(fd)
    assert remove_stale_temps_dir(tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mov"]


def remove_stale_temps_dir(folder: Path) -> int:
    """How many temps a second process's start-up cleanup removes from ``folder`` now."""
    script = (
        "import sys; from pathlib import Path; from daemon.storage.spool import remove_if_abandoned; "
        "from daemon.storage.conventions import is_temp_name; "
        "print(sum(remove_if_abandoned(p) for p in Path(sys.argv[1]).iterdir() "
        "if is_temp_name(p.name)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(folder)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.strip())


def test_no_temp_prefix_file_survives_a_clean_upload_cycle(tmp_path: Path) -> None:
    writer = TempWriter(tmp_path, "a.mov")
    writer.write(b"x" * 10)
    writer.abort()
    assert not any(p.name.startswith(TEMP_PREFIX) for p in tmp_path.iterdir())

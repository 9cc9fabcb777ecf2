"""Backend choice: the mount's filesystem type, the setting, the ignore-file and name rules."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from daemon.storage.conventions import is_ignored_name
from daemon.watch.backends import choose, mount_fstype
from daemon.watch.ignorefile import IgnoreRules
from daemon.watch.listing import _IGNORED_RE, is_media_name
from daemon.watch.relocate import copy_verify_move

MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:35 / /mnt/nas rw,relatime shared:2 - cifs //nas/video rw,vers=3.0
41 22 0:36 / /mnt/my\\040share rw - nfs4 srv:/x rw
42 22 0:37 / /run/desktop/mnt/host/b rw - fakeowner grpcfuse rw
43 22 0:38 / /mnt/sshfs rw - fuse.sshfs host: rw
"""


def test_mount_fstype_takes_the_longest_mount_point(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(MOUNTINFO)
    assert mount_fstype(Path("/mnt/nas/Projects"), str(info)) == "cifs"
    assert mount_fstype(Path("/mnt/my share/P1"), str(info)) == "nfs4"
    assert mount_fstype(Path("/mnt/nasty"), str(info)) == "ext4"
    assert mount_fstype(Path("/run/desktop/mnt/host/b/Video"), str(info)) == "fakeowner"


def test_auto_polls_network_and_virtual_filesystems() -> None:
    for fstype in ("cifs", "smb3", "nfs", "nfs4", "9p", "virtiofs", "grpcfuse", "fakeowner",
                   "vboxsf", "drvfs", "fuse.sshfs"):  # fmt: skip
        assert choose("auto", fstype).mode == "polling", fstype
    assert choose("auto", "ext4").mode == "native"
    assert choose("polling", "ext4").mode == "polling"
    assert choose("native", "cifs").mode == "native"
    assert choose("off", "ext4").mode == "off"


@given(st.text(min_size=1, max_size=20))
def test_fast_ignore_matches_the_conventions(name: str) -> None:
    assert (_IGNORED_RE.match(name) is not None) == is_ignored_name(name)


def test_media_names() -> None:
    assert is_media_name("clip.MOV") and is_media_name("a.b.mp4")
    assert not is_media_name(".mov") and not is_media_name("clip.mov.part")


def test_gitignore_rules() -> None:
    rules = IgnoreRules.parse("# comment\n*.braw\n!keep.braw\n/top.mov\nraw/\ndocs/**/*.mp4\n")
    assert rules.ignored("a/b/x.braw", False)
    assert not rules.ignored("a/keep.braw", False)
    assert rules.ignored("top.mov", False) and not rules.ignored("a/top.mov", False)
    assert rules.ignored("ingest/raw", True) and not rules.ignored("ingest/raw", False)
    assert rules.ignored("docs/x/y/z.mp4", False) and rules.ignored("docs/z.mp4", False)


def test_cross_filesystem_move_copies_verifies_then_unlinks(tmp_path: Path) -> None:
    source = tmp_path / "a.mov"
    source.write_bytes(b"x" * 3_000_000)
    (tmp_path / "dst").mkdir()
    (tmp_path / "dst" / "a.mov").write_bytes(b"existing")
    final = copy_verify_move(source, tmp_path / "dst", "a.mov")
    assert final.name == "a-1.mov" and final.read_bytes() == b"x" * 3_000_000
    assert not source.exists()
    assert (tmp_path / "dst" / "a.mov").read_bytes() == b"existing"
    assert [p.name for p in (tmp_path / "dst").iterdir() if p.name.startswith(".")] == []

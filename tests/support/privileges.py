"""File modes that hold for root too: CI runs as root, and root reads a mode-000 file unless the
thread gives up CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, which is what this does for a block."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager

_VERSION_3 = 0x20080522  # _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set
_DAC_CAPS = (1 << 1) | (1 << 2)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH (both in word 0)


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _capability_call(name: str, data: ctypes.Array[_Data]) -> None:
    header = _Header(_VERSION_3, 0)  # pid 0: the calling thread
    if getattr(ctypes.CDLL(None, use_errno=True), name)(ctypes.byref(header), data) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{name}: {os.strerror(error)}")


@contextmanager
def file_modes_enforced() -> Iterator[None]:
    """Inside the block this thread, and threads it starts, are refused what file modes refuse,
    as an ordinary user is (for a non-root user they already are). Capabilities are per
    thread: other threads of the process keep theirs."""
    if os.geteuid() != 0:
        yield
        return
    data = (_Data * 2)()
    _capability_call("capget", data)
    saved = data[0].effective
    data[0].effective = saved & ~_DAC_CAPS
    _capability_call("capset", data)
    try:
        yield
    finally:
        data[0].effective = saved
        _capability_call("capset", data)

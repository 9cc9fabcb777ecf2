"""Reading video with PyAV: open with a time limit, pick the picture stream, find one frame."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import av
from av.container import InputContainer
from av.stream import Disposition
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from daemon.errors import CorruptFile

# Seconds PyAV may wait on one open/read before giving up (a stalled NAS must not hang a worker).
TIMEOUT = (20.0, 20.0)
# Packets demuxed before giving up on getting a decoded frame out of a stream.
MAX_PACKETS = 240


@contextmanager
def open_video(path: Path, what: str) -> Iterator[InputContainer]:
    """Open ``path`` for reading; CorruptFile (``"<name>: <what> (...)"``) when FFmpeg cannot."""
    try:
        container = av.open(str(path), "r", metadata_errors="ignore", timeout=TIMEOUT)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise CorruptFile(f"{path.name}: {what} ({exc})") from exc
    with container:
        yield container


def video_stream(container: InputContainer) -> VideoStream | None:
    """The first real picture stream (not cover art or a timed-thumbnail track)."""
    skip = Disposition.attached_pic | Disposition.timed_thumbnails
    for stream in container.streams.video:
        if not stream.disposition & skip:
            return stream
    return None


def clockwise(frame: VideoFrame) -> int:
    """Clockwise degrees (0/90/180/270) the display matrix asks for; iPhone portrait is 90."""
    return round(-float(frame.rotation or 0) / 90) % 4 * 90


def frames(container: InputContainer, stream: VideoStream) -> Iterator[VideoFrame]:
    """Decoded frames from the current position, skipping packets the decoder refuses, and
    ending after MAX_PACKETS packets so a broken stream is never read to its end."""
    for count, packet in enumerate(container.demux(stream)):
        if count >= MAX_PACKETS:
            return
        try:
            decoded = packet.decode()
        except (av.FFmpegError, ValueError):
            continue
        yield from decoded


def rotation_of(container: InputContainer, stream: VideoStream) -> int:
    """Display rotation; FFmpeg exports the matrix on decoded frames, so this decodes one."""
    for frame in frames(container, stream):
        return clockwise(frame)
    return 0


def _seek(container: InputContainer, stream: VideoStream, seconds: float) -> None:
    """Land on the keyframe at or before ``seconds``; a file that cannot seek stays at the start."""
    if seconds <= 0 or not stream.time_base:
        return
    with suppress(av.FFmpegError, ValueError, OverflowError):
        container.seek(int(seconds / stream.time_base), stream=stream, backward=True)


def frame_at(
    container: InputContainer, stream: VideoStream, fraction: float, max_frames: int
) -> VideoFrame | None:
    """A frame about ``fraction`` into the clip: seek to the preceding keyframe, then decode
    forward to the target time or at most ``max_frames`` frames, whichever comes first."""
    start = (container.start_time or 0) / 1_000_000
    duration = (container.duration or 0) / 1_000_000
    if not duration and stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    target = start + duration * fraction
    _seek(container, stream, target)
    last: VideoFrame | None = None
    for count, frame in enumerate(frames(container, stream), start=1):
        last = frame
        if frame.time is None or frame.time >= target or count >= max_frames:
            break
    return last

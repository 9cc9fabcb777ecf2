"""Reading video with PyAV: open with a time limit, pick the picture stream, find one frame."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import av
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.stream import Disposition
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from daemon.errors import CorruptFile
from daemon.media.reasons import failure

# Seconds PyAV may wait on one open/read before giving up (a stalled NAS must not hang a worker).
TIMEOUT = (20.0, 20.0)
# Packets in a row that give no frame before giving up on a stream (a broken one is never read
# to its end).
MAX_PACKETS = 240
# Reaching a frame past its keyframe costs decoding every frame between: at most this many
# pixels (240 frames of 4K, 1,000 of 1080p; a clip whose keyframes are further apart than that
# gives the frame where the budget ran out) and at most this long.
MAX_SEEK_PIXELS = 2_000_000_000
MAX_SEEK_SECONDS = 10.0


@contextmanager
def open_video(path: Path, what: str) -> Iterator[InputContainer]:
    """Open ``path`` for reading; CorruptFile (``"<name>: <what> (...)"``) when FFmpeg cannot."""
    try:
        container = av.open(str(path), "r", metadata_errors="ignore", timeout=TIMEOUT)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise CorruptFile(failure(path, what, exc)) from exc
    with container:
        yield container


def video_stream(container: InputContainer) -> VideoStream | None:
    """The first real picture stream (not cover art or a timed-thumbnail track)."""
    skip = Disposition.attached_pic | Disposition.timed_thumbnails
    for stream in container.streams.video:
        if not stream.disposition & skip:
            return stream
    return None


def codec_name(stream: VideoStream | AudioStream) -> str:
    """The codec's name (``mp3``, ``msmpeg4v3``, ``h264``), not FFmpeg's decoder's (``mp3float``,
    ``msmpeg4``)."""
    context = stream.codec_context
    try:
        return str(context.codec.canonical_name)
    except (AttributeError, av.FFmpegError):
        return str(context.name)


def clockwise(frame: VideoFrame) -> int:
    """Clockwise degrees (0/90/180/270) the display matrix asks for; iPhone portrait is 90."""
    return round(-float(frame.rotation or 0) / 90) % 4 * 90


def frames(container: InputContainer, stream: VideoStream) -> Iterator[VideoFrame]:
    """Decoded frames from the current position, skipping packets the decoder refuses, and
    ending once MAX_PACKETS packets in a row gave no frame."""
    barren = 0
    for packet in container.demux(stream):
        if barren >= MAX_PACKETS:
            return
        try:
            decoded = packet.decode()
        except (av.FFmpegError, ValueError):
            decoded = []
        barren = 0 if decoded else barren + 1
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
    container: InputContainer,
    stream: VideoStream,
    fraction: float,
    max_pixels: int = MAX_SEEK_PIXELS,
    max_seconds: float = MAX_SEEK_SECONDS,
) -> VideoFrame | None:
    """A frame about ``fraction`` into the clip: seek to the preceding keyframe, then decode
    forward to the target time, however far the keyframe is, within ``max_pixels`` decoded
    and ``max_seconds`` spent (then the last frame decoded)."""
    start = (container.start_time or 0) / 1_000_000
    duration = (container.duration or 0) / 1_000_000
    if not duration and stream.duration and stream.time_base:
        duration = float(stream.duration * stream.time_base)
    target = start + duration * fraction
    _seek(container, stream, target)
    deadline = time.monotonic() + max_seconds
    spent = 0
    last: VideoFrame | None = None
    for frame in frames(container, stream):
        last = frame
        spent += frame.width * frame.height
        if frame.time is None or frame.time >= target:
            break
        if spent >= max_pixels or time.monotonic() >= deadline:
            break
    return last

"""Scrub strips: a sprite sheet of frames across a clip (160 px wide tiles, one JPEG) and the
WebVTT thumbnails track whose cues name each tile's rectangle (``<sprite>#xywh=x,y,w,h``).

One frame every 2 s, at most 100 (a longer clip gets them further apart), ten tiles a row; each
cue covers its stretch of the clip and the cues together cover all of it. Frames are decoded in
order, going on from the last one where that is nearer than a seek, so a clip whose keyframes
are far apart is decoded once, not once a tile.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image

from daemon.errors import CorruptFile, UnsupportedMediaType
from daemon.media.budget import DecodeBudget
from daemon.media.decodeplan import DIRECT_BUDGET, check_cap, video_peak
from daemon.media.reasons import failure
from daemon.media.transcode import Cancelled
from daemon.media.video import clockwise, frames, open_video, video_stream
from daemon.storage.conventions import atomic_write_bytes

TILE_WIDTH = 160
INTERVAL = 2.0
MAX_TILES = 100
COLUMNS = 10
QUALITY = 75
SEEK_GAP = 4.0  # seconds: decoding on is cheaper than a seek for targets nearer than this
_TURN = {
    90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}

Stop = Callable[[], bool]


@dataclass(frozen=True)
class StripPlan:
    """Where each tile goes and which stretch of the clip it stands for."""

    duration: float
    count: int
    tile: tuple[int, int]

    @property
    def interval(self) -> float:
        return self.duration / self.count if self.count > 1 else max(self.duration, 0.001)

    @property
    def columns(self) -> int:
        return min(COLUMNS, self.count)

    @property
    def rows(self) -> int:
        return math.ceil(self.count / self.columns)

    @property
    def sprite_size(self) -> tuple[int, int]:
        return self.columns * self.tile[0], self.rows * self.tile[1]

    def cue(self, index: int) -> tuple[float, float]:
        """Start and end seconds of tile ``index``; the last ends at the clip's end."""
        end = self.duration if index == self.count - 1 else (index + 1) * self.interval
        return index * self.interval, max(end, index * self.interval + 0.001)

    def time_of(self, index: int) -> float:
        """The moment tile ``index`` shows: the middle of its stretch."""
        start, end = self.cue(index)
        return (start + end) / 2

    def box(self, index: int) -> tuple[int, int, int, int]:
        """x, y, width, height of tile ``index`` in the sprite."""
        width, height = self.tile
        row, column = divmod(index, self.columns)
        return column * width, row * height, width, height


def plan_strip(duration: float, display: tuple[int, int]) -> StripPlan:
    """Tiles every INTERVAL seconds (at most MAX_TILES), TILE_WIDTH wide at the display aspect."""
    count = max(1, min(MAX_TILES, math.ceil(duration / INTERVAL - 1e-9)))
    width, height = display
    tile_height = max(2, round(TILE_WIDTH * height / max(1, width)))
    return StripPlan(max(duration, 0.0), count, (TILE_WIDTH, tile_height))


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    return f"{hours:02d}:{minutes:02d}:{millis // 1000:02d}.{millis % 1000:03d}"


def vtt_text(plan: StripPlan, sprite_name: str) -> str:
    """The WebVTT thumbnails track: one cue a tile, ``<sprite_name>#xywh=x,y,w,h``."""
    lines = ["WEBVTT", ""]
    for index in range(plan.count):
        start, end = plan.cue(index)
        x, y, w, h = plan.box(index)
        lines += [
            f"{_timestamp(start)} --> {_timestamp(end)}",
            f"{sprite_name}#xywh={x},{y},{w},{h}",
            "",
        ]
    return "\n".join(lines)


def make_strip(
    source: Path,
    sprite: Path,
    track: Path,
    *,
    budget: DecodeBudget | None = None,
    stop: Stop | None = None,
    file_mode: int = 0o644,
) -> StripPlan:
    """Write the sprite sheet, then the VTT track naming it (each atomically: a track on disk
    means its sprite is there). CorruptFile for a clip with no decodable picture."""
    budget = budget or DIRECT_BUDGET
    with open_video(source, "cannot make a scrub strip: not a readable video") as container:
        stream = video_stream(container)
        if stream is None:
            raise UnsupportedMediaType(f"{source.name}: no video stream for a scrub strip")
        stream.thread_type = "AUTO"
        size = (stream.codec_context.width or 0, stream.codec_context.height or 0)
        peak = video_peak(*size)
        check_cap(source.name, size, peak, budget.capacity)
        try:
            with budget.hold(peak):
                plan, picture = _render(container, stream, stop)
        except (av.FFmpegError, ValueError) as exc:
            raise CorruptFile(failure(source, "cannot read frames for a scrub strip", exc)) from exc
    if picture is None:
        raise CorruptFile(f"{source.name}: no decodable video frame for a scrub strip")
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=QUALITY)
    atomic_write_bytes(sprite, out.getvalue(), file_mode)
    atomic_write_bytes(track, vtt_text(plan, sprite.name).encode(), file_mode)
    return plan


def _duration(container: InputContainer, stream: VideoStream) -> float:
    if container.duration:
        return container.duration / 1_000_000
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return 0.0


def _render(
    container: InputContainer, stream: VideoStream, stop: Stop | None
) -> tuple[StripPlan, Image.Image | None]:
    start = (container.start_time or 0) / 1_000_000
    grab = _Grabber(container, stream, start)
    first = grab.at(0.0)
    if first is None:
        return plan_strip(0.0, (TILE_WIDTH, TILE_WIDTH)), None
    turn = clockwise(first)
    aspect = float(stream.sample_aspect_ratio or 1) or 1.0
    display = (round(first.width * aspect), first.height)
    if turn in (90, 270):
        display = display[::-1]
    plan = plan_strip(_duration(container, stream), display)
    sprite = Image.new("RGB", plan.sprite_size)
    tile: Image.Image | None = None
    for index in range(plan.count):
        if stop is not None and stop():
            raise Cancelled
        frame = grab.at(plan.time_of(index))
        if frame is not None:
            tile = _tile(frame, plan.tile, turn)
        if tile is not None:
            sprite.paste(tile, plan.box(index)[:2])
    return plan, sprite


def _tile(frame: VideoFrame, tile: tuple[int, int], turn: int) -> Image.Image:
    width, height = tile if turn not in (90, 270) else tile[::-1]
    rgb = frame.reformat(width=width, height=height, format="rgb24")
    plane = rgb.planes[0]
    image = Image.frombuffer("RGB", (width, height), bytes(plane), "raw", "RGB", plane.line_size, 1)
    return image.transpose(_TURN[turn]) if turn in _TURN else image


class _Grabber:
    """Frames at increasing times: decode on from the last frame, or seek when far behind."""

    def __init__(self, container: InputContainer, stream: VideoStream, start: float) -> None:
        self.container, self.stream, self.start = container, stream, start
        self.decoded: Iterator[VideoFrame] | None = None
        self.last: VideoFrame | None = None

    def _seek(self, seconds: float) -> None:
        if seconds > self.start and self.stream.time_base:
            try:
                offset = int(seconds / self.stream.time_base)
                self.container.seek(offset, stream=self.stream, backward=True)
            except (av.FFmpegError, ValueError, OverflowError):
                pass
        self.decoded = frames(self.container, self.stream)

    def at(self, seconds: float) -> VideoFrame | None:
        """The first frame at or after ``seconds`` into the clip (or the last one there is)."""
        target = self.start + seconds
        behind = self.last is None or self.last.time is None or target - self.last.time > SEEK_GAP
        if self.decoded is None or behind:
            self._seek(target)
        if self.last is not None and self.last.time is not None and self.last.time >= target:
            return self.last
        assert self.decoded is not None
        for frame in self.decoded:
            self.last = frame
            if frame.time is None or frame.time >= target:
                break
        return self.last

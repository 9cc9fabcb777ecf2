"""Edit proxies for DaVinci Resolve (ProRes Proxy or DNxHR LB) made in the background, once each.

With MEDIA_SYNC_RESOLVE_PROXIES=prores or dnxhr, ``Proxies`` makes one proxy per catalogued
video: it listens to the Library's changes (a clip stored or indexed) and, when it starts,
queues every catalogued video that has none yet, so turning the setting on later or a restart
catches up. Ingest never waits: one thread works through the line, each encode holding its
decode peak in the service's decode budget, and a proxy is made once per content however many
copies or processes ask (a set here, the browser previews' lock files across processes). It is
written into a locked temp file in the proxies folder, then renamed into place, so the final
name never holds a partial file; a clip that cannot be decoded is logged and not tried again
until the process restarts.

    <project>/ingest/proxies/<sha256>.mov

The proxy keeps the source's frame timing and display rotation, with square pixels fitting
1920x1080 either way up (never enlarged, even sides), and its first sound track as 16-bit PCM.
ProRes Proxy is ``prores_ks`` profile 0 (10-bit 4:2:2); DNxHR LB is ``dnxhd`` profile
``dnxhr_lb`` (8-bit 4:2:2). A Resolve job names each clip's proxy when there is one
(``daemon.jobs.queue``) and the resolve-agent links it with ``LinkProxyMedia``.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.video.frame import VideoFrame
from av.video.reformatter import Interpolation
from av.video.stream import VideoStream

from daemon.catalog import files
from daemon.catalog.values import ChangeType
from daemon.errors import MediaSyncError
from daemon.library import Change, Library
from daemon.media.budget import DecodeBudget
from daemon.media.derived import exclusive, sweep, write_whole
from daemon.media.transcode import Cancelled, re_encoding
from daemon.mediatypes import media_type
from daemon.storage.conventions import (
    LOOSE_PROJECT,
    PROXIES,
    writable_dir,
)
from daemon.storage.projects import ProjectRef, list_project_names

log = logging.getLogger("media_sync.proxies")

MAX_LONG, MAX_SHORT = 1920, 1080
AUDIO_RATE = 48_000
# codec setting -> (encoder, pixel format, encoder options, least frame size)
ENCODERS: dict[str, tuple[str, str, dict[str, str], tuple[int, int]]] = {
    "prores": ("prores_ks", "yuv422p10le", {"profile": "0", "vendor": "apl0"}, (2, 2)),
    "dnxhr": ("dnxhd", "yuv422p", {"profile": "dnxhr_lb"}, (256, 120)),
}
WORK_TYPES = {ChangeType.STORED, ChangeType.INDEXED}


def proxy_path(ref: ProjectRef, sha256: str) -> Path:
    return ref.path / PROXIES / f"{sha256}.mov"


def proxy_size(
    width: int, height: int, aspect: Fraction | float = 1, least: tuple[int, int] = (2, 2)
) -> tuple[int, int]:
    """Square pixels fitting 1920x1080 either way up, even sides; never enlarged, except to
    the encoder's least size (DNxHR: 256x120), keeping the shape."""
    wide = width * float(aspect or 1)
    scale = min(1.0, MAX_LONG / max(wide, height), MAX_SHORT / min(wide, height))
    scale = max(scale, least[0] / wide, least[1] / height)
    size = round(wide * scale / 2) * 2, round(height * scale / 2) * 2
    return max(size[0], least[0] + least[0] % 2), max(size[1], least[1] + least[1] % 2)


def make_proxy(
    source: Path,
    dest: Path,
    codec: str,
    *,
    budget: DecodeBudget,
    stop: Callable[[], bool] | None = None,
) -> None:
    """Write the ``codec`` proxy of ``source`` to ``dest`` (a temp file: the caller renames
    it). CorruptFile when the clip has no decodable picture, Cancelled when ``stop()``."""
    with (
        re_encoding(source, budget, "a proxy", "to make a proxy of") as (container, stream),
        av.open(str(dest), "w", format="mov") as output,
    ):
        _encode(container, stream, output, codec, stop)


def _encode(
    container: InputContainer,
    stream: VideoStream,
    output: OutputContainer,
    codec: str,
    stop: Callable[[], bool] | None,
) -> None:
    encoder, pix_fmt, options, least = ENCODERS[codec]
    stream.thread_type = "AUTO"
    sound = container.streams.audio[0] if container.streams.audio else None
    time_base = stream.time_base or Fraction(1, 90_000)
    start = round((container.start_time or 0) / 1_000_000 / time_base)
    rate = stream.average_rate or stream.guessed_rate or 30
    step = max(1, round(1 / (float(rate) * time_base)))
    video: VideoStream | None = None
    audio: AudioStream | None = None
    resampler = AudioResampler(format="s16", layout="stereo", rate=AUDIO_RATE)
    if sound is not None:
        audio = output.add_stream("pcm_s16le", rate=AUDIO_RATE)
        audio.layout = "stereo"
    last: int | None = None
    for frame in _decoded(container, stream, sound):
        if stop is not None and stop():
            raise Cancelled
        if isinstance(frame, AudioFrame):
            if audio is not None and video is not None:
                for chunk in resampler.resample(frame):
                    chunk.pts = None
                    output.mux(audio.encode(chunk))
            continue
        if video is None:
            video = cast(VideoStream, output.add_stream(encoder, rate=rate))
            video.width, video.height = proxy_size(
                frame.width, frame.height, stream.sample_aspect_ratio or 1, least
            )
            video.pix_fmt = pix_fmt
            video.codec_context.time_base = time_base
            video.options = dict(options)
            if frame.rotation:
                video.set_display_rotation(frame.rotation)
        picture = frame.reformat(video.width, video.height, pix_fmt, Interpolation.BICUBIC)
        pts = frame.pts - start if frame.pts is not None else None
        if pts is None or (last is not None and pts <= last):
            pts = 0 if last is None else last + step
        picture.pts, picture.time_base, last = pts, time_base, pts
        output.mux(video.encode(picture))
    if video is None:
        raise RuntimeError("no decodable video frame")
    output.mux(video.encode(None))
    if audio is not None:
        for chunk in resampler.resample(None):
            output.mux(audio.encode(chunk))
        output.mux(audio.encode(None))


def _decoded(
    container: InputContainer, stream: VideoStream, sound: AudioStream | None
) -> Iterator[VideoFrame | AudioFrame]:
    """Picture and sound frames in file order; undecodable packets are skipped."""
    streams = (stream,) if sound is None else (stream, sound)
    for packet in container.demux(*streams):
        try:
            yield from cast(list[VideoFrame | AudioFrame], packet.decode())
        except (av.FFmpegError, ValueError):
            continue


class Proxies:
    """The proxy worker: ``start()`` subscribes and starts its thread; ``stop()`` joins it."""

    def __init__(self, lib: Library, codec: str, budget: DecodeBudget) -> None:
        if codec not in ENCODERS:
            raise ValueError(f"unknown proxy codec {codec!r}")
        self.lib, self.codec, self.budget = lib, codec, budget
        self._cond = threading.Condition()
        self._line: deque[tuple[Path, Path]] = deque()  # (target, source)
        self._queued: set[Path] = set()
        self._failed: set[Path] = set()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="resolve-proxies", daemon=True)
        self._unsubscribe: Callable[[], None] = lambda: None
        self.made = 0  # proxies written by this process (for tests and logs)
        self.idle = threading.Event()  # set whenever the line is empty and nothing runs

    def start(self) -> None:
        self._unsubscribe = self.lib.subscribe(self.on_change)
        self._thread.start()

    def stop(self) -> None:
        self._unsubscribe()
        with self._cond:
            self._stopping.set()
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join()

    def on_change(self, change: Change) -> None:
        if change.type in WORK_TYPES and change.sha256:
            self.queue(change.project, change.rel_path, change.sha256)

    def queue(self, ref: ProjectRef, rel_path: str, sha256: str) -> None:
        """Ask for the proxy of a catalogued file (nothing happens for anything but a video,
        or when it is there, queued, or failed already)."""
        known = media_type(rel_path)
        if known is None or known.kind != "video":
            return
        target = proxy_path(ref, sha256)
        with self._cond:
            if target in self._queued or target in self._failed or target.is_file():
                return
            self._queued.add(target)
            self._line.append((target, ref.path / rel_path))
            self.idle.clear()
            self._cond.notify_all()

    def _backfill(self) -> None:
        """Queue every catalogued video that has no proxy yet."""
        for source in self.lib.registry().enabled:
            try:
                names = [*list_project_names(source), LOOSE_PROJECT]
            except MediaSyncError as exc:
                log.warning("no proxies for source %s: %s", source.name, exc.detail)
                continue
            for name in names:
                if self._stopping.is_set():
                    return
                ref = ProjectRef(source, name)
                for record in files.in_project(self.lib.catalog, source.name, ref.name).values():
                    self.queue(ref, record.rel_path, record.sha256)

    def _run(self) -> None:
        try:
            self._backfill()
        except Exception:
            log.exception("queueing the missing proxies failed")
        while True:
            with self._cond:
                if not self._line:
                    self.idle.set()
                self._cond.wait_for(lambda: bool(self._line) or self._stopping.is_set())
                if self._stopping.is_set():
                    return
                target, source = self._line.popleft()
            try:
                self._make(target, source)
            except Cancelled:
                return
            except (MediaSyncError, OSError) as exc:
                log.warning("no proxy for %s: %s", source.name, getattr(exc, "detail", exc))
                with self._cond:
                    self._failed.add(target)
            except Exception:
                log.exception("proxy failed for %s", source.name)
                with self._cond:
                    self._failed.add(target)
            finally:
                with self._cond:
                    self._queued.discard(target)

    def _make(self, target: Path, source: Path) -> None:
        with exclusive(self.lib.settings.locks_dir, target, self._stopping):
            if target.is_file() or not source.is_file():
                return  # another process made it meanwhile, or the clip is gone
            folder = writable_dir(target.parent)
            sweep(folder)

            def encode(temp: Path) -> None:
                make_proxy(source, temp, self.codec, budget=self.budget, stop=self._stopping.is_set)

            write_whole(folder, target, ".mov", self.lib.settings.file_mode, encode)
            self.made += 1
            log.info("made the %s proxy of %s", self.codec, source.name)

"""Browser previews: which clips a browser plays as they are, and an H.264 MP4 copy of the rest.

A browser plays H.264, VP9 and AV1 (8-bit 4:2:0) in MP4 or WebM, with AAC, MP3, Opus, Vorbis
or FLAC sound; anything else (HEVC, ProRes, DNxHR, MPEG-2, 10-bit or 4:2:2 H.264, a QuickTime
or Matroska wrapper) gets a preview: the picture scaled to fit 1280x720 (either way up, square
pixels, the display rotation kept), libx264 ``fast`` at CRF 23, AAC sound copied (other sound
re-encoded to AAC 128 kbit/s), ``+faststart`` so it plays while it downloads. The command line
doing the same is ``ffmpeg_command`` (tests/bench/preview.py times the two).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, cast

import av
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.packet import Packet
from av.video.frame import VideoFrame
from av.video.reformatter import Interpolation
from av.video.stream import VideoStream

from daemon.errors import CorruptFile, UnsupportedMediaType
from daemon.media.budget import DecodeBudget
from daemon.media.decodeplan import DIRECT_BUDGET, check_cap, video_peak
from daemon.media.reasons import failure
from daemon.media.video import codec_name, frames, open_video, video_stream
from daemon.mediatypes import media_type

MAX_LONG, MAX_SHORT = 1280, 720  # "720p" either way up
PRESET, CRF = "fast", 23
AUDIO_BITRATE = 128_000
AUDIO_RATE = 48_000
PLAYABLE_MIMES = frozenset({"video/mp4", "video/x-m4v", "video/webm"})
PLAYABLE_VIDEO = frozenset({"h264", "vp8", "vp9", "av1"})
PLAYABLE_AUDIO = frozenset({"aac", "mp3", "opus", "vorbis", "flac"})
PLAYABLE_PIXELS = frozenset({"yuv420p", "yuvj420p"})
ENCODE_ERRORS = (av.FFmpegError, ValueError, OverflowError)

if TYPE_CHECKING:
    SoundPacket = Packet[AudioStream]  # PyAV's stubs are generic, its classes are not
Progress = Callable[[float], None]
Stop = Callable[[], bool]


class Cancelled(Exception):
    """The encode was stopped (the service is shutting down); nothing is kept."""


@dataclass(frozen=True)
class ClipFacts:
    """What decides whether a clip needs a preview."""

    mime: str
    video_codec: str | None
    pixel_format: str | None
    audio_codec: str | None

    @property
    def playable(self) -> bool:
        """True when Chrome, Firefox and Safari all play the file as it is."""
        return (
            self.mime in PLAYABLE_MIMES
            and self.video_codec in PLAYABLE_VIDEO
            and self.pixel_format in PLAYABLE_PIXELS
            and (self.audio_codec is None or self.audio_codec in PLAYABLE_AUDIO)
        )


def clip_facts(source: Path) -> ClipFacts:
    """Probe the container (headers only, nothing decoded)."""
    known = media_type(source)
    if known is None or known.kind != "video":
        raise UnsupportedMediaType(f"{source.name}: only videos have browser previews")
    with open_video(source, "not a readable video") as container:
        stream = video_stream(container)
        audio = container.streams.audio[0] if container.streams.audio else None
        return ClipFacts(
            known.mime,
            codec_name(stream) if stream is not None else None,
            stream.codec_context.format.name if stream and stream.codec_context.format else None,
            codec_name(audio) if audio is not None else None,
        )


def needs_preview(source: Path) -> bool:
    """False for a clip browsers play as it is; True for any other video, and for one that
    cannot even be probed (making its preview then says why)."""
    try:
        return not clip_facts(source).playable
    except CorruptFile:
        return True


def preview_size(width: int, height: int, aspect: Fraction | float = 1) -> tuple[int, int]:
    """The preview's frame size: square pixels, fitting 1280x720 either way up, even sides."""
    wide = width * float(aspect or 1)
    scale = min(1.0, MAX_LONG / max(wide, height), MAX_SHORT / min(wide, height))
    return max(2, round(wide * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def ffmpeg_command(
    binary: str, source: Path, dest: Path, size: tuple[int, int], copy_audio: bool
) -> list[str]:
    """The ``ffmpeg`` command line making the same preview with the same settings (for the
    benchmark)."""
    audio = ["-c:a", "copy"] if copy_audio else ["-c:a", "aac", "-b:a", str(AUDIO_BITRATE)]
    return [
        binary, "-nostdin", "-v", "error", "-y", "-noautorotate", "-i", str(source),
        "-map", "0:v:0", "-map", "0:a:0?", "-sn", "-dn",
        "-vf", f"scale={size[0]}:{size[1]}:flags=bicubic", "-pix_fmt", "yuv420p",
        "-c:v", "libx264", "-preset", PRESET, "-crf", str(CRF),
        *audio, "-movflags", "+faststart", str(dest),
    ]  # fmt: skip


@dataclass
class _Output:
    """The preview being written: its container and streams, and the sound it waits to mux."""

    container: OutputContainer
    video: VideoStream | None = None
    audio: AudioStream | None = None
    resampler: AudioResampler | None = None
    size: tuple[int, int] = (0, 0)
    held: list[SoundPacket] | None = None


def make_preview(
    source: Path,
    dest: Path,
    *,
    budget: DecodeBudget | None = None,
    progress: Progress | None = None,
    stop: Stop | None = None,
) -> None:
    """Write the preview of ``source`` to ``dest`` (a temp file: the caller renames it),
    holding the decode's peak in ``budget`` meanwhile.

    Raises CorruptFile when the clip has no decodable picture or FFmpeg fails, Cancelled when
    ``stop()`` turns true (checked every frame). ``progress`` gets the fraction done."""
    with re_encoding(source, budget or DIRECT_BUDGET, "a browser preview", "to preview") as (
        container,
        stream,
    ):
        _transcode(container, stream, dest, progress or (lambda _: None), stop)


@contextmanager
def re_encoding(
    source: Path, budget: DecodeBudget, what: str, no_video: str
) -> Iterator[tuple[InputContainer, VideoStream]]:
    """Open ``source`` for re-encoding into ``what`` (a browser preview, a proxy): its video
    stream, checked against the hard cap, with its decode peak held in ``budget`` while the body
    runs; FFmpeg's failures become CorruptFile naming the file (never a server path)."""
    with open_video(source, f"cannot make {what}: not a readable video") as container:
        stream = video_stream(container)
        if stream is None:
            raise UnsupportedMediaType(f"{source.name}: no video stream {no_video}")
        size = (stream.codec_context.width or 0, stream.codec_context.height or 0)
        peak = video_peak(*size)
        check_cap(source.name, size, peak, budget.capacity)
        try:
            with budget.hold(peak):
                yield container, stream
        except ENCODE_ERRORS as exc:
            raise CorruptFile(failure(source, f"cannot make {what}", exc)) from exc
        except RuntimeError as exc:
            raise CorruptFile(f"{source.name}: cannot make {what} ({exc})") from exc


def _transcode(
    container: InputContainer,
    stream: VideoStream,
    dest: Path,
    progress: Progress,
    stop: Stop | None,
) -> None:
    stream.thread_type = "AUTO"
    sound = container.streams.audio[0] if container.streams.audio else None
    start = (container.start_time or 0) / 1_000_000
    duration = (container.duration or 0) / 1_000_000
    options = {"movflags": "+faststart"}
    with av.open(str(dest), "w", format="mp4", options=options) as output:
        out = _Output(output, held=[])
        if sound is not None:
            _add_audio(out, sound)
        clock = _Clock(stream, start)
        for item in _interleaved(container, stream, sound):
            if stop is not None and stop():
                raise Cancelled
            if isinstance(item, VideoFrame):
                if out.video is None:
                    _add_video(out, stream, item)
                _encode_video(out, item, clock)
                if duration and item.time is not None:
                    progress(min(1.0, max(0.0, (item.time - start) / duration)))
            else:
                _mux_audio(out, _shift(item, start))
        if out.video is None:
            raise RuntimeError("no decodable video frame")
        _flush(out)
    progress(1.0)


def _interleaved(
    container: InputContainer, stream: VideoStream, sound: AudioStream | None
) -> Iterator[VideoFrame | SoundPacket]:
    """Decoded picture frames and (undecoded) sound packets in file order."""
    if sound is None:
        yield from frames(container, stream)
        return
    for packet in container.demux(stream, sound):
        if packet.stream is stream:
            try:
                yield from cast(list[VideoFrame], packet.decode())
            except (av.FFmpegError, ValueError):
                continue
        elif packet.dts is not None or packet.size == 0:
            yield cast("SoundPacket", packet)


class _Clock:
    """Output timestamps in the source's time base, starting at 0 and always increasing."""

    def __init__(self, stream: VideoStream, start: float) -> None:
        self.time_base = stream.time_base or Fraction(1, 90_000)
        rate = stream.average_rate or stream.guessed_rate or 30
        self.step = max(1, round(1 / (float(rate) * self.time_base)))
        self.offset = round(start / self.time_base)
        self.last: int | None = None

    def stamp(self, pts: int | None) -> int:
        value = pts - self.offset if pts is not None else None
        if value is None or (self.last is not None and value <= self.last):
            value = 0 if self.last is None else self.last + self.step
        self.last = value
        return value


def _add_video(out: _Output, stream: VideoStream, first: VideoFrame) -> None:
    aspect = stream.sample_aspect_ratio or 1
    out.size = preview_size(first.width, first.height, aspect)
    video = out.container.add_stream("libx264", rate=stream.average_rate or stream.guessed_rate)
    video.width, video.height = out.size
    video.pix_fmt = "yuv420p"
    video.codec_context.time_base = stream.time_base or Fraction(1, 90_000)
    video.options = {"preset": PRESET, "crf": str(CRF)}
    # FFmpeg's default (frame and slice): PyAV's own default, slice only, makes libx264 use
    # sliced threads, slower for the same quality
    video.codec_context.thread_type = "AUTO"
    if first.rotation:
        video.set_display_rotation(first.rotation)
    out.video = video
    held, out.held = out.held or [], None
    for packet in held:
        _mux_audio(out, packet)


def _encode_video(out: _Output, frame: VideoFrame, clock: _Clock) -> None:
    assert out.video is not None
    width, height = out.size
    picture = frame.reformat(width, height, "yuv420p", interpolation=Interpolation.BICUBIC)
    picture.pts = clock.stamp(frame.pts)
    picture.time_base = clock.time_base
    picture.pict_type = av.video.frame.PictureType.NONE
    out.container.mux(out.video.encode(picture))


def _add_audio(out: _Output, sound: AudioStream) -> None:
    if codec_name(sound) == "aac":
        out.audio = out.container.add_stream_from_template(sound)
        return
    out.audio = out.container.add_stream("aac", rate=AUDIO_RATE)
    out.audio.layout = "stereo"
    out.audio.bit_rate = AUDIO_BITRATE
    out.resampler = AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)


def _mux_audio(out: _Output, packet: SoundPacket) -> None:
    """Copy an AAC packet, or decode and re-encode other sound; held until the picture's
    stream exists (the header is written with the first packet)."""
    if out.held is not None:
        out.held.append(packet)
        return
    assert out.audio is not None
    if out.resampler is None:
        if packet.size:
            packet.stream = out.audio
            out.container.mux(packet)
        return
    try:
        decoded = packet.decode()
    except (av.FFmpegError, ValueError):
        return
    for frame in decoded:
        _encode_audio(out, frame)


def _shift(packet: SoundPacket, start: float) -> SoundPacket:
    """Move a sound packet as far as the picture moved: the preview starts at 0."""
    offset = round(start / packet.time_base) if packet.time_base else 0
    if packet.pts is not None:
        packet.pts -= offset
    if packet.dts is not None:
        packet.dts -= offset
    return packet


def _encode_audio(out: _Output, frame: AudioFrame | None) -> None:
    assert out.audio is not None and out.resampler is not None
    for resampled in out.resampler.resample(frame):
        resampled.pts = None
        out.container.mux(out.audio.encode(resampled))


def _flush(out: _Output) -> None:
    assert out.video is not None
    if out.resampler is not None and out.audio is not None:
        _encode_audio(out, None)
        out.container.mux(out.audio.encode(None))
    out.container.mux(out.video.encode(None))

"""Browser previews as files: H.264 within 720p, as long as the source, turned as it says, sound
kept; and which clips a browser plays as they are."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

from daemon.errors import CorruptFile
from daemon.media.transcode import Cancelled, ClipFacts, clip_facts, make_preview, preview_size
from tests.factories import corrupt_copy, make_mpeg, make_video


def probe(path: Path) -> dict[str, object]:
    """What a browser would see: codec, size, pixel format, duration, sound, rotation."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        first = next(container.decode(video))
        return {
            "codec": video.codec_context.name,
            "size": (video.width, video.height),
            "pix_fmt": video.codec_context.format.name,
            "duration": (container.duration or 0) / 1e6,
            "audio": [a.codec_context.name for a in container.streams.audio],
            "rotation": first.rotation,
        }


def test_hevc_above_720p_becomes_h264_720p_as_long_as_the_source(tmp_path: Path) -> None:
    source = make_video(
        tmp_path / "wide.mov", codec="hevc", size=(1600, 900), seconds=1.0, fps=5, audio=True
    )
    dest = tmp_path / "preview.mp4"
    fractions: list[float] = []
    make_preview(source, dest, progress=fractions.append)
    seen = probe(dest)
    assert seen["codec"] == "h264" and seen["pix_fmt"] == "yuv420p"
    assert seen["size"] == (1280, 720)
    assert seen["duration"] == pytest.approx(1.0, abs=0.1)
    assert seen["audio"] == ["aac"]
    data = dest.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart: plays while it downloads
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)


def test_rotation_is_kept_and_small_clips_are_not_enlarged(tmp_path: Path) -> None:
    source = make_video(tmp_path / "tall.mov", codec="hevc", size=(64, 48), rotation=90)
    dest = tmp_path / "preview.mp4"
    make_preview(source, dest)
    seen = probe(dest)
    assert seen["size"] == (64, 48)
    assert seen["rotation"] == -90  # PyAV's counter-clockwise degrees: 90 clockwise, as the source


def test_other_sound_is_encoded_to_aac(tmp_path: Path) -> None:
    source = make_mpeg(tmp_path / "camcorder.mpg", size=(64, 48), seconds=1.0)
    assert clip_facts(source).audio_codec == "mp2"
    dest = tmp_path / "preview.mp4"
    make_preview(source, dest)
    seen = probe(dest)
    assert seen["codec"] == "h264" and seen["audio"] == ["aac"]
    assert seen["duration"] == pytest.approx(1.0, abs=0.1)


def test_an_unreadable_clip_is_a_clear_error(tmp_path: Path) -> None:
    good = make_video(tmp_path / "good.mov", codec="hevc", size=(64, 48), seconds=2.0)
    broken = corrupt_copy(good, tmp_path / "broken.mov", keep=0.3)
    with pytest.raises(CorruptFile, match=r"^broken\.mov: "):
        make_preview(broken, tmp_path / "out.mp4")


def test_stopping_cancels_the_encode(tmp_path: Path) -> None:
    source = make_video(tmp_path / "clip.mov", codec="hevc", size=(64, 48))
    with pytest.raises(Cancelled):
        make_preview(source, tmp_path / "out.mp4", stop=lambda: True)


def test_which_clips_browsers_play_as_they_are(tmp_path: Path) -> None:
    h264_mp4 = make_video(tmp_path / "a.mp4", size=(64, 48), audio=True)
    h264_mov = make_video(tmp_path / "b.mov", size=(64, 48))
    hevc_mp4 = make_video(tmp_path / "c.mp4", codec="hevc", size=(64, 48))
    assert clip_facts(h264_mp4).playable
    assert not clip_facts(h264_mov).playable  # a QuickTime wrapper: Firefox refuses it
    assert not clip_facts(hevc_mp4).playable
    assert ClipFacts("video/webm", "vp9", "yuv420p", "opus").playable
    assert ClipFacts("video/mp4", "av1", "yuv420p", None).playable
    assert not ClipFacts("video/mp4", "h264", "yuv422p10le", "aac").playable  # 10-bit 4:2:2
    assert not ClipFacts("video/mp4", "h264", "yuv420p", "pcm_s16le").playable
    assert not ClipFacts("video/quicktime", "prores", "yuv422p10le", None).playable


@pytest.mark.parametrize(
    ("size", "aspect", "expected"),
    [
        ((3840, 2160), 1, (1280, 720)),
        ((1080, 1920), 1, (720, 1280)),  # portrait: 720 is the short side
        ((720, 576), Fraction(64, 45), (1024, 576)),  # anamorphic PAL widescreen: square pixels
        ((1440, 1080), Fraction(4, 3), (1280, 720)),  # HDV
        ((64, 48), 1, (64, 48)),  # never enlarged
        ((65, 49), 1, (64, 48)),  # even sides for 4:2:0
    ],
)
def test_preview_size(
    size: tuple[int, int], aspect: Fraction | int, expected: tuple[int, int]
) -> None:
    assert preview_size(*size, aspect) == expected

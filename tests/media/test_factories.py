"""The media factories themselves: deterministic bytes, variants, and what players will see."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from tests.factories import (
    make_audio,
    make_heic,
    make_image,
    make_jpeg,
    make_video,
    photo_like,
)


def test_same_arguments_same_bytes_and_variants_differ(tmp_path: Path) -> None:
    one = make_jpeg(tmp_path / "a.jpg").read_bytes()
    assert make_jpeg(tmp_path / "b.jpg").read_bytes() == one
    assert make_jpeg(tmp_path / "c.jpg", variant=1).read_bytes() != one
    png = make_image(tmp_path / "a.png").read_bytes()
    assert make_image(tmp_path / "b.png").read_bytes() == png
    assert make_image(tmp_path / "c.png", variant=2).read_bytes() != png
    assert photo_like((64, 48), seed=1).tobytes() == photo_like((64, 48), seed=1).tobytes()
    assert photo_like((64, 48), seed=1).tobytes() != photo_like((64, 48), seed=2).tobytes()


@pytest.mark.parametrize(("codec", "name"), [("h264", "c.mp4"), ("hevc", "c.mov")])
def test_videos_are_deterministic_per_variant(tmp_path: Path, codec: str, name: str) -> None:
    def clip(folder: str, variant: int = 0) -> bytes:
        path = make_video(tmp_path / folder / name, codec=codec, audio=True, variant=variant)
        return path.read_bytes()

    assert clip("a") == clip("b") != clip("c", variant=1)


def test_heic_and_audio_are_deterministic(tmp_path: Path) -> None:
    assert (
        make_heic(tmp_path / "a.heic").read_bytes() == make_heic(tmp_path / "b.heic").read_bytes()
    )
    assert (
        make_audio(tmp_path / "a.m4a").read_bytes() == make_audio(tmp_path / "b.m4a").read_bytes()
    )


def test_rotation_is_in_the_display_matrix_as_an_iphone_writes_it(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "c.mov", codec="hevc", rotation=90)
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.codec_tag == "hvc1"
        frame = next(container.decode(stream))
        assert frame.rotation == -90  # what ffprobe prints for a portrait iPhone clip

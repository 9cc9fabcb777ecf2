"""Scrub strips: the sprite sheet's tiles and the WebVTT cues that cover the whole clip."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from PIL import Image

from daemon.media.scrub import MAX_TILES, TILE_WIDTH, make_strip, plan_strip
from tests.factories import make_sparse_keyframes, make_video
from tests.media.colours import is_blue, is_red, rgb

CUE = re.compile(
    r"(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)"
)


def seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def cues(track: Path) -> list[tuple[float, float, str, tuple[int, int, int, int]]]:
    text = track.read_text()
    assert text.startswith("WEBVTT\n\n")
    found = []
    for match in CUE.finditer(text):
        g = match.groups()
        box = (int(g[9]), int(g[10]), int(g[11]), int(g[12]))
        found.append((seconds(*g[0:4]), seconds(*g[4:8]), g[8], box))
    return found


def test_sprite_tiles_and_cues_cover_the_clip(tmp_path: Path) -> None:
    source = make_video(tmp_path / "clip.mp4", size=(64, 48), seconds=5.0, fps=10)
    sprite, track = tmp_path / "s.jpg", tmp_path / "s.vtt"
    make_strip(source, sprite, track)
    found = cues(track)
    assert len(found) == 3  # one every 2 s (5 s -> three tiles, 1.67 s apart)
    assert found[0][0] == 0.0 and found[-1][1] == pytest.approx(5.0, abs=0.001)
    for (_, end, _, _), (start, _, _, _) in itertools.pairwise(found):
        assert start == end  # no gap, no overlap
    assert {name for _, _, name, _ in found} == {"s.jpg"}
    assert [box for *_, box in found] == [(0, 0, 160, 120), (160, 0, 160, 120), (320, 0, 160, 120)]
    with Image.open(sprite) as image:
        assert image.format == "JPEG" and image.size == (480, 120)
        for x, y, w, h in (box for *_, box in found):
            tile = image.crop((x, y, x + w, y + h))
            assert is_red(tile, (20, 60)) and is_blue(tile, (140, 60))  # not black, not empty


def test_a_portrait_clip_gets_upright_tall_tiles(tmp_path: Path) -> None:
    source = make_video(tmp_path / "tall.mov", codec="hevc", size=(64, 48), seconds=1, rotation=90)
    sprite, track = tmp_path / "t.jpg", tmp_path / "t.vtt"
    plan = make_strip(source, sprite, track)
    assert plan.tile == (TILE_WIDTH, 213)
    with Image.open(sprite) as image:
        assert image.size == (160, 213)
        assert is_red(image, (80, 30)) and is_blue(image, (80, 180))  # turned clockwise


def test_tiles_follow_the_clip_even_with_one_keyframe(tmp_path: Path) -> None:
    """Green until 3.5 s, then the red/blue pattern; a single keyframe at the start."""
    source = make_sparse_keyframes(tmp_path / "screen.mp4", seconds=8.0, fps=10)
    sprite, track = tmp_path / "k.jpg", tmp_path / "k.vtt"
    make_strip(source, sprite, track)
    found = cues(track)
    assert len(found) == 4
    with Image.open(sprite) as image:
        greens = []
        for x, y, w, h in (box for *_, box in found):
            r, g, _ = rgb(image, (x + w // 4, y + h // 2))
            greens.append(g > 150 and r < 100)
    assert greens == [True, True, False, False]  # tiles at 1, 3, 5 and 7 s


def test_long_clips_get_at_most_a_hundred_tiles() -> None:
    plan = plan_strip(3600.0, (1920, 1080))
    assert plan.count == MAX_TILES and plan.interval == 36.0
    assert plan.sprite_size == (1600, 900) and plan.cue(99) == (3564.0, 3600.0)
    short = plan_strip(0.5, (1920, 1080))
    assert short.count == 1 and short.cue(0) == (0.0, 0.5)

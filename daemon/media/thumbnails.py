"""Thumbnails: JPEGs with the longest side <= 640 px, orientation applied, made the fast way each
format allows (JPEG draft decoding at 1/2..1/8 scale, PNG bands, HEIF tiles, a raw's embedded
preview, a keyframe seek for video)."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path

import av
from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image, ImageOps

from daemon.errors import CorruptFile, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from daemon.media.budget import DecodeBudget
from daemon.media.decodeplan import (
    DIRECT_BUDGET,
    FIXED_BYTES,
    JPEG_FORMATS,
    ImagePlan,
    check_cap,
    plan_image,
    video_peak,
    whole_plan,
)
from daemon.media.heifgrid import decode_grid
from daemon.media.images import (
    ORIENTATION,
    header_exif,
    heif_orientation,
    image_file,
    open_image,
    pad_truncated_jpeg,
)
from daemon.media.pngbands import decode_reduced
from daemon.media.raw import decode_half, decode_peak, raw_info, raw_preview
from daemon.media.reasons import failure
from daemon.media.video import clockwise, frame_at, open_video, video_stream
from daemon.mediatypes import is_raw, media_type
from daemon.storage.conventions import atomic_write_bytes

MAX_SIDE = 640
QUALITY = 80
VIDEO_POSITION = 0.10  # a frame ~10% in, past black leaders and fades
CLIENT_FORMATS = JPEG_FORMATS | {"PNG", "WEBP"}
CLIENT_MAX_PIXELS = 25_000_000
BACKGROUND = (255, 255, 255)  # what transparent pixels become
WIDE_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})
DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, av.FFmpegError)

# Clockwise display rotation -> the transpose that shows the picture upright.
_TURN = {
    90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}
# EXIF orientation -> the transpose that shows the picture upright (as ImageOps.exif_transpose).
_EXIF_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class ThumbnailInfo:
    """A written thumbnail: where, and its pixel size."""

    path: Path
    width: int
    height: int


def eight_bit(image: Image.Image) -> Image.Image:
    """16-bit (and 32-bit integer or float) greyscale scaled to 8 bits: Pillow's own conversion
    clips every value above 255 to white."""
    if image.mode in WIDE_MODES:
        wide = image if image.mode == "I" else image.convert("I")
        high = wide.getextrema()[1]
        scale = 1 / 256 if image.mode != "I" or (isinstance(high, int) and high > 255) else 1
        return wide.point(lambda value: value * scale).convert("L")
    if image.mode == "F":
        high = image.getextrema()[1]
        scale = 255 if isinstance(high, float) and high <= 1.0 else 1
        return image.point(lambda value: value * scale).convert("L")
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparency over white, palettes and greyscale expanded, 16-bit scaled."""
    if image.mode == "RGB":
        return image
    image = eight_bit(image)
    if image.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _fit(image: Image.Image, max_side: int) -> Image.Image:
    """Shrink in place so the longest side is <= max_side (never enlarge)."""
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.BICUBIC, reducing_gap=2.0)
    return image


def _shrunk(image: Image.Image, max_side: int) -> Image.Image:
    """Decode at reduced scale where the codec can, shrink, then apply the orientation."""
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)  # GIF/WebP/TIFF: the first frame
    if image.format == "HEIF":
        orientation = heif_orientation(image)  # read before decoding (it needs the file)
        return to_rgb(_upright(_fit(image, max_side), orientation))
    if image.format in JPEG_FORMATS:
        image.draft("RGB", (max_side, max_side))  # libjpeg's scaled IDCT: 1/2, 1/4, 1/8
        pad_truncated_jpeg(image)  # a JPEG cut short: decode what is there
    _fit(image, max_side)  # loads the pixels
    return to_rgb(ImageOps.exif_transpose(image))


def _upright(picture: Image.Image, orientation: int) -> Image.Image:
    """Apply an EXIF orientation to a picture decoded apart from its file."""
    method = _EXIF_TRANSPOSE.get(orientation)
    return picture.transpose(method) if method is not None else picture


def _decode(image: Image.Image, plan: ImagePlan, max_side: int) -> Image.Image:
    """Decode as planned: a PNG band by band or a HEIF grid tile by tile into a reduced
    picture, anything else by Pillow."""
    fp = image_file(image)
    if plan.grid is not None and fp is not None:
        orientation = heif_orientation(image)
        picture = decode_grid(fp, plan.grid, plan.factor)
        return to_rgb(_upright(_fit(picture, max_side), orientation))
    if plan.png is None or fp is None:
        return _shrunk(image, max_side)
    orientation = header_exif(image).get(ORIENTATION, 1)
    picture = decode_reduced(fp, plan.png, plan.factor)
    return to_rgb(_upright(_fit(picture, max_side), orientation))


def _planned(source: Path, image: Image.Image, max_side: int, budget: DecodeBudget) -> Image.Image:
    """Decode ``image`` as planned, holding its peak; a HEIF grid FFmpeg cannot decode is
    decoded whole by libheif instead (holding that peak)."""
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
    plan = plan_image(image, image_file(image), max_side)
    check_cap(source.name, image.size, plan.peak, budget.capacity)
    try:
        with budget.hold(plan.peak):
            return _decode(image, plan, max_side)
    except (av.FFmpegError, EOFError, KeyError, ValueError):
        if plan.grid is None:
            raise
    plan = whole_plan(image)
    check_cap(source.name, image.size, plan.peak, budget.capacity)
    with budget.hold(plan.peak):
        return _shrunk(image, max_side)


def image_thumbnail(
    source: Path, max_side: int = MAX_SIDE, budget: DecodeBudget | None = None
) -> Image.Image:
    """An upright RGB picture no larger than max_side from a still image file, decoded while
    holding its estimated peak in ``budget`` (PayloadTooLarge beyond the hard cap)."""
    budget = budget or DIRECT_BUDGET
    try:
        if is_raw(source):
            return raw_thumbnail(source, max_side, budget)
        with open_image(source) as image:
            return _planned(source, image, max_side, budget)
    except Image.DecompressionBombError as exc:
        raise PayloadTooLarge(f"{source.name}: too many pixels to decode ({exc})") from exc
    except DECODE_ERRORS as exc:
        raise CorruptFile(failure(source, "cannot decode image", exc)) from exc


def raw_thumbnail(source: Path, max_side: int, budget: DecodeBudget) -> Image.Image:
    """A camera raw's picture from the largest preview it embeds (drafted like any JPEG) and
    turned as the raw says; a raw with none is decoded by LibRaw at half size."""
    found = raw_preview(source)
    if found is None:
        size = raw_info(source).size or (0, 0)
        peak = decode_peak(size) + FIXED_BYTES
        check_cap(source.name, size, peak, budget.capacity)
        with budget.hold(peak):
            return to_rgb(_fit(decode_half(source), max_side))  # LibRaw turns it upright
    preview, orientation = found
    if preview.bitmap is not None:
        picture = _fit(preview.bitmap, max_side)
    else:
        assert preview.jpeg is not None
        with Image.open(io.BytesIO(preview.jpeg)) as image:
            plan = plan_image(image, None, max_side)
            peak = plan.peak + len(preview.jpeg)
            check_cap(source.name, image.size, peak, budget.capacity)
            with budget.hold(peak):
                pad_truncated_jpeg(image)
                picture = _fit(image, max_side)
                picture.load()
    return to_rgb(_upright(picture, orientation))


def video_thumbnail(
    source: Path, max_side: int = MAX_SIDE, budget: DecodeBudget | None = None
) -> Image.Image:
    """A frame ~10% into the clip, scaled (square pixels) and turned as the display matrix says."""
    budget = budget or DIRECT_BUDGET
    with open_video(source, "not a readable video") as container:
        stream = video_stream(container)
        if stream is None:
            raise UnsupportedMediaType(f"{source.name}: no video stream to preview")
        stream.thread_type = "AUTO"
        size = (stream.codec_context.width or 0, stream.codec_context.height or 0)
        peak = video_peak(*size)
        check_cap(source.name, size, peak, budget.capacity)
        with budget.hold(peak):
            image, turn = _video_frame(source, container, stream, max_side)
    return image.transpose(turn) if turn is not None else image


def _video_frame(
    source: Path, container: InputContainer, stream: VideoStream, max_side: int
) -> tuple[Image.Image, Image.Transpose | None]:
    frame = frame_at(container, stream, VIDEO_POSITION)
    if frame is None:
        raise CorruptFile(f"{source.name}: no decodable video frame")
    aspect = float(stream.sample_aspect_ratio or 1) or 1.0
    width, height = frame.width * aspect, float(frame.height)
    scale = min(1.0, max_side / max(width, height))
    size = max(1, round(width * scale)), max(1, round(height * scale))
    image = _to_image(frame.reformat(width=size[0], height=size[1], format="rgb24"))
    return image, _TURN.get(clockwise(frame))


def _to_image(rgb: VideoFrame) -> Image.Image:
    """An rgb24 frame as a Pillow image (rows may be padded: honour the line size)."""
    plane = rgb.planes[0]
    size = (rgb.width, rgb.height)
    return Image.frombuffer("RGB", size, bytes(plane), "raw", "RGB", plane.line_size, 1)


def render(
    source: Path, max_side: int = MAX_SIDE, budget: DecodeBudget | None = None
) -> Image.Image:
    """The thumbnail picture for any accepted file (UnsupportedMediaType for audio)."""
    known = media_type(source)
    if known is None or known.kind == "audio":
        raise UnsupportedMediaType(f"{source.name}: no thumbnail for this kind of file")
    if known.kind == "video":
        return video_thumbnail(source, max_side, budget)
    return image_thumbnail(source, max_side, budget)


def jpeg_bytes(image: Image.Image, quality: int = QUALITY) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def make_thumbnail(
    src: Path,
    dest: Path,
    *,
    max_side: int = MAX_SIDE,
    quality: int = QUALITY,
    file_mode: int = 0o644,
    budget: DecodeBudget | None = None,
) -> ThumbnailInfo:
    """Write ``dest`` (JPEG, longest side <= max_side, upright) atomically from ``src``.

    Raises UnsupportedMediaType for audio and other files without a picture, CorruptFile for a
    file that cannot be decoded and PayloadTooLarge for one past the hard cap; nothing is left
    at ``dest`` then. The decode holds its estimated peak in ``budget`` while it runs.
    """
    image = render(src, max_side, budget)
    atomic_write_bytes(dest, jpeg_bytes(image, quality), file_mode)
    return ThumbnailInfo(dest, image.width, image.height)


def _check_client_image(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as probe:
        if probe.format not in CLIENT_FORMATS:
            raise InvalidInput(f"thumbnail must be JPEG, PNG or WebP, not {probe.format}")
        if probe.width * probe.height > CLIENT_MAX_PIXELS:
            raise InvalidInput(f"thumbnail has more than {CLIENT_MAX_PIXELS} pixels")
        probe.verify()


def validate_client_thumbnail(data: bytes, max_bytes: int) -> bytes:
    """Check a client-made thumbnail is a real JPEG/PNG/WebP no larger than ``max_bytes``, and
    return it re-encoded as an upright JPEG no larger than 640 px.

    Raises PayloadTooLarge when too big and InvalidInput when it is not a sound image.
    """
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"thumbnail is larger than {max_bytes} bytes")
    try:
        _check_client_image(data)
        with Image.open(io.BytesIO(data)) as image:
            picture = _shrunk(image, MAX_SIDE)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise InvalidInput(f"thumbnail is not a valid image ({exc})") from exc
    return jpeg_bytes(picture)

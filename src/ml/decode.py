"""Turn encoded image bytes into one greyscale array at a bounded cost, refusing what is not a safe image.

What an image costs is checked from its header before any pixel is decoded: its pixel count, and for a
JPEG the work its scans ask for. An image larger than the engine works at is read at a reduced size (a
JPEG by its decoder's DCT scaling, others reduced tile by tile as they are converted), so that no
full-size copy is made beyond the decoder's own.
"""

import io
import math
import re
import struct
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from .errors import ImageTooLarge, NotAnImage

FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")
# Pillow opens a JPEG that carries more pictures after its own (MPF: phones' depth maps, gain maps) as MPO.
JPEG_FORMATS = ("JPEG", "MPO")
DEFAULT_MAX_PIXELS = 40_000_000
MAX_DECODED_BYTES = 64 * 2**20
"""The most memory a decoder may fill with pixels that cannot be decoded at a reduced size (all but JPEG):
Pillow keeps an image of more than one channel in four bytes a pixel, so RGB and RGBA stop at 16.7
megapixels, greyscale and palette images at the pixel limit."""
FORMAT_MAX_PIXELS = {"WEBP": 10_000_000, "TIFF": 10_000_000}
"""libwebp decodes into buffers of its own, which Pillow then copies: some 15 bytes a pixel in all.
libtiff decodes a pixel at several times the cost of PNG's decoder."""
MAX_PARTS = 50_000
"""Pillow reads the chunks of a PNG, the segments of a JPEG up to its pixels, the blocks of a GIF and the
strips of a TIFF one by one in Python: fifty thousand cost a few tenths of a second, the million tiny ones
that fit in ten megabytes several seconds."""
MAX_JPEG_SCANS = 1000
MAX_JPEG_BLOCK_SCANS = 6_000_000
"""A JPEG decoder walks every 8x8 block of a scan's components for each scan, however few bytes the scan
has: a progressive JPEG of hundreds of tiny scans would cost a minute of CPU. A usual progressive JPEG of
40 megapixels (ten scans, chroma subsampled) asks for about five million."""
TILE_SIDE = 1024
"""Images are converted and reduced a tile at a time, so that no conversion is made at full size."""
ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
# Modes whose channels may be averaged as they are; others (palettes, bits, hues) are converted first.
AVERAGED_AS_THEY_ARE = ("L", "RGB", "RGBX", "CMYK", "YCbCr", "LAB", "I", "F")
# Everything but a stuffed byte (FF 00), a restart marker (FF D0-D7) or fill (FF FF) ends a scan's data.
END_OF_SCAN = re.compile(rb"\xff+[^\x00\xd0-\xd7\xff]")
START_OF_FRAME = {*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0)}
START_OF_SCAN, END_OF_IMAGE = 0xDA, 0xD9
# What Pillow and its decoders raise for data they cannot read: a TIFF's strip offsets typed as text,
# fractions or floats reach its seek as TypeError, typed as 64-bit in a classic TIFF as OverflowError.
DECODING_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    ZeroDivisionError,
    TypeError,
    OverflowError,
)
# EXIF orientation -> the transposition that turns the image upright (as ImageOps.exif_transpose does).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class UnsupportedMode(ValueError):
    """An image in a colour mode that cannot be turned into grey levels."""


@dataclass(frozen=True)
class Decoded:
    grey: np.ndarray
    """uint8, upright."""
    scale: float
    """Its pixels per pixel of the encoded image: below 1 when it was decoded at a reduced size."""


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode PNG, JPEG, WebP, BMP, GIF (first frame) or TIFF bytes to a uint8 greyscale array, upright,
    at full size. Transparent images are composited onto the background that keeps their strokes visible."""
    return decode(data, max_pixels).grey


def decode(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, working_size: int | None = None) -> Decoded:
    """Decode as `decode_image` does; with a `working_size`, an image whose long side is at least twice
    that is decoded at a reduced size whose long side is from one to two times `working_size`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            _check_structure(data)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            _check_pixels(image, max_pixels)
            width = image.width
            if working_size and image.format in JPEG_FORMATS and max(image.size) > working_size:
                shrink = working_size / max(image.size)
                image.draft("L" if image.mode in ("L", "RGB") else None, _scaled(image.size, shrink))
            image.load()
            # Read once loaded: Pillow turns a TIFF upright itself as it loads it, and drops its orientation.
            orientation = image.getexif().get(0x0112)
            factor = max(1, max(image.size) // working_size) if working_size else 1
            grey = _grey(image, factor)
            if orientation in UPRIGHT:
                grey = np.asarray(Image.fromarray(grey).transpose(UPRIGHT[orientation]))
            return Decoded(grey=grey, scale=image.width / factor / width)
    except ImageTooLarge:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _too_large(max_pixels) from error
    except Image.UnidentifiedImageError as error:
        raise NotAnImage("The data is not a PNG, JPEG, WebP, BMP, GIF or TIFF image.") from error
    except UnsupportedMode as error:
        raise NotAnImage(str(error)) from error
    except DECODING_ERRORS as error:
        raise NotAnImage(f"The image is truncated or corrupt ({error}).") from error


def _too_large(max_pixels: int) -> ImageTooLarge:
    return ImageTooLarge(f"The image has more than {max_pixels:,} pixels; send a smaller one.")


def _check_structure(data: bytes) -> None:
    """Refuse a file made of more parts than its decoder should walk, before Pillow walks them."""
    if data.startswith(b"\xff\xd8"):
        jpeg = jpeg_structure(data)
        parts, kind = jpeg.segments, "segments"
        if jpeg.scans > MAX_JPEG_SCANS or jpeg.block_scans > MAX_JPEG_BLOCK_SCANS:
            raise ImageTooLarge(
                f"The JPEG has {jpeg.scans:,} scans over its {jpeg.width:,}x{jpeg.height:,} pixels, more work to "
                "decode than this service accepts; save it as a baseline (not progressive) JPEG, or smaller."
            )
    elif data.startswith(b"\x89PNG"):
        parts, kind = _png_chunks(data), "chunks"
    elif data.startswith(b"GIF8"):
        parts, kind = _gif_blocks(data), "blocks"
    elif data[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
        parts, kind = _tiff_parts(data), "strips, tiles or tags"
    else:
        return
    if parts > MAX_PARTS:
        raise ImageTooLarge(f"The image is made of more than {MAX_PARTS:,} {kind}; save it again with an image editor.")


def _check_pixels(image: Image.Image, max_pixels: int) -> None:
    """Refuse, from the header alone, an image with more pixels than its format may have here."""
    width, height = image.size
    if width * height > max_pixels:
        raise _too_large(max_pixels)
    limit = FORMAT_MAX_PIXELS.get(image.format, max_pixels)
    if image.format not in JPEG_FORMATS:
        limit = min(limit, MAX_DECODED_BYTES // _bytes_per_pixel(image.mode))
    if width * height > limit:
        raise ImageTooLarge(
            f"A {image.format} image in {image.mode} may have at most {limit:,} pixels here, and this one has "
            f"{width * height:,}; send a smaller one, or a JPEG."
        )


def _bytes_per_pixel(mode: str) -> int:
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


@dataclass(frozen=True)
class JpegStructure:
    segments: int
    scans: int
    block_scans: int
    """How many 8x8 blocks a decoder visits over all the scans."""
    width: int
    height: int


def jpeg_structure(data: bytes) -> JpegStructure:
    """A JPEG's segments and scans, read from its markers up to the end of the image (or of the data, or
    the first segment past MAX_PARTS)."""
    blocks: dict[int, int] = {}
    segments = scans = block_scans = width = height = 0
    position = 2  # after the start-of-image marker
    while position + 4 <= len(data) and segments <= MAX_PARTS:
        if data[position] != 0xFF:
            break
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker == END_OF_IMAGE:
            break
        segments += 1
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            position += 2
            continue
        (length,) = struct.unpack_from(">H", data, position + 2)
        segment = data[position + 4 : position + 2 + length]
        position += 2 + length
        if marker in START_OF_FRAME and len(segment) >= 6:
            _, height, width = struct.unpack_from(">BHH", segment)
            blocks = _component_blocks(segment)
        elif marker == START_OF_SCAN and segment:
            scans += 1
            block_scans += sum(blocks.get(component, 0) for component in segment[1 : 1 + 2 * segment[0] : 2])
            found = END_OF_SCAN.search(data, position)
            if found is None:
                break
            position = found.end() - 2
    return JpegStructure(segments, scans, block_scans, width, height)


def _png_chunks(data: bytes) -> int:
    count, position = 0, 8
    while position + 8 <= len(data) and count <= MAX_PARTS:
        length, kind = struct.unpack_from(">I4s", data, position)
        position += 12 + length
        count += 1
        if kind == b"IEND":
            break
    return count


def _gif_blocks(data: bytes) -> int:
    """The sub-blocks of the extensions before the first image, which Pillow reads one by one."""
    if len(data) < 13:
        return 0
    flags = data[10]
    position = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    count = 0
    while position + 1 < len(data) and data[position] == 0x21 and count <= MAX_PARTS:
        position += 2  # the extension's introducer and label
        while position < len(data) and count <= MAX_PARTS:
            size = data[position]
            position += 1 + size
            count += 1
            if size == 0:
                break
    return count


def _tiff_parts(data: bytes) -> int:
    """The entries of a TIFF's first directory and its strips or tiles, which Pillow lists one by one."""
    order = "<" if data[:2] == b"II" else ">"
    big = data[2:4] in (b"+\0", b"\0+")
    try:
        if big:
            (directory,) = struct.unpack_from(order + "Q", data, 8)
            (entries,) = struct.unpack_from(order + "Q", data, directory)
            entry_format, start, size = order + "HHQ", directory + 8, 20
        else:
            (directory,) = struct.unpack_from(order + "I", data, 4)
            (entries,) = struct.unpack_from(order + "H", data, directory)
            entry_format, start, size = order + "HHI", directory + 2, 12
        parts = entries
        for index in range(min(entries, MAX_PARTS + 1)):
            tag, _, count = struct.unpack_from(entry_format, data, start + index * size)
            if tag in (273, 324):  # StripOffsets, TileOffsets
                parts += count
    except (struct.error, OverflowError):
        # Cut short, or an offset past what any file holds (more than an index can): Pillow will say so.
        return 0
    return parts


def _component_blocks(frame: bytes) -> dict[int, int]:
    """Each component's number of 8x8 blocks, from a start-of-frame segment."""
    if len(frame) < 6:
        return {}
    _, height, width, count = struct.unpack_from(">BHHB", frame)
    components = [frame[6 + 3 * i : 9 + 3 * i] for i in range(count) if len(frame) >= 9 + 3 * i]
    if not components:
        return {}
    h_max = max(c[1] >> 4 for c in components) or 1
    v_max = max(c[1] & 15 for c in components) or 1
    return {
        c[0]: math.ceil(math.ceil(width * (c[1] >> 4) / h_max) / 8)
        * math.ceil(math.ceil(height * (c[1] & 15) / v_max) / 8)
        for c in components
    }


def _scaled(size: tuple[int, int], factor: float) -> tuple[int, int]:
    return max(1, math.ceil(size[0] * factor)), max(1, math.ceil(size[1] * factor))


def _grey(image: Image.Image, factor: int) -> np.ndarray:
    """The image in grey levels, reduced by `factor` (a box average), converted one tile at a time.

    A transparent image is put on the background its strokes contrast with: a canvas exports its
    strokes on a transparent background, in any colour.
    """
    # What a canvas sends: composited in uint8 without first asking whether it is transparent at all,
    # since an opaque image composites to its own grey levels.
    if factor == 1 and image.mode in ("RGBA", "LA"):
        return _composited_canvas(image)
    if factor == 1 and "transparency" in image.info:
        return _composited(*cv2.split(_tiled(image, factor, _grey_and_alpha)))[1]
    if not _transparent(image):
        return _tiled(image, factor, _grey_tile)
    grey, alpha = np.moveaxis(_tiled(image, factor, _grey_and_alpha).astype(np.uint16), -1, 0)
    # Grey times alpha, in 255ths of a grey level: reduced tiles come premultiplied already.
    grey = grey * alpha if factor == 1 else grey * 255
    stroke_luminance = int(grey.sum(dtype=np.uint64)) / max(int(alpha.sum(dtype=np.uint64)), 1)
    background = 255 if stroke_luminance < 128 else 0
    # grey * alpha + background * (1 - alpha), in 255ths.
    return ((grey + background * (255 - alpha) + 127) // 255).astype(np.uint8)


def _composited_canvas(image: Image.Image) -> np.ndarray:
    """An RGBA or LA image at full size, composited as `_composited` does. Only the box where alpha is
    not zero is converted: a canvas is mostly bare, and a bare pixel composites to the background
    whatever its colour, adding nothing to the strokes' luminance."""
    box = image.getbbox(alpha_only=True)
    if box is None:
        return np.full((image.height, image.width), 255, np.uint8)  # no stroke: dark strokes on white
    left, top, right, bottom = box
    region = image if box == (0, 0, image.width, image.height) else image.crop(box)
    on_white, strokes = _composited(_tiled(region, 1, _grey_tile), _tiled(region, 1, _alpha_tile))
    if region is image:
        return strokes
    canvas = np.full((image.height, image.width), 255 if on_white else 0, np.uint8)
    canvas[top:bottom, left:right] = strokes
    return canvas


def _composited(grey: np.ndarray, alpha: np.ndarray) -> tuple[bool, np.ndarray]:
    """Grey levels and alpha, at full size, put on the background their strokes contrast with (whether
    it is white, and the result); as `_grey` does, in uint8 and with OpenCV (whose scaled product
    rounds grey * alpha / 255 exactly)."""
    # Exact sums: products below 2**16, kept in 16 bits and summed in double precision.
    weighted = cv2.sumElems(cv2.multiply(grey, alpha, dtype=cv2.CV_16U))[0]
    stroke_luminance = weighted / max(cv2.sumElems(alpha)[0], 1)
    premultiplied = cv2.multiply(grey, alpha, scale=1 / 255)
    if stroke_luminance < 128:
        # On white: grey * alpha + 255 * (1 - alpha), which never passes 255 as premultiplied <= alpha.
        return True, cv2.add(premultiplied, cv2.bitwise_not(alpha))
    return False, premultiplied


def _transparent(image: Image.Image) -> bool:
    if "transparency" in image.info:
        return True
    # A browser's canvas is exported as RGBA even when every pixel is opaque.
    return image.mode in ALPHA_MODES and image.getextrema()[-1][0] < 255


def _tiled(image: Image.Image, factor: int, convert) -> np.ndarray:
    """`convert` applied to each tile of the image, side by side again."""
    side = factor * max(1, TILE_SIDE // factor)
    if image.width <= side and image.height <= side:
        return convert(image, factor)
    rows = []
    for top in range(0, image.height, side):
        bottom = min(top + side, image.height)
        tiles = [
            convert(image.crop((left, top, min(left + side, image.width), bottom)), factor)
            for left in range(0, image.width, side)
        ]
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows)


def _grey_tile(tile: Image.Image, factor: int) -> np.ndarray:
    """An opaque tile in grey levels, reduced; CIELAB's L channel is its lightness."""
    reduced_first = factor > 1 and tile.mode in AVERAGED_AS_THEY_ARE
    if reduced_first:
        tile = tile.reduce(factor)
    tile = tile.getchannel("L") if tile.mode == "LAB" else _convert(tile, "L")
    return np.asarray(tile.reduce(factor) if factor > 1 and not reduced_first else tile)


def _alpha_tile(tile: Image.Image, factor: int) -> np.ndarray:
    return np.asarray(tile.getchannel("A"))


def _grey_and_alpha(tile: Image.Image, factor: int) -> np.ndarray:
    """A transparent tile as two channels, grey and alpha; reduced, its grey comes premultiplied by its
    alpha, since averaging premultiplied grey and compositing afterwards is the same as compositing first."""
    if factor == 1:
        return np.asarray(_convert(tile, "LA"))
    if tile.mode != "RGBa":
        tile = _convert(_convert(tile, "RGBA") if tile.mode != "RGBA" else tile, "RGBa")
    red, green, blue, alpha = np.moveaxis(np.asarray(tile.reduce(factor)).astype(np.uint32), -1, 0)
    # ITU-R 601-2 luminance, as Pillow converts RGB to L.
    grey = (red * 299 + green * 587 + blue * 114 + 500) // 1000
    return np.dstack([grey, alpha]).astype(np.uint8)


def _convert(tile: Image.Image, mode: str) -> Image.Image:
    try:
        return tile.convert(mode)
    except ValueError as error:
        raise UnsupportedMode(
            f"Images in the colour mode {tile.mode} are not supported; send RGB or greyscale."
        ) from error

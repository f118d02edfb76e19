"""What is stored of an uploaded image: its pixels, without the metadata it came with.

Photos carry where and when they were taken, and with what camera (EXIF, XMP, IPTC, comments, text
chunks); files may carry more after their end, or more frames. JPEG, PNG, still WebP and GIF files are
stripped losslessly, segment by segment, keeping only what draws the first image and its EXIF
orientation, and a BMP (which holds no metadata) is cut at its declared end; TIFF and animated PNG and
WebP are re-encoded as PNG, upright: re-encoding costs as much as decoding again.
"""

import io
import struct
import zlib

from PIL import Image, ImageOps

from src.ml.decode import UPRIGHT

ORIENTATION = 0x0112
# JPEG: the application segments that say how to draw (JFIF's density, Adobe's colour transform) are kept;
# the others (EXIF, XMP, ICC, IPTC, makers' notes) and comments are not.
JPEG_KEPT_APPLICATIONS = {0xE0: b"JFIF\0", 0xEE: b"Adobe"}
JPEG_COMMENT, JPEG_START_OF_SCAN, JPEG_END_OF_IMAGE = 0xFE, 0xDA, 0xD9
# PNG: what draws the image; text, time, EXIF, colour profiles, animation and private chunks are not kept.
PNG_KEPT = {b"IHDR", b"PLTE", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT", b"IDAT", b"IEND"}
WEBP_KEPT = {b"VP8X", b"ALPH", b"VP8 ", b"VP8L"}
WEBP_ICC, WEBP_EXIF, WEBP_XMP = 0x20, 0x08, 0x04
GIF_GRAPHIC_CONTROL, GIF_IMAGE, GIF_EXTENSION, GIF_TRAILER = 0xF9, 0x2C, 0x21, 0x3B


def without_metadata(data: bytes) -> tuple[bytes, str]:
    """The image to store for uploaded `data` (an image the engine has read), and its content type."""
    with Image.open(io.BytesIO(data)) as image:
        if image.format in ("JPEG", "MPO"):  # MPO: a JPEG with more pictures after its end, left out
            return _jpeg(data, _orientation(image.getexif())), "image/jpeg"
        # PNG and WebP say in their header whether more frames follow. A GIF is not asked: Pillow would read it
        # up to its second frame, which a file cut short after its first (that the engine read) does not have.
        if image.format == "PNG" and not image.is_animated:
            return _png(data), "image/png"
        if image.format == "WEBP" and not image.is_animated:
            return _webp(data, _orientation(image.getexif())), "image/webp"
        if image.format == "GIF":
            return _gif(data), "image/gif"
        if image.format == "BMP":
            (declared,) = struct.unpack_from("<I", data, 2)
            return data[: declared or len(data)], "image/bmp"
        return _reencoded(image), "image/png"


def _orientation(exif: Image.Exif) -> int:
    """The orientation the engine turned the image by (src.ml.decode.UPRIGHT); 1 for any other value, of
    whatever type or size a crafted file gives it."""
    orientation = exif.get(ORIENTATION, 1)
    return int(orientation) if orientation in UPRIGHT else 1


def _exif_orientation(orientation: int) -> bytes:
    """EXIF holding the orientation alone, after its "Exif\\0\\0" header."""
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return exif.tobytes()


def _jpeg(data: bytes, orientation: int) -> bytes:
    out = bytearray(data[:2])
    if orientation != 1:
        exif = _exif_orientation(orientation)
        out += b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
    position = 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xFF:
            position += 1
            continue
        if marker == JPEG_END_OF_IMAGE:
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            out += data[position : position + 2]
            position += 2
            continue
        (length,) = struct.unpack_from(">H", data, position + 2)
        end = position + 2 + length
        if marker == JPEG_START_OF_SCAN:
            # The entropy-coded data runs to the next marker that is not a stuffed byte or a restart.
            end = _end_of_scan(data, end)
        if not (marker == JPEG_COMMENT or (0xE0 <= marker <= 0xEF and not _kept_application(data, position, marker))):
            out += data[position:end]
        position = end
    return bytes(out + b"\xff\xd9")


def _kept_application(data: bytes, position: int, marker: int) -> bool:
    signature = JPEG_KEPT_APPLICATIONS.get(marker)
    return signature is not None and data.startswith(signature, position + 4)


def _end_of_scan(data: bytes, position: int) -> int:
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= len(data):
            return len(data)
        following = data[position + 1]
        if following == 0 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            position += 1
            continue
        return position


def _png(data: bytes) -> bytes:
    """Read from its chunks, not by Pillow, which decodes the whole image to find an eXIf chunk."""
    out = bytearray(data[:8])
    position = 8
    orientation_written = False
    while position + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        end = position + 12 + length
        if kind == b"eXIf" and not orientation_written:
            exif = Image.Exif()
            exif.load(data[position + 8 : position + 8 + length])
            orientation = _orientation(exif)
            if orientation != 1:
                out += _png_chunk(b"eXIf", _exif_orientation(orientation)[6:])
            orientation_written = True
        if kind in PNG_KEPT:
            out += data[position:end]
        position = end
        if kind == b"IEND":
            break
    return bytes(out)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _webp(data: bytes, orientation: int) -> bytes:
    chunks = []
    position = 12
    riff_end = min(len(data), 8 + struct.unpack_from("<I", data, 4)[0])
    while position + 8 <= riff_end:
        kind, size = struct.unpack_from("<4sI", data, position)
        payload = data[position + 8 : position + 8 + size]
        position += 8 + size + (size & 1)
        if kind == b"VP8X":
            flags = payload[0] & ~(WEBP_ICC | WEBP_EXIF | WEBP_XMP)
            if orientation != 1:
                flags |= WEBP_EXIF
            payload = bytes([flags]) + payload[1:]
        if kind in WEBP_KEPT:
            chunks.append((kind, payload))
    if orientation != 1 and chunks and chunks[0][0] == b"VP8X":
        chunks.append((b"EXIF", _exif_orientation(orientation)[6:]))
    body = b"".join(
        kind + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) & 1) for kind, payload in chunks
    )
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def _gif(data: bytes) -> bytes:
    """The header, the palette and the first image with its graphic control (transparency); no comments,
    no application data (XMP), no other frames."""
    flags = data[10]
    position = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    out = bytearray(data[:position])
    while position < len(data):
        introducer = data[position]
        if introducer == GIF_EXTENSION:
            start, label = position, data[position + 1]
            position = _after_sub_blocks(data, position + 2)
            if label == GIF_GRAPHIC_CONTROL:
                out += data[start:position]
        elif introducer == GIF_IMAGE:
            start, local_flags = position, data[position + 9]
            position += 10 + (3 << ((local_flags & 7) + 1) if local_flags & 0x80 else 0) + 1  # and the LZW code size
            position = _after_sub_blocks(data, position)
            out += data[start:position]
            break
        else:
            break
    return bytes(out + bytes([GIF_TRAILER]))


def _after_sub_blocks(data: bytes, position: int) -> int:
    while position < len(data) and data[position]:
        position += 1 + data[position]
    return position + 1


def _reencoded(image: Image.Image) -> bytes:
    """The first frame as a PNG, turned upright, in a mode PNG holds."""
    image.seek(0)
    image.load()  # which turns a TIFF upright already
    image = ImageOps.exif_transpose(image)
    if image.mode == "La":  # premultiplied: Pillow converts it to LA only
        image = image.convert("LA")
    if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
        has_alpha = "A" in image.getbands() or "a" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    transparency = image.info.get("transparency")
    # Pillow would write the original's ICC profile from its info; nothing of it is passed on.
    image.info = {}
    out = io.BytesIO()
    options = {} if transparency is None else {"transparency": transparency}
    image.save(out, format="PNG", compress_level=1, **options)
    return out.getvalue()

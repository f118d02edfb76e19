"""Crafted files that make an image service spend: made on demand, never committed, so that the tests and
`benchmarks.hostile` build the same ones.

Each builder returns encoded bytes; the sizes are the worst the service's limits allow (40 megapixels,
10 MiB) unless a caller asks for smaller.
"""

import io
import struct
import zlib

import numpy as np
from PIL import Image

SIDE_UNDER_40_MP = (7300, 5470)  # 39.9 megapixels


def encoded(image: Image.Image, image_format: str, **options) -> bytes:
    data = io.BytesIO()
    image.save(data, format=image_format, **options)
    return data.getvalue()


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


class _BitWriter:
    """Entropy-coded JPEG data: bits packed high first, each FF byte followed by a stuffed 00."""

    def __init__(self):
        self.out = bytearray()
        self.bits = 0
        self.count = 0

    def put(self, value: int, length: int) -> None:
        self.bits = (self.bits << length) | value
        self.count += length
        while self.count >= 8:
            self.count -= 8
            byte = (self.bits >> self.count) & 0xFF
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0)
        self.bits &= (1 << self.count) - 1

    def flush(self) -> bytes:
        if self.count:
            self.put((1 << (8 - self.count)) - 1, 8 - self.count)
        return bytes(self.out)


def progressive_scan_bomb(side: int = 6000, scans: int = 500) -> bytes:
    """A greyscale progressive JPEG of one DC scan and `scans` AC refinement scans, each a few
    end-of-band runs long: a few dozen bytes a scan, yet the decoder visits every block in each."""
    blocks = ((side + 7) // 8) ** 2
    # AC table: the end-of-band runs EOB0..EOB14 (symbols 0x00..0xE0), EOB14 with the shortest code.
    runs = list(range(14, -1, -1))
    ac_table = bytes([0x10, *([1] * 15), 0]) + bytes(r << 4 for r in runs)
    codes = {}
    code = 0
    for length, run in enumerate(runs, start=1):
        codes[run] = (code, length)
        code = (code + 1) << 1
    dc = _BitWriter()
    for _ in range(blocks // 8):
        dc.put(0, 8)  # each block's DC difference is 0: a one-bit code
    dc.put(0, blocks % 8)
    band = _BitWriter()
    left = blocks
    while left:
        run = min(left, 32767)
        bits = run.bit_length() - 1
        band.put(*codes[bits])
        band.put(run - (1 << bits), bits)
        left -= run
    band_data = band.flush()
    out = bytearray(b"\xff\xd8")
    out += _segment(0xDB, b"\x00" + bytes([1] * 64))
    out += _segment(0xC2, struct.pack(">BHHB", 8, side, side, 1) + b"\x01\x11\x00")
    out += _segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")
    out += _segment(0xC4, ac_table)
    out += _segment(0xDA, b"\x01\x01\x00\x00\x00\x00") + dc.flush()
    out += _segment(0xDA, b"\x01\x01\x00\x01\x3f\x01") + band_data
    for _ in range(scans):
        out += _segment(0xDA, b"\x01\x01\x00\x01\x3f\x10") + band_data
    return bytes(out + b"\xff\xd9")


def many_chunks_png(count: int = 800_000) -> bytes:
    """A small PNG with `count` empty private chunks before its pixels: 12 bytes each."""
    png = encoded(Image.new("L", (50, 50), 255), "PNG")
    chunk = struct.pack(">I", 0) + b"prVt" + struct.pack(">I", zlib.crc32(b"prVt"))
    end_of_header = 8 + 25
    return png[:end_of_header] + chunk * count + png[end_of_header:]


def many_segments_jpeg(count: int = 2_500_000) -> bytes:
    """A small JPEG with `count` empty comment segments before its pixels: 4 bytes each."""
    jpeg = encoded(Image.new("L", (50, 50), 255), "JPEG")
    return jpeg[:2] + b"\xff\xfe\x00\x02" * count + jpeg[2:]


def many_blocks_gif(count: int = 4_000_000) -> bytes:
    """A small GIF with a comment of `count` one-byte sub-blocks before its image."""
    gif = encoded(Image.new("P", (50, 50), 0), "GIF")
    flags = gif[10]
    end_of_header = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    return gif[:end_of_header] + b"\x21\xfe" + b"\x01a" * count + b"\x00" + gif[end_of_header:]


def bigtiff_far_directory(byte_order: str = "big") -> bytes:
    """A BigTIFF header whose first directory lies at 2**63, more than an index into any bytes can hold."""
    mark = b"MM\0+\0\x08\0\0" if byte_order == "big" else b"II+\0\x08\0\0\0"
    return mark + (2**63).to_bytes(8, byte_order)


def tiff_with_strip_offsets_typed(field_type: int) -> bytes:
    """An 8x8 white greyscale TIFF whose one strip's offset is given as a value of that TIFF field type
    (2 text, 5 a fraction, 11 a float, 16 a 64-bit integer...) where the format asks for a 16 or 32-bit one."""
    side = 8
    pixels = bytes([255]) * side * side
    tags = [
        (256, 3, 1, side),
        (257, 3, 1, side),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, field_type, 1, 8),
        (277, 3, 1, 1),
        (278, 3, 1, side),
        (279, 4, 1, len(pixels)),
    ]
    directory = struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", *tag) for tag in tags) + bytes(4)
    return b"II*\0" + struct.pack("<I", 8 + len(pixels)) + pixels + directory


def many_strips_tiff(count: int = 1_000_000) -> bytes:
    """An uncompressed greyscale TIFF one pixel wide with one strip per row, `count` rows."""
    pixels = bytes([255]) * count
    offsets_at = 8 + len(pixels)
    counts_at = offsets_at + 4 * count
    directory_at = counts_at + 4 * count
    tags = [
        (256, 4, 1, 1),
        (257, 4, 1, count),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, count, offsets_at),
        (277, 3, 1, 1),
        (278, 4, 1, 1),
        (279, 4, count, counts_at),
    ]
    directory = struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", *tag) for tag in tags) + bytes(4)
    return (
        b"II*\0"
        + struct.pack("<I", directory_at)
        + pixels
        + np.arange(8, 8 + count, dtype="<u4").tobytes()
        + np.ones(count, "<u4").tobytes()
        + directory
    )


def _strokes(width: int, height: int) -> np.ndarray:
    """A bool mask of a few thick strokes across an image, so that it holds ink to read."""
    mask = np.zeros((height, width), bool)
    thickness = max(2, height // 40)
    for i in range(3):
        left = width * (2 * i + 1) // 7
        mask[height // 4 : 3 * height // 4, left : left + thickness] = True
    return mask


def transparent_png(size: tuple[int, int] = SIDE_UNDER_40_MP) -> bytes:
    """Black strokes on a transparent canvas of nearly 40 megapixels, some 150 KB as a PNG."""
    width, height = size
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[_strokes(width, height), 3] = 255
    return encoded(Image.fromarray(rgba, "RGBA"), "PNG", compress_level=9)


def large_image(image_format: str, mode: str, size: tuple[int, int] = SIDE_UNDER_40_MP, **options) -> bytes:
    """Dark strokes on white paper in `mode`, encoded at `size`."""
    width, height = size
    grey = np.full((height, width), 255, np.uint8)
    grey[_strokes(width, height)] = 0
    image = Image.fromarray(grey)
    if mode in ("RGBA", "LA"):
        image = image.convert(mode)
    elif mode != "L":
        image = image.convert(mode)
    return encoded(image, image_format, **options)


def palette_png_with_transparency(size: tuple[int, int] = SIDE_UNDER_40_MP) -> bytes:
    width, height = size
    index = np.zeros((height, width), np.uint8)
    index[_strokes(width, height)] = 1
    image = Image.fromarray(index, "P")
    image.putpalette([255, 255, 255, 0, 0, 0])
    return encoded(image, "PNG", transparency=0)


def rle_bmp(size: tuple[int, int] = SIDE_UNDER_40_MP) -> bytes:
    """An 8-bit run-length encoded BMP, small for its pixel count."""
    width, height = size
    mask = _strokes(width, height)
    rows = bytearray()
    for y in range(height - 1, -1, -1):
        row = np.where(mask[y], 0, 255).astype(np.uint8)
        edges = np.flatnonzero(np.diff(row)) + 1
        for start, stop in zip([0, *edges], [*edges, width]):
            value = int(row[start])
            while stop - start > 0:
                count = min(255, stop - start)
                rows += bytes([count, value])
                start += count
        rows += b"\x00\x00"
    rows += b"\x00\x01"
    palette = b"".join(bytes([i, i, i, 0]) for i in range(256))
    header = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(rows), 2835, 2835, 256, 0)
    offset = 14 + len(header) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(rows), 0, 0, offset) + header + palette + bytes(rows)


def lab_tiff(size: tuple[int, int] = (120, 80)) -> bytes:
    """A CIELAB TIFF: dark strokes (low lightness) on light paper."""
    width, height = size
    lab = np.zeros((height, width, 3), np.uint8)
    lab[..., 0] = 250
    lab[_strokes(width, height), 0] = 10
    return encoded(Image.fromarray(lab, "LAB"), "TIFF")


def la_tiff(size: tuple[int, int] = (120, 80)) -> bytes:
    """A TIFF of premultiplied luminance and alpha (Pillow's "La"): black strokes on a transparent background."""
    width, height = size
    la = np.zeros((height, width, 2), np.uint8)
    la[_strokes(width, height), 1] = 255
    data = encoded(Image.fromarray(la, "LA"), "TIFF")
    # Pillow writes LA with unassociated alpha (ExtraSamples 2); associated alpha (1) is what opens as "La".
    unassociated = struct.pack("<HHII", 338, 3, 1, 2)
    assert data.count(unassociated) == 1
    return data.replace(unassociated, struct.pack("<HHII", 338, 3, 1, 1))


def _photographed_strokes(width: int, height: int) -> Image.Image:
    """Dark strokes on off-white paper, as a phone photographs them, in grey."""
    grey = np.full((height, width), 250, np.uint8)
    grey[_strokes(width, height)] = 20
    return Image.fromarray(grey)


def photo_with_location(size: tuple[int, int] = (640, 480)) -> bytes:
    """A JPEG with a digit and the EXIF a phone writes: camera, date and GPS position."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 12"  # Model
    exif[0x0132] = "2026:11:21 10:00:00"  # DateTime
    exif[0x0112] = 1  # Orientation
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 29.0)
    gps[3], gps[4] = "E", (2.0, 17.0, 40.0)
    return encoded(_photographed_strokes(*size).convert("RGB"), "JPEG", exif=exif, comment=b"Holiday, rue de Rivoli")


def exif_orientation_of_type(field_type: int, value: bytes) -> bytes:
    """Big-endian EXIF whose one tag is the orientation, of that TIFF field type (the standard's is 3, a 16-bit
    integer from 1 to 8): 4 and 9 for 32-bit integers, 2 for text, 11 for a float, `value` its bytes."""
    entry = struct.pack(">HHI", 0x0112, field_type, 1) + value.ljust(4, b"\0")
    return b"Exif\0\0MM\0*" + struct.pack(">IH", 8, 1) + entry + bytes(4)


def photo_with_odd_orientation(
    image_format: str = "JPEG", field_type: int = 4, value: bytes = struct.pack(">I", 70_000)
) -> bytes:
    """A digit whose EXIF orientation is none of the eight: by default 70,000, more than EXIF's 16 bits hold."""
    return encoded(
        _photographed_strokes(400, 300).convert("RGB"), image_format, exif=exif_orientation_of_type(field_type, value)
    )


def gif_cut_in_its_second_frame() -> bytes:
    """An animated GIF of a digit cut off 10 bytes into its second frame, as a download stopped short."""
    first = _photographed_strokes(400, 300).convert("P")
    whole = encoded(first, "GIF", save_all=True, append_images=[first.rotate(90)])
    return whole[: whole.rindex(b"\x21\xf9") + 10]  # the second frame's graphic control extension


def empty_lined_page(size: tuple[int, int] = (400, 300), spacing: int = 30) -> bytes:
    """A page of a notebook photographed before anything was written on it: grey rules on white."""
    width, height = size
    page = np.full((height, width), 235, np.uint8)
    page[spacing // 2 :: spacing] = page[spacing // 2 + 1 :: spacing] = 130
    return encoded(Image.fromarray(page), "PNG")


def padded_png(image: bytes, total_size: int) -> bytes:
    """`image` (a PNG) made `total_size` bytes long by a private chunk of padding before its end."""
    padding = total_size - len(image) - 12
    chunk = struct.pack(">I", padding) + b"prVt" + bytes(padding)
    chunk += struct.pack(">I", zlib.crc32(b"prVt" + bytes(padding)))
    return image[:-12] + chunk + image[-12:]


# Requests, as the bytes a client sends: each is refused with the status given, never a 5xx.


def _request(target: str, headers: dict, body: bytes, chunked: bool = False) -> bytes:
    lines = [f"POST {target} HTTP/1.1", "Host: localhost", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    else:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _chunks(body: bytes, size: int = 1 << 20) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size]) for i in range(0, len(body), size))


def hostile_requests() -> list[tuple[str, bytes, int]]:
    """(what, the request's bytes, the status it must get) for POST /api/predict."""
    json_type = {"Content-Type": "application/json"}
    png_type = {"Content-Type": "image/png"}
    deep = b'{"image": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    eleven_mb = b'{"image": "' + b"A" * (11 * 2**20) + b'"}'
    boundary = "hostile"
    form = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + bytes(11 * 2**20)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return [
        ("JSON nested 1000 deep", _request("/api/predict", json_type, deep), 400),
        ("JSON nested 100,000 deep", _request("/api/predict", json_type, b"[" * 100_000 + b"]" * 100_000), 400),
        (
            "chunk size that is not hex",
            _request("/api/predict", png_type, b"zz\r\nabc\r\n0\r\n\r\n", chunked=True),
            400,
        ),
        ("chunk longer than said", _request("/api/predict", png_type, b"3\r\nabcdef\r\n0\r\n\r\n", chunked=True), 400),
        (
            "11 MB chunked JSON",
            _request("/api/predict", json_type, _chunks(eleven_mb) + b"0\r\n\r\n", chunked=True),
            413,
        ),
        (
            "11 MB chunked image",
            _request("/api/predict?save=false", png_type, _chunks(bytes(11 * 2**20)) + b"0\r\n\r\n", chunked=True),
            413,
        ),
        (
            "11 MB chunked form",
            _request(
                "/api/predict",
                {"Content-Type": f"multipart/form-data; boundary={boundary}"},
                _chunks(form) + b"0\r\n\r\n",
                chunked=True,
            ),
            413,
        ),
    ]

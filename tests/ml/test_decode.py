"""Decoding: every accepted format, transparency, the refusals, and what large or crafted images cost."""

import io
import tracemalloc

import cv2
import numpy as np
import pytest
from PIL import Image

from benchmarks import corpus
from benchmarks.corpus import la_tiff, lab_tiff, large_image, progressive_scan_bomb, transparent_png
from src.ml import ImageTooLarge, NotAnImage, decode_image, recognise
from src.ml.decode import MAX_PARTS, decode, jpeg_structure


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def bar_image(mode: str = "L") -> Image.Image:
    pixels = np.full((40, 60), 255, np.uint8)
    pixels[10:30, 25:35] = 0
    return Image.fromarray(pixels).convert(mode)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF"])
def test_decode_reads_every_supported_format(fmt):
    grey = decode_image(encoded(bar_image("RGB"), fmt))
    assert grey.shape == (40, 60) and grey.dtype == np.uint8
    assert grey[20, 30] < 60 and grey[5, 5] > 200


def test_decode_reads_the_first_frame_of_an_animated_gif():
    first, second = bar_image("P"), Image.new("P", (60, 40), 0)
    data = encoded(first, "GIF", save_all=True, append_images=[second])
    grey = decode_image(data)
    assert grey[20, 30] < 60 and grey[5, 5] > 200


def test_decode_turns_a_photo_upright_by_its_exif_orientation():
    # Stored 60 wide and 40 high; orientation 6 says the camera was turned a quarter to the right.
    exif = Image.Exif()
    exif[0x0112] = 6
    grey = decode_image(encoded(bar_image("RGB"), "JPEG", exif=exif))
    assert grey.shape == (60, 40)
    assert grey[30, 20] < 60 and grey[5, 5] > 200


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
def test_decode_turns_every_format_upright_once(fmt):
    # A bar at the top left of a 60x40 image stored turned a quarter to the left (orientation 6).
    upright = np.full((60, 40), 255, np.uint8)
    upright[5:15, 5:15] = 0
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(upright))).convert("RGB")
    data = (
        encoded(stored, fmt, tiffinfo={0x0112: 6})
        if fmt == "TIFF"
        else encoded(stored, fmt, exif=exif, **({"lossless": True} if fmt == "WEBP" else {}))
    )

    grey = decode_image(data)

    assert grey.shape == (60, 40)
    assert grey[10, 10] < 60 and grey[50, 30] > 200


@pytest.mark.parametrize("stroke", [0, 255])
def test_decode_keeps_strokes_of_a_transparent_canvas_visible(stroke):
    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[10:30, 25:35] = (stroke, stroke, stroke, 255)
    grey = decode_image(encoded(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert abs(int(grey[20, 30]) - int(grey[5, 5])) == 255


def composited(grey: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """What a transparent image looks like read: on white if its strokes are dark on average, else on
    black; each pixel grey * alpha + background * (1 - alpha), rounded to the nearest level."""
    grey, alpha = grey.astype(np.int64), alpha.astype(np.int64)
    background = 255 if (grey * alpha).sum() < 128 * alpha.sum() else 0
    return ((grey * alpha + background * (255 - alpha) + 127) // 255).astype(np.uint8)


def canvas_with_strokes(rng: np.random.Generator, stroke: int, spread: int = 40, shape=(90, 70)) -> np.ndarray:
    """RGBA: strokes of about one colour (give or take `spread`) with anti-aliased edges, the rest transparent."""
    rgba = np.zeros(shape + (4,), np.uint8)
    rgba[..., :3] = np.clip(stroke + rng.integers(-spread, spread + 1, shape + (1,)), 0, 255)
    rgba[..., 3] = np.where(rng.random(shape) < 0.3, rng.integers(1, 256, shape), 0)
    return rgba


@pytest.mark.parametrize(
    "stroke, spread", [(0, 0), (60, 40), (120, 40), (127, 0), (128, 0), (135, 40), (200, 40), (255, 0)]
)
def test_a_transparent_canvas_reads_as_its_strokes_composited_on_the_contrasting_background(stroke, spread):
    rgba = canvas_with_strokes(np.random.default_rng(stroke), stroke, spread)
    grey = np.asarray(Image.fromarray(rgba, "RGBA").convert("L"))

    assert np.array_equal(decode_image(encoded(Image.fromarray(rgba, "RGBA"), "PNG")), composited(grey, rgba[..., 3]))
    la = np.dstack([grey, rgba[..., 3]])
    assert np.array_equal(decode_image(encoded(Image.fromarray(la, "LA"), "PNG")), composited(grey, rgba[..., 3]))


@pytest.mark.parametrize("stroke", [0, 200])
@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_a_canvas_whose_strokes_fill_a_corner_reads_as_composited_everywhere(stroke, mode):
    # Bare pixels of any colour: only their alpha says they are bare.
    rgba = np.random.default_rng(3).integers(0, 256, (120, 90, 4), dtype=np.uint8)
    rgba[..., 3] = 0
    rgba[70:110, 5:40] = canvas_with_strokes(np.random.default_rng(stroke), stroke, shape=(40, 35))
    image = Image.fromarray(rgba, "RGBA").convert(mode)
    grey = np.asarray(image.convert("L"))

    assert np.array_equal(decode_image(encoded(image, "PNG")), composited(grey, rgba[..., 3]))


def test_a_bare_canvas_reads_as_white():
    bare = Image.new("RGBA", (30, 20), (9, 9, 9, 0))
    assert np.array_equal(decode_image(encoded(bare, "PNG")), np.full((20, 30), 255))


def test_a_png_with_a_transparent_colour_reads_as_composited():
    rng = np.random.default_rng(1)
    grey = rng.integers(0, 256, (50, 80), dtype=np.uint8)
    grey[grey == 17] = 18
    grey[::3, ::2] = 17
    alpha = np.where(grey == 17, 0, 255).astype(np.uint8)

    assert np.array_equal(
        decode_image(encoded(Image.fromarray(grey, "L"), "PNG", transparency=17)), composited(grey, alpha)
    )


def test_an_opaque_canvas_reads_as_its_grey_levels():
    rgba = canvas_with_strokes(np.random.default_rng(2), 30)
    rgba[..., 3] = 255
    image = Image.fromarray(rgba, "RGBA")

    assert np.array_equal(decode_image(encoded(image, "PNG")), np.asarray(image.convert("L")))


def test_decode_refuses_an_image_over_the_pixel_limit_from_its_header_alone():
    data = encoded(Image.new("L", (5000, 4000)), "PNG")
    with pytest.raises(ImageTooLarge, match="20,000,000|1,000,000"):
        decode_image(data, max_pixels=1_000_000)
    # Cut short after the header: had it been decoded, this would fail as truncated.
    with pytest.raises(ImageTooLarge):
        decode_image(data[:200], max_pixels=1_000_000)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP", "TIFF"])
def test_decode_refuses_a_truncated_file(fmt):
    noisy = Image.fromarray((np.random.default_rng(0).random((80, 80)) * 255).astype(np.uint8))
    data = encoded(noisy, fmt)
    with pytest.raises(NotAnImage, match="truncated|corrupt"):
        decode_image(data[: len(data) // 2])


@pytest.mark.parametrize("data", [b"", b"hello, world", b"%PDF-1.7\n" + bytes(200)])
def test_decode_refuses_bytes_that_are_not_an_image(data):
    with pytest.raises(NotAnImage, match="not a PNG, JPEG"):
        decode_image(data)


# What makes decoding expensive: the files are made here, at the sizes the limits allow.


def test_a_progressive_jpeg_of_many_cheap_scans_is_refused_before_it_is_decoded():
    # 100 KB: one DC scan and 500 refinement scans of a few end-of-band runs, over 6000x6000 pixels.
    bomb = progressive_scan_bomb(side=6000, scans=500)

    assert len(bomb) < 120_000
    with pytest.raises(ImageTooLarge, match="502 scans over its 6,000x6,000 pixels"):
        decode_image(bomb)


def test_a_usual_progressive_jpeg_is_read():
    data = large_image("JPEG", "RGB", size=(2400, 1800), progressive=True, quality=90)

    assert jpeg_structure(data).scans == 10
    grey = decode(data, working_size=1024).grey
    assert grey.shape == (900, 1200)


@pytest.mark.parametrize(
    "builder, kind",
    [
        (corpus.many_chunks_png, "chunks"),
        (corpus.many_segments_jpeg, "segments"),
        (corpus.many_blocks_gif, "blocks"),
        (corpus.many_strips_tiff, "strips"),
    ],
    ids=["PNG", "JPEG", "GIF", "TIFF"],
)
def test_a_file_of_more_parts_than_its_decoder_should_walk_is_refused(builder, kind):
    # Ten megabytes of such parts cost Pillow from one to seven seconds to walk, in Python.
    with pytest.raises(ImageTooLarge, match=f"more than {MAX_PARTS:,} {kind}"):
        decode_image(builder(MAX_PARTS + 1))


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")
@pytest.mark.parametrize("byte_order", ["big", "little"])
def test_a_bigtiff_whose_first_directory_lies_past_any_file_is_refused_as_not_an_image(byte_order):
    # Its offset, 2**63, is more than an index into the bytes can hold (hypothesis found it).
    with pytest.raises(NotAnImage):
        decode_image(corpus.bigtiff_far_directory(byte_order))


@pytest.mark.parametrize("field_type", [2, 5, 7, 10, 11, 12, 16])
def test_a_tiff_whose_strip_offset_is_not_a_16_or_32_bit_integer_is_refused_as_corrupt(field_type):
    # Text, fractions, bytes and floats reached Pillow's seek as a TypeError, a 64-bit integer as an
    # OverflowError: both were a 500 (a mutation fuzzer found them).
    with pytest.raises(NotAnImage, match="truncated or corrupt"):
        decode_image(corpus.tiff_with_strip_offsets_typed(field_type))


def test_a_jpeg_cut_short_in_its_scans_is_refused_as_corrupt():
    data = large_image("JPEG", "RGB", size=(800, 600), progressive=True)

    with pytest.raises(NotAnImage, match="truncated or corrupt"):
        decode_image(data[: len(data) // 3])


@pytest.mark.parametrize(
    "data, limit",
    [
        (lambda: large_image("PNG", "RGBA", size=(4200, 4000)), "16,777,216"),
        (lambda: large_image("TIFF", "L", size=(3200, 3200), compression="tiff_lzw"), "10,000,000"),
        (lambda: large_image("WEBP", "L", size=(3200, 3200), lossless=True), "10,000,000"),
    ],
    ids=["RGBA PNG", "TIFF", "WebP"],
)
def test_an_image_over_its_formats_pixel_limit_is_refused(data, limit):
    with pytest.raises(ImageTooLarge, match=f"at most {limit} pixels"):
        decode_image(data())


def test_a_png_over_its_modes_pixel_limit_is_refused_from_its_header_alone():
    data = large_image("PNG", "RGBA", size=(4200, 4000))

    with pytest.raises(ImageTooLarge, match="A PNG image in RGBA may have at most 16,777,216 pixels"):
        decode_image(data[:200])


def test_reading_a_large_transparent_png_keeps_the_engines_arrays_at_the_working_size(model):
    # 16.5 megapixels of black strokes on a transparent canvas, some 60 KB: the largest RGBA allowed.
    data = transparent_png((4700, 3500))

    tracemalloc.start()
    try:
        recognition = recognise(data, model)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # numpy's arrays are traced: composited in float32 at full size they took over 100 MB.
    assert peak < 30 * 2**20, f"{peak / 2**20:.0f} MB"
    boxes = [digit.box for digit in recognition.digits]
    assert len(boxes) == 3
    for box, left in zip(boxes, [671, 2014, 3357]):
        assert abs(box.x - left) <= 8 and abs(box.y - 875) <= 8 and abs(box.height - 1750) <= 16


@pytest.mark.parametrize("orientation", [1, 6])
def test_a_large_jpeg_is_decoded_at_a_reduced_size_with_boxes_in_its_own_pixels(model, orientation):
    # Strokes 100 pixels wide and 2000 high from x = 857, 2571 and 4285, upright; with orientation 6 the
    # file holds them turned a quarter to the left, and its EXIF says to turn it back.
    upright = np.full((4000, 6000), 255, np.uint8)
    for left in (857, 2571, 4285):
        upright[1000:3000, left : left + 100] = 0
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = Image.fromarray(upright if orientation == 1 else np.rot90(upright))
    data = encoded(stored, "JPEG", exif=exif)

    decoded = decode(data, working_size=1024)
    boxes = [digit.box for digit in recognise(data, model).digits]

    assert decoded.grey.shape == (1000, 1500) and decoded.scale == 0.25
    expected = [(857, 1000, 100, 2000), (2571, 1000, 100, 2000), (4285, 1000, 100, 2000)]
    assert len(boxes) == 3
    for box, (x, y, width, height) in zip(boxes, expected):
        # Within the four pixels each decoded pixel stands for.
        assert abs(box.x - x) <= 4 and abs(box.y - y) <= 4
        assert abs(box.width - width) <= 8 and abs(box.height - height) <= 8


def test_a_jpeg_with_more_pictures_after_it_is_read_as_a_jpeg():
    # Phones append depth maps and gain maps (MPF); Pillow calls such a file MPO.
    photo = Image.fromarray(np.full((4000, 6000), 255, np.uint8)).convert("RGB")
    data = encoded(photo, "MPO", save_all=True, append_images=[Image.new("RGB", (600, 400))])

    decoded = decode(data, working_size=1024)

    assert decoded.grey.shape == (1000, 1500) and decoded.scale == 0.25


@pytest.mark.parametrize("ink", [0, 255])
def test_a_reduced_transparent_image_matches_the_full_size_one_reduced(ink):
    rgba = np.zeros((1500, 2100, 4), np.uint8)
    rgba[300:1200, 500:560] = (ink, ink, ink, 255)
    rgba[300:1200, 560:563, :3], rgba[300:1200, 560:563, 3] = ink, 100  # an anti-aliased edge
    data = encoded(Image.fromarray(rgba, "RGBA"), "PNG")

    reduced = decode(data, working_size=1024)
    full = decode_image(data)

    assert reduced.grey.shape == (750, 1050) and reduced.scale == 0.5
    expected = cv2.resize(full, (1050, 750), interpolation=cv2.INTER_AREA)
    assert np.abs(expected.astype(int) - reduced.grey).max() <= 1


@pytest.mark.parametrize("builder", [lab_tiff, la_tiff], ids=["CIELAB", "premultiplied alpha"])
def test_cielab_and_premultiplied_alpha_tiffs_are_read(builder):
    grey = decode_image(builder())

    # Strokes two pixels wide at x = 17, 51 and 85, from y = 20 to 60.
    assert grey.shape == (80, 120)
    assert grey[40, 51] < 20 and grey[10, 30] > 240

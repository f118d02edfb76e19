"""Decoding: every accepted format, transparency, and the refusals."""
import io

import numpy as np
import pytest
from PIL import Image

from src.ml import ImageTooLarge, NotAnImage, decode_image


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


@pytest.mark.parametrize("stroke", [0, 255])
def test_decode_keeps_strokes_of_a_transparent_canvas_visible(stroke):
    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[10:30, 25:35] = (stroke, stroke, stroke, 255)
    grey = decode_image(encoded(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert abs(int(grey[20, 30]) - int(grey[5, 5])) == 255


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

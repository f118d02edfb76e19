"""Images to send the service: digits written on a canvas (opaque or transparent), base64 text, and
hypothesis strategies for broken and odd images."""

import base64
import io

import cv2
import numpy as np
from hypothesis import strategies as st
from PIL import Image

FORMATS = ["PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF"]


def written(text: str, size=(280, 280), *, transparent=False, image_format="PNG") -> bytes:
    """`text` in thick strokes, dark on a white canvas (or on a transparent one, as a browser canvas exports)."""
    width, height = size
    scale, thickness = height / 40, max(height // 20, 4)
    ink = np.zeros((height, width), np.uint8)
    if text:
        (text_width, text_height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        origin = ((width - text_width) // 2, (height + text_height) // 2)
        cv2.putText(ink, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thickness, cv2.LINE_AA)
    if transparent:
        image = Image.fromarray(np.dstack([np.zeros_like(ink)] * 3 + [ink]), "RGBA")
    else:
        image = Image.fromarray(255 - ink)
    return encoded(image, image_format)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def encoded(image: Image.Image, image_format: str) -> bytes:
    data = io.BytesIO()
    image.save(data, format=image_format)
    return data.getvalue()


def _seeds() -> list[bytes]:
    seven = Image.open(io.BytesIO(written("7", size=(56, 56)))).convert("RGB")
    animated = io.BytesIO()
    seven.save(animated, format="GIF", save_all=True, append_images=[seven.rotate(90)])
    return [encoded(seven, name) for name in FORMATS] + [animated.getvalue()]


SEEDS = _seeds()
"""A small digit in every format the decoder reads, and as the first of two frames, for mutations to start from."""


@st.composite
def damaged_images(draw) -> bytes:
    """A valid image with bytes overwritten, cut off or inserted: what a broken upload looks like."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data) - 1))
        change = draw(st.sampled_from(["overwrite", "cut", "insert"]))
        if change == "overwrite":
            data[position] = draw(st.integers(0, 255))
        elif change == "cut":
            del data[position:]
            if not data:
                break
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
    return bytes(data)


@st.composite
def odd_images(draw) -> bytes:
    """Valid images of any size from one pixel to a long strip, of noise or of one colour, in any mode."""
    width, height = draw(st.integers(1, 400)), draw(st.integers(1, 400))
    mode = draw(st.sampled_from(["L", "RGB", "RGBA", "LA", "1", "P"]))
    if draw(st.booleans()):
        pixels = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).integers(0, 256, (height, width), np.uint8)
        image = Image.fromarray(pixels).convert(mode)
    else:
        image = Image.new(mode, (width, height), draw(st.integers(0, 255)))
    return encoded(image, "PNG" if mode in ("LA", "1", "P") else draw(st.sampled_from(["PNG", "BMP", "TIFF", "WEBP"])))


any_upload = st.one_of(st.binary(max_size=2048), damaged_images(), odd_images())

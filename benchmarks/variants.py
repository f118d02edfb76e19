"""Turn MNIST test digits into what people send: canvases, photos, transparent PNGs, numbers.

Every variant is generated from the MNIST test images with a seed, so the robustness
benchmark and the segmentation tests are reproducible without any extra data.
"""

from dataclasses import dataclass

import cv2
import numpy as np

from src.ml import Box
from src.ml.trainingset import enlarged


@dataclass(frozen=True)
class Sample:
    data: bytes
    labels: list[int]
    boxes: list[Box]


def encode(image: np.ndarray, extension: str = ".png", quality: int = 95) -> bytes:
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if extension == ".jpg" else []
    ok, data = cv2.imencode(extension, image, params)
    return data.tobytes()


def change_pen(ink: np.ndarray, pixels: int) -> np.ndarray:
    """Widen (pixels > 0) or narrow (pixels < 0) every stroke by about that many pixels."""
    if pixels == 0:
        return ink
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (abs(pixels) + 1, abs(pixels) + 1))
    return cv2.dilate(ink, kernel) if pixels > 0 else cv2.erode(ink, kernel)


def ink_box(ink: np.ndarray, x: int, y: int) -> Box:
    rows = np.flatnonzero(ink.max(axis=1) > 0.5)
    cols = np.flatnonzero(ink.max(axis=0) > 0.5)
    return Box(
        x=x + int(cols[0]), y=y + int(rows[0]), width=int(cols[-1] - cols[0] + 1), height=int(rows[-1] - rows[0] + 1)
    )


def iou(a: Box, b: Box) -> float:
    """How much two boxes overlap: their intersection over their union."""
    x0, y0 = max(a.x, b.x), max(a.y, b.y)
    x1, y1 = min(a.x + a.width, b.x + b.width), min(a.y + a.height, b.y + b.height)
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / (a.width * a.height + b.width * b.height - inter)


def compose(
    digits: list[np.ndarray],
    rng: np.random.Generator,
    scales=(5.0, 9.0),
    gaps=(10, 60),
    pen: float = 0.0,
    min_side: int = 280,
) -> tuple[np.ndarray, list[Box]]:
    """Lay enlarged digits left to right on a black canvas; pen widens (>0) or narrows (<0) strokes,
    in units of the enlargement."""
    inks = []
    for digit in digits:
        scale = rng.uniform(*scales)
        inks.append(change_pen(enlarged(digit, scale), round(pen * scale)))
    margin = 20
    spaces = [int(rng.integers(*gaps)) for _ in inks[1:]] + [0]
    width = sum(i.shape[1] for i in inks) + sum(spaces) + 2 * margin
    height = max(i.shape[0] for i in inks) + 2 * margin
    canvas = np.zeros((max(height, min_side), max(width, min_side)), np.float32)
    x = margin + int(rng.integers(0, canvas.shape[1] - width + 1))
    boxes = []
    for ink, space in zip(inks, spaces):
        y = int(rng.integers(margin, canvas.shape[0] - ink.shape[0] - margin + 1))
        canvas[y : y + ink.shape[0], x : x + ink.shape[1]] = np.maximum(
            canvas[y : y + ink.shape[0], x : x + ink.shape[1]], ink
        )
        boxes.append(ink_box(ink, x, y))
        x += ink.shape[1] + space
    return canvas, boxes


def dark_on_light(ink: np.ndarray) -> np.ndarray:
    return np.rint(255 * (1 - ink)).astype(np.uint8)


def transparent(ink: np.ndarray, colour: int) -> np.ndarray:
    """A browser canvas export: strokes of one colour, their coverage in the alpha channel."""
    rgba = np.full(ink.shape + (4,), colour, np.uint8)
    rgba[..., 3] = np.rint(255 * ink).astype(np.uint8)
    return rgba


def _canvas(kind: str):
    def make(digit: np.ndarray, rng: np.random.Generator) -> tuple[bytes, list[Box]]:
        pen = {"thin": -0.9, "thick": 1.6}.get(kind, 0.0)
        ink, boxes = compose([digit], rng, pen=pen)
        if kind == "jpeg":
            return encode(dark_on_light(ink), ".jpg", quality=int(rng.integers(50, 90))), boxes
        if kind == "transparent-black":
            return encode(cv2.cvtColor(transparent(ink, 0), cv2.COLOR_RGBA2BGRA)), boxes
        if kind == "transparent-white":
            return encode(cv2.cvtColor(transparent(ink, 255), cv2.COLOR_RGBA2BGRA)), boxes
        return encode(dark_on_light(ink)), boxes

    return make


SINGLE_DIGIT_VARIANTS = {
    "plain MNIST PNG": lambda digit, rng: (encode(digit), []),
    "inverted (dark on light)": lambda digit, rng: (encode(255 - digit), []),
    "large on a canvas": _canvas("canvas"),
    "thin strokes": _canvas("thin"),
    "thick strokes": _canvas("thick"),
    "JPEG q50-90": _canvas("jpeg"),
    "transparent PNG, black strokes": _canvas("transparent-black"),
    "transparent PNG, white strokes": _canvas("transparent-white"),
}


def single_digit_samples(variant: str, images: np.ndarray, labels: np.ndarray, seed: int = 0) -> list[Sample]:
    rng = np.random.default_rng(seed)
    make = SINGLE_DIGIT_VARIANTS[variant]
    samples = []
    for digit, label in zip(images, labels):
        data, boxes = make(digit, rng)
        samples.append(Sample(data=data, labels=[int(label)], boxes=boxes))
    return samples


def number_samples(images: np.ndarray, labels: np.ndarray, seed: int = 0, digits=(2, 4)) -> list[Sample]:
    """Several test digits side by side, each at its own size, with uneven gaps."""
    rng = np.random.default_rng(seed)
    samples, start = [], 0
    while start < len(images):
        count = int(rng.integers(digits[0], digits[1] + 1))
        chosen = slice(start, min(start + count, len(images)))
        ink, boxes = compose(list(images[chosen]), rng, scales=(3.0, 6.0), gaps=(8, 50))
        samples.append(Sample(data=encode(dark_on_light(ink)), labels=[int(v) for v in labels[chosen]], boxes=boxes))
        start = chosen.stop
    return samples

"""MNIST digits edited at stroke level into styles MNIST's writers rarely used: a flag on a 1, a bar
through a 7, a slash through a 0, drawn with the digit's own stroke width (`handwriting`'s pen).

Every random choice comes from the generator passed in, so a seed reproduces a sample.
"""

from collections.abc import Callable

import cv2
import numpy as np

from .handwriting import SHIFT, spline, uniform

EDIT_SCALE = 4
"""MNIST digits are edited four times enlarged, where a stroke can be drawn as wide as the digit's own."""


def _enlarged(digit: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The digit enlarged on a wide field, its ink mask, and its stroke width there."""
    large = cv2.resize(digit, None, fx=EDIT_SCALE, fy=EDIT_SCALE, interpolation=cv2.INTER_CUBIC)
    pad = 14 * EDIT_SCALE
    large = cv2.copyMakeBorder(large, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    mask = (large > 127).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return large, mask, 2.0 * float(mask.sum()) / max(perimeter, 1.0)


def _draw(large: np.ndarray, strokes: list[np.ndarray], width: float) -> np.ndarray:
    for stroke in strokes:
        pixels = np.rint(np.asarray(stroke) * (1 << SHIFT)).astype(np.int32)
        cv2.polylines(large, [pixels], False, 255, max(1, round(width)), cv2.LINE_AA, SHIFT)
    return large


def add_flag(digit: np.ndarray, rng: np.random.Generator, base_chance: float = 0.35) -> np.ndarray:
    """A MNIST 1 made continental: a long upstroke to the top of its stem, sometimes a base."""
    large, mask, width = _enlarged(digit)
    rows, cols = np.nonzero(mask)
    height = rows.max() - rows.min()
    top = np.array([cols[rows <= rows.min() + width].mean(), rows.min() + width / 2])
    length, angle = uniform(rng, 0.22, 0.5) * height, np.radians(uniform(rng, 30, 65))
    start = top + length * np.array([-np.cos(angle), np.sin(angle)])
    strokes = [spline([start, (start + top) / 2 + rng.normal(0, 0.02 * height, 2), top])]
    if rng.random() < base_chance:
        bottom = np.array([cols[rows >= rows.max() - width].mean(), rows.max() - width / 2])
        half = uniform(rng, 0.15, 0.3) * height
        strokes.append(np.array([bottom - (half, 0), bottom + (half, 0)]))
    return _draw(large, strokes, width)


def add_bar(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A MNIST 7 with a bar across its stem, halfway down."""
    large, mask, width = _enlarged(digit)
    rows, cols = np.nonzero(mask)
    top, height = rows.min(), rows.max() - rows.min()
    row = int(top + uniform(rng, 0.45, 0.62) * height)
    crossing = cols[rows == row]
    if len(crossing) == 0:
        return large
    half = uniform(rng, 0.15, 0.3) * height
    centre = crossing.mean() + (uniform(rng, -0.4, 0.4) * half if rng.random() < 0.25 else 0.0)
    tilt = uniform(rng, -0.06, 0.06) * height
    return _draw(large, [np.array([(centre - half, row + tilt), (centre + half, row - tilt)])], width)


def add_slash(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A MNIST 0 crossed by a slash, as programmers and Scandinavians write it."""
    large, mask, width = _enlarged(digit)
    rows, cols = np.nonzero(mask)
    reach = uniform(rng, -0.1, 0.1)
    x0, x1, y0, y1 = cols.min(), cols.max(), rows.min(), rows.max()
    w, h = x1 - x0, y1 - y0
    slash = np.array([(x1 - 0.15 * w + reach * w, y0 - reach * h), (x0 + 0.15 * w - reach * w, y1 + reach * h)])
    return _draw(large, [slash], width)


MNIST_EDITS: dict[int, Callable] = {0: add_slash, 1: add_flag, 7: add_bar}
"""For digits of these classes, the edit that gives them a style MNIST's writers rarely used."""

"""Bring one digit to the MNIST format: 20x20 box, 28x28 field, centred by mass, MNIST-like strokes."""

import cv2
import numpy as np

FIELD = 28
BOX = 20
CENTRE = 14.0
"""Where MNIST's centres of mass sit, in row and column indices (measured on its training set)."""
STROKE_RANGE = (1.6, 3.7)
"""MNIST's stroke widths in 28x28 pixels, 5th to 95th percentile, measured as 2 x area / perimeter."""


def stroke_width(mask: np.ndarray) -> float:
    """A stroke's width in pixels: twice its area over its perimeter."""
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * float(mask.sum()) / max(perimeter, 1.0)


def normalise_digit(intensity: np.ndarray) -> np.ndarray:
    """Normalise one digit's ink (float32 in [0, 1], white on black) to a 28x28 uint8 MNIST digit."""
    intensity = _crop(intensity)
    scale = BOX / max(intensity.shape)
    intensity = _match_stroke(intensity, scale)
    intensity = _crop(intensity)
    height, width = intensity.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(intensity, size, interpolation=interpolation)
    field = np.zeros((FIELD, FIELD), np.float32)
    rows, cols = np.indices(small.shape)
    mass = small.sum()
    row = round(CENTRE - (rows * small).sum() / mass)
    col = round(CENTRE - (cols * small).sum() / mass)
    # Centring by mass may push a lopsided digit past the edge; keep it whole instead.
    row = min(max(row, 0), FIELD - small.shape[0])
    col = min(max(col, 0), FIELD - small.shape[1])
    field[row : row + small.shape[0], col : col + small.shape[1]] = small
    return np.rint(np.clip(field, 0.0, 1.0) * 255).astype(np.uint8)


def _crop(intensity: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(intensity.max(axis=1) > 0)
    cols = np.flatnonzero(intensity.max(axis=0) > 0)
    return intensity[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _match_stroke(intensity: np.ndarray, scale: float) -> np.ndarray:
    """Thicken or thin the strokes so that, once scaled, they are as wide as MNIST's."""
    width = stroke_width((intensity > 0.5).astype(np.uint8))
    low, high = STROKE_RANGE
    target = min(max(width * scale, low), high) / scale
    change = round((target - width) / 2)
    if change == 0:
        return intensity
    size = 2 * abs(change) + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    if change > 0:
        padded = cv2.copyMakeBorder(intensity, change, change, change, change, cv2.BORDER_CONSTANT)
        return cv2.dilate(padded, kernel)
    thinned = cv2.erode(intensity, kernel)
    return thinned if thinned.max() > 0.5 else intensity

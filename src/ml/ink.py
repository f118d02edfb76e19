"""Separate the ink from the paper, whatever the polarity, lighting and noise."""

from dataclasses import dataclass

import cv2
import numpy as np

WORKING_SIZE = 1024
"""Larger images are shrunk to this many pixels on their long side before searching for ink."""
BACKGROUND_SIZE = 96
MIN_LIGHTING_SIZE = 64
"""Images smaller than this (MNIST's own 28x28) have no room for uneven lighting."""
MIN_CONTRAST = 48
"""Ink must stand this many grey levels (of 255) clear of the paper, or the image is blank."""


@dataclass(frozen=True)
class Ink:
    """Where the ink is in an image, at the working scale."""

    levels: np.ndarray
    """uint8: how far each pixel stands from the paper, lighting removed."""
    paper: float
    solid: float
    """The levels of bare paper and of a solid stroke."""
    mask: np.ndarray
    """uint8, 1 on ink pixels."""
    scale: float
    """Working pixels per original pixel."""

    def intensity(self, rows: slice = slice(None), cols: slice = slice(None)) -> np.ndarray:
        """float32 in [0, 1] over a region (the whole image by default): 1 where the stroke is solid,
        fractions at its anti-aliased edges. Asked for per digit, as most of a canvas is paper."""
        region = self.levels[rows, cols].astype(np.float32)
        return np.clip((region - self.paper) / (self.solid - self.paper), 0.0, 1.0)


def find_ink(grey: np.ndarray, scale: float = 1.0) -> Ink | None:
    """Find the ink in a uint8 greyscale image, or None when the image is blank; `scale` is its pixels per
    original pixel when the decoder already reduced it."""
    shrink = min(1.0, WORKING_SIZE / max(grey.shape))
    if shrink < 1.0:
        grey = cv2.resize(grey, _shrunk(grey.shape, shrink), interpolation=cv2.INTER_AREA)
    low, median, high = _percentiles(_histogram(grey), (1, 50, 99))
    # Paper is most of the picture: the ink is on the side of the median that reaches further.
    ink = (255 - grey) if median - low > high - median else grey
    if max(ink.shape) >= MIN_LIGHTING_SIZE:
        ink = cv2.subtract(ink, _paper(ink))
    threshold, _ = cv2.threshold(ink, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    histogram = _histogram(ink)
    cut = int(threshold) + 1
    if not histogram[cut:].any():
        return None
    (solid,) = _percentiles(histogram[cut:], (75,))
    solid += cut
    (paper,) = _percentiles(histogram[:cut], (50,))
    if solid - paper < MIN_CONTRAST:
        return None
    level = max(threshold, paper + MIN_CONTRAST / 2)
    mask = (ink > level).astype(np.uint8)
    return Ink(levels=ink, paper=paper, solid=solid, mask=mask, scale=scale * shrink)


def _shrunk(shape: tuple[int, int], factor: float) -> tuple[int, int]:
    """The (width, height) of an image scaled by factor, never less than a pixel: a long thin strip
    would otherwise lose its short side."""
    height, width = shape
    return max(1, round(width * factor)), max(1, round(height * factor))


def _histogram(image: np.ndarray) -> np.ndarray:
    """The count of each grey level. A canvas is mostly one level, and counting a run of equal pixels
    one by one waits on the same counter each time: that level (taken from a corner) is counted apart."""
    level = image[0, 0]
    others = (image != level).view(np.uint8)
    histogram = cv2.calcHist([image], [0], others, [256], [0, 256]).ravel()
    histogram[level] += image.size - cv2.countNonZero(others)
    return histogram


def _percentiles(histogram: np.ndarray, percents) -> list[float]:
    """Percentiles of the grey levels counted in a histogram: far quicker than sorting the pixels."""
    cumulative = np.cumsum(histogram)
    return [float(np.searchsorted(cumulative, cumulative[-1] * p / 100)) for p in percents]


def _paper(ink: np.ndarray) -> np.ndarray:
    """Estimate the paper's brightness everywhere: uneven lighting, shadows and stains.

    An opening wider than any stroke removes the strokes and keeps the slow changes;
    it runs on a small copy because only those slow changes matter.
    """
    factor = min(1.0, BACKGROUND_SIZE / max(ink.shape))
    small = cv2.resize(ink, _shrunk(ink.shape, factor), interpolation=cv2.INTER_LINEAR)
    size = max(3, max(small.shape) // 4) | 1
    # A square is separable, so the opening costs a fraction of a disc's; lighting has no corners to keep.
    paper = cv2.morphologyEx(small, cv2.MORPH_OPEN, np.ones((size, size), np.uint8))
    paper = cv2.blur(paper, (size, size))
    return cv2.resize(paper, (ink.shape[1], ink.shape[0]), interpolation=cv2.INTER_LINEAR)

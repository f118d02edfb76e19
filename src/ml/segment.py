"""Split the ink into digits, left to right, keeping multi-stroke digits whole."""

from dataclasses import dataclass

import cv2
import numpy as np

from .ink import Ink
from .types import Box

MIN_AREA_SHARE = 0.04
"""A piece smaller than this share of the largest piece's area, and ..."""
MIN_HEIGHT_SHARE = 0.3
"""... shorter than this share of its height, is a speck, not part of a digit."""
MIN_OVERLAP = 0.5
"""Pieces whose columns overlap by this share of the narrower one are strokes of one digit."""
MAX_STACKED = 0.3
"""So are pieces that share columns, one above the other, their rows overlapping by less than
this share of the shorter one: digits stand side by side, not on top of each other."""
SHORT_PIECE = 0.6
MAX_GAP = 0.3
"""A piece shorter than SHORT_PIECE of its neighbour's height, within MAX_GAP of that height
beside it, is a stroke of the neighbour."""


@dataclass(frozen=True)
class DigitInk:
    """One digit's ink (or, before it is read, one blob that may hold several), cut from the working image."""

    intensity: np.ndarray
    box: Box
    """In the original image's pixels."""
    origin: tuple[int, int]
    """Where intensity[0, 0] sits in the working image: (x, y)."""
    scale: float
    """Working pixels per original pixel."""

    def shrunk(self, height: int) -> "DigitInk":
        """The same ink at most `height` working pixels high: cutting a blob needs no finer detail."""
        factor = height / self.intensity.shape[0]
        if factor >= 1:
            return self
        size = (max(1, round(self.intensity.shape[1] * factor)), height)
        return DigitInk(
            intensity=cv2.resize(self.intensity, size, interpolation=cv2.INTER_AREA),
            box=self.box,
            origin=(round(self.origin[0] * factor), round(self.origin[1] * factor)),
            scale=self.scale * factor,
        )

    def part(self, keep: np.ndarray) -> "DigitInk":
        """The ink where `keep` (a boolean array over `intensity`) holds, cropped, with its own box."""
        kept = np.where(keep, self.intensity, 0.0)
        rows, cols = np.flatnonzero(kept.max(axis=1) > 0), np.flatnonzero(kept.max(axis=0) > 0)
        kept = kept[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        solid_rows, solid_cols = np.flatnonzero(kept.max(axis=1) >= 0.5), np.flatnonzero(kept.max(axis=0) >= 0.5)
        x0, y0 = self.origin[0] + cols[0], self.origin[1] + rows[0]
        return DigitInk(
            intensity=kept,
            box=_box(
                x0 + solid_cols[0], y0 + solid_rows[0], x0 + solid_cols[-1] + 1, y0 + solid_rows[-1] + 1, self.scale
            ),
            origin=(int(x0), int(y0)),
            scale=self.scale,
        )


def find_digits(ink: Ink) -> list[DigitInk]:
    """Cut one crop per digit from the ink, left to right; specks and dust are left out."""
    labels, stats = _components(ink.mask)
    pieces = stats[1:]
    if len(pieces) == 0:
        return []
    areas, heights = pieces[:, cv2.CC_STAT_AREA], pieces[:, cv2.CC_STAT_HEIGHT]
    keep = (areas >= MIN_AREA_SHARE * areas.max()) | (heights >= MIN_HEIGHT_SHARE * heights.max())
    groups = _group_by_columns([i + 1 for i in np.flatnonzero(keep)], stats)
    return [_cut(ink, labels, stats, group) for group in groups]


def _components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Label the mask's 8-connected pieces: the labels and OpenCV's statistics, in the mask's coordinates.

    Only the ink's bounding box is labelled: computing the statistics walks every pixel, and on a
    canvas most of them are paper.
    """
    x, y, width, height = cv2.boundingRect(mask)
    labels = np.zeros(mask.shape, np.int32)
    if width == 0:
        return labels, np.zeros((1, cv2.CC_STAT_MAX), np.int32)
    _, labels[y : y + height, x : x + width], stats, _ = cv2.connectedComponentsWithStats(
        mask[y : y + height, x : x + width], connectivity=8
    )
    stats[1:, cv2.CC_STAT_LEFT] += x
    stats[1:, cv2.CC_STAT_TOP] += y
    return labels, stats


def _group_by_columns(kept: list[int], stats: np.ndarray) -> list[list[int]]:
    """Merge pieces that belong to one digit: the bar of a 5, the strokes of a 4 or a 7.

    Pieces merge when their columns overlap, or when a short piece sits close beside
    a taller one, as a pen lifted in the middle of a digit leaves it.
    """
    groups: list[tuple[np.ndarray, list[int]]] = []
    for label in sorted(kept, key=lambda i: stats[i, cv2.CC_STAT_LEFT]):
        box = _extent(stats[label])
        if groups and _same_digit(groups[-1][0], box):
            group_box, members = groups[-1]
            merged = np.concatenate([np.minimum(group_box, box)[:2], np.maximum(group_box, box)[2:]])
            groups[-1] = (merged, members + [label])
        else:
            groups.append((box, [label]))
    return [members for _, members in groups]


def _extent(stat: np.ndarray) -> np.ndarray:
    left, top = stat[cv2.CC_STAT_LEFT], stat[cv2.CC_STAT_TOP]
    return np.array([left, top, left + stat[cv2.CC_STAT_WIDTH], top + stat[cv2.CC_STAT_HEIGHT]])


def _same_digit(a: np.ndarray, b: np.ndarray) -> bool:
    overlap = min(a[2], b[2]) - max(a[0], b[0])
    if overlap >= MIN_OVERLAP * min(a[2] - a[0], b[2] - b[0]):
        return True
    shared_rows = min(a[3], b[3]) - max(a[1], b[1])
    if overlap > 0 and shared_rows < MAX_STACKED * min(a[3] - a[1], b[3] - b[1]):
        return True
    short, tall = sorted((a[3] - a[1], b[3] - b[1]))
    return short < SHORT_PIECE * tall and -overlap <= MAX_GAP * tall


def _cut(ink: Ink, labels: np.ndarray, stats: np.ndarray, group: list[int]) -> DigitInk:
    x0 = min(stats[i, cv2.CC_STAT_LEFT] for i in group)
    y0 = min(stats[i, cv2.CC_STAT_TOP] for i in group)
    x1 = max(stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH] for i in group)
    y1 = max(stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] for i in group)
    # Keep the anti-aliased rim just outside the mask, but not a neighbour's ink.
    height, width = labels.shape
    x0p, y0p, x1p, y1p = max(x0 - 1, 0), max(y0 - 1, 0), min(x1 + 1, width), min(y1 + 1, height)
    own = np.zeros(len(stats), np.uint8)
    own[group] = 1
    own = own[labels[y0p:y1p, x0p:x1p]]
    own = cv2.dilate(own, np.ones((3, 3), np.uint8))
    intensity = ink.intensity(slice(y0p, y1p), slice(x0p, x1p)) * own
    return DigitInk(intensity=intensity, box=_box(x0, y0, x1, y1, ink.scale), origin=(x0p, y0p), scale=ink.scale)


def _box(x0: int, y0: int, x1: int, y1: int, scale: float) -> Box:
    """The box of working pixels x0 to x1 (excluded) and y0 to y1, in the original image's pixels."""
    return Box(
        x=int(x0 / scale),
        y=int(y0 / scale),
        width=max(1, round((x1 - x0) / scale)),
        height=max(1, round((y1 - y0) / scale)),
    )

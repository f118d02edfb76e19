"""Separate the ink from the paper, whatever the polarity, lighting and noise, from the desk a photographed
sheet lies on and the shadow across it, and from the rules of lined and squared paper."""

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

WORKING_SIZE = 1024
"""Larger images are shrunk to this many pixels on their long side before searching for ink."""
BACKGROUND_SIZE = 96
MIN_LIGHTING_SIZE = 64
"""Images smaller than this (MNIST's own 28x28) have no room for uneven lighting."""
MIN_CONTRAST = 48
"""Ink must stand this many grey levels (of 255) clear of the paper, or the image is blank."""
SPARSE_INK = 0.01
"""The share of an image, in percent, that its ink is looked for in when a hundredth of it holds none."""
DESK_SIZE = 128
"""The desk around a photographed sheet is looked for on a copy this many pixels on its long side."""
SHEET_SHARE = 0.25
"""The desk is dark ground reaching the picture's sides, round a sheet covering at least this share of the
picture, ..."""
SHEET_SOLIDITY = 0.9
"""... about as convex as a sheet of paper: at least this share of the smallest convex shape round it, ..."""
WRITING_WIDTH = 3
"""... and with writing on it whose strokes are narrower than the paper round them by this factor. The desk
is broader than those strokes by the same factor: a stroke written to the picture's side (on a phone's
narrow pad, a 1 begun at its edge) is writing that reaches the side, not desk."""
SHADOW_CLOSING = 6
"""A shadow is seen through a closing this many times half the writing's widest stroke across."""
RULE_SIDE = 0.02
"""Ink this near a side of the image, as a share of its short side, reaches that side: where a rule runs out."""
RULE_FAINT = 0.2
"""Rules are looked for in what stands at least this share of a solid stroke's level clear of the paper:
they are often fainter than the writing, and only in places above its threshold."""
RULE_VOTES = 0.5
"""A rule runs straight across the page: a line holding ink along at least this share of the image's width
(or height; rules are faint in places), ..."""
RULE_SLOPE = 0.05
"""... within about 3 degrees of the image's sides: a page is photographed about straight, ..."""
RULE_THICKEST = 0.02
"""... and no thicker than this share of the image's side."""
RULE_APART = 4
"""Lines found fewer working pixels apart than this, at the image's middle, are one rule."""
MAX_RULES = 64
"""Rules looked at each way, the likeliest first: what bounds the cost of an image of nothing but lines.
Lined paper photographed whole holds about 30."""
RULE_WIDTH = 0.5
"""Where the ink through a rule is at most this share of the writing's stroke width thick, it is the rule
alone and is taken away; where a stroke crosses or runs along the rule, the ink is thicker and is kept."""


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


def at_working_size(grey: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, float]:
    """A uint8 greyscale image shrunk to at most WORKING_SIZE on its long side, and its pixels per original
    pixel; `scale` is that of the image given, when the decoder already reduced it."""
    shrink = min(1.0, WORKING_SIZE / max(grey.shape))
    if shrink < 1.0:
        grey = cv2.resize(grey, _shrunk(grey.shape, shrink), interpolation=cv2.INTER_AREA)
    return grey, scale * shrink


def find_ink(grey: np.ndarray, scale: float = 1.0) -> Ink | None:
    """Find the ink in a uint8 greyscale image, or None when the image is blank; `scale` is its pixels per
    original pixel when the decoder already reduced it."""
    grey, scale = at_working_size(grey, scale)
    levels = _histogram(grey)
    low, median, high = _percentiles(levels, (1, 50, 99))
    if high - low < MIN_CONTRAST:
        # Nearly all of the picture is one even paper, and any writing on it is in the rest: writing
        # small in a large photo may be less than a hundredth of it.
        low, high = _percentiles(levels, (SPARSE_INK, 100 - SPARSE_INK))
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
    return Ink(levels=ink, paper=paper, solid=solid, mask=mask, scale=scale)


def as_scanned(grey: np.ndarray) -> np.ndarray:
    """A photo of a sheet of paper as a scanner would see it: the darker desk it lies on painted over in the
    paper's level, or the shadow across it divided out; any other picture as it is.

    The desk would otherwise be taken for the paper where it fills most of the picture (and the paper for
    ink), or for a frame of ink round the writing, in one blob with it; a shadow's edge for ink, and the
    paper's level taken from the shadow where it covers most of the page. A drawing on the page's pad, or
    a digit written light on a dark ground, has neither (`_desk`).
    """
    height, width = grey.shape
    if min(height, width) < MIN_LIGHTING_SIZE:
        return grey
    # Nothing dark reaches the sides (a canvas, most scans): no pixel on them stands MIN_CONTRAST below the
    # picture's light, nor below white, which is quicker to ask first.
    darkest = min(grey[0].min(), grey[-1].min(), grey[:, 0].min(), grey[:, -1].min())
    if darkest > 255 - MIN_CONTRAST:
        return grey
    (light,) = _percentiles(_histogram(grey[::4, ::4].copy()), (90,))
    if darkest >= light - MIN_CONTRAST:
        return grey
    factor = min(1.0, DESK_SIZE / max(height, width))
    found = _desk(cv2.resize(grey, _shrunk(grey.shape, factor), interpolation=cv2.INTER_AREA))
    if found is None:
        return grey
    desk, writing = found
    # Back at the picture's size; a pixel of the copy is several of the picture's, at the sheet's edge too.
    desk = cv2.resize(desk, (width, height), interpolation=cv2.INTER_NEAREST)
    edge = np.ones((2 * int(np.ceil(1 / factor)) + 1,) * 2, np.uint8)
    inside, around = cv2.erode(desk, edge) > 0, cv2.dilate(desk, edge) > 0
    if not inside.any() or around.all():
        return grey
    # The paper's level: the lighter half of the sheet's (the writing is in the darker).
    (paper,) = _percentiles(_histogram(np.ascontiguousarray(grey[~around])[None]), (75,))
    darkest, middle, lightest = _percentiles(_histogram(np.ascontiguousarray(grey[inside])[None]), (0.1, 50, 99.9))
    if middle - darkest < MIN_CONTRAST and lightest - middle < MIN_CONTRAST:
        return np.where(around, np.uint8(paper), grey)  # an even desk
    # Dark ground with writing in it: a shadow across the page. The paper's level everywhere, as a closing
    # wider than any stroke sees it, keeps a shadow's sharp edge (the lighting model, `_paper`, follows only
    # slow changes of light); a shadow darkens the paper and the ink alike, so it is divided out.
    side = min(int(SHADOW_CLOSING * writing / factor), min(height, width) // 2) | 1
    background = cv2.morphologyEx(grey, cv2.MORPH_CLOSE, np.ones((side, side), np.uint8))
    return cv2.divide(grey, background, scale=paper)


def _desk(small: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Where a small copy of a photo shows the desk (or a shadow) round a sheet of paper (uint8, 1 on the
    desk), and how wide the writing's strokes are (half of the widest, in the copy's pixels); or None.

    The desk is the dark ground that reaches the picture's sides, broader than the writing (WRITING_WIDTH).
    The sheet, all the rest, is large (SHEET_SHARE) and convex (SHEET_SOLIDITY), and has writing on it: dark
    strokes, narrower than the paper round them (WRITING_WIDTH). A digit written light on a dark ground is
    none of that: a 1 has nothing dark within it, and the inside of a 0 is as broad as its ring.
    """
    _, bright = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    _, labels = cv2.connectedComponents(1 - bright, connectivity=4)
    reaching = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    reaching = reaching[reaching > 0]
    # How far inside its dark ground each pixel lies: half a stroke's width at most, on a stroke.
    inside = cv2.distanceTransform(1 - bright, cv2.DIST_L2, 3)
    writing = inside[~np.isin(labels, reaching)].max(initial=0.0)
    broad = np.asarray(ndimage.maximum(inside, labels, reaching)) > WRITING_WIDTH * writing
    desk = np.isin(labels, reaching[broad]).astype(np.uint8)
    sheet = 1 - desk
    if not desk.any() or sheet.mean() < SHEET_SHARE:
        return None
    paper = cv2.distanceTransform(bright, cv2.DIST_L2, 3).max()
    if not 0 < WRITING_WIDTH * writing < paper:
        return None
    if sheet.sum() < SHEET_SOLIDITY * cv2.contourArea(cv2.convexHull(cv2.findNonZero(sheet))):
        return None
    return desk, writing


def without_rules(ink: Ink) -> Ink:
    """The ink without the rules of lined or squared paper: a number written in a school notebook is
    otherwise one blob, strung together by the lines it sits on.

    Only ink that reaches two opposite sides of the image is looked at, as a rule does and a digit on
    a canvas does not, so that a drawing costs nothing more.
    """
    height, width = ink.mask.shape
    if min(height, width) < MIN_LIGHTING_SIZE:
        return ink
    faint = ink.paper + RULE_FAINT * (ink.solid - ink.paper)
    edge = max(1, round(RULE_SIDE * min(height, width)))
    levels = ink.levels
    across = levels[:, :edge].max() > faint and levels[:, -edge:].max() > faint
    down = levels[:edge].max() > faint and levels[-edge:].max() > faint
    if not (across or down):
        return ink
    found = np.maximum(ink.mask, levels > faint)
    horizontal = _rules(found) if across else []
    vertical = _rules(np.ascontiguousarray(found.T)) if down else []
    if not horizontal and not vertical:
        return ink
    inner = cv2.distanceTransform(found, cv2.DIST_L2, 3)
    # The writing's strokes are the thickest ink on the page: the inside of the thickest hundredth.
    stroke = 2 * float(np.percentile(inner[found > 0], 99))
    widest = min(max(2.0, RULE_WIDTH * stroke), max(2.0, RULE_THICKEST * min(height, width)))
    kept = _stripped(found, horizontal, widest)
    kept = _stripped(np.ascontiguousarray(kept.T), vertical, widest).T
    removed = found > kept
    if not removed.any():
        return ink
    return Ink(
        levels=np.where(removed, np.minimum(levels, np.uint8(ink.paper)), levels),
        paper=ink.paper,
        solid=ink.solid,
        mask=np.where(removed, 0, ink.mask).astype(np.uint8),
        scale=ink.scale,
    )


def _rules(found: np.ndarray) -> list[tuple[float, float]]:
    """The rules running across an image of ink (uint8, 1 on ink), likeliest first, as (row at column 0,
    rows per column).

    The Hough transform looks only at lines within RULE_SLOPE of the horizontal, so that its cost is a
    few dozen additions a pixel of ink whatever the image holds.
    """
    width = found.shape[1]
    steep = np.arctan(RULE_SLOPE)
    lines = cv2.HoughLines(
        found,
        rho=1,
        theta=np.pi / 720,
        threshold=max(10, round(RULE_VOTES * width)),
        min_theta=np.pi / 2 - steep,
        max_theta=np.pi / 2 + steep,
    )
    rules: list[tuple[float, float]] = []
    # x cos(theta) + y sin(theta) = rho. A rule a few pixels wide is found several times, a row apart.
    for rho, theta in [] if lines is None else lines[:, 0].astype(float):
        start, slope = rho / np.sin(theta), -1 / np.tan(theta)
        middle = start + slope * width / 2
        if all(abs(middle - (other + tilt * width / 2)) > RULE_APART for other, tilt in rules):
            rules.append((start, slope))
            if len(rules) == MAX_RULES:
                break
    return rules


def _stripped(found: np.ndarray, rules: list[tuple[float, float]], widest: float) -> np.ndarray:
    """The ink without the run of ink through each rule in each column where that run is no thicker than
    `widest`."""
    height, width = found.shape
    kept = found.copy()
    reach = int(widest) + 2
    offsets = np.arange(-reach, reach + 1)[:, None]
    columns = np.broadcast_to(np.arange(width), (len(offsets), width))
    for start, slope in rules:
        fitted = np.rint(start + slope * np.arange(width)).astype(int)
        # The fitted line may pass a row beside the rule's ink.
        middle = np.where(_inked(found, fitted), fitted, np.where(_inked(found, fitted - 1), fitted - 1, fitted + 1))
        rows = np.clip(middle + offsets, 0, height - 1)
        band = found[rows, columns] > 0
        above = np.cumprod(band[reach - 1 :: -1], axis=0).sum(axis=0)
        below = np.cumprod(band[reach + 1 :], axis=0).sum(axis=0)
        rule = band[reach] & (above + below + 1 <= widest) & (above < reach) & (below < reach)
        run = rule & (offsets >= -above) & (offsets <= below)
        kept[rows[run], columns[run]] = 0
    if not rules:
        return kept
    # What is left of a rule where it ran thicker for a stretch (blur, a crossing at a slant) is a thin
    # stroke along it, apart from any digit: left in, it would join the digits above and below it.
    _, labels, stats, centres = cv2.connectedComponentsWithStats(kept, connectivity=8)
    starts, slopes = np.array(rules).T
    along = np.abs(centres[1:, 1, None] - (starts + slopes * centres[1:, 0, None])).min(axis=1) <= reach
    # As thin as a rule on average: a digit's own stroke along a rule (the bar of a 5) is thicker.
    thin = (stats[1:, cv2.CC_STAT_HEIGHT] <= 2 * reach) & (
        stats[1:, cv2.CC_STAT_AREA] <= widest * stats[1:, cv2.CC_STAT_WIDTH]
    )
    stubs = np.concatenate([[False], along & thin])
    return np.where(stubs[labels], 0, kept).astype(np.uint8)


def _inked(found: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Whether there is ink at each column's given row (rows beyond the image have none)."""
    inside = (rows >= 0) & (rows < found.shape[0])
    return inside & (found[np.clip(rows, 0, found.shape[0] - 1), np.arange(found.shape[1])] > 0)


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

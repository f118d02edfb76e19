"""Synthetic handwriting: digits in the styles MNIST lacks, and digits run together.

MNIST's writers were American; people elsewhere put a long upstroke on their 1, a bar
through their 7 and their 0, a flat top on their 3. No such data ships with MNIST, so it is
drawn here as pen trajectories: strokes in a box one unit high (x to the right, y down),
bent, slanted and wobbled at random, and rendered with an anti-aliased pen. The same
machinery edits MNIST digits at stroke level (`mnist_edits`) and draws what is not a digit (`marks`).

Every random choice comes from the generator passed in, so a seed reproduces a sample.
"""

from collections.abc import Callable

import cv2
import numpy as np

Strokes = list[np.ndarray]
"""Each stroke an (n, 2) array of (x, y) points in the unit box, drawn without lifting the pen."""

SHIFT = 4
"""Fractional bits of the points given to OpenCV's drawing functions."""


# Building strokes.


def spline(points, samples: int = 12) -> np.ndarray:
    """A smooth curve through the points (Catmull-Rom), `samples` points per segment."""
    points = np.asarray(points, np.float64)
    if len(points) < 3:
        return points
    padded = np.concatenate([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, samples, endpoint=False)[:, None]
    curve = []
    for p0, p1, p2, p3 in zip(padded[:-3], padded[1:-2], padded[2:-1], padded[3:]):
        curve.append(
            0.5
            * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3)
        )
    return np.concatenate([*curve, points[-1:]])


def arc(centre, radii, start: float, sweep: float, tilt: float = 0.0, samples: int = 48) -> np.ndarray:
    """Points along an ellipse from angle `start` through `sweep` degrees (clockwise on screen, as y
    points down), the ellipse turned by `tilt` degrees."""
    angles = np.radians(start + np.linspace(0, sweep, samples))
    x, y = radii[0] * np.cos(angles), radii[1] * np.sin(angles)
    turn = np.radians(tilt)
    return np.stack(
        [centre[0] + x * np.cos(turn) - y * np.sin(turn), centre[1] + x * np.sin(turn) + y * np.cos(turn)], axis=1
    )


def jittered(rng: np.random.Generator, points, amount: float = 0.03) -> np.ndarray:
    points = np.asarray(points, np.float64)
    return points + rng.normal(0, amount, points.shape)


def uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


# Digits, by style. Each function draws one digit in the unit box.


def zero(rng):
    rx, tilt = uniform(rng, 0.24, 0.42), uniform(rng, -15, 15)
    loop = arc((0.5, 0.5), (rx, 0.5), uniform(rng, -120, -60), uniform(rng, 350, 390) * rng.choice([-1, 1]), tilt)
    return [jittered(rng, loop, 0.012)]


def zero_crossed(rng):
    (loop,) = zero(rng)
    left, right = loop[:, 0].min(), loop[:, 0].max()
    reach = uniform(rng, -0.1, 0.12)
    slash = np.array([[right - 0.05 + reach, -reach], [left + 0.05 - reach, 1 + reach]])
    if rng.random() < 0.3:  # some slash from bottom left to top right, or stand it upright
        slash = slash[::-1] if rng.random() < 0.5 else np.array([[0.5, -reach], [0.5, 1 + reach]])
    return [loop, spline(slash)]


def one(rng):
    x = uniform(rng, 0.3, 0.7)
    return [spline([(x + uniform(rng, -0.08, 0.08), 0), (x + uniform(rng, -0.03, 0.03), 0.5), (x, 1)])]


def one_flagged(rng, flag=(0.22, 0.55), base_chance: float = 0.35):
    """The continental 1: a long upstroke from the left to the top of the stem, often on a base."""
    top = np.array([uniform(rng, 0.45, 0.7), 0.0])
    length, angle = uniform(rng, *flag), np.radians(uniform(rng, 30, 65))
    start = top + length * np.array([-np.cos(angle), np.sin(angle)])
    bend = (start + top) / 2 + uniform(rng, -0.04, 0.04) * np.array([np.sin(angle), np.cos(angle)])
    bottom = np.array([top[0] + uniform(rng, -0.1, 0.06), 1.0])
    strokes = [spline([start, bend, top, (top + bottom) / 2 + (uniform(rng, -0.02, 0.02), 0), bottom])]
    if rng.random() < base_chance:
        half = uniform(rng, 0.15, 0.32)
        strokes.append(spline([bottom - (half, 0), bottom + (half, uniform(rng, -0.03, 0.03))]))
    return strokes


def one_flagged_lightly(rng):
    """MNIST's own 1 sometimes has a short serif at the top."""
    return one_flagged(rng, flag=(0.08, 0.2), base_chance=0.15)


def two(rng, loop: bool = False):
    width = uniform(rng, 0.55, 0.85)
    left, right = 0.5 - width / 2, 0.5 + width / 2
    top = [(left, uniform(rng, 0.15, 0.35)), (0.5, 0.0), (right, uniform(rng, 0.15, 0.3)), (right - 0.05, 0.45)]
    corner = (left + uniform(rng, -0.03, 0.05), 1.0)
    if loop:
        r = uniform(rng, 0.07, 0.13)
        middle = [(corner[0] + r, 1 - 2.2 * r), (corner[0] - 0.02, 1 - r), (corner[0] + r, 1.0)]
    else:
        middle = [corner]
    base = [(right + uniform(rng, -0.05, 0.08), 1.0 + uniform(rng, -0.05, 0.02))]
    return [spline(jittered(rng, top, 0.02).tolist() + middle + base, 10)]


def two_looped(rng):
    return two(rng, loop=True)


def three(rng):
    width = uniform(rng, 0.5, 0.8)
    left, right = 0.5 - width / 2, 0.5 + width / 2
    points = [
        (left, 0.12),
        (0.5, 0.0),
        (right, 0.2),
        (0.45 + uniform(rng, -0.05, 0.05), 0.47),
        (right + 0.03, 0.7),
        (0.5, 1.0),
        (left - 0.02, 0.85),
    ]
    return [spline(jittered(rng, points, 0.02))]


def three_flat_topped(rng):
    """A 3 whose top is a bar and a diagonal, as it is written in France and Latin America."""
    width = uniform(rng, 0.5, 0.8)
    left, right = 0.5 - width / 2, 0.5 + width / 2
    top = [(left, 0.0), (right, 0.0)]
    lower = [(right, 0.0), (0.45, 0.42), (right + 0.02, 0.68), (0.5, 1.0), (left - 0.02, 0.85)]
    return [np.concatenate([spline(top), spline(jittered(rng, lower, 0.015))[1:]])]


def four_open(rng):
    bar, stem_x = uniform(rng, 0.55, 0.72), uniform(rng, 0.5, 0.7)
    corner = (uniform(rng, 0.0, 0.15), bar)
    first = [(uniform(rng, 0.2, 0.45), 0.0), corner, (uniform(rng, 0.8, 1.0), bar + uniform(rng, -0.05, 0.03))]
    second = [(stem_x + uniform(rng, 0.0, 0.08), uniform(rng, 0.0, 0.25)), (stem_x, 1.0)]
    return [np.array(jittered(rng, first, 0.015)), spline(second)]


def four_closed(rng):
    bar, stem_x = uniform(rng, 0.55, 0.72), uniform(rng, 0.55, 0.7)
    apex = (stem_x + uniform(rng, -0.05, 0.05), 0.0)
    first = [(stem_x, 1.0), apex, (uniform(rng, 0.0, 0.1), bar), (uniform(rng, 0.8, 1.0), bar)]
    return [np.array(jittered(rng, first, 0.015))]


def five(rng):
    left = uniform(rng, 0.15, 0.3)
    body = [(left, 0.0), (left - 0.03, 0.45), (0.55, 0.38), (0.78, 0.62), (0.6, 0.95), (0.3, 1.0), (0.12, 0.88)]
    bar = [(left, 0.0), (uniform(rng, 0.6, 0.85), uniform(rng, -0.05, 0.03))]
    if rng.random() < 0.4:  # in one stroke, the bar first
        return [np.concatenate([spline(bar[::-1]), spline(jittered(rng, body, 0.015))[1:]])]
    return [spline(jittered(rng, body, 0.015)), spline(bar)]


def six(rng):
    r = uniform(rng, 0.22, 0.32)
    loop = arc((0.5, 1 - r), (r, r * uniform(rng, 0.9, 1.1)), 180, 360 + uniform(rng, -20, 20))
    stem = spline([(uniform(rng, 0.55, 0.8), 0.0), (0.35, 0.2), (0.5 - r, 1 - r)])
    return [np.concatenate([jittered(rng, stem, 0.01), loop[1:]])]


def seven(rng, bar: bool = False, hook: bool = False, lift: bool = False):
    left, right = uniform(rng, 0.0, 0.15), uniform(rng, 0.75, 1.0)
    top = [(left, uniform(rng, 0.0, 0.06)), (right, uniform(rng, -0.03, 0.03))]
    foot = (uniform(rng, 0.2, 0.5), 1.0)
    stem = spline([top[1], ((top[1][0] + foot[0]) / 2 + uniform(rng, -0.06, 0.04), 0.5), foot])
    head = spline(top)
    if hook:
        head = np.concatenate([[(left + uniform(rng, -0.02, 0.02), uniform(rng, 0.12, 0.22))], head])
    strokes = [head, stem] if lift else [np.concatenate([head, stem[1:]])]
    if bar:
        height = uniform(rng, 0.42, 0.6)
        crossing = np.interp(height, stem[:, 1], stem[:, 0])
        half = uniform(rng, 0.14, 0.3)
        offset = uniform(rng, -0.5, 0.5) * half if rng.random() < 0.25 else 0.0  # the bar joined or not
        strokes.append(
            spline(
                [
                    (crossing - half + offset, height + uniform(rng, -0.03, 0.03)),
                    (crossing + half + offset, height + uniform(rng, -0.03, 0.03)),
                ]
            )
        )
    return strokes


def seven_barred(rng):
    return seven(rng, bar=True, hook=rng.random() < 0.4, lift=rng.random() < 0.4)


def seven_hooked(rng):
    return seven(rng, hook=True, lift=rng.random() < 0.3)


def eight(rng):
    upper, lower = uniform(rng, 0.18, 0.26), uniform(rng, 0.22, 0.32)
    middle = 2 * upper / (2 * upper + 2 * lower)
    if rng.random() < 0.35:  # two stacked loops
        return [
            arc((0.5, middle / 2), (upper, middle / 2), 0, 360),
            arc((0.5 + uniform(rng, -0.04, 0.04), (1 + middle) / 2), (lower, (1 - middle) / 2), 0, 360),
        ]
    points = [
        (0.5 + upper, 0.12),
        (0.5, 0.0),
        (0.5 - upper, 0.15),
        (0.5, middle),
        (0.5 + lower, middle + 0.2),
        (0.5, 1.0),
        (0.5 - lower, middle + 0.2),
        (0.5, middle),
        (0.5 + upper * 0.9, 0.15),
    ]
    return [spline(jittered(rng, points, 0.015))]


def nine(rng, curl: bool = False):
    r = uniform(rng, 0.2, 0.3)
    centre = (0.5, r * uniform(rng, 0.9, 1.1))
    loop = arc(centre, (r, centre[1]), 0, -360 - uniform(rng, 0, 30))
    attach = (centre[0] + r, centre[1])
    foot = (attach[0] - uniform(rng, 0.0, 0.2), 1.0)
    if curl:
        stem = [attach, (foot[0] + 0.02, 0.8), (foot[0] - 0.08, 1.0), (foot[0] - uniform(rng, 0.18, 0.3), 0.9)]
    else:
        stem = [attach, ((attach[0] + foot[0]) / 2, 0.6), foot]
    return [np.concatenate([jittered(rng, loop, 0.01), spline(stem)[1:]])]


def nine_curled(rng):
    return nine(rng, curl=True)


DIGIT_STYLES: dict[str, tuple[int, Callable]] = {
    "0": (0, zero),
    "0 crossed": (0, zero_crossed),
    "1": (1, one),
    "1 continental": (1, one_flagged),
    "1 with a short flag": (1, one_flagged_lightly),
    "2": (2, two),
    "2 with a loop": (2, two_looped),
    "3": (3, three),
    "3 flat-topped": (3, three_flat_topped),
    "4 open": (4, four_open),
    "4 closed": (4, four_closed),
    "5": (5, five),
    "6": (6, six),
    "7": (7, seven),
    "7 crossed": (7, seven_barred),
    "7 hooked": (7, seven_hooked),
    "8": (8, eight),
    "9": (9, nine),
    "9 curled": (9, nine_curled),
}


def run_together(
    inks: list[np.ndarray], rng: np.random.Generator, overlap=(0.0, 0.15), rise: float = 0.05, margin: int = 8
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Write inks (float32 in [0, 1]) left to right so that each touches the one before and then
    overlaps it by a share of their mean width drawn from `overlap`; each sits up to `rise` of its
    height above or below the line. Returns the page and where each ink's top-left corner went."""
    height = max(ink.shape[0] for ink in inks)
    width = sum(ink.shape[1] for ink in inks)
    page = np.zeros((height + 2 * margin + round(2 * rise * height), width + 2 * margin), np.float32)
    placed, right_edge, previous_width = [], None, 0
    for ink in inks:
        top = margin + round(rise * height) + round(uniform(rng, -rise, rise) * ink.shape[0])
        top = min(max(top, 0), page.shape[0] - ink.shape[0])
        mine = ink >= 0.3
        left_edge = np.where(mine.any(axis=1), mine.argmax(axis=1), np.iinfo(np.int32).max)
        if right_edge is None:
            x = margin
        else:
            rows = slice(top, top + ink.shape[0])
            # The furthest left this ink may go before touching: one column clear of the page's ink, row by row.
            clear = right_edge[rows] - left_edge + 1
            shared = (right_edge[rows] >= 0) & mine.any(axis=1)
            x = int(clear[shared].max()) if shared.any() else int(right_edge.max()) + 1
            columns = np.flatnonzero(mine.any(axis=0))
            mean_width = (columns[-1] - columns[0] + 1 + previous_width) / 2
            x = max(0, x - round(uniform(rng, *overlap) * mean_width))
        x = min(x, page.shape[1] - ink.shape[1])
        area = page[top : top + ink.shape[0], x : x + ink.shape[1]]
        np.maximum(area, ink, out=area)
        placed.append((x, top))
        inked = page >= 0.3
        right_edge = np.where(inked.any(axis=1), inked.shape[1] - 1 - inked[:, ::-1].argmax(axis=1), -1)
        columns = np.flatnonzero(mine.any(axis=0))
        previous_width = columns[-1] - columns[0] + 1
    return page, placed


# Rendering.


def render(
    strokes: Strokes,
    rng: np.random.Generator,
    height: int = 64,
    pen: float = 0.09,
    slant: float = 0.3,
    rotation: float = 10.0,
    wobble: float = 0.025,
) -> np.ndarray:
    """Draw strokes as a person might: slanted, turned, wobbled, with a pen `pen` times the height.

    Returns float32 ink in [0, 1] (white on black) with a margin around it.
    """
    points = [np.asarray(s, np.float64) for s in strokes]
    every = np.concatenate(points)
    centre = (every.min(axis=0) + every.max(axis=0)) / 2
    angle = np.radians(uniform(rng, -rotation, rotation))
    shear = uniform(rng, -slant, slant)
    aspect = np.exp(uniform(rng, -0.25, 0.25))
    transform = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ np.array(
        [[aspect, -shear], [0.0, 1.0]]
    )
    phases, frequencies = rng.uniform(0, 2 * np.pi, (2, 2)), rng.uniform(1.0, 2.5, (2, 2))
    moved = []
    for stroke in points:
        stroke = (stroke - centre) @ transform.T
        waves = np.sin(frequencies[:, :1] * 2 * np.pi * stroke[:, 1] + phases[:, :1]) + np.sin(
            frequencies[:, 1:] * 2 * np.pi * stroke[:, 0] + phases[:, 1:]
        )
        moved.append(stroke + wobble * waves.T / 2)
    every = np.concatenate(moved)
    low, high = every.min(axis=0), every.max(axis=0)
    scale = height / max(high[1] - low[1], 0.25 * (high[0] - low[0]), 1e-6)
    thickness = max(1, round(pen * height))
    margin = thickness + 2
    size = np.ceil((high - low) * scale).astype(int) + 2 * margin
    canvas = np.zeros((size[1], size[0]), np.uint8)
    for stroke in moved:
        pixels = np.rint(((stroke - low) * scale + margin) * (1 << SHIFT)).astype(np.int32)
        cv2.polylines(canvas, [pixels], False, 255, thickness, cv2.LINE_AA, SHIFT)
    return canvas.astype(np.float32) / 255.0

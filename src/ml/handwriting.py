"""Synthetic handwriting: digits in the styles MNIST lacks, and marks that are not digits.

MNIST's writers were American; people elsewhere put a long upstroke on their 1, a bar
through their 7 and their 0, a flat top on their 3. No such data ships with MNIST, so it is
drawn here as pen trajectories: strokes in a box one unit high (x to the right, y down),
bent, slanted and wobbled at random, and rendered with an anti-aliased pen. The same
machinery draws what is not a digit (scribbles, spirals, hatching, shapes, letters) and
edits MNIST digits at stroke level (a flag on a 1, a bar through a 7, a slash through a 0).

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
        curve.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                            + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3))
    return np.concatenate([*curve, points[-1:]])


def arc(centre, radii, start: float, sweep: float, tilt: float = 0.0, samples: int = 48) -> np.ndarray:
    """Points along an ellipse from angle `start` through `sweep` degrees (clockwise on screen, as y
    points down), the ellipse turned by `tilt` degrees."""
    angles = np.radians(start + np.linspace(0, sweep, samples))
    x, y = radii[0] * np.cos(angles), radii[1] * np.sin(angles)
    turn = np.radians(tilt)
    return np.stack([centre[0] + x * np.cos(turn) - y * np.sin(turn),
                     centre[1] + x * np.sin(turn) + y * np.cos(turn)], axis=1)


def _jittered(rng: np.random.Generator, points, amount: float = 0.03) -> np.ndarray:
    points = np.asarray(points, np.float64)
    return points + rng.normal(0, amount, points.shape)


def _u(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


# Digits, by style. Each function draws one digit in the unit box.

def zero(rng):
    rx, tilt = _u(rng, 0.24, 0.42), _u(rng, -15, 15)
    loop = arc((0.5, 0.5), (rx, 0.5), _u(rng, -120, -60), _u(rng, 350, 390) * rng.choice([-1, 1]), tilt)
    return [_jittered(rng, loop, 0.012)]


def zero_crossed(rng):
    (loop,) = zero(rng)
    left, right = loop[:, 0].min(), loop[:, 0].max()
    reach = _u(rng, -0.1, 0.12)
    slash = np.array([[right - 0.05 + reach, -reach], [left + 0.05 - reach, 1 + reach]])
    if rng.random() < 0.3:  # some slash from bottom left to top right, or stand it upright
        slash = slash[::-1] if rng.random() < 0.5 else np.array([[0.5, -reach], [0.5, 1 + reach]])
    return [loop, spline(slash)]


def one(rng):
    x = _u(rng, 0.3, 0.7)
    return [spline([(x + _u(rng, -0.08, 0.08), 0), (x + _u(rng, -0.03, 0.03), 0.5), (x, 1)])]


def one_flagged(rng, flag=(0.22, 0.55), base_chance: float = 0.35):
    """The continental 1: a long upstroke from the left to the top of the stem, often on a base."""
    top = np.array([_u(rng, 0.45, 0.7), 0.0])
    length, angle = _u(rng, *flag), np.radians(_u(rng, 30, 65))
    start = top + length * np.array([-np.cos(angle), np.sin(angle)])
    bend = (start + top) / 2 + _u(rng, -0.04, 0.04) * np.array([np.sin(angle), np.cos(angle)])
    bottom = np.array([top[0] + _u(rng, -0.1, 0.06), 1.0])
    strokes = [spline([start, bend, top, (top + bottom) / 2 + (_u(rng, -0.02, 0.02), 0), bottom])]
    if rng.random() < base_chance:
        half = _u(rng, 0.15, 0.32)
        strokes.append(spline([bottom - (half, 0), bottom + (half, _u(rng, -0.03, 0.03))]))
    return strokes


def one_flagged_lightly(rng):
    """MNIST's own 1 sometimes has a short serif at the top."""
    return one_flagged(rng, flag=(0.08, 0.2), base_chance=0.15)


def two(rng, loop: bool = False):
    width = _u(rng, 0.55, 0.85)
    left, right = 0.5 - width / 2, 0.5 + width / 2
    top = [(left, _u(rng, 0.15, 0.35)), (0.5, 0.0), (right, _u(rng, 0.15, 0.3)), (right - 0.05, 0.45)]
    corner = (left + _u(rng, -0.03, 0.05), 1.0)
    if loop:
        r = _u(rng, 0.07, 0.13)
        middle = [(corner[0] + r, 1 - 2.2 * r), (corner[0] - 0.02, 1 - r), (corner[0] + r, 1.0)]
    else:
        middle = [corner]
    base = [(right + _u(rng, -0.05, 0.08), 1.0 + _u(rng, -0.05, 0.02))]
    return [spline(_jittered(rng, top, 0.02).tolist() + middle + base, 10)]


def two_looped(rng):
    return two(rng, loop=True)


def three(rng):
    width = _u(rng, 0.5, 0.8)
    left, right = 0.5 - width / 2, 0.5 + width / 2
    points = [(left, 0.12), (0.5, 0.0), (right, 0.2), (0.45 + _u(rng, -0.05, 0.05), 0.47),
              (right + 0.03, 0.7), (0.5, 1.0), (left - 0.02, 0.85)]
    return [spline(_jittered(rng, points, 0.02))]


def three_flat_topped(rng):
    """A 3 whose top is a bar and a diagonal, as it is written in France and Latin America."""
    width = _u(rng, 0.5, 0.8)
    left, right = 0.5 - width / 2, 0.5 + width / 2
    top = [(left, 0.0), (right, 0.0)]
    lower = [(right, 0.0), (0.45, 0.42), (right + 0.02, 0.68), (0.5, 1.0), (left - 0.02, 0.85)]
    return [np.concatenate([spline(top), spline(_jittered(rng, lower, 0.015))[1:]])]


def four_open(rng):
    bar, stem_x = _u(rng, 0.55, 0.72), _u(rng, 0.5, 0.7)
    corner = (_u(rng, 0.0, 0.15), bar)
    first = [(_u(rng, 0.2, 0.45), 0.0), corner, (_u(rng, 0.8, 1.0), bar + _u(rng, -0.05, 0.03))]
    second = [(stem_x + _u(rng, 0.0, 0.08), _u(rng, 0.0, 0.25)), (stem_x, 1.0)]
    return [np.array(_jittered(rng, first, 0.015)), spline(second)]


def four_closed(rng):
    bar, stem_x = _u(rng, 0.55, 0.72), _u(rng, 0.55, 0.7)
    apex = (stem_x + _u(rng, -0.05, 0.05), 0.0)
    first = [(stem_x, 1.0), apex, (_u(rng, 0.0, 0.1), bar), (_u(rng, 0.8, 1.0), bar)]
    return [np.array(_jittered(rng, first, 0.015))]


def five(rng):
    left = _u(rng, 0.15, 0.3)
    body = [(left, 0.0), (left - 0.03, 0.45), (0.55, 0.38), (0.78, 0.62), (0.6, 0.95), (0.3, 1.0), (0.12, 0.88)]
    bar = [(left, 0.0), (_u(rng, 0.6, 0.85), _u(rng, -0.05, 0.03))]
    if rng.random() < 0.4:  # in one stroke, the bar first
        return [np.concatenate([spline(bar[::-1]), spline(_jittered(rng, body, 0.015))[1:]])]
    return [spline(_jittered(rng, body, 0.015)), spline(bar)]


def six(rng):
    r = _u(rng, 0.22, 0.32)
    loop = arc((0.5, 1 - r), (r, r * _u(rng, 0.9, 1.1)), 180, 360 + _u(rng, -20, 20))
    stem = spline([(_u(rng, 0.55, 0.8), 0.0), (0.35, 0.2), (0.5 - r, 1 - r)])
    return [np.concatenate([_jittered(rng, stem, 0.01), loop[1:]])]


def seven(rng, bar: bool = False, hook: bool = False, lift: bool = False):
    left, right = _u(rng, 0.0, 0.15), _u(rng, 0.75, 1.0)
    top = [(left, _u(rng, 0.0, 0.06)), (right, _u(rng, -0.03, 0.03))]
    foot = (_u(rng, 0.2, 0.5), 1.0)
    stem = spline([top[1], ((top[1][0] + foot[0]) / 2 + _u(rng, -0.06, 0.04), 0.5), foot])
    head = spline(top)
    if hook:
        head = np.concatenate([[(left + _u(rng, -0.02, 0.02), _u(rng, 0.12, 0.22))], head])
    strokes = [head, stem] if lift else [np.concatenate([head, stem[1:]])]
    if bar:
        height = _u(rng, 0.42, 0.6)
        crossing = np.interp(height, stem[:, 1], stem[:, 0])
        half = _u(rng, 0.14, 0.3)
        offset = _u(rng, -0.5, 0.5) * half if rng.random() < 0.25 else 0.0  # the bar joined or not
        strokes.append(spline([(crossing - half + offset, height + _u(rng, -0.03, 0.03)),
                               (crossing + half + offset, height + _u(rng, -0.03, 0.03))]))
    return strokes


def seven_barred(rng):
    return seven(rng, bar=True, hook=rng.random() < 0.4, lift=rng.random() < 0.4)


def seven_hooked(rng):
    return seven(rng, hook=True, lift=rng.random() < 0.3)


def eight(rng):
    upper, lower = _u(rng, 0.18, 0.26), _u(rng, 0.22, 0.32)
    middle = 2 * upper / (2 * upper + 2 * lower)
    if rng.random() < 0.35:  # two stacked loops
        return [arc((0.5, middle / 2), (upper, middle / 2), 0, 360),
                arc((0.5 + _u(rng, -0.04, 0.04), (1 + middle) / 2), (lower, (1 - middle) / 2), 0, 360)]
    points = [(0.5 + upper, 0.12), (0.5, 0.0), (0.5 - upper, 0.15), (0.5, middle), (0.5 + lower, middle + 0.2),
              (0.5, 1.0), (0.5 - lower, middle + 0.2), (0.5, middle), (0.5 + upper * 0.9, 0.15)]
    return [spline(_jittered(rng, points, 0.015))]


def nine(rng, curl: bool = False):
    r = _u(rng, 0.2, 0.3)
    centre = (0.5, r * _u(rng, 0.9, 1.1))
    loop = arc(centre, (r, centre[1]), 0, -360 - _u(rng, 0, 30))
    attach = (centre[0] + r, centre[1])
    foot = (attach[0] - _u(rng, 0.0, 0.2), 1.0)
    if curl:
        stem = [attach, (foot[0] + 0.02, 0.8), (foot[0] - 0.08, 1.0), (foot[0] - _u(rng, 0.18, 0.3), 0.9)]
    else:
        stem = [attach, ((attach[0] + foot[0]) / 2, 0.6), foot]
    return [np.concatenate([_jittered(rng, loop, 0.01), spline(stem)[1:]])]


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


# Marks that are not digits.

def zigzag(rng):
    turns = int(rng.integers(4, 10))
    xs = np.linspace(0, _u(rng, 0.8, 2.5), turns + 1)
    ys = np.where(np.arange(turns + 1) % 2 == 0, 0.0, 1.0) + rng.normal(0, 0.06, turns + 1)
    points = np.stack([xs, ys], axis=1)
    return [_jittered(rng, points[:, ::-1] if rng.random() < 0.3 else points, 0.02)]


def spiral(rng):
    turns = _u(rng, 1.8, 4.0)
    angles = np.linspace(0, 2 * np.pi * turns, int(60 * turns))
    radius = 0.5 * (0.08 + angles / angles[-1])
    direction = rng.choice([-1, 1])
    return [np.stack([0.5 + radius * np.cos(direction * angles), 0.5 + radius * np.sin(direction * angles)], axis=1)]


def hatching(rng):
    lines, angle = int(rng.integers(3, 9)), np.radians(_u(rng, 0, 180))
    spacing = _u(rng, 0.1, 0.25)
    strokes = []
    for angle_i in [angle] + ([angle + np.radians(_u(rng, 50, 130))] if rng.random() < 0.4 else []):
        along, across = np.array([np.cos(angle_i), np.sin(angle_i)]), np.array([-np.sin(angle_i), np.cos(angle_i)])
        for k in range(lines):
            centre = 0.5 + (k - lines / 2) * spacing * across
            half = _u(rng, 0.35, 0.6)
            strokes.append(_jittered(rng, [centre - half * along, centre + half * along], 0.015))
    return strokes


def scribble(rng):
    """A tangle: a pen wandering in loops over the same spot."""
    steps = int(rng.integers(8, 20))
    points = np.cumsum(rng.normal(0, 0.25, (steps, 2)), axis=0)
    return [spline(points, 8)]


def squiggle(rng):
    periods = _u(rng, 1.5, 5)
    x = np.linspace(0, periods * _u(rng, 0.3, 0.6), 80)
    y = 0.5 + _u(rng, 0.15, 0.5) * np.sin(2 * np.pi * np.linspace(0, periods, 80) + _u(rng, 0, 6))
    return [np.stack([x, y], axis=1)]


def star(rng):
    points = int(rng.choice([5, 5, 6, 7]))
    step = 2 if points == 5 else 3 if points == 7 else 1
    angles = np.radians(-90 + _u(rng, -15, 15)) + 2 * np.pi * step * np.arange(points + 1) / points
    outline = np.stack([0.5 + 0.5 * np.cos(angles), 0.5 + 0.5 * np.sin(angles)], axis=1)
    if points == 6:  # a six-pointed star is two triangles
        other = np.stack([0.5 + 0.5 * np.cos(angles + np.pi / 3), 0.5 + 0.5 * np.sin(angles + np.pi / 3)], axis=1)
        return [_jittered(rng, outline[::2], 0.02), _jittered(rng, other[::2], 0.02)]
    return [_jittered(rng, outline, 0.02)]


def asterisk(rng):
    lines = int(rng.integers(3, 5))
    strokes = []
    for k in range(lines):
        angle = np.pi * k / lines + _u(rng, -0.15, 0.15)
        offset = 0.5 * np.array([np.cos(angle), np.sin(angle)])
        strokes.append(_jittered(rng, [0.5 - offset, 0.5 + offset], 0.02))
    return strokes


def shape(rng):
    """A triangle, a square or a heart, drawn freehand."""
    kind = rng.integers(3)
    if kind == 0:
        corners = [(0.5, 0), (1, 0.9), (0, 0.9), (0.5, 0)]
    elif kind == 1:
        corners = [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]
    else:
        t = np.linspace(0, 2 * np.pi, 60)
        x, y = 16 * np.sin(t) ** 3, -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        return [_jittered(rng, np.stack([0.5 + x / 34, 0.45 + y / 34], axis=1), 0.005)]
    return [_jittered(rng, corners, 0.03)]


def smiley(rng):
    face = arc((0.5, 0.5), (0.5, 0.5), _u(rng, 0, 360), 360 + _u(rng, 0, 20))
    eyes = [arc((x, 0.35), (0.04, 0.05), 0, 360, samples=12) for x in (0.33, 0.67)]
    mouth = arc((0.5, 0.52), (0.25, 0.2), _u(rng, 15, 35), _u(rng, 110, 150))
    return [_jittered(rng, face, 0.01), *eyes, mouth]


def arrow(rng):
    tip = np.array([1.0, 0.5])
    shaft = [(0.0, 0.5 + _u(rng, -0.1, 0.1)), tip]
    barb = _u(rng, 0.2, 0.35)
    head = [tip + (-barb, -barb), tip, tip + (-barb, barb)]
    return [_jittered(rng, shaft, 0.02), _jittered(rng, head, 0.015)]


def check(rng):
    """A tick, as on a form."""
    corner = (_u(rng, 0.2, 0.45), 1.0)
    return [spline([(0.0, _u(rng, 0.45, 0.7)), corner, (_u(rng, 0.9, 1.3), _u(rng, -0.1, 0.1))], 6)]


def loops(rng):
    """A chain of cursive loops, as "eeee" or "llll" run together."""
    count, tall = int(rng.integers(3, 7)), _u(rng, 0.4, 1.0)
    points = []
    for k in range(count):
        points += [(0.35 * k, 1.0), (0.35 * k + 0.25, 1 - tall), (0.35 * k + 0.05, 1 - tall), (0.35 * k + 0.2, 1.0)]
    return [spline(_jittered(rng, points, 0.02), 6)]


def crossed_box(rng):
    corners = np.array([(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)], float)
    return [_jittered(rng, corners, 0.03), _jittered(rng, [(0, 0), (1, 1)], 0.03), _jittered(rng, [(1, 0), (0, 1)], 0.03)]


def symbol(rng):
    """A sign from the keyboard: plus, equals, hash, percent, ampersand, at, question mark."""
    return [np.array(s) for s in {
        0: [[(0.5, 0.1), (0.5, 0.9)], [(0.1, 0.5), (0.9, 0.5)]],
        1: [[(0.05, 0.35), (0.95, 0.35)], [(0.05, 0.65), (0.95, 0.65)]],
        2: [[(0.35, 0), (0.25, 1)], [(0.75, 0), (0.65, 1)], [(0.05, 0.33), (0.95, 0.33)], [(0.0, 0.67), (0.9, 0.67)]],
    }[int(rng.integers(3))]]


NON_DIGIT_MARKS: dict[str, Callable] = {
    "zigzag": zigzag,
    "spiral": spiral,
    "hatching": hatching,
    "scribble": scribble,
    "squiggle": squiggle,
    "star": star,
    "asterisk": asterisk,
    "shape": shape,
    "smiley": smiley,
    "arrow": arrow,
    "symbol": symbol,
    "check": check,
    "loops": loops,
    "crossed box": crossed_box,
}


def photo(rng: np.random.Generator, side: int = 240) -> np.ndarray:
    """A greyscale picture that is not writing: overlapping shapes of every shade (the "dead leaves"
    model of natural images), or a face, under uneven light, blurred and noisy. uint8."""
    image = np.full((side, side), _u(rng, 60, 200), np.float32)
    if rng.random() < 0.3:
        centre = (side * _u(rng, 0.35, 0.65), side * _u(rng, 0.4, 0.6))
        axes = (side * _u(rng, 0.2, 0.32), side * _u(rng, 0.28, 0.4))
        cv2.ellipse(image, (centre, (2 * axes[0] * 1.15, 2 * axes[1] * 1.1), 0), _u(rng, 0, 90), -1)  # hair
        cv2.ellipse(image, (centre, (2 * axes[0], 2 * axes[1]), 0), _u(rng, 140, 230), -1)
        for dx in (-0.4, 0.4):
            eye = (centre[0] + dx * axes[0], centre[1] - 0.2 * axes[1])
            cv2.ellipse(image, (eye, (0.3 * axes[0], 0.15 * axes[1]), 0), _u(rng, 20, 90), -1)
        cv2.ellipse(image, ((centre[0], centre[1] + 0.5 * axes[1]), (0.6 * axes[0], 0.15 * axes[1]), 0),
                    _u(rng, 40, 120), -1)
    else:
        for _ in range(int(rng.integers(20, 200))):
            centre = tuple(rng.uniform(0, side, 2))
            radius = side * _u(rng, 0.02, 0.25)
            shade = _u(rng, 0, 255)
            if rng.random() < 0.5:
                cv2.circle(image, (round(centre[0]), round(centre[1])), round(radius), shade, -1)
            else:
                axes = (2 * radius, 2 * radius * _u(rng, 0.2, 1))
                cv2.ellipse(image, (centre, axes, _u(rng, 0, 180)), shade, -1)
    rows, cols = np.indices(image.shape)
    light = 1 + _u(rng, -0.4, 0.4) * (cols / side - 0.5) + _u(rng, -0.4, 0.4) * (rows / side - 0.5)
    image = cv2.GaussianBlur(image * light, (0, 0), _u(rng, 0.5, 2.5)) + rng.normal(0, _u(rng, 1, 8), image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def run_together(inks: list[np.ndarray], rng: np.random.Generator, overlap=(0.0, 0.15),
                 rise: float = 0.05, margin: int = 8) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Write inks (float32 in [0, 1]) left to right so that each touches the one before and then
    overlaps it by a share of their mean width drawn from `overlap`; each sits up to `rise` of its
    height above or below the line. Returns the page and where each ink's top-left corner went."""
    height = max(ink.shape[0] for ink in inks)
    width = sum(ink.shape[1] for ink in inks)
    page = np.zeros((height + 2 * margin + round(2 * rise * height), width + 2 * margin), np.float32)
    placed, right_edge = [], None
    for ink in inks:
        top = margin + round(rise * height) + round(_u(rng, -rise, rise) * ink.shape[0])
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
            x = max(0, x - round(_u(rng, *overlap) * mean_width))
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

def render(strokes: Strokes, rng: np.random.Generator, height: int = 64, pen: float = 0.09,
           slant: float = 0.3, rotation: float = 10.0, wobble: float = 0.025) -> np.ndarray:
    """Draw strokes as a person might: slanted, turned, wobbled, with a pen `pen` times the height.

    Returns float32 ink in [0, 1] (white on black) with a margin around it.
    """
    points = [np.asarray(s, np.float64) for s in strokes]
    every = np.concatenate(points)
    centre = (every.min(axis=0) + every.max(axis=0)) / 2
    angle = np.radians(_u(rng, -rotation, rotation))
    shear = _u(rng, -slant, slant)
    aspect = np.exp(_u(rng, -0.25, 0.25))
    transform = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ np.array(
        [[aspect, -shear], [0.0, 1.0]])
    phases, frequencies = rng.uniform(0, 2 * np.pi, (2, 2)), rng.uniform(1.0, 2.5, (2, 2))
    moved = []
    for stroke in points:
        stroke = (stroke - centre) @ transform.T
        waves = np.sin(frequencies[:, :1] * 2 * np.pi * stroke[:, 1] + phases[:, :1]) \
            + np.sin(frequencies[:, 1:] * 2 * np.pi * stroke[:, 0] + phases[:, 1:])
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


# Editing MNIST digits at stroke level.

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
    length, angle = _u(rng, 0.22, 0.5) * height, np.radians(_u(rng, 30, 65))
    start = top + length * np.array([-np.cos(angle), np.sin(angle)])
    strokes = [spline([start, (start + top) / 2 + rng.normal(0, 0.02 * height, 2), top])]
    if rng.random() < base_chance:
        bottom = np.array([cols[rows >= rows.max() - width].mean(), rows.max() - width / 2])
        half = _u(rng, 0.15, 0.3) * height
        strokes.append(np.array([bottom - (half, 0), bottom + (half, 0)]))
    return _draw(large, strokes, width)


def add_bar(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A MNIST 7 with a bar across its stem, halfway down."""
    large, mask, width = _enlarged(digit)
    rows, cols = np.nonzero(mask)
    top, height = rows.min(), rows.max() - rows.min()
    row = int(top + _u(rng, 0.45, 0.62) * height)
    crossing = cols[rows == row]
    if len(crossing) == 0:
        return large
    half = _u(rng, 0.15, 0.3) * height
    centre = crossing.mean() + (_u(rng, -0.4, 0.4) * half if rng.random() < 0.25 else 0.0)
    tilt = _u(rng, -0.06, 0.06) * height
    return _draw(large, [np.array([(centre - half, row + tilt), (centre + half, row - tilt)])], width)


def add_slash(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A MNIST 0 crossed by a slash, as programmers and Scandinavians write it."""
    large, mask, width = _enlarged(digit)
    rows, cols = np.nonzero(mask)
    reach = _u(rng, -0.1, 0.1)
    x0, x1, y0, y1 = cols.min(), cols.max(), rows.min(), rows.max()
    w, h = x1 - x0, y1 - y0
    slash = np.array([(x1 - 0.15 * w + reach * w, y0 - reach * h), (x0 + 0.15 * w - reach * w, y1 + reach * h)])
    return _draw(large, [slash], width)


MNIST_EDITS: dict[int, Callable] = {0: add_slash, 1: add_flag, 7: add_bar}
"""For digits of these classes, the edit that gives them a style MNIST's writers rarely used."""


# Text: letters and words, in OpenCV's Hershey stroke fonts.

HERSHEY_FONTS = {
    "simplex": cv2.FONT_HERSHEY_SIMPLEX,
    "plain": cv2.FONT_HERSHEY_PLAIN,
    "duplex": cv2.FONT_HERSHEY_DUPLEX,
    "complex": cv2.FONT_HERSHEY_COMPLEX,
    "triplex": cv2.FONT_HERSHEY_TRIPLEX,
    "script simplex": cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    "script complex": cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
}

LETTERS_UNLIKE_DIGITS = "ACEFHKLMNPRTUVWXYacdefhkmnprtuvwxy"
"""Letters no one would take for a digit, even alone: not O, o, D, Q (0), I, l, i, j (1), Z, z (2),
S, s (5), b, G (6), B (8), g, q (9), nor J."""


def text(message: str, font: str, rng: np.random.Generator, height: int = 64, pen: float = 0.08,
         italic: bool = False) -> np.ndarray:
    """`message` written in a Hershey font, slanted and wobbled like handwriting: float32 ink in [0, 1]."""
    face = HERSHEY_FONTS[font] | (cv2.FONT_ITALIC if italic else 0)
    scale = height / 22
    thickness = max(1, round(pen * height))
    (width, text_height), baseline = cv2.getTextSize(message, face, scale, thickness)
    margin = height // 2 + thickness
    canvas = np.zeros((text_height + baseline + 2 * margin, width + 2 * margin), np.uint8)
    cv2.putText(canvas, message, (margin, margin + text_height), face, scale, 255, thickness, cv2.LINE_AA)
    return warp(canvas, rng).astype(np.float32) / 255.0


def warp(image: np.ndarray, rng: np.random.Generator, slant: float = 0.3, rotation: float = 8.0,
         wobble: float = 0.03) -> np.ndarray:
    """Slant, turn and wobble an image of ink about its centre, keeping it all within the image."""
    height, width = image.shape
    centre = (width / 2, height / 2)
    affine = cv2.getRotationMatrix2D(centre, _u(rng, -rotation, rotation), 1.0)
    shear = _u(rng, -slant, slant)
    affine[0] += shear * affine[1]
    affine[0, 2] -= shear * centre[1]
    image = cv2.warpAffine(image, affine, (width, height), flags=cv2.INTER_LINEAR)
    rows, cols = np.indices(image.shape, dtype=np.float32)
    amplitude = wobble * min(height, width)
    phase = rng.uniform(0, 2 * np.pi, 2)
    period = max(height, width) * _u(rng, 0.5, 1.0)
    dx = amplitude * np.sin(2 * np.pi * rows / period + phase[0])
    dy = amplitude * np.sin(2 * np.pi * cols / period + phase[1])
    return cv2.remap(image, cols + dx.astype(np.float32), rows + dy.astype(np.float32), cv2.INTER_LINEAR)

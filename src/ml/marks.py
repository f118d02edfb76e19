"""Synthetic marks that are not digits: scribbles, spirals, hatching, shapes and symbols drawn as
pen trajectories, letters and words in stroke fonts, and pictures. The engine learns from them to
answer "no digit".

Every random choice comes from the generator passed in, so a seed reproduces a sample.
"""

from collections.abc import Callable

import cv2
import numpy as np

from .handwriting import arc, jittered, spline, uniform


def zigzag(rng):
    turns = int(rng.integers(4, 10))
    xs = np.linspace(0, uniform(rng, 0.8, 2.5), turns + 1)
    ys = np.where(np.arange(turns + 1) % 2 == 0, 0.0, 1.0) + rng.normal(0, 0.06, turns + 1)
    points = np.stack([xs, ys], axis=1)
    return [jittered(rng, points[:, ::-1] if rng.random() < 0.3 else points, 0.02)]


def spiral(rng):
    turns = uniform(rng, 1.8, 4.0)
    angles = np.linspace(0, 2 * np.pi * turns, int(60 * turns))
    radius = 0.5 * (0.08 + angles / angles[-1])
    direction = rng.choice([-1, 1])
    return [np.stack([0.5 + radius * np.cos(direction * angles), 0.5 + radius * np.sin(direction * angles)], axis=1)]


def hatching(rng):
    lines, angle = int(rng.integers(3, 9)), np.radians(uniform(rng, 0, 180))
    spacing = uniform(rng, 0.1, 0.25)
    strokes = []
    for angle_i in [angle] + ([angle + np.radians(uniform(rng, 50, 130))] if rng.random() < 0.4 else []):
        along, across = np.array([np.cos(angle_i), np.sin(angle_i)]), np.array([-np.sin(angle_i), np.cos(angle_i)])
        for k in range(lines):
            centre = 0.5 + (k - lines / 2) * spacing * across
            half = uniform(rng, 0.35, 0.6)
            strokes.append(jittered(rng, [centre - half * along, centre + half * along], 0.015))
    return strokes


def scribble(rng):
    """A tangle: a pen wandering in loops over the same spot."""
    steps = int(rng.integers(8, 20))
    points = np.cumsum(rng.normal(0, 0.25, (steps, 2)), axis=0)
    return [spline(points, 8)]


def squiggle(rng):
    periods = uniform(rng, 1.5, 5)
    x = np.linspace(0, periods * uniform(rng, 0.3, 0.6), 80)
    y = 0.5 + uniform(rng, 0.15, 0.5) * np.sin(2 * np.pi * np.linspace(0, periods, 80) + uniform(rng, 0, 6))
    return [np.stack([x, y], axis=1)]


def star(rng):
    points = int(rng.choice([5, 5, 6, 7]))
    step = 2 if points == 5 else 3 if points == 7 else 1
    angles = np.radians(-90 + uniform(rng, -15, 15)) + 2 * np.pi * step * np.arange(points + 1) / points
    outline = np.stack([0.5 + 0.5 * np.cos(angles), 0.5 + 0.5 * np.sin(angles)], axis=1)
    if points == 6:  # a six-pointed star is two triangles
        other = np.stack([0.5 + 0.5 * np.cos(angles + np.pi / 3), 0.5 + 0.5 * np.sin(angles + np.pi / 3)], axis=1)
        return [jittered(rng, outline[::2], 0.02), jittered(rng, other[::2], 0.02)]
    return [jittered(rng, outline, 0.02)]


def asterisk(rng):
    lines = int(rng.integers(3, 5))
    strokes = []
    for k in range(lines):
        angle = np.pi * k / lines + uniform(rng, -0.15, 0.15)
        offset = 0.5 * np.array([np.cos(angle), np.sin(angle)])
        strokes.append(jittered(rng, [0.5 - offset, 0.5 + offset], 0.02))
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
        return [jittered(rng, np.stack([0.5 + x / 34, 0.45 + y / 34], axis=1), 0.005)]
    return [jittered(rng, corners, 0.03)]


def smiley(rng):
    face = arc((0.5, 0.5), (0.5, 0.5), uniform(rng, 0, 360), 360 + uniform(rng, 0, 20))
    eyes = [arc((x, 0.35), (0.04, 0.05), 0, 360, samples=12) for x in (0.33, 0.67)]
    mouth = arc((0.5, 0.52), (0.25, 0.2), uniform(rng, 15, 35), uniform(rng, 110, 150))
    return [jittered(rng, face, 0.01), *eyes, mouth]


def arrow(rng):
    tip = np.array([1.0, 0.5])
    shaft = [(0.0, 0.5 + uniform(rng, -0.1, 0.1)), tip]
    barb = uniform(rng, 0.2, 0.35)
    head = [tip + (-barb, -barb), tip, tip + (-barb, barb)]
    return [jittered(rng, shaft, 0.02), jittered(rng, head, 0.015)]


def check(rng):
    """A tick, as on a form."""
    corner = (uniform(rng, 0.2, 0.45), 1.0)
    return [spline([(0.0, uniform(rng, 0.45, 0.7)), corner, (uniform(rng, 0.9, 1.3), uniform(rng, -0.1, 0.1))], 6)]


def loops(rng):
    """A chain of cursive loops, as "eeee" or "llll" run together."""
    count, tall = int(rng.integers(3, 7)), uniform(rng, 0.4, 1.0)
    points = []
    for k in range(count):
        points += [(0.35 * k, 1.0), (0.35 * k + 0.25, 1 - tall), (0.35 * k + 0.05, 1 - tall), (0.35 * k + 0.2, 1.0)]
    return [spline(jittered(rng, points, 0.02), 6)]


def crossed_box(rng):
    corners = np.array([(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)], float)
    return [jittered(rng, corners, 0.03), jittered(rng, [(0, 0), (1, 1)], 0.03), jittered(rng, [(1, 0), (0, 1)], 0.03)]


def symbol(rng):
    """A sign from the keyboard: plus, equals, hash, percent, ampersand, at, question mark."""
    return [
        np.array(s)
        for s in {
            0: [[(0.5, 0.1), (0.5, 0.9)], [(0.1, 0.5), (0.9, 0.5)]],
            1: [[(0.05, 0.35), (0.95, 0.35)], [(0.05, 0.65), (0.95, 0.65)]],
            2: [
                [(0.35, 0), (0.25, 1)],
                [(0.75, 0), (0.65, 1)],
                [(0.05, 0.33), (0.95, 0.33)],
                [(0.0, 0.67), (0.9, 0.67)],
            ],
        }[int(rng.integers(3))]
    ]


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
    image = np.full((side, side), uniform(rng, 60, 200), np.float32)
    if rng.random() < 0.3:
        centre = (side * uniform(rng, 0.35, 0.65), side * uniform(rng, 0.4, 0.6))
        axes = (side * uniform(rng, 0.2, 0.32), side * uniform(rng, 0.28, 0.4))
        cv2.ellipse(image, (centre, (2 * axes[0] * 1.15, 2 * axes[1] * 1.1), 0), uniform(rng, 0, 90), -1)  # hair
        cv2.ellipse(image, (centre, (2 * axes[0], 2 * axes[1]), 0), uniform(rng, 140, 230), -1)
        for dx in (-0.4, 0.4):
            eye = (centre[0] + dx * axes[0], centre[1] - 0.2 * axes[1])
            cv2.ellipse(image, (eye, (0.3 * axes[0], 0.15 * axes[1]), 0), uniform(rng, 20, 90), -1)
        cv2.ellipse(
            image,
            ((centre[0], centre[1] + 0.5 * axes[1]), (0.6 * axes[0], 0.15 * axes[1]), 0),
            uniform(rng, 40, 120),
            -1,
        )
    else:
        for _ in range(int(rng.integers(20, 200))):
            centre = tuple(rng.uniform(0, side, 2))
            radius = side * uniform(rng, 0.02, 0.25)
            shade = uniform(rng, 0, 255)
            if rng.random() < 0.5:
                cv2.circle(image, (round(centre[0]), round(centre[1])), round(radius), shade, -1)
            else:
                axes = (2 * radius, 2 * radius * uniform(rng, 0.2, 1))
                cv2.ellipse(image, (centre, axes, uniform(rng, 0, 180)), shade, -1)
    rows, cols = np.indices(image.shape)
    light = 1 + uniform(rng, -0.4, 0.4) * (cols / side - 0.5) + uniform(rng, -0.4, 0.4) * (rows / side - 0.5)
    image = cv2.GaussianBlur(image * light, (0, 0), uniform(rng, 0.5, 2.5)) + rng.normal(
        0, uniform(rng, 1, 8), image.shape
    )
    return np.clip(image, 0, 255).astype(np.uint8)


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


def text(
    message: str, font: str, rng: np.random.Generator, height: int = 64, pen: float = 0.08, italic: bool = False
) -> np.ndarray:
    """`message` written in a Hershey font, slanted and wobbled like handwriting: float32 ink in [0, 1]."""
    face = HERSHEY_FONTS[font] | (cv2.FONT_ITALIC if italic else 0)
    scale = height / 22
    thickness = max(1, round(pen * height))
    (width, text_height), baseline = cv2.getTextSize(message, face, scale, thickness)
    margin = height // 2 + thickness
    canvas = np.zeros((text_height + baseline + 2 * margin, width + 2 * margin), np.uint8)
    cv2.putText(canvas, message, (margin, margin + text_height), face, scale, 255, thickness, cv2.LINE_AA)
    return warp(canvas, rng).astype(np.float32) / 255.0


def warp(
    image: np.ndarray, rng: np.random.Generator, slant: float = 0.3, rotation: float = 8.0, wobble: float = 0.03
) -> np.ndarray:
    """Slant, turn and wobble an image of ink about its centre, keeping it all within the image."""
    height, width = image.shape
    centre = (width / 2, height / 2)
    affine = cv2.getRotationMatrix2D(centre, uniform(rng, -rotation, rotation), 1.0)
    shear = uniform(rng, -slant, slant)
    affine[0] += shear * affine[1]
    affine[0, 2] -= shear * centre[1]
    image = cv2.warpAffine(image, affine, (width, height), flags=cv2.INTER_LINEAR)
    rows, cols = np.indices(image.shape, dtype=np.float32)
    amplitude = wobble * min(height, width)
    phase = rng.uniform(0, 2 * np.pi, 2)
    period = max(height, width) * uniform(rng, 0.5, 1.0)
    dx = amplitude * np.sin(2 * np.pi * rows / period + phase[0])
    dy = amplitude * np.sin(2 * np.pi * cols / period + phase[1])
    return cv2.remap(image, cols + dx.astype(np.float32), rows + dy.astype(np.float32), cv2.INTER_LINEAR)

"""Digits drawn on the pad with real mouse events, and digit images made for uploading."""

import io
import math

from PIL import Image, ImageDraw


def ellipse(centre=(0.5, 0.5), radii=(0.5, 0.5), start=0.0, turn=1) -> list[tuple[float, float]]:
    """A closed loop of 40 steps, from the angle `start` (radians from the top, clockwise), clockwise for
    `turn` 1 and anticlockwise for -1."""
    angles = [start + turn * 2 * math.pi * i / 40 for i in range(41)]
    return [(centre[0] + radii[0] * math.sin(a), centre[1] - radii[1] * math.cos(a)) for a in angles]


# Each digit is a list of strokes; a stroke is a polyline in a unit cell (x right, y down, both 0..1).
ELLIPSE = ellipse()
DIGITS = {
    "0": [ELLIPSE],
    "1": [[(0.5, 0.0), (0.5, 1.0)]],
    "2": [[(0.05, 0.25), (0.3, 0.0), (0.75, 0.0), (0.95, 0.25), (0.9, 0.45), (0.0, 1.0), (1.0, 1.0)]],
    "4": [[(0.75, 0.0), (0.0, 0.65), (1.0, 0.65)], [(0.75, 0.0), (0.75, 1.0)]],
    "7": [[(0.0, 0.0), (1.0, 0.0), (0.3, 1.0)]],
    "5": [[(0.9, 0.0), (0.15, 0.0), (0.1, 0.45), (0.6, 0.4), (0.95, 0.65), (0.7, 0.98), (0.1, 0.9)]],
    "9": [ellipse((0.5, 0.28), (0.4, 0.28)), [(0.9, 0.28), (0.85, 1.0)]],
}


# Other countries' ways of writing: a 1 with a long upstroke, and a 7 with a bar across its stem.
STYLES = {
    "1 with an upstroke": [[(0.0, 0.15), (0.5, 0.0), (0.5, 1.0)]],
    "7 with a bar": [[(0.0, 0.0), (1.0, 0.0), (0.35, 1.0)], [(0.2, 0.5), (0.95, 0.5)]],
}


# Digits whose strokes do not all cross one another: the pad must still send each as one digit.
WHOLE_DIGITS = {
    "a 0 drawn as two arcs": [
        [(0.5, 0.0), (0.1, 0.2), (0.0, 0.5), (0.1, 0.8), (0.5, 1.0)],
        [(0.5, 0.0), (0.9, 0.2), (1.0, 0.5), (0.9, 0.8), (0.5, 1.0)],
    ],
    "a 5 with its bar reaching right": [
        [(0.1, 0.0), (0.05, 0.45), (0.5, 0.4), (0.7, 0.7), (0.4, 1.0), (0.0, 0.9)],
        [(0.15, 0.0), (1.0, 0.02)],
    ],
    "an open 4": [[(0.2, 0.0), (0.0, 0.6), (1.0, 0.6)], [(0.8, 0.2), (0.8, 1.0)]],
    "a 1 with a base": [[(0.1, 0.2), (0.55, 0.0), (0.55, 1.0)], [(0.2, 1.0), (0.9, 1.0)]],
    "a 9 of a loop and a stem": [
        ellipse(centre=(0.5, 0.3), radii=(0.45, 0.3), start=math.pi / 2, turn=-1),
        [(0.95, 0.3), (0.9, 1.0)],
    ],
    "a 4 whose bar ends at its stem": [[(0.8, 0.0), (0.0, 0.7), (0.8, 0.7)], [(0.8, 0.0), (0.8, 1.0)]],
}


def touching_on_pad(page, digits, shapes=DIGITS, step=0.85) -> list[list[list[tuple[float, float]]]]:
    """The strokes of each of `digits` (keys of `shapes`) in page coordinates, written so that each runs into
    the one before: 60% of the pad's height, each digit `step` of a digit's width right of the one before."""
    pad = page.locator("#pad").bounding_box()
    height = pad["height"] * 0.6
    width = height * 0.5
    left = pad["x"] + (pad["width"] - width * (1 + step * (len(digits) - 1))) / 2
    top = pad["y"] + pad["height"] * 0.2
    return [
        [[(left + position * step * width + x * width, top + y * height) for x, y in line] for line in shapes[digit]]
        for position, digit in enumerate(digits)
    ]


def draw_touching(page, digits, shapes=DIGITS, step=0.85) -> list[list[list[tuple[float, float]]]]:
    """Draw `digits` by finger, each running into the one before as `touching_on_pad` places them; their strokes."""
    digit_strokes = touching_on_pad(page, digits, shapes, step)
    stroke = finger(page)
    for strokes in digit_strokes:
        for line in strokes:
            stroke(page, line)
    return digit_strokes


def strokes_on_pad(page, digits, shapes=DIGITS) -> list[list[tuple[float, float]]]:
    """The strokes of `digits`, keys of `shapes` (a number's string: one digit each), side by side across
    the pad, in page coordinates, each digit about 70% of the pad's height."""
    pad = page.locator("#pad").bounding_box()
    height = pad["height"] * 0.7
    width = height * 0.5
    top = pad["y"] + pad["height"] * 0.15
    strokes = []
    for position, digit in enumerate(digits):
        centre = pad["x"] + pad["width"] * (position + 0.5) / len(digits)
        for line in shapes[digit]:
            strokes.append([(centre + (x - 0.5) * width, top + y * height) for x, y in line])
    return strokes


def draw_number(page, number: str, stroke=None) -> None:
    """Draw the digits of `number` side by side across the pad, each about 70% of its height."""
    for line in strokes_on_pad(page, number):
        (stroke or draw_stroke)(page, line)


def draw_stroke(page, points) -> None:
    """A stroke with the mouse."""
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*point, steps=4)
    page.mouse.up()


def finger(page, seconds_per_line: float = 0.0):
    """A stroke function that draws with touch events, like a finger on a phone (Playwright has no touch drag),
    taking `seconds_per_line` over each straight part of a stroke."""
    session = page.context.new_cdp_session(page)
    steps = 4 if seconds_per_line == 0 else 20

    def touch(kind, points):
        session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y} for x, y in points]})

    def stroke(page, points) -> None:
        touch("touchStart", points[:1])
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            for step in range(1, steps + 1):
                touch("touchMove", [(x0 + (x1 - x0) * step / steps, y0 + (y1 - y0) * step / steps)])
                if seconds_per_line:
                    page.wait_for_timeout(seconds_per_line * 1000 / steps)
        touch("touchEnd", [])

    return stroke


def number_png(number: str, size=(420, 240)) -> bytes:
    """A photo-like upload: dark digits with thick lines on an off-white background."""
    image = Image.new("RGB", size, (246, 244, 238))
    pen = ImageDraw.Draw(image)
    height = size[1] * 0.6
    width = height * 0.5
    top = size[1] * 0.2
    for position, digit in enumerate(number):
        centre = size[0] * (position + 0.5) / len(number)
        for stroke in DIGITS[digit]:
            points = [(centre + (x - 0.5) * width, top + y * height) for x, y in stroke]
            pen.line(points, fill=(30, 30, 40), width=int(height / 9), joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def blank_png(size=(200, 120)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (255, 255, 255)).save(buffer, format="PNG")
    return buffer.getvalue()

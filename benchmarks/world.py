"""What people outside MNIST send: other countries' digit styles, touching numbers, things that are not digits.

Every sample is generated with a seed from the MNIST test digits and from pen trajectories
(`src.ml.handwriting`), drawn the way people send them: on the page's 280x280 pad with its pen
(1/16 of the pad), or as a small scan. The seeds differ from training's, the pad's pen and the
scans' blur are not in the training set, and some kinds of non-digit (`UNSEEN_MARKS`, words
in DejaVu fonts, photographs of flowers) were never trained on: those figures are printed apart.
"""

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from src.ml import handwriting, marks, mnist_edits
from src.ml.trainingset import enlarged

from .variants import dark_on_light, encode

PAD = 280
PAD_PEN = PAD / 16
"""The page's pen (src/static/js/pad.js): 1/16 of the pad's height."""
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


@dataclass(frozen=True)
class Case:
    """One image and what a person means by it: the number written, or None for no digit."""

    kind: str
    data: bytes
    number: str | None


def on_pad(strokes, rng: np.random.Generator) -> bytes:
    """Strokes drawn on the page's pad: black on white, the digit filling most of its height."""
    height = int(rng.integers(140, 230))
    ink = handwriting.render(strokes, rng, height=height, pen=PAD_PEN / height)
    return encode(dark_on_light(_placed(ink, rng, PAD)))


def scanned(ink: np.ndarray, rng: np.random.Generator) -> bytes:
    """Ink as a small greyscale scan: shrunk, blurred, on off-white paper, saved as JPEG."""
    height = int(rng.integers(24, 48))
    small = cv2.resize(ink, (max(1, round(ink.shape[1] * height / ink.shape[0])), height), interpolation=cv2.INTER_AREA)
    paper = _placed(small, rng, max(height + 16, small.shape[1] + 16))
    grey = rng.uniform(215, 245) * (1 - 0.85 * cv2.GaussianBlur(paper, (0, 0), 0.6))
    grey += rng.normal(0, 3, grey.shape)
    return encode(np.clip(grey, 0, 255).astype(np.uint8), ".jpg", quality=int(rng.integers(60, 90)))


def _placed(ink: np.ndarray, rng: np.random.Generator, side: int) -> np.ndarray:
    """The ink somewhere on a square field of `side` (wider if the ink is), float in [0, 1]."""
    height, width = ink.shape
    field = np.zeros((max(side, height), max(side, width)), np.float32)
    y, x = int(rng.integers(0, field.shape[0] - height + 1)), int(rng.integers(0, field.shape[1] - width + 1))
    field[y : y + height, x : x + width] = ink
    return field


def style_cases(images: np.ndarray, labels: np.ndarray, per_style: int = 100, seed: int = 0) -> list[Case]:
    """Each digit style drawn on the pad and scanned, and MNIST test digits edited into other styles."""
    rng = np.random.default_rng(seed)
    cases = []
    for name, (digit, draw) in handwriting.DIGIT_STYLES.items():
        for k in range(per_style):
            if k % 2:
                data = scanned(handwriting.render(draw(rng), rng, height=96, pen=rng.uniform(0.06, 0.12)), rng)
            else:
                data = on_pad(draw(rng), rng)
            cases.append(Case(f"{name}", data, str(digit)))
    for digit, edit in mnist_edits.MNIST_EDITS.items():
        for image in images[labels == digit][:per_style]:
            large = edit(image, rng)
            cases.append(
                Case(f"MNIST test {digit}, edited: {edit.__name__.replace('_', ' ')}", encode(255 - large), str(digit))
            )
    return cases


def touching_cases(
    images: np.ndarray, labels: np.ndarray, count: int = 500, seed: int = 0, overlap=(0.0, 0.15)
) -> list[Case]:
    """Numbers of 2 to 4 MNIST test digits written so that each touches the one before, then overlaps it
    by up to `overlap` of their width."""
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        chosen = rng.choice(len(images), int(rng.integers(2, 5)), replace=False)
        scale = rng.uniform(3, 6)
        inks = [enlarged(images[i], scale * rng.uniform(0.9, 1.1)) for i in chosen]
        page, _ = handwriting.run_together(inks, rng, overlap=overlap, margin=20)
        number = "".join(str(labels[i]) for i in chosen)
        cases.append(Case(f"{len(chosen)} digits", encode(dark_on_light(page)), number))
    return cases


def touching_drawn_cases(count: int = 500, seed: int = 0, overlap=(0.0, 0.15)) -> list[Case]:
    """Numbers of 2 to 4 digits drawn on the pad in the world's styles, each touching the one before, then
    overlapping it by up to `overlap` of their width: as people write on the page when they write fast."""
    rng = np.random.default_rng(seed)
    styles = list(handwriting.DIGIT_STYLES.values())
    cases = []
    for _ in range(count):
        chosen = [styles[i] for i in rng.integers(len(styles), size=int(rng.integers(2, 5)))]
        height = int(rng.integers(110, 190))
        inks = [handwriting.render(draw(rng), rng, height=height, pen=PAD_PEN / height) for _, draw in chosen]
        page, _ = handwriting.run_together(inks, rng, overlap=overlap, margin=30)
        number = "".join(str(digit) for digit, _ in chosen)
        cases.append(Case(f"{len(chosen)} digits", encode(dark_on_light(page)), number))
    return cases


def ruled_cases(images: np.ndarray, labels: np.ndarray, count: int = 300, seed: int = 0) -> list[Case]:
    """Numbers of 1 to 3 MNIST test digits written apart on lined and on squared paper (rules fainter than
    the writing, 1 to 3 pixels wide, as tall apart as 0.4 to 0.9 of a digit), photographed turned by up to
    2 degrees and saved as JPEG."""
    rng = np.random.default_rng(seed)
    cases = []
    for k in range(count):
        paper = "squared" if k % 2 else "lined"
        chosen = rng.choice(len(images), int(rng.integers(1, 4)), replace=False)
        scale = rng.uniform(3, 6)
        inks = [enlarged(images[i], scale) for i in chosen]
        height = max(ink.shape[0] for ink in inks)
        page = np.full((height + 80, sum(ink.shape[1] + 10 for ink in inks) + 60), rng.uniform(200, 245), np.float32)
        white = page[0, 0]
        spacing, width = round(height * rng.uniform(0.4, 0.9)), int(rng.integers(1, 4))
        rule = white - rng.uniform(30, 100)
        for y in range(int(rng.integers(spacing)), page.shape[0], spacing):
            page[y : y + width] = rule
        if paper == "squared":
            for x in range(int(rng.integers(spacing)), page.shape[1], spacing):
                page[:, x : x + width] = rule
        x = 30
        for ink in inks:
            y = 40 + int(rng.integers(-10, 10))
            area = page[y : y + ink.shape[0], x : x + ink.shape[1]]
            np.minimum(area, white - rng.uniform(150, 200) * ink, out=area)
            x += ink.shape[1] + 10
        turn = cv2.getRotationMatrix2D((page.shape[1] / 2, page.shape[0] / 2), rng.uniform(-2, 2), 1.0)
        page = cv2.warpAffine(page, turn, page.shape[::-1], borderMode=cv2.BORDER_REFLECT)
        photo = np.clip(page + rng.normal(0, 3, page.shape), 0, 255).astype(np.uint8)
        number = "".join(str(labels[i]) for i in chosen)
        cases.append(Case(f"on {paper} paper", encode(photo, ".jpg", quality=85), number))
    return cases


PHOTOGRAPHED = ("small in a large photo", "turned in perspective", "in blue ink", "under a shadow", "on a dark desk")


def photographed_cases(images: np.ndarray, labels: np.ndarray, count: int = 300, seed: int = 0) -> list[Case]:
    """Numbers of 1 to 4 MNIST test digits written apart on paper and photographed as people do: small in a
    large photo, the page turned in perspective, in blue ink, under the shadow of the phone, or the sheet on a
    dark desk that fills the rest of the picture. Saved as JPEG."""
    rng = np.random.default_rng(seed)
    cases = []
    for k in range(count):
        kind = PHOTOGRAPHED[k % len(PHOTOGRAPHED)]
        chosen = rng.choice(len(images), int(rng.integers(1, 5)), replace=False)
        inks = [enlarged(images[i], rng.uniform(3, 6)) for i in chosen]
        height = max(ink.shape[0] for ink in inks)
        ink = np.zeros((2 * height, sum(ink.shape[1] for ink in inks) + round(0.15 * height) * len(inks) + height))
        x = height // 2
        for digit in inks:
            y = height // 2 + int(rng.integers(-5, 6))
            ink[y : y + digit.shape[0], x : x + digit.shape[1]] = digit
            x += digit.shape[1] + round(0.15 * height)
        white = rng.uniform(190, 245)
        grey = white * (1 - rng.uniform(0.7, 0.85) * ink)
        rows, columns = grey.shape
        if kind == "small in a large photo":
            large = np.full((3000, 4000), white)
            y, x = int(rng.integers(0, 3000 - rows)), int(rng.integers(0, 4000 - columns))
            large[y : y + rows, x : x + columns] = grey
            grey = large
        elif kind == "turned in perspective":
            d = rng.uniform(0.05, 0.15)
            corners = np.float32([[0, 0], [columns, 0], [columns, rows], [0, rows]])
            seen = np.float32(
                [
                    [columns * d, rows * d * rng.uniform()],
                    [columns * (1 - d), 0],
                    [columns, rows],
                    [0, rows * (1 - d * rng.uniform())],
                ]
            )
            grey = cv2.warpPerspective(
                grey, cv2.getPerspectiveTransform(corners, seen), (columns, rows), borderValue=float(white)
            )
        elif kind == "under a shadow":
            y, x = np.indices(grey.shape)
            edge = (x - columns * rng.uniform(0.3, 0.7)) + (y - rows / 2) * rng.uniform(-1, 1)
            grey = grey * (1 - rng.uniform(0.3, 0.55) / (1 + np.exp(-edge / rng.uniform(2, 15))))
        elif kind == "on a dark desk":
            desk = np.full(
                (round(rows / rng.uniform(0.6, 0.9)), round(columns / rng.uniform(0.6, 0.9))), rng.uniform(20, 90)
            )
            y, x = int(rng.integers(0, desk.shape[0] - rows + 1)), int(rng.integers(0, desk.shape[1] - columns + 1))
            desk[y : y + rows, x : x + columns] = grey
            grey = desk
        if kind == "in blue ink":
            blue, green, red = np.full(ink.shape, white), white * (1 - 0.6 * ink), white * (1 - 0.85 * ink)
            picture = np.stack([blue, green, red], axis=-1) + rng.normal(0, 3, (*ink.shape, 3))
        else:
            picture = grey + rng.normal(0, 3, grey.shape)
        data = encode(np.clip(picture, 0, 255).astype(np.uint8), ".jpg", quality=85)
        cases.append(Case(f"photographed: {kind}", data, "".join(str(labels[i]) for i in chosen)))
    return cases


def flower(rng):
    petals = int(rng.integers(5, 9))
    strokes = [handwriting.arc((0.5, 0.5), (0.1, 0.1), 0, 360)]
    for k in range(petals):
        angle = 360 * k / petals + rng.uniform(-10, 10)
        centre = 0.5 + 0.25 * np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])
        strokes.append(handwriting.arc(centre, (0.15, 0.07), 0, 360, tilt=angle))
    return strokes


def house(rng):
    return [
        np.array([(0.1, 0.45), (0.1, 1), (0.9, 1), (0.9, 0.45), (0.5, 0.0), (0.1, 0.45), (0.9, 0.45)]),
        np.array([(0.4, 1), (0.4, 0.7), (0.6, 0.7), (0.6, 1)]),
    ]


def sun(rng):
    rays = int(rng.integers(7, 13))
    strokes = [handwriting.arc((0.5, 0.5), (0.2, 0.2), 0, 360)]
    for k in range(rays):
        a = 2 * np.pi * k / rays
        strokes.append(
            np.array([(0.5 + 0.28 * np.cos(a), 0.5 + 0.28 * np.sin(a)), (0.5 + 0.5 * np.cos(a), 0.5 + 0.5 * np.sin(a))])
        )
    return strokes


def cloud(rng):
    bumps = int(rng.integers(4, 7))
    points = []
    for k in range(bumps):
        centre = (0.15 + 0.7 * k / (bumps - 1), 0.4 + rng.uniform(-0.05, 0.05))
        points.append(handwriting.arc(centre, (0.7 / (bumps - 1) / 1.6, 0.2), 180, 180, samples=12))
    return [np.concatenate(points + [np.array([(0.85, 0.55), (0.15, 0.55), (0.15, 0.4)])])]


def envelope(rng):
    return [np.array([(0, 0.2), (1, 0.2), (1, 0.9), (0, 0.9), (0, 0.2), (0.5, 0.6), (1, 0.2)])]


def infinity(rng):
    t = np.linspace(0, 2 * np.pi, 80)
    return [np.stack([0.5 + 0.5 * np.cos(t), 0.5 + 0.25 * np.sin(2 * t)], axis=1)]


UNSEEN_MARKS = {
    "flower": flower,
    "house": house,
    "sun": sun,
    "cloud": cloud,
    "envelope": envelope,
    "infinity": infinity,
}
"""Drawings of kinds the training set has none of."""
WORDS = ["hello", "what", "Hey", "merci", "yes", "Anna", "Kraft", "thank you", "Wert", "the end"]


def _dejavu(text: str, rng: np.random.Generator) -> bytes | None:
    fonts = sorted(DEJAVU.glob("DejaVu*.ttf"))
    if not fonts:
        return None
    font = ImageFont.truetype(str(fonts[int(rng.integers(len(fonts)))]), int(rng.integers(40, 90)))
    image = Image.new("L", (PAD * 2, PAD), 255)
    ImageDraw.Draw(image).text((20, PAD // 4), text, fill=0, font=font)
    return encode(np.asarray(image))


def flower_photo(rng: np.random.Generator, side: int = 320) -> np.ndarray:
    """A photograph-like flower: shaded petals round a dark centre on a textured, unevenly lit ground."""
    ground = cv2.GaussianBlur(rng.normal(110, 40, (side, side)).astype(np.float32), (0, 0), 6)
    image = np.clip(ground, 0, 255)
    centre = np.array([side / 2, side / 2]) + rng.uniform(-30, 30, 2)
    petals = int(rng.integers(5, 12))
    for k in range(petals):
        angle = 360 * k / petals + rng.uniform(-8, 8)
        at = centre + side * 0.2 * np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])
        cv2.ellipse(image, (tuple(at), (side * 0.32, side * 0.14), angle), float(rng.uniform(170, 250)), -1)
    cv2.circle(image, tuple(int(v) for v in centre), int(side * 0.08), float(rng.uniform(20, 80)), -1)
    image = cv2.GaussianBlur(image, (0, 0), 1.5) + rng.normal(0, 4, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def non_digit_cases(per_kind: int = 40, seed: int = 0) -> list[Case]:
    """Scribbles, shapes, letters, words and pictures, each answered "no digit" by a person."""
    rng = np.random.default_rng(seed)
    cases = []
    for name, draw in {**marks.NON_DIGIT_MARKS, **UNSEEN_MARKS}.items():
        seen = "" if name in marks.NON_DIGIT_MARKS else " (kind not trained on)"
        cases += [Case(f"drawing: {name}{seen}", on_pad(draw(rng), rng), None) for _ in range(per_kind)]
    letters = list(marks.LETTERS_UNLIKE_DIGITS)
    for _ in range(per_kind * 2):
        font = str(rng.choice(list(marks.HERSHEY_FONTS)))
        ink = marks.text(str(rng.choice(letters)), font, rng, height=int(rng.integers(120, 200)), pen=PAD_PEN / 160)
        cases.append(Case("a letter", encode(dark_on_light(_placed(ink, rng, PAD))), None))
    for word in WORDS:
        for _ in range(per_kind // 4):
            font = str(rng.choice(list(marks.HERSHEY_FONTS)))
            ink = marks.text(word, font, rng, height=int(rng.integers(60, 120)), pen=rng.uniform(0.05, 0.1))
            cases.append(Case("a word", encode(dark_on_light(_placed(ink, rng, PAD))), None))
            typed = _dejavu(word, rng)
            if typed is not None:
                cases.append(Case("a word in DejaVu (fonts not trained on)", typed, None))
    for _ in range(per_kind):
        cases.append(Case("a photograph", encode(marks.photo(rng, 320), ".jpg", quality=85), None))
        cases.append(
            Case("a photograph of a flower (kind not trained on)", encode(flower_photo(rng), ".jpg", quality=85), None)
        )
    return cases

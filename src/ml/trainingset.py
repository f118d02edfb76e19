"""The training set: MNIST as the engine serves it, and what MNIST lacks.

Every sample is a normalised 28x28 digit, made by the same code that normalises a served one.
- MNIST's training digits, and distorted copies of them (slant, rotation, wobble, pen width).
- MNIST digits edited at stroke level into other countries' styles: a flag on the 1s, a bar
  through the 7s, a slash through half the 0s; each once as it is and once distorted.
- Digits drawn as pen trajectories in every style of `handwriting.DIGIT_STYLES`, at every size
  and pen width, the styles MNIST lacks twice as often as the others.
- Digits cut out of numbers of touching MNIST digits by the engine's own cuts (`split`), so
  that a digit keeps its reading with slivers of its neighbours on it.
- Two to four touching MNIST digits read whole, as class SEVERAL_DIGITS: a blob to be cut.
- Marks that are not digits, as class NOT_A_DIGIT: scribbles and shapes, letters, the pieces of
  words, and the pieces of synthetic photographs.
- Digits people corrected (`samples`, already normalised as the service served them), each with
  distorted copies, as MNIST's.

Each part is made in chunks on every core, each chunk with a seed of its own, so the set does
not depend on how many cores make it.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from joblib import Parallel, delayed

from . import handwriting, marks, mnist_edits
from .augment import distort
from .ink import find_ink
from .model import NOT_A_DIGIT, SEVERAL_DIGITS
from .normalise import normalise_digit
from .segment import DigitInk, find_digits
from .split import Seams, between
from .types import Box

CHUNKS = 8
FINGERPRINT_DIGITS = 300
"""MNIST digits the training set's fingerprint is made from (`fingerprint`)."""
TRAINING_PIECE_INK = 0.04
"""Digits cut from training numbers holding less than this share of their number's ink are left out. The
committed model was trained so; the engine offers thinner pieces (`split.MIN_PIECE_INK`), and changing
this changes the training set, which then needs `make train`."""
SAMPLE_COPIES = 8
"""Distorted copies of each sample people corrected."""
STYLES_MNIST_LACKS = {
    "0 crossed",
    "1 continental",
    "2 with a loop",
    "3 flat-topped",
    "4 closed",
    "4 open",
    "7 crossed",
    "7 hooked",
    "9 curled",
}


@dataclass(frozen=True)
class Part:
    """One kind of training sample: normalised digits (n, 28, 28) and their labels."""

    name: str
    images: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class Sizes:
    """How many samples of each synthetic kind, for a training set made from `mnist` MNIST digits."""

    mnist: int
    drawn_per_style: int = 800
    touching: int = 5000
    """Numbers of two to four digits written touching, each also cut into its digits."""
    marks_per_kind: int = 1000
    letters: int = 8000
    words: int = 2000
    photos: int = 800

    def scaled(self, count: int) -> int:
        return max(CHUNKS, round(count * self.mnist / 60_000))


def normalise_whole(image: np.ndarray) -> np.ndarray:
    """Normalise a whole image as one digit, as the engine normalises a digit it has found."""
    return normalise_digit(find_ink(image).intensity())


def build(
    images: np.ndarray,
    labels: np.ndarray,
    augment: int,
    seed: int,
    say: Callable[[str], None] = print,
    samples: Part | None = None,
) -> list[Part]:
    """Every part of the training set, from MNIST training digits and labels, and from `samples`
    (normalised digits people corrected) if given."""
    sizes = Sizes(mnist=len(images))
    parts = [
        Part("MNIST", _chunked(_normalised, images), labels),
    ]
    if augment:
        copies = _chunked(_distorted, images, augment, seed=seed)
        parts.append(
            Part(
                f"MNIST, {augment} distorted copies",
                copies,
                np.concatenate([np.tile(c, augment) for c in np.array_split(labels, CHUNKS)]),
            )
        )
    say(f"normalised {len(images):,} MNIST digits and {augment} distorted copies of each")
    edited = np.isin(labels, list(mnist_edits.MNIST_EDITS))
    edited &= (labels != 0) | (np.arange(len(labels)) % 2 == 0)
    edited_labels = labels[edited]
    parts.append(
        Part(
            "MNIST edited (flagged 1s, barred 7s, slashed 0s), each also distorted",
            _chunked(_edited, images[edited], edited_labels, seed=seed + 1),
            np.concatenate([np.tile(c, 2) for c in np.array_split(edited_labels, CHUNKS)]),
        )
    )
    say(f"edited {len(edited_labels):,} MNIST digits into other styles")
    styles = [name for name in handwriting.DIGIT_STYLES for _ in range(2 if name in STYLES_MNIST_LACKS else 1)]
    per_style = sizes.scaled(sizes.drawn_per_style)
    drawn_styles = np.repeat(styles, per_style)
    parts.append(
        Part(
            "digits drawn in the world's styles",
            _chunked(_drawn, drawn_styles, seed=seed + 2),
            np.array([handwriting.DIGIT_STYLES[s][0] for s in drawn_styles]),
        )
    )
    say(f"drew {len(drawn_styles):,} digits in {len(handwriting.DIGIT_STYLES)} styles")
    rng = np.random.default_rng(seed + 3)
    numbers = rng.integers(0, len(images), (sizes.scaled(sizes.touching), 4))
    lengths = rng.choice([2, 2, 2, 3, 3, 4], len(numbers))
    cut_images, whole, cut_labels = _touching(images, labels, numbers, lengths, seed + 4)
    parts += [
        Part("digits cut from touching numbers", cut_images, cut_labels),
        Part("touching numbers read whole (several digits)", whole, np.full(len(whole), SEVERAL_DIGITS)),
    ]
    say(f"wrote {len(numbers):,} numbers with touching digits, and cut {len(cut_labels):,} digits from them")
    kinds = np.repeat(list(marks.NON_DIGIT_MARKS), sizes.scaled(sizes.marks_per_kind))
    negatives = [
        ("scribbles and shapes", _chunked(_marks, kinds, seed=seed + 5)),
        ("letters", _chunked(_letters, np.arange(sizes.scaled(sizes.letters)), seed=seed + 6)),
        ("pieces of words", _chunked(_words, np.arange(sizes.scaled(sizes.words)), seed=seed + 7)),
        ("pieces of photographs", _chunked(_photos, np.arange(sizes.scaled(sizes.photos)), seed=seed + 8)),
    ]
    for name, made in negatives:
        parts.append(Part(f"not a digit: {name}", made, np.full(len(made), NOT_A_DIGIT)))
    say("made " + ", ".join(f"{len(made):,} {name}" for name, made in negatives) + " (not digits)")
    if samples is not None and len(samples.labels):
        parts.append(_with_copies(samples, SAMPLE_COPIES, seed + 9))
        say(f"added {len(samples.labels):,} samples ({samples.name}), each with {SAMPLE_COPIES} distorted copies")
    return parts


def fingerprint(images: np.ndarray, labels: np.ndarray, augment: int, seed: int) -> str:
    """A hash of the training set this code makes of the first FINGERPRINT_DIGITS training digits.

    A change to the code that makes or normalises the samples (the ink, the cuts, the marks) changes
    it, and the committed model is then no longer what `make train` makes: its card keeps the hash it
    was trained with, and tests/ml/test_model.py compares the two.
    """
    digest = hashlib.sha256()
    for part in build(images[:FINGERPRINT_DIGITS], labels[:FINGERPRINT_DIGITS], augment, seed, say=lambda _: None):
        digest.update(np.ascontiguousarray(part.images, np.uint8).tobytes())
        digest.update(np.asarray(part.labels, np.int64).tobytes())
    return digest.hexdigest()


def _with_copies(samples: Part, copies: int, seed: int) -> Part:
    """Samples and distorted copies of them: a few dozen corrections among hundreds of thousands of
    digits weigh too little on their own to move the SVM's boundaries."""
    distorted = _distorted(samples.images, copies, seed) if copies else np.zeros((0, 28, 28), np.uint8)
    return Part(
        f"{samples.name}, each also in {copies} distorted copies",
        np.concatenate([samples.images, distorted]),
        np.concatenate([samples.labels, np.tile(samples.labels, copies)]).astype(int),
    )


def _chunked(function, items: np.ndarray, *args, seed: int | None = None) -> np.ndarray:
    """function(chunk, *args[, seed of the chunk]) over CHUNKS chunks of items, on every core."""
    chunks = np.array_split(items, CHUNKS)
    seeds = [()] * CHUNKS if seed is None else [(seed * 1000 + i,) for i in range(CHUNKS)]
    extra = [[np.array_split(a, CHUNKS)[i] if isinstance(a, np.ndarray) else a for a in args] for i in range(CHUNKS)]
    made = Parallel(n_jobs=-1)(delayed(function)(c, *e, *s) for c, e, s in zip(chunks, extra, seeds))
    return np.concatenate([m for m in made if len(m)])


def _normalised(images: np.ndarray) -> np.ndarray:
    return np.stack([normalise_whole(image) for image in images])


def _distorted(images: np.ndarray, copies: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([normalise_whole(distort(image, rng)) for _ in range(copies) for image in images])


def _edited(images: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    edited = np.stack(
        [normalise_whole(mnist_edits.MNIST_EDITS[int(label)](image, rng)) for image, label in zip(images, labels)]
    )
    return np.concatenate([edited, np.stack([normalise_whole(distort(image, rng)) for image in edited])])


def _drawing(rng: np.random.Generator, strokes) -> np.ndarray:
    """Strokes drawn as anything from a small scan to a large canvas, with a fine to a broad pen."""
    return handwriting.render(strokes, rng, height=int(rng.integers(24, 160)), pen=rng.uniform(0.04, 0.15))


def _drawn(styles: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([normalise_digit(_drawing(rng, handwriting.DIGIT_STYLES[s][1](rng))) for s in styles])


def _marks(kinds: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([normalise_digit(_drawing(rng, marks.NON_DIGIT_MARKS[k](rng))) for k in kinds])


def _writing(rng: np.random.Generator, letters: int) -> np.ndarray:
    message = "".join(rng.choice(list(marks.LETTERS_UNLIKE_DIGITS), letters))
    font = str(rng.choice(list(marks.HERSHEY_FONTS)))
    return marks.text(
        message, font, rng, height=int(rng.integers(24, 100)), pen=rng.uniform(0.04, 0.14), italic=rng.random() < 0.3
    )


def _letters(indices: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([normalise_digit(_writing(rng, 1)) for _ in indices])


def _pieces(image: np.ndarray, most: int) -> list[np.ndarray]:
    """The blobs the engine would read in an image, normalised, the largest first."""
    ink = find_ink(image)
    if ink is None:
        return []
    blobs = sorted(find_digits(ink), key=lambda b: -b.intensity.size)[:most]
    return [normalise_digit(b.intensity) for b in blobs if b.intensity.max() >= 0.5]


def _words(indices: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pieces = [
        p for _ in indices for p in _pieces(np.rint(255 * _writing(rng, int(rng.integers(2, 6)))).astype(np.uint8), 3)
    ]
    return np.stack(pieces) if pieces else np.zeros((0, 28, 28), np.uint8)


def _photos(indices: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pieces = [p for _ in indices for p in _pieces(marks.photo(rng), 6)]
    return np.stack(pieces) if pieces else np.zeros((0, 28, 28), np.uint8)


def _touching(images: np.ndarray, labels: np.ndarray, numbers: np.ndarray, lengths: np.ndarray, seed: int):
    made = Parallel(n_jobs=-1)(
        delayed(_touching_chunk)(images[chunk], labels[chunk], length, seed * 1000 + i)
        for i, (chunk, length) in enumerate(zip(np.array_split(numbers, CHUNKS), np.array_split(lengths, CHUNKS)))
    )
    return tuple(np.concatenate([m[k] for m in made]) for k in range(3))


def enlarged(digit: np.ndarray, scale: float) -> np.ndarray:
    """A 28x28 digit drawn larger, as float ink in [0, 1]."""
    size = round(28 * scale)
    return cv2.resize(digit.astype(np.float32) / 255, (size, size), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _blob(ink: np.ndarray) -> tuple[DigitInk, tuple[slice, slice]]:
    """Ink as the engine finds a blob of it: cropped to its box."""
    rows, columns = np.flatnonzero(ink.max(axis=1) > 0), np.flatnonzero(ink.max(axis=0) > 0)
    box = (slice(rows[0], rows[-1] + 1), slice(columns[0], columns[-1] + 1))
    cropped = ink[box]
    return DigitInk(intensity=cropped, box=Box(0, 0, cropped.shape[1], cropped.shape[0]), origin=(0, 0), scale=1.0), box


def _touching_chunk(numbers: np.ndarray, labels: np.ndarray, lengths: np.ndarray, seed: int):
    """For each number written with its digits touching: the number read whole, and its digits as cut
    apart by the engine's cuts that separate them best, the coarse ones it tries first and the finer
    ones it moves them to."""
    rng = np.random.default_rng(seed)
    cut, cut_labels, whole = [], [], []
    for digits, digit_labels, length in zip(numbers, labels, lengths):
        scale = rng.uniform(2, 4)
        inks = [enlarged(digit, scale * rng.uniform(0.9, 1.1)) for digit in digits[:length]]
        page, placed = handwriting.run_together(inks, rng, overlap=(-0.05, 0.2))
        blob, box = _blob(page)
        own = []
        for ink, (x, y) in zip(inks, placed):
            mask = np.zeros(page.shape, np.float32)
            mask[y : y + ink.shape[0], x : x + ink.shape[1]] = ink
            own.append(mask[box])
        whole.append(normalise_digit(blob.intensity))
        seams = Seams(blob.intensity)
        for middles in (seams.coarse(), range(seams.edge, seams.columns - seams.edge)):
            cuts = [None, *(_separating(seams, middles, own[k], own[k + 1]) for k in range(length - 1)), None]
            for k in range(length):
                if k and cuts[k] is None or k < length - 1 and cuts[k + 1] is None:
                    continue
                piece = between(blob, seams, cuts[k], cuts[k + 1], min_ink=TRAINING_PIECE_INK)
                if piece is not None:
                    cut.append(normalise_digit(piece.intensity))
                    cut_labels.append(digit_labels[k])
    empty = np.zeros((0, 28, 28), np.uint8)
    return np.stack(cut) if cut else empty, np.stack(whole) if whole else empty, np.array(cut_labels, int)


def _separating(seams: Seams, middles, left_ink: np.ndarray, right_ink: np.ndarray) -> int | None:
    """Of the cuts at `middles`, the one that best puts one digit's ink on its left and the next
    digit's on its right, if it leaves at least 80% of their ink on their own sides."""
    total = left_ink.sum() + right_ink.sum()
    shares = {
        m: (left_ink[side].sum() + right_ink[~side].sum()) / total for m in middles for side in [seams.left_of(m)]
    }
    best = max(shares, key=shares.get, default=None)
    return best if best is not None and shares[best] >= 0.8 else None

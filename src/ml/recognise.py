"""The engine's whole path: image bytes in, the digits written, with probabilities, out.

Each blob of ink is read whole first, as one digit, no digit, or several digits run together (a
blob the model hesitates on is read from a few views, and the readings averaged). One read as no
digit is a mark, left out. One that may hold several digits is also cut where the pieces between
the cuts read best as digits (`split`: segmentation by recognition), and the reading kept is the
likelier: the blob as one digit, or the blob as several digits and each piece as its digit. A wide
blob read as a mark, or hesitantly as one digit, is cut too, and read as its pieces if they read surely. A
blob wider than high left to be guessed as one digit, but much likelier no digit than that digit, is a
drawing. An image whose marks are mostly not digits is writing or a picture, not a number, and reads as no
digit at all.
"""

from dataclasses import dataclass

import numpy as np

from .decode import DEFAULT_MAX_PIXELS, decode
from .ink import WORKING_SIZE, as_scanned, at_working_size, find_ink, without_rules
from .model import DigitModel, Readings
from .normalise import normalise_digit
from .segment import DigitInk, find_digits
from .split import Seams, best_chain, between, candidate_pieces
from .types import RecognisedDigit, Recognition

ONE_DIGIT = 0.5
"""A piece of a cut blob is a digit only if at least this likely to be one."""
MARK = 0.8
"""A blob is left out as no digit only if at least this likely to be none: a digit written oddly is
often taken for a mark at even odds, and a person would rather have a guess than nothing."""
CUT_TEMPERATURE = 2.2
"""The probabilities of a digit read in a piece of a cut blob are tempered by this (p ** (1 / T), made to sum
to one again). The cut is the one whose pieces read best among hundreds, so its pieces read surer than they
are right: 99.9% on average where 96% of them are right. 2.2 gives the likeliest probabilities to the digits
of the tuning sets' cuts (docs/performance.md); the digit read, and which cut is kept, do not change."""
CHOICE_FLATTENING = 2.5
"""The pieces of a cut blob are chosen by their probabilities with each pair of classes told apart this much
less surely (`DigitModel.read_flattened`). The model reads a fragment (half a 0, the stem of a 4, a 1 with the
edge of its neighbour) as a digit at 99.99%, as surely as a whole digit, and as it is fitted the product of
such probabilities cannot tell a chain of fragments from the right one; flattened, a piece read nearer the
edge of its class costs its chain more. Chosen on the tuning sets (docs/performance.md): flatter still, fewer
numbers read whole. The probabilities reported for the pieces kept are those of `CUT_TEMPERATURE`."""
WIDE = 0.8
"""A blob at least this wide for its height may be digits run together that the model, reading it whole, takes
for a mark or hesitates on as one digit: a number longer, or drawn more evenly, than the touching MNIST digits it
was trained on. Such a blob is cut as well, and read as its pieces if they read surely (the two below)."""
HESITANT = 0.9
"""A wide blob less likely one digit than this, and at least SOMEWHAT_SEVERAL likely several, is cut."""
SOMEWHAT_SEVERAL = 0.05
"""A wide blob the model reads hesitantly as one digit and never as several is one digit written oddly: a 0 drawn
as a neat ellipse reads as one digit at 87% and as a mark at 13%, and cut, as "10"."""
SURE_PIECES = 0.74
"""The cut of a wide blob read hesitantly as one digit is kept if the geometric mean of its pieces' flattened
probabilities (`CHOICE_FLATTENING`) is at least this: fragments of one digit read less surely than that."""
SURE_PIECES_OF_A_MARK = 0.95
"""The same for a wide blob read as a mark, and higher: cut, a cursive word or a cloud gives pieces that read
as digits too, if less surely than a number's (docs/performance.md)."""
SEVERAL_IN_A_MARK = 0.05
"""A wide blob read as a mark that the model reads as several digits at least this likely is more often a number
written evenly (touching 1s, a number longer than those it was trained on) than writing: letters and words read
as several digits at well under 1%. Its cut is kept at SURE_PIECES_OF_A_NUMBERLIKE_MARK."""
SURE_PIECES_OF_A_NUMBERLIKE_MARK = 0.85
"""Above what the cuts of non-digits that read somewhat as several digits reach on the tuning sets (an infinity
sign cut as "00" at 0.81), below what most numbers drawn evenly reach (docs/performance.md)."""
DRAWING = 0.4
"""A blob at least DRAWING_WIDTH as wide as high, read as no digit at least this likely and at least DRAWING_ODDS
times as likely as the digit it would be guessed as, is a drawing (a cloud, a scribble), not a digit
written oddly: it is left out as a mark."""
DRAWING_ODDS = 2
DRAWING_WIDTH = 1.1
"""Chosen on the tuning sets (docs/performance.md), where it changed none of the numbers or single digits: judged
so, blobs less wide lost single digits written oddly (a few in 10,000)."""
UNSURE = 0.8
"""A blob read whole less surely than this is read again from other views (`DigitModel.read_steadied`).
Pieces of cut blobs are not: there are hundreds of them, and the cut is chosen among them anyway."""
MAX_MARKS = 64
"""More blobs than this is a page of writing or a picture, not a number: it is not read."""
CUT_HEIGHT = 112
"""Blobs are cut, and their pieces read, at most this many pixels high: pieces are read at 20 pixels."""
MAX_PIECES = 1000
"""Pieces read in all while cutting the blobs of one image: what bounds an image's cost. Blobs left
when they are spent are read whole."""
CHARACTER = 0.5
"""A mark at least this share of the tallest mark's height is the size of a character, not a stray stroke."""
WRITING = 1 / 3
"""When more than this share of the character-sized marks are not digits, the image is writing, not a number."""


def recognise(data: bytes, model: DigitModel, max_pixels: int = DEFAULT_MAX_PIXELS) -> Recognition:
    """Read every digit in an encoded image, left to right.

    A blank image gives no digits and no marks; an image of something else than digits (letters,
    scribbles, a photo) gives no digits and the marks that were left out.
    """
    decoded = decode(data, max_pixels, working_size=WORKING_SIZE)
    # Shrunk once, so that the photograph's steps work at the size the ink is looked for at.
    grey, scale = at_working_size(decoded.grey, decoded.scale)
    ink = find_ink(as_scanned(grey), scale)
    if ink is None:
        return Recognition(digits=[], marks=0)
    blobs = find_digits(without_rules(ink))
    if not blobs:  # its ink was all rules: an empty page of a notebook
        return Recognition(digits=[], marks=0)
    if len(blobs) > MAX_MARKS:
        return Recognition(digits=[], marks=len(blobs))
    images, readings = _read(blobs, model, unsure=UNSURE)
    digits, marks, budget = [], [], _Budget(MAX_PIECES)
    for i, blob in enumerate(blobs):
        p, one, several = readings.digits[i], readings.one_digit[i], readings.several_digits[i]
        is_mark = readings.not_a_digit[i] >= max(one, several, MARK)
        hesitant = one < HESITANT and several >= SOMEWHAT_SEVERAL
        doubted = blob.box.width >= WIDE * blob.box.height and (is_mark or hesitant)
        drawing_wide = blob.box.width >= DRAWING_WIDTH * blob.box.height
        whole = one * p.max()
        # A cut's pieces can only lower its likelihood below the blob's of being several digits:
        # a blob likelier one digit than that, or a mark, is not worth cutting, unless it is doubted.
        worth_cutting = doubted or (not is_mark and several > whole)
        cut = _cut(blob.shrunk(CUT_HEIGHT), model, budget) if worth_cutting else None
        if cut is not None and not is_mark and np.log(several) + cut.score > np.log(max(whole, 1e-300)):
            digits.extend(cut.digits)
        elif cut is not None and doubted and cut.sure(_least_sure(is_mark, several)):
            digits.extend(cut.digits)
        elif is_mark or (drawing_wide and readings.not_a_digit[i] >= max(DRAWING, DRAWING_ODDS * whole)):
            marks.append(blob)
        else:
            # Not a mark, and either one digit or digits that could not be cut apart: the likeliest
            # digit is a guess a person can correct.
            digits.append(_digit(blob, images[i], p))
    tallest = max(b.box.height for b in blobs)
    characters = sum(m.box.height >= CHARACTER * tallest for m in marks)
    pieces_read = MAX_PIECES - budget.left
    if characters > WRITING * (characters + len(digits)):
        return Recognition(digits=[], marks=len(marks) + len(digits), pieces_read=pieces_read)
    return Recognition(digits=digits, marks=len(marks), pieces_read=pieces_read)


def _least_sure(is_mark: bool, several: float) -> float:
    """How surely the pieces of a doubted blob's cut must read for the cut to be kept."""
    if not is_mark:
        return SURE_PIECES
    return SURE_PIECES_OF_A_NUMBERLIKE_MARK if several >= SEVERAL_IN_A_MARK else SURE_PIECES_OF_A_MARK


def _read(pieces: list[DigitInk], model: DigitModel, unsure: float | None = None) -> tuple[np.ndarray, Readings]:
    """Each piece normalised, and what the model reads in it; given `unsure`, read again from other views
    where the model hesitates (`DigitModel.read_steadied`)."""
    images = _normalised(pieces)
    return images, model.read(images) if unsure is None else model.read_steadied(images, unsure)


def _normalised(pieces: list[DigitInk]) -> np.ndarray:
    """Each piece as the model reads it: (n, 28, 28)."""
    return np.stack([normalise_digit(piece.intensity) for piece in pieces])


class _Budget:
    """How many more pieces may be read while cutting the blobs of one image."""

    def __init__(self, pieces: int):
        self.left = pieces

    def spend(self, pieces: int) -> bool:
        """Whether `pieces` more may be read; if so, they are counted as read."""
        if pieces > self.left:
            return False
        self.left -= pieces
        return True


@dataclass(frozen=True)
class _Cut:
    """The digits of a blob's best cut, the chain of pieces that reads best with their probabilities flattened
    (`CHOICE_FLATTENING`)."""

    digits: list[RecognisedDigit]
    score: float
    """The sum over its pieces of the log-probability, as fitted, that each is the digit read in it."""
    flattened: float
    """The mean over its pieces, as chosen, of that log-probability flattened."""

    def sure(self, least: float) -> bool:
        """Whether it holds several digits whose flattened probabilities' geometric mean is at least `least`."""
        return len(self.digits) >= 2 and self.flattened >= np.log(least)


def _cut(blob: DigitInk, model: DigitModel, budget: _Budget) -> _Cut | None:
    """The best cut of a blob; None when no cut gives pieces that are all digits, or when reading its pieces
    would overspend the budget."""
    seams = Seams(blob.intensity)
    candidates = candidate_pieces(blob, seams)
    if not candidates.pieces or not budget.spend(len(candidates.pieces)):
        return None
    images = _normalised(candidates.pieces)
    readings, flattened = model.read_flattened(images, CHOICE_FLATTENING)
    scores, flattened_scores = _scores(readings), _scores(flattened)
    chain = best_chain(candidates, flattened_scores)
    if chain is None:
        return None
    cut = [
        _Piece(
            candidates.cuts[candidates.spans[i][0]],
            candidates.cuts[candidates.spans[i][1]],
            candidates.pieces[i],
            images[i],
            readings.digits[i],
            scores[i],
        )
        for i in chain
    ]
    for k in range(len(cut) - 1):
        if cut[k].right == cut[k + 1].left:
            cut[k], cut[k + 1] = _moved(blob, seams, model, cut[k], cut[k + 1], budget)
    return _Cut(
        digits=[_digit(piece.ink, piece.image, _tempered(piece.probabilities)) for piece in cut],
        score=float(sum(piece.score for piece in cut)),
        flattened=float(np.mean(flattened_scores[chain])),
    )


@dataclass(frozen=True)
class _Piece:
    """A piece of a cut blob, between two cuts (None for the blob's edges), as read."""

    left: int | None
    right: int | None
    ink: DigitInk
    image: np.ndarray
    probabilities: np.ndarray
    score: float


def _moved(
    blob: DigitInk, seams: Seams, model: DigitModel, first: _Piece, second: _Piece, budget: _Budget
) -> tuple[_Piece, _Piece]:
    """Two neighbouring pieces with the cut between them moved to the nearby column where they read best."""
    tried = []
    for middle in seams.near(first.right):
        pair = between(blob, seams, first.left, middle), between(blob, seams, middle, second.right)
        if None not in pair:
            tried.append((middle, pair))
    if not tried or not budget.spend(2 * len(tried)):
        return first, second
    images, readings = _read([piece for _, pair in tried for piece in pair], model)
    totals = _scores(readings).reshape(-1, 2)
    best = int(totals.sum(axis=1).argmax())
    if not totals[best].sum() > first.score + second.score:
        return first, second
    middle, (left, right) = tried[best]
    return (
        _Piece(first.left, middle, left, images[2 * best], readings.digits[2 * best], totals[best, 0]),
        _Piece(middle, second.right, right, images[2 * best + 1], readings.digits[2 * best + 1], totals[best, 1]),
    )


def _scores(readings: Readings) -> np.ndarray:
    """Each piece's log-probability of being the digit read in it; -inf unless it is likely one digit."""
    best = readings.one_digit * readings.digits.max(axis=1)
    return np.where(readings.one_digit >= ONE_DIGIT, np.log(np.maximum(best, 1e-300)), -np.inf)


def _tempered(probabilities: np.ndarray) -> np.ndarray:
    tempered = probabilities ** (1 / CUT_TEMPERATURE)
    return tempered / tempered.sum()


def _digit(piece: DigitInk, image: np.ndarray, probabilities: np.ndarray) -> RecognisedDigit:
    return RecognisedDigit(digit=int(probabilities.argmax()), probabilities=probabilities, box=piece.box, image=image)

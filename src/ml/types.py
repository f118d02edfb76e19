"""What the engine returns: the digits found in an image, left to right."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Box:
    """A digit's bounding box in the original image's pixels."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class RecognisedDigit:
    digit: int
    probabilities: np.ndarray
    box: Box
    image: np.ndarray
    """The normalised 28x28 uint8 digit (white ink on black) the model saw."""

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.digit])


@dataclass(frozen=True)
class Recognition:
    digits: list[RecognisedDigit]
    marks: int
    """Marks of ink that were read as no digit and left out: letters, scribbles, a picture's shapes.
    With no digits, none means a blank image; some mean an image of something other than digits."""
    pieces_read: int = 0
    """Pieces of blobs the model read while cutting them apart: what reading the image cost beyond its blobs,
    each piece about half the CPU of a whole canvas, and up to `recognise.MAX_PIECES` of them."""

    @property
    def number(self) -> str:
        return "".join(str(d.digit) for d in self.digits)

"""The engine's whole path: image bytes in, the digits written, with probabilities, out."""
import numpy as np

from .decode import DEFAULT_MAX_PIXELS, decode
from .ink import WORKING_SIZE, find_ink
from .model import DigitModel
from .normalise import normalise_digit
from .segment import find_digits
from .types import RecognisedDigit, Recognition


def normalised_digits(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS):
    """Decode, find and normalise: each digit's box and 28x28 image, left to right."""
    decoded = decode(data, max_pixels, working_size=WORKING_SIZE)
    ink = find_ink(decoded.grey, decoded.scale)
    if ink is None:
        return []
    return [(found.box, normalise_digit(found.intensity)) for found in find_digits(ink)]


def recognise(data: bytes, model: DigitModel, max_pixels: int = DEFAULT_MAX_PIXELS) -> Recognition:
    """Read every digit in an encoded image; a blank image gives a Recognition with no digits."""
    found = normalised_digits(data, max_pixels)
    if not found:
        return Recognition(digits=[])
    images = np.stack([image for _, image in found])
    probabilities = model.predict_proba(images)
    return Recognition(
        digits=[
            RecognisedDigit(digit=int(p.argmax()), probabilities=p, box=box, image=image)
            for (box, image), p in zip(found, probabilities)
        ]
    )

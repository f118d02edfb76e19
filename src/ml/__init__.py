"""The recognition engine: image bytes in, digits with probabilities out. Knows nothing of the web."""

import hashlib
from pathlib import Path

from .decode import DEFAULT_MAX_PIXELS, decode_image
from .errors import ImageError, ImageTooLarge, NotAnImage
from .model import DEFAULT_MODEL_PATH, DigitModel, load_model
from .recognise import recognise
from .threads import compute_on_one_thread
from .types import Box, RecognisedDigit, Recognition


def _fingerprint() -> str:
    sources = sorted(Path(__file__).parent.glob("*.py"))
    return hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()[:12]


ENGINE_VERSION = _fingerprint()
"""A fingerprint of the engine's code. The same image read by the same model but another engine (another
cut, other probabilities) may read otherwise: what an earlier engine read is not this one's."""

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MODEL_PATH",
    "ENGINE_VERSION",
    "Box",
    "DigitModel",
    "ImageError",
    "ImageTooLarge",
    "NotAnImage",
    "RecognisedDigit",
    "Recognition",
    "compute_on_one_thread",
    "decode_image",
    "load_model",
    "recognise",
]

"""The recognition engine: image bytes in, digits with probabilities out. Knows nothing of the web."""

from .decode import DEFAULT_MAX_PIXELS, decode_image
from .errors import ImageError, ImageTooLarge, NotAnImage
from .model import DEFAULT_MODEL_PATH, DigitModel, load_model
from .recognise import recognise
from .threads import compute_on_one_thread
from .types import Box, RecognisedDigit, Recognition

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MODEL_PATH",
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

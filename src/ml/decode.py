"""Turn encoded image bytes into one greyscale array, refusing what is not a safe image."""
import io
import warnings

import numpy as np
from PIL import Image, ImageOps

from .errors import ImageTooLarge, NotAnImage

FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")
DEFAULT_MAX_PIXELS = 40_000_000


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode PNG, JPEG, WebP, BMP, GIF (first frame) or TIFF bytes to a uint8 greyscale array.

    The pixel count is checked from the header, before any pixel is decoded, so a
    decompression bomb costs nothing. Transparent images are composited onto the
    background that keeps their strokes visible.
    """
    too_large = ImageTooLarge(f"The image has more than {max_pixels:,} pixels; send a smaller one.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = image.size
            if width * height <= max_pixels:
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise too_large from error
    except Image.UnidentifiedImageError as error:
        raise NotAnImage("The data is not a PNG, JPEG, WebP, BMP, GIF or TIFF image.") from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise NotAnImage(f"The image is truncated or corrupt ({error}).") from error
    if width * height > max_pixels:
        raise too_large
    # In place: otherwise every image without an EXIF orientation is copied, with its metadata.
    ImageOps.exif_transpose(image, in_place=True)
    return _to_grey(image)


def _to_grey(image: Image.Image) -> np.ndarray:
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if not has_alpha:
        return np.asarray(image.convert("L"))
    grey_alpha = np.asarray(image.convert("RGBA").convert("LA"), dtype=np.float32)
    grey, alpha = grey_alpha[..., 0], grey_alpha[..., 1] / 255.0
    if alpha.min() == 1.0:
        return grey.astype(np.uint8)
    # A canvas exports its strokes on a transparent background, in any colour:
    # put them on the background they contrast with, not on a fixed one.
    stroke_luminance = (grey * alpha).sum() / max(alpha.sum(), 1e-6)
    background = 255.0 if stroke_luminance < 128 else 0.0
    return np.rint(grey * alpha + background * (1.0 - alpha)).astype(np.uint8)

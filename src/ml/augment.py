"""Distort MNIST digits the way real handwriting varies: slant, rotation, wobble, pen width."""

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter

PAD = 6


def distort(
    image: np.ndarray,
    rng: np.random.Generator,
    rotation: float = 12.0,
    shear: float = 0.25,
    elastic_alpha: float = 6.0,
    elastic_sigma: float = 3.0,
) -> np.ndarray:
    """One randomly distorted copy of a 28x28 uint8 digit, on a padded field so nothing is cut off."""
    image = cv2.copyMakeBorder(image, PAD, PAD, PAD, PAD, cv2.BORDER_CONSTANT, value=0)
    side = image.shape[0]
    centre = (side / 2, side / 2)
    affine = cv2.getRotationMatrix2D(centre, rng.uniform(-rotation, rotation), 1.0)
    slant = rng.uniform(-shear, shear)
    # A horizontal shear about the centre row: x' = x + slant * (y - centre).
    affine[0] += slant * affine[1]
    affine[0, 2] -= slant * centre[1]
    image = cv2.warpAffine(image, affine, (side, side), flags=cv2.INTER_LINEAR)
    shape = image.shape
    dx = gaussian_filter(rng.uniform(-1, 1, shape), elastic_sigma) * elastic_alpha
    dy = gaussian_filter(rng.uniform(-1, 1, shape), elastic_sigma) * elastic_alpha
    rows, cols = np.indices(shape, dtype=np.float32)
    image = cv2.remap(image, (cols + dx).astype(np.float32), (rows + dy).astype(np.float32), cv2.INTER_LINEAR)
    return _change_pen(image, rng.integers(-1, 2))


def turned(image: np.ndarray, degrees: float) -> np.ndarray:
    """A 28x28 digit turned about the centre of its field, anticlockwise."""
    side = image.shape[0]
    turn = cv2.getRotationMatrix2D((side / 2, side / 2), degrees, 1.0)
    return cv2.warpAffine(image, turn, (side, side), flags=cv2.INTER_LINEAR)


def _change_pen(image: np.ndarray, change: int) -> np.ndarray:
    """Widen or narrow the strokes by half a pixel, working at twice the resolution."""
    if change == 0:
        return image
    large = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)
    kernel = np.ones((2, 2), np.uint8)
    large = cv2.dilate(large, kernel) if change > 0 else cv2.erode(large, kernel)
    thinned = cv2.resize(large, image.shape[::-1], interpolation=cv2.INTER_AREA)
    return thinned if thinned.max() > 127 else image

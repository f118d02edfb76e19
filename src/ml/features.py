"""The model's preprocessing steps, as scikit-learn transformers over flattened 28x28 digits."""

import cv2
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

SIDE = 28


def deskew(X: np.ndarray) -> np.ndarray:
    """Straighten each digit's slant, measured by its second-order image moments."""
    images = np.asarray(X, np.float32).reshape(-1, SIDE, SIDE)
    out = np.empty_like(images)
    for i, image in enumerate(images):
        moments = cv2.moments(image)
        if abs(moments["mu02"]) < 1e-2:
            out[i] = image
            continue
        skew = moments["mu11"] / moments["mu02"]
        shear = np.float32([[1, skew, -0.5 * SIDE * skew], [0, 1, 0]])
        out[i] = cv2.warpAffine(image, shear, (SIDE, SIDE), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR)
    return out.reshape(len(images), -1)


class HogFeatures(TransformerMixin, BaseEstimator):
    """Histograms of oriented gradients (OpenCV's HOGDescriptor) of each 28x28 digit.

    Parameters
    ----------
    cell_size : int, default=7
        Side of a cell, in pixels, over which one histogram is taken.
    block_size : int, default=14
        Side of a block of cells, in pixels, normalised together (L2-Hys).
    block_stride : int, default=7
        Step between blocks, in pixels.
    bins : int, default=18
        Orientation bins per histogram.
    signed : bool, default=True
        Whether the orientations span 360 degrees (a stroke's direction counts) or 180.

    Attributes
    ----------
    n_features_in_ : int
        The pixels of a 28x28 digit, 784.
    """

    def __init__(self, cell_size=7, block_size=14, block_stride=7, bins=18, signed=True):
        self.cell_size = cell_size
        self.block_size = block_size
        self.block_stride = block_stride
        self.bins = bins
        self.signed = signed

    def fit(self, X, y=None):
        self.n_features_in_ = SIDE * SIDE
        return self

    def transform(self, X):
        descriptor = cv2.HOGDescriptor(
            (SIDE, SIDE),
            (self.block_size, self.block_size),
            (self.block_stride, self.block_stride),
            (self.cell_size, self.cell_size),
            self.bins,
            1,
            -1,
            cv2.HOGDESCRIPTOR_L2HYS,
            0.2,
            False,
            cv2.HOGDESCRIPTOR_DEFAULT_NLEVELS,
            self.signed,
        )
        images = np.clip(np.asarray(X, np.float32), 0, 255).astype(np.uint8).reshape(-1, SIDE, SIDE)
        return np.array([descriptor.compute(image).ravel() for image in images])

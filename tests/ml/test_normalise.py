"""Normalisation: MNIST's box, centre of mass and stroke width, whatever the source."""

import cv2
import numpy as np
import pytest

from src.ml.ink import find_ink
from src.ml.normalise import CENTRE, STROKE_RANGE, normalise_digit, stroke_width
from src.ml.segment import find_digits


def normalised(paper: np.ndarray) -> np.ndarray:
    (digit,) = find_digits(find_ink(paper))
    return normalise_digit(digit.intensity)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape)
    mass = image.sum()
    return (rows * image).sum() / mass, (cols * image).sum() / mass


def drawn_two(side: int, pen: int) -> np.ndarray:
    paper = np.full((side, side), 255, np.uint8)
    points = np.array([(0.3, 0.35), (0.4, 0.2), (0.6, 0.2), (0.68, 0.35), (0.3, 0.8), (0.72, 0.8)]) * side
    cv2.polylines(paper, [points.astype(np.int32)], False, 0, pen, cv2.LINE_AA)
    return paper


@pytest.mark.parametrize("side,pen", [(600, 2), (600, 40), (280, 18), (120, 3), (2000, 9)])
def test_normalise_digit_gives_mnist_box_centre_and_stroke_width(side, pen):
    digit = normalised(drawn_two(side, pen))
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    rows = np.flatnonzero(digit.max(axis=1) > 0)
    cols = np.flatnonzero(digit.max(axis=0) > 0)
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in (20, 21)
    row, col = centre_of_mass(digit.astype(float))
    assert abs(row - CENTRE) <= 1 and abs(col - CENTRE) <= 1
    width = stroke_width((digit > 127).astype(np.uint8))
    assert STROKE_RANGE[0] - 0.5 <= width <= STROKE_RANGE[1] + 0.5


def test_normalise_digit_leaves_an_mnist_digit_as_it_was(mnist_test):
    images, _ = mnist_test
    again = np.stack([normalised(image) for image in images[:500]])
    assert np.abs(again.astype(int) - images[:500]).mean() < 1.0

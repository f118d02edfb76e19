"""Segmentation: several digits, left to right, with their boxes; strokes of one digit stay together."""

import cv2
import numpy as np

from benchmarks.variants import compose, dark_on_light, iou
from src.ml import handwriting
from src.ml.ink import find_ink
from src.ml.recognise import CUT_HEIGHT
from src.ml.segment import DigitInk, find_digits
from src.ml.split import Seams, between, candidate_pieces
from src.ml.trainingset import enlarged
from src.ml.types import Box


def test_find_digits_returns_each_digit_left_to_right_with_its_box(mnist_test):
    images, _ = mnist_test
    rng = np.random.default_rng(3)
    for start in range(0, 40, 4):
        ink, boxes = compose(list(images[start : start + 4]), rng, scales=(3.0, 7.0), gaps=(8, 60))
        found = find_digits(find_ink(dark_on_light(ink)))
        assert len(found) == 4
        assert [d.box.x for d in found] == sorted(d.box.x for d in found)
        assert all(iou(d.box, box) > 0.8 for d, box in zip(found, boxes))


def test_find_digits_reports_boxes_in_the_original_pixels_of_a_large_photo(mnist_test):
    images, _ = mnist_test
    ink, boxes = compose([images[1], images[2]], np.random.default_rng(4), scales=(40.0, 45.0), gaps=(200, 300))
    assert max(ink.shape) > 2000
    found = find_digits(find_ink(dark_on_light(ink)))
    assert len(found) == 2
    assert all(iou(d.box, box) > 0.9 for d, box in zip(found, boxes))


def draw(strokes, size=(300, 300), width=12) -> np.ndarray:
    paper = np.full(size, 255, np.uint8)
    for stroke in strokes:
        cv2.polylines(paper, [np.array(stroke, np.int32)], False, 0, width, cv2.LINE_AA)
    return paper


def test_find_digits_keeps_a_digit_drawn_in_several_strokes_whole():
    five = [[(100, 80), (100, 150), (160, 150), (180, 190), (160, 230), (95, 230)], [(115, 75), (190, 75)]]
    four = [[(120, 60), (90, 170), (190, 170)], [(160, 110), (165, 250)]]
    seven_with_bar = [[(90, 70), (200, 70), (130, 240)], [(120, 150), (185, 150)]]
    for strokes in (five, four, seven_with_bar):
        assert len(find_digits(find_ink(draw(strokes)))) == 1


def test_find_digits_ignores_specks_and_dust():
    paper = draw([[(150, 60), (150, 240)]])
    rng = np.random.default_rng(5)
    for x, y in rng.integers(10, 290, size=(25, 2)):
        cv2.circle(paper, (int(x), int(y)), 1, 0, -1)
    found = find_digits(find_ink(paper))
    assert len(found) == 1
    assert 130 < found[0].box.x < 150 and found[0].box.height > 170


def test_no_piece_offered_for_a_digit_is_less_than_half_as_high_as_the_number_it_is_cut_from(mnist_test):
    # A stroke cut from a neighbour (the bar of a 7, the tail of a 9) reads as a 1 of its own.
    images, _ = mnist_test
    rng = np.random.default_rng(6)
    for start in range(0, 30, 3):
        inks = [enlarged(image, 4.0) for image in images[start : start + 3]]
        page, _ = handwriting.run_together(inks, rng, overlap=(0.1, 0.15))
        (blob,) = find_digits(find_ink(dark_on_light(page)))
        blob = blob.shrunk(CUT_HEIGHT)
        candidates = candidate_pieces(blob, Seams(blob.intensity))
        assert candidates.pieces
        assert min(p.intensity.shape[0] for p in candidates.pieces) >= 0.5 * blob.intensity.shape[0]


def test_a_piece_left_with_only_faint_ink_once_a_neighbours_stub_is_dropped_is_no_piece():
    # Left of a cut through a bar: the bar's severed stub, dropped as a neighbour's, and a faint wash.
    intensity = np.zeros((40, 60), np.float32)
    intensity[5:35, 2:16] = 0.3
    intensity[15:25, 24:58] = 1.0
    blob = DigitInk(intensity=intensity, box=Box(0, 0, 60, 40), origin=(0, 0), scale=1.0)
    seams = Seams(intensity)
    path = seams.path(30)
    assert path[5:35].min() > 16 and 24 < path[15:25].min() and path[15:25].max() < 58
    assert between(blob, seams, None, 30) is None

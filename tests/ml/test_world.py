"""The world's handwriting: other countries' styles, touching digits, numbers on ruled paper and in photos,
and what is not a digit."""

import importlib

import numpy as np
import pytest

from benchmarks.engine import read_cases
from benchmarks.variants import dark_on_light, encode, iou
from benchmarks.world import (
    cloud,
    non_digit_cases,
    on_pad,
    photographed_cases,
    ruled_cases,
    style_cases,
    touching_cases,
    touching_drawn_cases,
)
from src.ml import handwriting, marks, recognise
from src.ml.evaluate import calibration_error
from src.ml.recognise import MAX_PIECES
from src.ml.trainingset import enlarged


def read(model, data: bytes) -> str | None:
    reading = recognise(data, model)
    return reading.number if reading.digits else None


@pytest.mark.parametrize(
    "style,digit",
    [("1 continental", "1"), ("7 crossed", "7"), ("0 crossed", "0"), ("3 flat-topped", "3"), ("9 curled", "9")],
)
def test_digits_in_other_countries_styles_drawn_on_the_pad_read_right(model, style, digit):
    rng = np.random.default_rng(11)
    draw = handwriting.DIGIT_STYLES[style][1]
    assert [read(model, on_pad(draw(rng), rng)) for _ in range(12)] == [digit] * 12


def test_1975_with_a_continental_1_and_a_crossed_7_reads_1975(model):
    rng = np.random.default_rng(3)
    strokes = [
        handwriting.one_flagged(rng),
        handwriting.nine(rng),
        handwriting.seven_barred(rng),
        handwriting.five(rng),
    ]
    inks = [handwriting.render(s, rng, height=150, pen=0.09) for s in strokes]
    page = np.zeros((260, 60 + sum(i.shape[1] + 30 for i in inks)), np.float32)
    x = 30
    for ink in inks:
        page[50 : 50 + ink.shape[0], x : x + ink.shape[1]] = ink
        x += ink.shape[1] + 30
    assert read(model, encode(dark_on_light(page))) == "1975"


def test_two_touching_digits_are_split_with_a_box_each(model, mnist_test):
    images, labels = mnist_test
    rng = np.random.default_rng(5)
    for first, second in [(3, 4), (10, 11), (25, 26), (40, 41)]:
        inks = [enlarged(images[i], 5.0) for i in (first, second)]
        page, placed = handwriting.run_together(inks, rng, overlap=(0.0, 0.0), margin=20)
        reading = recognise(encode(dark_on_light(page)), model)
        assert reading.number == f"{labels[first]}{labels[second]}"
        for digit, ink, (x, y) in zip(reading.digits, inks, placed):
            rows, columns = np.flatnonzero(ink.max(axis=1) >= 0.5), np.flatnonzero(ink.max(axis=0) >= 0.5)
            truth = type(digit.box)(
                x=x + int(columns[0]),
                y=y + int(rows[0]),
                width=int(columns[-1] - columns[0] + 1),
                height=int(rows[-1] - rows[0] + 1),
            )
            assert iou(digit.box, truth) > 0.6


def test_a_1_among_touching_digits_is_read_not_passed_by_as_a_sliver(model, mnist_test):
    # Four MNIST test digits, each touching the next: a thin 1 holds a few hundredths of the blob's ink.
    images, labels = mnist_test
    for seed, chosen in [
        (75, [3606, 8974, 7872, 2510]),
        (210, [3249, 2788, 9946, 1467]),
        (221, [3203, 3034, 1375, 8077]),
    ]:
        inks = [enlarged(images[i], 4.0) for i in chosen]
        page, _ = handwriting.run_together(inks, np.random.default_rng(seed), overlap=(0.0, 0.1), margin=20)
        assert read(model, encode(dark_on_light(page))) == "".join(str(labels[i]) for i in chosen)


def test_fragments_of_touching_digits_are_not_read_as_digits_of_their_own(model, mnist_test):
    # As fitted, the model read these in more pieces than there are digits ("96766" for 9066, "682" for 65), each
    # piece, half a digit or a stroke of one, at 99% or more: chosen with the probabilities flattened, they read right.
    images, labels = mnist_test
    for seed, chosen in [(1111, [8590, 6567, 4702, 9940]), (1119, [450, 7559, 7175, 5017]), (1183, [5511, 1737])]:
        inks = [enlarged(images[i], 4.0) for i in chosen]
        page, _ = handwriting.run_together(inks, np.random.default_rng(seed), overlap=(0.0, 0.15), margin=20)
        assert read(model, encode(dark_on_light(page))) == "".join(str(labels[i]) for i in chosen)


@pytest.mark.parametrize(
    ("seed", "index", "number"),
    [
        # Read whole, each blob was a mark at 80% or more, and the image was answered "no digit": drawn evenly, a
        # number looks more like writing than the touching MNIST digits the model was trained on.
        pytest.param(2006, 1, "548", id="mark-548"),
        pytest.param(2017, 7, "22", id="mark-22"),
        pytest.param(2027, 4, "44", id="mark-44"),
        # Read whole, each was a mark at 80% or more, several digits at 5% or more (letters and words: under 1%),
        # and its cut read surely, if less than a mark's cut must: "no digit" before SEVERAL_IN_A_MARK.
        pytest.param(2030, 3, "3272", id="numberlike-mark-3272"),
        pytest.param(2036, 0, "93", id="numberlike-mark-93"),
        pytest.param(2043, 1, "96", id="numberlike-mark-96"),
        pytest.param(2044, 4, "07", id="numberlike-mark-07"),
        # Read whole, each was one digit at even odds ("7" for 71, "4" for 14), and only somewhat likely several.
        pytest.param(2022, 1, "71", id="hesitant-71"),
        pytest.param(2001, 9, "14", id="hesitant-14"),
        pytest.param(2029, 5, "72", id="hesitant-72"),
    ],
)
def test_wide_numbers_drawn_touching_that_the_model_doubts_whole_are_cut_into_their_digits(model, seed, index, number):
    case = touching_drawn_cases(count=10, seed=seed)[index]
    assert case.number == number
    assert read(model, case.data) == number


def test_a_wide_0_and_a_4_with_a_long_bar_are_not_split(model):
    rng = np.random.default_rng(2)
    wide_zero = [handwriting.arc((0.7, 0.5), (0.7, 0.5), -90, 360)]
    long_bar_four = [np.array([(0.4, 0.0), (0.0, 0.6), (1.3, 0.6)]), np.array([(0.6, 0.1), (0.6, 1.0)])]
    assert read(model, on_pad(wide_zero, rng)) == "0"
    assert read(model, on_pad(long_bar_four, rng)) == "4"


@pytest.mark.parametrize(
    "kind",
    ["a letter", "a word", "a photograph", "drawing: spiral", "drawing: star", "drawing: zigzag", "drawing: smiley"],
)
def test_what_is_not_a_digit_reads_as_no_digit_and_is_not_blank(model, kind):
    cases = [c for c in non_digit_cases(per_kind=8, seed=21) if c.kind == kind]
    readings = [recognise(c.data, model) for c in cases]
    assert [r.number for r in readings] == [""] * len(cases)
    assert all(r.marks > 0 for r in readings)


def test_hello_and_a_handwritten_a_read_as_no_digit(model):
    rng = np.random.default_rng(4)
    for message in ("hello", "A"):
        ink = marks.text(message, "simplex", rng, height=120, pen=0.08)
        assert read(model, encode(dark_on_light(ink))) is None


def test_a_cloud_drawn_on_the_pad_reads_as_no_digit(model):
    # Wide, no digit at 66%, one digit at 17% and several at 17%, and its cut reads unsurely: it was guessed as
    # a 0 at 93%. The cloud is a kind of drawing the model was never trained on.
    rng = np.random.default_rng(2000)
    assert read(model, on_pad(cloud(rng), rng)) is None


def test_a_stray_scribble_beside_a_number_is_left_out(model, mnist_test):
    images, labels = mnist_test
    rng = np.random.default_rng(8)
    digits = [enlarged(images[i], 5.0) for i in (0, 1, 2)]
    scribble = handwriting.render(marks.spiral(rng), rng, height=70, pen=0.1)
    page = np.zeros((220, 760), np.float32)
    for k, ink in enumerate(digits):
        page[40 : 40 + ink.shape[0], 40 + 160 * k : 40 + 160 * k + ink.shape[1]] = ink
    page[60 : 60 + scribble.shape[0], 560 : 560 + scribble.shape[1]] = scribble
    reading = recognise(encode(dark_on_light(page)), model)
    assert reading.number == "".join(str(v) for v in labels[:3])
    assert reading.marks == 1


# The benchmarks' own figures, on a sample of their cases.


def share_read_right(model, cases) -> float:
    return np.mean([read(model, c.data) == c.number for c in cases])


@pytest.mark.slow
def test_other_countries_styles_are_read_right_98_percent_of_the_time(model, mnist_test):
    cases = style_cases(*mnist_test, per_style=16, seed=31)
    assert share_read_right(model, cases) >= 0.98
    continental = [c for c in cases if c.kind in ("1 continental", "7 crossed") or "edited: add" in c.kind]
    assert share_read_right(model, continental) >= 0.98


@pytest.mark.slow
def test_numbers_photographed_on_lined_and_squared_paper_are_read_whole_90_percent_of_the_time(model, mnist_test):
    # 61% before the rules were taken away: the rules strung the digits into one blob.
    assert share_read_right(model, ruled_cases(*mnist_test, count=80, seed=31)) >= 0.9


@pytest.mark.slow
def test_numbers_photographed_as_people_do_are_read_whole_88_percent_of_the_time(model, mnist_test):
    # 60% before: a number small in a large photo was taken for blank, one on a dark desk for no digit.
    assert share_read_right(model, photographed_cases(*mnist_test, count=100, seed=31)) >= 0.88


@pytest.fixture(scope="module")
def touching_numbers_read(model, mnist_test):
    """200 numbers of touching MNIST test digits, read as the benchmark reads them: how many were read whole,
    and each digit of those read with as many digits as written, how sure and whether right."""
    return read_cases(model, touching_cases(*mnist_test, count=200, seed=31))


# The floors below are what the committed model holds, under the 95% asked of it for touching numbers
# and non-digits (the figures and the gap are in docs/performance.md): they keep what was reached from
# slipping back. The second test checks how sure the cuts' digits are, not a floor.
@pytest.mark.slow
def test_numbers_with_touching_digits_are_read_whole_75_percent_of_the_time(touching_numbers_read):
    by_kind, _ = touching_numbers_read
    right, total = (sum(counts) for counts in zip(*by_kind.values()))
    assert right / total >= 0.75


@pytest.mark.slow
def test_the_digits_of_touching_numbers_are_as_sure_as_they_are_right(touching_numbers_read):
    # Untempered, the cuts' pieces read 99.7% sure where 94.9% of them are right.
    _, kept = touching_numbers_read
    confidence, right = np.array(kept).T
    assert len(kept) > 400
    assert calibration_error(confidence, right.astype(bool)) < 0.025


@pytest.mark.slow
def test_numbers_drawn_on_the_pad_with_touching_digits_are_read_whole_63_percent_of_the_time(model):
    assert share_read_right(model, touching_drawn_cases(count=200, seed=31)) >= 0.63


@pytest.mark.slow
def test_non_digits_are_answered_no_digit_94_percent_of_the_time(model):
    assert share_read_right(model, non_digit_cases(per_kind=8, seed=31)) >= 0.94


def test_the_pieces_read_while_cutting_one_image_are_bounded(model, mnist_test, monkeypatch):
    # Three touching numbers, each worth cutting, read once with the engine's budget and once with
    # a budget smaller than what cutting them asks for.
    images, _ = mnist_test
    rng = np.random.default_rng(9)
    numbers = [
        handwriting.run_together(
            [enlarged(images[4 * k + j], 3.0) for j in range(4)], rng, overlap=(0.05, 0.1), margin=4
        )[0]
        for k in range(3)
    ]
    page = np.zeros((max(n.shape[0] for n in numbers), sum(n.shape[1] + 30 for n in numbers)), np.float32)
    left = 0
    for number in numbers:
        page[: number.shape[0], left : left + number.shape[1]] = number
        left += number.shape[1] + 30
    data = encode(dark_on_light(page))

    def pieces_read() -> list[int]:
        read = []

        class Counting:
            def read(self, marks):
                read.append(len(marks))
                return model.read(marks)

            def read_steadied(self, marks, unsure):
                read.append(len(marks))
                return model.read_steadied(marks, unsure)

            def read_flattened(self, marks, flatten):
                read.append(len(marks))
                return model.read_flattened(marks, flatten)

        recognise(data, Counting())
        return read

    cutting = sum(pieces_read()[1:])
    assert 30 < cutting <= MAX_PIECES
    assert recognise(data, model).pieces_read == cutting  # what the rate limit counts it as (src/ratelimit.py)
    budget = cutting // 3
    monkeypatch.setattr(importlib.import_module("src.ml.recognise"), "MAX_PIECES", budget)
    assert sum(pieces_read()[1:]) <= budget

"""Finding the ink: polarity, lighting, noise, blank images, the desk under a photographed sheet, the rules of
lined and squared paper."""

import cv2
import numpy as np
import pytest

from benchmarks.variants import compose, dark_on_light, encode
from src.ml import decode_image, recognise
from src.ml.ink import _histogram, as_scanned, find_ink, without_rules
from src.ml.segment import find_digits


@pytest.fixture
def canvas(mnist_test):
    images, labels = mnist_test
    ink, boxes = compose([images[0]], np.random.default_rng(0))
    return ink, boxes[0]


def test_find_ink_reads_both_polarities_alike(canvas):
    ink, _ = canvas
    light_on_dark = find_ink(np.rint(255 * ink).astype(np.uint8))
    dark_on_paper = find_ink(dark_on_light(ink))
    overlap = (light_on_dark.mask & dark_on_paper.mask).sum() / light_on_dark.mask.sum()
    assert overlap > 0.98


def test_find_ink_copes_with_uneven_lighting_and_noise(canvas):
    ink, box = canvas
    rows, cols = np.indices(ink.shape)
    paper = 120 + 110 * cols / ink.shape[1] - 40 * rows / ink.shape[0]
    photo = paper * (1 - 0.8 * ink) + np.random.default_rng(1).normal(0, 6, ink.shape)
    grey = decode_image(encode(np.clip(photo, 0, 255).astype(np.uint8), ".jpg", quality=70))
    digits = find_digits(find_ink(grey))
    assert len(digits) == 1
    found = digits[0].box
    assert abs(found.x - box.x) <= 4 and abs(found.y - box.y) <= 4
    assert abs(found.width - box.width) <= 8 and abs(found.height - box.height) <= 8


@pytest.mark.parametrize("level", [0, 255, 128])
def test_find_ink_calls_a_flat_image_blank(level):
    assert find_ink(np.full((280, 280), level, np.uint8)) is None


def test_find_ink_calls_paper_texture_and_jpeg_noise_blank():
    rng = np.random.default_rng(2)
    texture = cv2.GaussianBlur(rng.normal(200, 12, (400, 300)), (0, 0), 1.5)
    grey = decode_image(encode(np.clip(texture, 0, 255).astype(np.uint8), ".jpg", quality=40))
    assert find_ink(grey) is None


@pytest.mark.parametrize("shape", [(192, 1), (1, 300), (800, 4), (1, 5000), (3000, 2)])
def test_find_ink_reads_a_long_thin_strip_without_losing_its_short_side(shape):
    strip = np.full(shape, 200, np.uint8)
    assert find_ink(strip) is None
    length = max(shape)
    mark = slice(length // 2 - length // 20, length // 2 + length // 20)
    if shape[0] > shape[1]:
        strip[mark, :] = 20
    else:
        strip[:, mark] = 20
    assert find_ink(strip).mask.any()


@pytest.mark.parametrize("corner", [0, 255, 37])
def test_grey_levels_are_counted_exactly_whichever_level_fills_the_image(corner):
    rng = np.random.default_rng(corner)
    image = np.full((90, 130), 255, np.uint8)
    image[20:70, 30:90] = rng.integers(0, 256, (50, 60))
    image[0, 0] = corner

    assert np.array_equal(_histogram(image), np.bincount(image.ravel(), minlength=256))


@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (2, 1), (1, 4), (4, 1)])
def test_grey_levels_of_the_smallest_images_are_counted(shape):
    image = np.arange(np.prod(shape), dtype=np.uint8).reshape(shape) * 50

    assert np.array_equal(_histogram(image), np.bincount(image.ravel(), minlength=256))


def ruled(ink: np.ndarray, spacing: int, squared: bool, turn: float = 0.0) -> np.ndarray:
    """Ink (float in [0, 1]) written dark on paper with grey rules 2 pixels wide, turned by `turn` degrees."""
    paper = np.full(ink.shape, 235.0, np.float32)
    paper[spacing // 2 :: spacing] = 130
    paper[spacing // 2 + 1 :: spacing] = 130
    if squared:
        paper[:, spacing // 2 :: spacing] = 130
        paper[:, spacing // 2 + 1 :: spacing] = 130
    photo = np.minimum(paper, 235 - 200 * ink)
    turned = cv2.getRotationMatrix2D((ink.shape[1] / 2, ink.shape[0] / 2), turn, 1.0)
    return cv2.warpAffine(photo, turned, ink.shape[::-1], borderMode=cv2.BORDER_REFLECT).astype(np.uint8)


@pytest.mark.parametrize("squared,turn", [(False, 0.0), (True, 0.0), (False, 1.5), (True, -1.5)])
def test_the_rules_of_lined_and_squared_paper_are_taken_away_and_the_digit_kept(canvas, squared, turn):
    ink, box = canvas
    found = find_digits(without_rules(find_ink(ruled(ink, spacing=40, squared=squared, turn=turn))))
    assert len(found) == 1
    digit = found[0].box
    assert abs(digit.x - box.x) <= 6 and abs(digit.y - box.y) <= 6
    assert abs(digit.width - box.width) <= 12 and abs(digit.height - box.height) <= 12


@pytest.mark.parametrize("squared", [False, True], ids=["lined", "squared"])
def test_an_empty_page_of_a_notebook_is_read_as_blank(model, squared):
    # Its only ink is the rules, taken away: nothing was left to read, and reading nothing was a 500.
    page = ruled(np.zeros((300, 400), np.float32), spacing=30, squared=squared)

    reading = recognise(encode(page), model)

    assert reading.digits == [] and reading.marks == 0


def test_a_stroke_as_wide_as_the_image_is_writing_not_a_rule():
    # A 7 cropped to its bar: the bar runs from side to side, as thick as the stem.
    seven = np.zeros((280, 200), np.float32)
    seven[20:38, :] = 1
    cv2.line(seven, (192, 28), (66, 270), 1.0, 18)
    ink = find_ink(dark_on_light(seven))
    assert np.array_equal(without_rules(ink).mask, ink.mask)


def test_ink_that_reaches_no_side_of_the_image_is_not_looked_at_for_rules(canvas):
    ink = find_ink(dark_on_light(canvas[0]))
    assert without_rules(ink) is ink


def test_a_number_small_in_a_large_photo_is_found(mnist_test):
    # Its ink is a thousandth of the picture: the paper fills both the 1st and the 99th percentile.
    images, _ = mnist_test
    photo = np.full((3000, 4000), 205.0, np.float32)
    for k, image in enumerate(images[:2]):
        ink = cv2.resize(image.astype(np.float32) / 255, (100, 100), interpolation=cv2.INTER_CUBIC)
        photo[1400:1500, 1900 + 110 * k : 2000 + 110 * k] *= 1 - 0.8 * ink.clip(0, 1)
    photo += np.random.default_rng(0).normal(0, 2, photo.shape)
    grey = decode_image(encode(np.clip(photo, 0, 255).astype(np.uint8), ".jpg", quality=85))
    ink = find_ink(grey)
    assert ink is not None
    assert len(find_digits(ink)) == 2


def on_a_desk(ink: np.ndarray, desk: float, margin: tuple[int, int]) -> np.ndarray:
    """Ink written dark on a sheet, photographed lying on a desk of level `desk` that reaches `margin`
    (rows, columns) into the picture on every side."""
    sheet = 225 * (1 - 0.8 * ink)
    photo = np.full((ink.shape[0] + 2 * margin[0], ink.shape[1] + 2 * margin[1]), desk, np.float32)
    photo[margin[0] : margin[0] + ink.shape[0], margin[1] : margin[1] + ink.shape[1]] = sheet
    photo += np.random.default_rng(2).normal(0, 3, photo.shape)
    return decode_image(encode(np.clip(photo, 0, 255).astype(np.uint8), ".jpg", quality=85))


# A desk round the sheet as a narrow frame (taken for a frame of ink round the digit), and one filling
# most of the picture (the sheet then taken for the ink).
@pytest.mark.parametrize("margin", [(30, 30), (100, 100)])
def test_the_desk_under_a_photographed_sheet_is_not_taken_for_ink(canvas, margin):
    ink, box = canvas
    found = find_digits(find_ink(as_scanned(on_a_desk(ink, desk=60, margin=margin))))
    assert len(found) == 1
    digit = found[0].box
    assert abs(digit.x - margin[1] - box.x) <= 6 and abs(digit.y - margin[0] - box.y) <= 6
    assert abs(digit.width - box.width) <= 12 and abs(digit.height - box.height) <= 12


@pytest.mark.parametrize("edge", [2.0, 3.0, 5.0])
def test_a_shadow_across_a_photographed_page_is_divided_out(mnist_test, edge):
    # The phone's shadow over the right half of a page of two digits, its edge slanting between them.
    images, _ = mnist_test
    ink = np.zeros((260, 520), np.float32)
    for k in range(2):
        ink[60:200, 80 + 220 * k : 220 + 220 * k] = cv2.resize(images[k] / 255, (140, 140)).clip(0, 1)
    rows, columns = np.indices(ink.shape)
    shade = 1 - 0.5 / (1 + np.exp(-((columns - 260) + 0.4 * (rows - 130)) / edge))
    photo = 225 * (1 - 0.8 * ink) * shade + np.random.default_rng(3).normal(0, 3, ink.shape)
    grey = decode_image(encode(np.clip(photo, 0, 255).astype(np.uint8), ".jpg", quality=85))
    found = [digit.box for digit in find_digits(find_ink(as_scanned(grey)))]
    unshaded = [digit.box for digit in find_digits(find_ink(dark_on_light(ink)))]
    assert len(found) == len(unshaded) == 2
    for box, expected in zip(found, unshaded):
        assert abs(box.x - expected.x) <= 4 and abs(box.width - expected.width) <= 8
        assert abs(box.y - expected.y) <= 4 and abs(box.height - expected.height) <= 8


@pytest.mark.parametrize("light_on_dark", [False, True])
@pytest.mark.parametrize("cropped", [False, True])
def test_a_drawing_is_not_looked_at_for_a_desk(canvas, light_on_dark, cropped):
    ink, box = canvas
    if cropped:  # close round the digit, its strokes are a large share of the picture
        ink = ink[box.y - 8 : box.y + box.height + 8, box.x - 8 : box.x + box.width + 8]
    grey = np.rint(255 * ink).astype(np.uint8) if light_on_dark else dark_on_light(ink)
    assert as_scanned(grey) is grey


def test_digits_written_to_the_sides_of_a_drawing_are_read_not_taken_for_a_desk(mnist_test, model):
    # A number that fills a phone's narrow pad edge to edge: its first digit begins at the left side and its
    # last ends at the right, in the pad's solid pen, as dark as the digits between them.
    images, labels = mnist_test
    ink = np.zeros((300, 620), np.float32)
    for k, image in enumerate(images[:4]):
        digit = (cv2.resize(image, (210, 210)) > 128).astype(np.float32)
        columns = np.flatnonzero(digit.max(axis=0) > 0)
        digit = digit[:, columns[0] : columns[-1] + 1]
        left = [0, 170, 330, 620 - digit.shape[1]][k]
        place = ink[45:255, left : left + digit.shape[1]]
        np.maximum(place, digit, out=place)
    grey = dark_on_light(ink)
    assert grey[:, 0].min() == grey[:, -1].min() == 0  # the strokes reach both sides

    assert recognise(encode(grey), model).number == "".join(map(str, labels[:4]))


@pytest.mark.parametrize("interpolation", [cv2.INTER_LINEAR, cv2.INTER_CUBIC])
def test_digits_written_light_on_a_dark_ground_are_not_taken_for_a_sheet_on_a_desk(mnist_test, interpolation):
    # MNIST's own digits, enlarged: the dark ground reaches every side, and a bold digit is large and broad.
    images, _ = mnist_test
    enlarged = [cv2.resize(image, (64, 64), interpolation=interpolation) for image in images[:3000]]
    assert sum(as_scanned(grey) is not grey for grey in enlarged) <= 1

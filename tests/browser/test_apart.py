"""Digits drawn touching reach the service apart (src/static/js/apart.js), and their boxes come back over them."""

import base64
import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from src.ml import segment
from tests.browser.drawing import DIGITS, WHOLE_DIGITS, draw_number, draw_touching, ellipse, finger


class Sent:
    """The drawings the page sends to be read, as images."""

    def __init__(self, page):
        self.images: list[Image.Image] = []
        page.on("request", self.keep)

    def keep(self, request) -> None:
        if request.url.endswith("/api/predict") and request.method == "POST":
            self.images.append(from_data_url(json.loads(request.post_data)["image"]))


def from_data_url(url: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


def pad_image(page) -> Image.Image:
    return from_data_url(page.evaluate("document.querySelector('#pad').toDataURL('image/png')"))


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and a.convert("RGBA").tobytes() == b.convert("RGBA").tobytes()


def test_a_number_drawn_with_its_digits_touching_reads_digit_by_digit_with_each_box_over_its_digit(
    phone_page, stored, screenshots
):
    page = phone_page
    sent = Sent(page)
    digits = draw_touching(page, "2024")

    expect(page.locator("#result")).to_have_text("2024")
    page.screenshot(path=screenshots / "phone-2024-touching.png")
    assert stored() == [("2024", None, "canvas")]
    # Sent wider than the pad: the digits were moved apart ...
    assert sent.images[-1].width > pad_image(page).width
    # ... and each box is shown over its digit as drawn, not where it was moved to.
    boxes = page.locator("#panel-draw .boxes .box")
    expect(boxes).to_have_count(4)
    for box, strokes in zip(boxes.all(), digits):
        shown = box.bounding_box()
        xs = [x for line in strokes for x, _ in line]
        assert min(xs) <= shown["x"] + shown["width"] / 2 <= max(xs)


@pytest.mark.parametrize("shape", list(WHOLE_DIGITS))
def test_a_digit_of_strokes_that_do_not_all_cross_is_sent_as_drawn(phone_page, shape):
    page = phone_page
    sent = Sent(page)
    draw_touching(page, [shape], shapes=WHOLE_DIGITS)

    expect(page.locator("#result")).to_have_text(next(c for c in shape if c.isdigit()))
    assert same_pixels(sent.images[-1], pad_image(page))


def test_a_number_written_with_its_digits_apart_is_sent_as_drawn(page):
    sent = Sent(page)
    draw_number(page, "4710")

    expect(page.locator("#result")).to_have_text("4710")
    assert same_pixels(sent.images[-1], pad_image(page))


def test_the_page_groups_strokes_by_the_engines_own_bounds():
    script = (Path(__file__).resolve().parents[2] / "src" / "static" / "js" / "apart.js").read_text()
    for name in ("MIN_OVERLAP", "MAX_STACKED", "SHORT_PIECE", "MAX_GAP"):
        (value,) = re.findall(rf"^const {name} = ([0-9.]+);$", script, re.MULTILINE)
        assert float(value) == getattr(segment, name), name


def test_after_the_eraser_the_pad_is_sent_as_drawn(phone_page):
    page = phone_page
    sent = Sent(page)
    draw_touching(page, "2024")
    expect(page.locator("#result")).to_have_text("2024")
    # Rubbed out in a blank corner: the strokes no longer say what ink is on the pad.
    pad = page.locator("#pad").bounding_box()
    page.locator("#eraser").click()
    # The digits, touching as drawn, may then read as no digit (a 422, which the console fixture accepts).
    with page.expect_response("**/api/predict"):
        finger(page)(page, [(pad["x"] + 5, pad["y"] + 5), (pad["x"] + 25, pad["y"] + 5)])
        page.locator("#predict").click()

    assert same_pixels(sent.images[-1], pad_image(page))


# A 0 drawn from its lower right round to it.
ZERO_FROM_LOWER_RIGHT = ellipse(start=2.4, turn=-1)


@pytest.mark.parametrize(
    ("number", "shapes", "step"),
    [
        # A narrow 1 whose columns the 2's base covers by more than half its width: side by side, not one digit.
        ("21", {"2": DIGITS["2"], "1": DIGITS["1"]}, 0.55),
        # A 7 whose bar begins at the top of the 1 before it: a 1 the 7 was started from, not a stroke it goes on from.
        ("17", DIGITS, 0.5),
        # A 5 whose stroke ends at its lower left, where the 0 ended: the pen did not go on from the 0.
        ("05", {"0": [ZERO_FROM_LOWER_RIGHT], "5": WHOLE_DIGITS["a 5 with its bar reaching right"]}, 0.7),
        # A wide 7 that starts where a wide 0 ended, at its top: together too wide for the pen to have gone on.
        ("07", {"0": [[(1.6 * x, y) for x, y in DIGITS["0"][0]]], "7": [[(0.0, 0.0), (1.6, 0.0), (0.5, 1.0)]]}, 0.8),
    ],
)
def test_touching_digits_the_engines_grouping_would_keep_together_are_sent_apart(
    phone_page, screenshots, number, shapes, step
):
    page = phone_page
    sent = Sent(page)
    draw_touching(page, number, shapes=shapes, step=step)

    expect(page.locator("#result")).to_have_text(number)
    page.screenshot(path=screenshots / f"phone-{number}-touching.png")
    assert sent.images[-1].width > pad_image(page).width

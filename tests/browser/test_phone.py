"""The page on a phone: drawn on by finger, the answer on the same screen as the pad, nothing wider than it."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, answers_with
from tests.browser.drawing import DIGITS, STYLES, draw_number, finger, strokes_on_pad

SCREEN = PHONE["viewport"]


def on_screen(page, locator) -> bool:
    """Whether every element `locator` finds lies wholly within the screen, as the page is scrolled now."""
    boxes = [element.bounding_box() for element in locator.all()]
    assert boxes, f"nothing matches {locator}"
    return all(
        box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= SCREEN["width"]
        and box["y"] + box["height"] <= SCREEN["height"]
        for box in boxes
    )


@pytest.mark.parametrize("number, hesitant", [("47", False), ("7", True)], ids=["two digits", "a hesitant 7"])
def test_after_drawing_on_a_phone_the_answer_is_on_screen_without_scrolling(phone_page, screenshots, number, hesitant):
    page = phone_page
    if hesitant:
        answers_with(
            page,
            lambda found: found.update(
                digit=7, confidence=0.58, probabilities=[0, 0.40, 0.01, 0, 0, 0, 0, 0.58, 0.01, 0]
            ),
        )
    draw_number(page, number, stroke=finger(page))

    expect(page.locator("#result")).to_have_text(number)
    expect(page.locator("#history .history-item")).to_have_count(1)
    page.screenshot(path=screenshots / f"phone-{number}{'-hesitant' if hesitant else ''}.png")
    page.screenshot(path=screenshots / "phone.png", full_page=True)
    assert page.evaluate("scrollY") == 0, "drawing must not scroll the page"
    assert on_screen(page, page.locator("#pad"))
    assert on_screen(page, page.locator("#result"))
    assert on_screen(page, page.locator(".readout__summary"))
    assert on_screen(page, page.locator(".digit-chip"))
    if hesitant:
        assert on_screen(page, page.locator(".suggestion"))
    # Every probability, the highest and the runner-up among them, wherever they are in the chart.
    assert on_screen(page, page.locator("#probabilities .bar"))


@pytest.mark.parametrize("width", [390, 360])
def test_nothing_scrolls_sideways_on_a_narrow_phone(phone_page, width):
    page = phone_page
    page.set_viewport_size({"width": width, "height": 740})
    draw_number(page, "4710", stroke=finger(page))
    expect(page.locator("#result")).not_to_be_empty()
    page.locator(".digit-chip").first.tap()
    expect(page.locator(".digit-fix")).to_be_visible()

    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert page.evaluate("scrollX") == 0


def test_a_number_written_from_edge_to_edge_of_a_phones_pad_is_read_whole(phone_page, screenshots):
    # The pad is narrow on a phone, and people fill it: the 1's upstroke begins at its left edge and the 5 runs
    # off its right. Strokes that reach the picture's sides were once taken for a desk and painted over ("97").
    page = phone_page
    shapes = {**DIGITS, "1": STYLES["1 with an upstroke"], "7": STYLES["7 with a bar"]}
    stroke = finger(page, seconds_per_line=0.1)
    for line in strokes_on_pad(page, "1975", shapes):
        stroke(page, line)

    expect(page.locator("#result")).to_have_text("1975")
    page.screenshot(path=screenshots / "phone-edge-to-edge.png")

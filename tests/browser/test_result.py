"""The result as a person sees it: probability bars drawn to scale."""
from playwright.sync_api import expect

from tests.browser.drawing import draw_number, draw_stroke, finger, strokes_on_pad
from tests.browser.pixels import drawn_bars


def test_the_bars_are_drawn_in_proportion_to_the_probabilities_and_the_digit_read_stands_out(page, screenshots):
    # The first stroke of a 4 alone: a reading the model is unsure of, with several bars of some length.
    with page.expect_response("**/api/predict") as answer:
        draw_stroke(page, strokes_on_pad(page, "4")[0])
    [found] = answer.value.json()["digits"]
    expect(page.locator("#result")).to_have_text(str(found["digit"]))

    bars = drawn_bars(page, found["probabilities"])
    page.screenshot(path=screenshots / "desktop-bars.png")

    for digit, (covered, _) in enumerate(bars):
        assert abs(covered - found["probabilities"][digit]) < 0.02, (digit, covered, found["probabilities"])
    top_colour = bars[found["digit"]][1]
    others = {colour for digit, (_, colour) in enumerate(bars) if colour and digit != found["digit"]}
    assert top_colour and top_colour not in others, "the digit read has a bar of its own colour"


def test_the_bars_follow_a_tapped_digit_on_the_phone(phone_page):
    page = phone_page
    with page.expect_response("**/api/predict") as answer:
        draw_number(page, "47", stroke=finger(page))
    digits = answer.value.json()["digits"]
    expect(page.locator("#result")).to_have_text("47")

    page.locator(".digit-chip").nth(1).tap()

    expect(page.locator(".chart__caption")).to_have_text("Probabilities for the second digit, read as 7")
    for digit, (covered, _) in enumerate(drawn_bars(page, digits[1]["probabilities"])):
        assert abs(covered - digits[1]["probabilities"][digit]) < 0.02, (digit, covered, digits[1]["probabilities"])

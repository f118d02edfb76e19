"""The result as a person sees it: probability bars drawn to scale, honest percentages, the runner-up offered
where the model hesitates, and a picker behind every digit's chip; each correction stored."""

import math
import re

from playwright.sync_api import expect

from tests.browser.conftest import answers_with, corrected_elsewhere, refused_with
from tests.browser.drawing import DIGITS, STYLES, draw_number, draw_stroke, finger, strokes_on_pad
from tests.browser.pixels import drawn_bars

# A hook across the top half of the cell.
HALF_DRAWN = [[(0.1, 0.0), (0.9, 0.0), (0.9, 0.5), (0.1, 0.5)]]


def test_the_bars_are_drawn_in_proportion_to_the_probabilities_and_the_digit_read_stands_out(page, screenshots):
    # The top of a 2 or a 7 alone: a reading the model is unsure of, with several bars of some length.
    with page.expect_response("**/api/predict") as answer:
        draw_stroke(page, strokes_on_pad(page, "t", {"t": HALF_DRAWN})[0])
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


def test_no_probability_below_1_is_shown_as_100_percent(page):
    answers_with(
        page,
        lambda found: found.update(
            digit=7, confidence=0.99996, probabilities=[0.00004, 0, 0, 0, 0, 0, 0, 0.99996, 0, 0]
        ),
    )
    draw_number(page, "7")

    expect(page.locator(".readout__summary")).to_have_text("> 99.9% sure")
    expect(page.locator("#probabilities li").nth(7).locator(".bar__value")).to_have_text("> 99.9%")
    expect(page.locator("#probabilities li").nth(0).locator(".bar__value")).to_have_text("< 0.1%")
    expect(page.locator(".digit-chip")).to_have_text("7> 99.9%")
    assert "100" not in page.locator(".result").inner_text()


def test_the_runner_up_of_a_hesitant_reading_is_one_tap_away_and_the_correction_persists(
    phone_page, stored, screenshots
):
    page = phone_page
    # A 1 with a long upstroke read as 7 at 58%, as in the issue: the service's probabilities for a drawn 7
    # are set by the test so that it does not depend on how the model of the day reads that 1.
    answers_with(
        page,
        lambda found: found.update(digit=7, confidence=0.58, probabilities=[0, 0.40, 0.01, 0, 0, 0, 0, 0.58, 0.01, 0]),
    )
    draw_number(page, "7", stroke=finger(page))
    expect(page.locator("#result")).to_have_text("7")
    expect(page.locator(".readout__summary")).to_have_text("58.0% sure")
    page.screenshot(path=screenshots / "phone-hesitant.png")

    page.locator(".suggestion").filter(has_text="or 1?").tap()

    expect(page.locator("#result")).to_have_text("1")
    expect(page.locator(".readout__summary")).to_have_text("Corrected by you: the model read 7.")
    expect(page.locator(".suggestion")).to_have_count(0)
    expect(page.locator("#history .history-item__value")).to_have_text(["1"])
    assert stored() == [("7", "1", "canvas")]
    page.reload()
    expect(page.locator("#history .history-item__value")).to_have_text(["1"])
    expect(page.locator("#history .badge")).to_have_text(["corrected, read as 7"])


def test_a_correction_refused_because_the_reading_was_replaced_meanwhile_says_so(page, stored, console):
    # The service answers 409 when a correction and a new reading of the same prediction race (the reading wins,
    # tests/api/test_concurrent_changes.py); no browser can time that race, so the answer is given here.
    console.allow(r"status of 409")
    draw_number(page, "47")
    expect(page.locator("#result")).to_have_text("47")
    refused_with(page, "**/api/predictions/*", 409, "Prediction x was replaced by a new reading.")
    page.locator(".digit-chip").nth(1).click()
    page.locator(".digit-fix .digit-key", has_text="1").click()

    expect(page.locator(".message")).to_have_text(
        "That reading was replaced by a new one meanwhile, so nothing was changed. Check the new reading."
    )
    assert stored() == [("47", None, "canvas")]


def test_a_sure_reading_offers_no_runner_up(page):
    answers_with(
        page,
        lambda found: found.update(digit=7, confidence=0.93, probabilities=[0, 0.06, 0.01, 0, 0, 0, 0, 0.93, 0, 0]),
    )
    draw_number(page, "7")

    expect(page.locator(".readout__summary")).to_have_text("93.0% sure")
    expect(page.locator(".suggestion")).to_have_count(0)
    expect(page.locator(".digit-chip")).to_have_count(1)


def test_every_digit_chip_opens_a_picker_of_0_to_9_that_corrects_that_digit(page, stored):
    draw_number(page, "47")
    expect(page.locator("#result")).to_have_text("47")
    expect(page.locator(".digit-fix")).to_be_hidden()

    page.locator(".digit-chip").nth(1).click()

    picker = page.locator(".digit-fix")
    expect(picker).to_be_visible()
    expect(picker.locator(".digit-fix__prompt")).to_have_text("Tap what the second digit should be")
    expect(picker.locator(".digit-key")).to_have_text([str(digit) for digit in range(10)])
    expect(picker.locator(".digit-key[aria-pressed=true]")).to_have_text("7")
    picker.locator(".digit-key", has_text="1").click()

    expect(page.locator("#result")).to_have_text("41")
    expect(picker).to_be_hidden()
    expect(page.locator(".digit-chip").nth(1)).to_have_text("1read as 7")
    expect(page.locator("#history .history-item__value")).to_have_text(["41"])
    expect(page.locator("#history .badge")).to_have_text(["corrected, read as 47"])
    assert stored() == [("47", "41", "canvas")]


def test_a_seven_with_a_bar_drawn_slowly_by_finger_is_read_as_7(phone_page, stored):
    page = phone_page
    strokes = strokes_on_pad(page, ["7 with a bar"], STYLES)
    draw = finger(page, seconds_per_line=0.4)
    with page.expect_response("**/api/predict"):
        draw(page, strokes[0])
    page.wait_for_timeout(1500)
    with page.expect_response("**/api/predict"):
        draw(page, strokes[1])

    expect(page.locator("#result")).to_have_text("7")
    expect(page.locator("#history .history-item")).to_have_count(1)
    assert [number for number, _, _ in stored()] == ["7"]


def test_a_scribble_beside_the_number_is_said_to_be_left_out(page, screenshots):
    # "10", then a tight spiral low in a third cell, which the pen fills into a blot: the number is read
    # without it, and the page says so.
    spiral = [
        (0.5 + 0.3 * k / 90 * math.cos(k * math.pi / 15), 0.8 + 0.15 * k / 90 * math.sin(k * math.pi / 15))
        for k in range(91)
    ]
    *number, scribble = strokes_on_pad(page, "10s", {**DIGITS, "s": [spiral]})
    for stroke in number:
        draw_stroke(page, stroke)
    expect(page.locator("#result")).to_have_text("10")
    expect(page.locator(".readout__summary")).not_to_contain_text("left out")
    with page.expect_response("**/api/predict") as answer:
        draw_stroke(page, scribble)
    assert answer.value.json()["marks"] == 1, answer.value.json()["number"]

    expect(page.locator("#result")).to_have_text("10")
    expect(page.locator(".readout__summary")).to_have_text(re.compile(r"; one mark left out, not read as a digit$"))
    page.screenshot(path=screenshots / "desktop-mark-left-out.png")


def test_a_correction_made_in_the_history_shows_in_the_result_and_the_next_one_builds_on_it(page, stored):
    draw_number(page, "47")
    expect(page.locator("#result")).to_have_text("47")
    # The result's picker left open, pressed at the 7 it shows.
    page.locator(".digit-chip").nth(1).click()
    item = page.locator("#history .history-item")
    item.get_by_role("button", name="Correct it").click()
    item.locator(".correction select").nth(1).select_option("1")
    item.get_by_role("button", name="Save").click()
    expect(item.locator(".history-item__value")).to_have_text("41")

    expect(page.locator("#result")).to_have_text("41")
    expect(page.locator(".readout__summary")).to_have_text("Corrected by you: the model read 47.")
    expect(page.locator(".digit-fix")).to_be_hidden()
    page.locator(".digit-chip").nth(0).click()
    page.locator(".digit-fix .digit-key", has_text="9").click()

    expect(page.locator("#result")).to_have_text("91")
    assert stored() == [("47", "91", "canvas")]


def test_a_correction_another_tab_made_since_is_not_overwritten_from_the_result(
    phone_page, stored, console, screenshots
):
    page = phone_page
    draw_number(page, "47", stroke=finger(page))
    expect(page.locator("#result")).to_have_text("47")
    page.locator(".digit-chip").nth(1).tap()
    page.locator(".digit-fix .digit-key", has_text="1").tap()
    expect(page.locator("#result")).to_have_text("41")
    corrected_elsewhere(page, "77")
    console.allow(r"status of 412")

    page.locator(".digit-chip").nth(0).tap()
    page.locator(".digit-fix .digit-key", has_text="9").tap()

    expect(page.locator(".message")).to_contain_text("changed in another tab or window")
    expect(page.locator("#result")).to_have_text("77")
    expect(page.locator("#history .history-item__value")).to_have_text(["77"])
    page.screenshot(path=screenshots / "phone-result-correction-refused-changed-elsewhere.png")
    assert stored() == [("47", "77", "canvas")]
    page.locator(".digit-chip").nth(0).tap()
    page.locator(".digit-fix .digit-key", has_text="9").tap()
    expect(page.locator("#result")).to_have_text("97")
    assert stored() == [("47", "97", "canvas")]

"""The page as a person uses it, in headless Chromium against the real service."""

import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import refused_with
from tests.browser.drawing import blank_png, draw_number, draw_stroke, number_png
from tests.browser.pixels import drawn_bars
from tests.conftest import model_path


def bar(page, digit: int):
    return page.locator("#probabilities li").nth(digit)


def store_prediction(page, number: str) -> None:
    """A prediction made straight through the API with this browser's cookies, as its own."""
    image = {"name": "number.png", "mimeType": "image/png", "buffer": number_png(number)}
    answer = page.request.post("/api/predict", multipart={"image": image})
    assert answer.status == 201, answer.text()


def history_item(page, index: int = 0):
    return page.locator("#history .history-item").nth(index)


def test_a_drawn_seven_is_read_a_moment_after_the_pen_lifts(page):
    draw_number(page, "7")

    expect(page.locator("#result")).to_have_text("7")
    expect(page.locator("#probabilities li")).to_have_count(10)
    expect(bar(page, 7)).to_have_class(re.compile(r"\bis-top\b"))
    expect(bar(page, 7).locator(".bar__value")).to_have_text(re.compile(r"^(\d+\.\d|>\s99\.9)%$"))
    expect(page.locator("#panel-draw .box")).to_have_count(1)
    expect(page.locator(".model-input__image")).to_be_visible()
    assert page.locator(".model-input__image").evaluate("image => image.complete && image.naturalHeight") == 28


def test_two_digits_side_by_side_are_read_as_one_number_with_a_box_each(page):
    draw_number(page, "10")
    page.locator("#predict").click()

    expect(page.locator("#result")).to_have_text("10")
    boxes = page.locator("#panel-draw .box")
    expect(boxes).to_have_count(2)
    first, second = boxes.nth(0).bounding_box(), boxes.nth(1).bounding_box()
    assert first["x"] + first["width"] < second["x"], "the boxes are over the two digits, left to right"
    expect(bar(page, 1)).to_have_class(re.compile(r"\bis-top\b"))

    # A tap inside the second box selects it rather than drawing a dot.
    page.mouse.click(second["x"] + second["width"] / 2, second["y"] + second["height"] / 2)

    expect(page.locator(".chart__caption")).to_have_text("Probabilities for the second digit, read as 0")
    expect(bar(page, 0)).to_have_class(re.compile(r"\bis-top\b"))
    expect(boxes.nth(1)).to_have_class(re.compile(r"\bis-selected\b"))
    expect(page.locator(".digit-chip").nth(1)).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#result")).to_have_text("10")


def test_undo_removes_the_last_stroke_and_clear_empties_the_pad(page):
    draw_number(page, "17")
    expect(page.locator("#result")).to_have_text("17")

    page.locator("#undo").click()
    expect(page.locator("#result")).to_have_text("1")

    page.locator("#clear").click()
    expect(page.locator("#result")).to_have_text("")
    expect(page.locator("#panel-draw .box")).to_have_count(0)


def test_an_uploaded_picture_is_shown_with_a_box_over_each_digit(page, tmp_path):
    picture = tmp_path / "forty-seven.png"
    picture.write_bytes(number_png("47"))

    page.locator("#upload").set_input_files(picture)

    expect(page.locator("#result")).to_have_text("47")
    expect(page.locator("#tab-upload")).to_have_attribute("aria-selected", "true")
    expect(page.locator(".preview__image")).to_be_visible()
    expect(page.locator(".preview .box")).to_have_count(2)
    expect(history_item(page).locator(".history-item__meta")).to_contain_text("uploaded")


@pytest.mark.parametrize("gesture", ["drop", "paste"])
def test_a_dropped_or_pasted_picture_is_read_like_a_chosen_one(page, gesture):
    page.evaluate(
        """([bytes, gesture]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], "four.png", { type: "image/png" }));
            const init = { bubbles: true, cancelable: true };
            if (gesture === "drop") {
                const pad = document.querySelector("#pad");
                pad.dispatchEvent(new DragEvent("dragover", { ...init, dataTransfer: transfer }));
                pad.dispatchEvent(new DragEvent("drop", { ...init, dataTransfer: transfer }));
            } else {
                document.body.dispatchEvent(new ClipboardEvent("paste", { ...init, clipboardData: transfer }));
            }
        }""",
        [list(number_png("4")), gesture],
    )

    expect(page.locator("#result")).to_have_text("4")
    expect(page.locator(".preview .box")).to_have_count(1)


def test_a_file_that_is_not_an_image_gives_a_friendly_message(page, console, tmp_path):
    console.allow(r"status of 415")
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")

    page.locator("#upload").set_input_files(notes)

    expect(page.locator(".message")).to_have_text(re.compile("isn’t an image it can read"))
    expect(page.locator("#result")).to_have_text("")


def test_a_picture_without_digits_gives_a_friendly_message(page, tmp_path):
    blank = tmp_path / "blank.png"
    blank.write_bytes(blank_png())

    page.locator("#upload").set_input_files(blank)

    expect(page.locator(".message")).to_have_text(re.compile("No digit found in that picture"))


def test_predicting_a_blank_pad_says_to_draw_first(page):
    page.locator("#predict").focus()
    page.keyboard.press("Enter")

    expect(page.locator(".message")).to_have_text(re.compile("The pad is empty"))
    expect(page.locator("#result")).to_have_text("")


def test_a_drawing_rubbed_out_with_the_eraser_gives_a_friendly_message(page):
    pad = page.locator("#pad").bounding_box()
    line = [(pad["x"] + pad["width"] * 0.5, pad["y"] + pad["height"] * y) for y in (0.3, 0.5, 0.7)]
    draw_stroke(page, line)
    expect(page.locator("#result")).to_have_text("1")

    page.locator("#eraser").click()
    expect(page.locator("#eraser")).to_have_attribute("aria-pressed", "true")
    draw_stroke(page, line)
    page.locator("#predict").click()

    expect(page.locator(".message")).to_have_text(re.compile("No digit found on the pad"))
    expect(page.locator("#result")).to_have_text("")


def test_marks_that_are_not_digits_get_advice_to_write_the_digits_apart(page):
    pad = page.locator("#pad").bounding_box()
    # A zigzag across the pad: ink that is there, but no digit (as digits run together often read).
    zigzag = [
        (pad["x"] + pad["width"] * (0.1 + 0.1 * k), pad["y"] + pad["height"] * (0.3 + 0.4 * (k % 2))) for k in range(9)
    ]
    draw_stroke(page, zigzag)
    page.locator("#predict").click()

    expect(page.locator(".message")).to_have_text(re.compile("Write each digit on its own, with a little space"))
    expect(page.locator("#result")).to_have_text("")


def test_a_server_error_gives_a_friendly_message(page, console):
    console.allow(r"status of 500")
    refused_with(page, "**/api/predict", 500, "boom")
    draw_number(page, "1")
    page.locator("#predict").click()

    expect(page.locator(".message")).to_have_text(re.compile("Something went wrong on the server"))


def test_a_corrected_prediction_shows_as_corrected_in_the_history(page):
    draw_number(page, "7")
    expect(page.locator("#result")).to_have_text("7")
    item = history_item(page)
    expect(item.locator(".history-item__value")).to_have_text("7")

    item.get_by_role("button", name="Correct it").click()
    item.get_by_label("Right digit").select_option("1")
    item.get_by_role("button", name="Save").click()

    expect(item.locator(".history-item__value")).to_have_text("1")
    expect(item.locator(".badge")).to_have_text("corrected, read as 7")
    page.reload()
    expect(history_item(page).locator(".badge")).to_have_text("corrected, read as 7")


def test_the_history_pages_through_predictions_and_filters_them_by_digit(page):
    for number in ("1", "7", "1", "7", "1", "7", "1", "4"):
        store_prediction(page, number)
    page.reload()

    expect(page.locator("#history .history-item")).to_have_count(6)
    expect(history_item(page).locator(".history-item__value")).to_have_text("4")
    expect(page.locator(".pager__position")).to_have_text("Page 1 of 2")
    page.locator(".pager__older").click()
    expect(page.locator("#history .history-item")).to_have_count(2)
    expect(page.locator(".pager__older")).to_be_disabled()

    page.locator("#history-digit").select_option("7")

    expect(page.locator("#history .history-item")).to_have_count(3)
    expect(page.locator("#history .history-item__value")).to_have_text(["7", "7", "7"])
    expect(page.locator(".pager")).to_be_hidden()


def test_how_it_works_gives_the_model_cards_figures_in_plain_words(page):
    card = json.loads(model_path().with_suffix(".json").read_text())
    test = card["mnist_test"]
    about = page.locator("#about")

    expect(about.locator("dt")).to_contain_text(["Right on", "Learned from", "And from"])
    right = f"{round(test['accuracy'] * test['samples']):,} of {test['samples']:,} test digits it had never seen"
    expect(about.locator("dd").first).to_have_text(f"{right} ({test['accuracy'] * 100:.2f}%)")
    expect(about.locator("dd").nth(1)).to_contain_text(
        f"{card['training_data']['training_digits']:,} handwritten digits"
    )
    expect(about.locator("dd").nth(2)).to_contain_text(
        f"{card['training_data']['digits_in_other_styles']:,} digits written as in other countries"
    )
    expect(about.locator(".about__steps li")).to_have_count(4)
    steps = about.locator(".about__steps").inner_text()
    assert not re.search(r"\b(SVM|HOG|PCA|Platt|kernel|normalis|deskew|segment)", steps, re.IGNORECASE), steps


def test_the_tabs_work_with_the_arrow_keys(page):
    page.locator("#tab-draw").focus()
    page.keyboard.press("ArrowRight")

    expect(page.locator("#tab-upload")).to_be_focused()
    expect(page.locator("#panel-upload")).to_be_visible()
    expect(page.locator("#panel-draw")).to_be_hidden()


STRICT_POLICY = "default-src 'self'; img-src 'self' blob:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"


def test_the_page_works_under_a_strict_content_security_policy(page, tmp_path):
    def with_policy(route):
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_POLICY})

    page.route("/", with_policy)
    page.reload()
    with page.expect_response("**/api/predict") as answer:
        draw_number(page, "7")
    expect(page.locator("#result")).to_have_text("7")
    probabilities = answer.value.json()["digits"][0]["probabilities"]
    covered, _ = drawn_bars(page, probabilities)[7]
    assert abs(covered - probabilities[7]) < 0.02, "the style sheet draws the bars"

    picture = tmp_path / "four.png"
    picture.write_bytes(number_png("4"))
    page.locator("#upload").set_input_files(picture)
    expect(page.locator("#result")).to_have_text("4")
    expect(page.locator(".preview__image")).to_be_visible()


def test_desktop_layout_screenshot(page, screenshots):
    draw_number(page, "710")
    expect(page.locator("#result")).to_have_text("710")
    expect(page.locator("#history .history-item")).to_have_count(1)
    page.locator("#panel-draw .box").nth(2).wait_for()

    page.screenshot(path=screenshots / "desktop.png", full_page=True)

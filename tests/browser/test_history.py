"""The history keeps what each person finally wrote, and shows each browser its own: a drawing is one entry
however often it is read, and another browser sees none of it."""

import base64
import http.server
import threading
from contextlib import contextmanager

from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, Traffic, corrected_elsewhere, open_page
from tests.browser.drawing import draw_number, draw_stroke, finger, number_png, strokes_on_pad


def test_a_four_drawn_in_two_strokes_with_a_pause_is_one_entry_read_4(phone_page, stored, screenshots):
    page = phone_page
    first, second = strokes_on_pad(page, "4")
    draw = finger(page, seconds_per_line=0.3)
    # The pause is long enough for the page to read the first stroke on its own: as some digit, stored
    # (201), or as no digit (a 422, which the console fixture accepts). Either way it must not stay in the history.
    with page.expect_response("**/api/predict") as half:
        draw(page, first)
    assert half.value.status in (201, 422)
    page.wait_for_timeout(1500)
    page.screenshot(path=screenshots / "phone-half-drawn-four.png")
    with page.expect_response("**/api/predict") as whole:
        draw(page, second)

    if half.value.status == 201:
        assert whole.value.status == 200, "the second reading replaced the first"
    expect(page.locator("#result")).to_have_text("4")
    expect(page.locator("#history .history-item__value")).to_have_text(["4"])
    assert stored() == [("4", None, "canvas")]


def test_auto_read_then_predict_is_one_entry(page, stored):
    traffic = Traffic(page)
    draw_number(page, "7")
    expect(page.locator("#result")).to_have_text("7")

    page.locator("#predict").click()
    traffic.settle()

    expect(page.locator("#result")).to_have_text("7")
    expect(page.locator("#history .history-item")).to_have_count(1)
    assert stored() == [("7", None, "canvas")]


def test_predict_while_the_pad_is_being_read_and_then_more_strokes_is_one_entry(page, stored):
    traffic = Traffic(page)
    seven, one = strokes_on_pad(page, "71")
    draw_stroke(page, seven)
    page.locator("#predict").click()
    draw_stroke(page, one)
    page.locator("#predict").click()
    traffic.settle()

    expect(page.locator("#result")).to_have_text("71")
    assert stored() == [("71", None, "canvas")]


def test_clear_starts_a_new_entry_and_an_undo_does_not(page, stored):
    draw_number(page, "7")
    expect(page.locator("#result")).to_have_text("7")
    page.locator("#clear").click()
    draw_number(page, "17")
    expect(page.locator("#result")).to_have_text("17")
    page.locator("#undo").click()
    expect(page.locator("#result")).to_have_text("1")

    expect(page.locator("#history .history-item__value")).to_have_text(["1", "7"])
    assert [number for number, _, _ in stored()] == ["7", "1"]


def test_each_upload_is_an_entry_of_its_own(page, stored, tmp_path):
    picture = tmp_path / "four.png"
    picture.write_bytes(number_png("4"))
    for _ in range(2):
        with page.expect_response("**/api/predict"):
            page.locator("#upload").set_input_files(picture)
        expect(page.locator("#result")).to_have_text("4")

    expect(page.locator("#history .history-item")).to_have_count(2)
    assert stored() == [("4", None, "upload"), ("4", None, "upload")]


def test_a_second_browser_sees_none_of_the_first_ones_history(browser, live_server, console, page, stored):
    draw_number(page, "7")
    expect(page.locator("#history .history-item__value")).to_have_text(["7"])

    other = open_page(browser, live_server, console, PHONE)
    try:
        expect(other.locator(".history-message")).to_have_text("Nothing yet: your predictions will appear here.")
        expect(other.locator("#history .history-item")).to_have_count(0)
        draw_number(other, "4", stroke=finger(other))
        expect(other.locator("#history .history-item__value")).to_have_text(["4"])
    finally:
        other.context.close()

    page.reload()
    expect(page.locator("#history .history-item__value")).to_have_text(["7"])
    assert sorted(number for number, _, _ in stored()) == ["4", "7"]


def test_a_correction_made_from_a_list_another_tab_changed_since_is_refused_and_the_change_shown(
    page, stored, console, screenshots
):
    draw_number(page, "7")
    item = page.locator("#history .history-item")
    expect(item.locator(".history-item__value")).to_have_text("7")
    corrected_elsewhere(page, "1")
    console.allow(r"status of 412")

    item.get_by_role("button", name="Correct it").click()
    item.locator(".correction select").select_option("4")
    item.get_by_role("button", name="Save").click()

    expect(item.locator(".correction__error")).to_contain_text("changed in another tab or window")
    expect(item.locator(".history-item__value")).to_have_text("1")
    expect(page.locator("#result")).to_have_text("1")
    page.screenshot(path=screenshots / "history-correction-refused-changed-elsewhere.png")
    assert stored() == [("7", "1", "canvas")]
    item.locator(".correction select").select_option("4")
    item.get_by_role("button", name="Save").click()
    expect(item.locator(".history-item__value")).to_have_text("4")
    assert stored() == [("7", "4", "canvas")]


def test_a_card_whose_correction_opens_grows_alone(page):
    # A correction form with a choice for each of four digits takes two lines in a card.
    for number in ("7", "1471"):
        with page.expect_response("**/api/predict"):
            draw_number(page, number)
        page.locator("#clear").click()
    expect(page.locator("#history .history-item")).to_have_count(2)
    first, second = page.locator("#history .history-item").all()
    assert first.bounding_box()["y"] == second.bounding_box()["y"], "side by side on a desktop screen"
    height = second.bounding_box()["height"]

    first.get_by_role("button", name="Correct it").click()

    expect(first.locator(".correction")).to_be_visible()
    assert first.bounding_box()["height"] > height
    assert second.bounding_box()["height"] == height


def test_predictions_sent_through_the_api_are_said_to_be(browser, live_server, console):
    page = open_page(browser, live_server, console, DESKTOP)
    try:
        # Sent with this browser's cookies, as a program run by the same person would.
        answer = page.request.post(
            "/api/predict?source=api", data=number_png("7"), headers={"Content-Type": "image/png"}
        )
        assert answer.status == 201
        page.reload()
        expect(page.locator("#history .history-item__meta")).to_contain_text(["sent through the API"])
    finally:
        page.context.close()


def test_a_form_another_site_posts_here_takes_no_history_away(page, live_server, stored, console):
    # As an attacker's page would: a form that posts a file to the service as soon as it is opened.
    # The refusal, and the favicon Chromium asks for beside the problem document it shows.
    console.allow(r"status of 40[34]")
    draw_number(page, "7")
    expect(page.locator("#history .history-item__value")).to_have_text(["7"])
    attack = f"""<form method="post" enctype="multipart/form-data" action="{live_server}/api/predict">
        <input type="file" name="image"></form>
        <script>
        const image = Uint8Array.from(atob("{base64.b64encode(number_png("2")).decode()}"), (c) => c.charCodeAt(0));
        const files = new DataTransfer();
        files.items.add(new File([image], "2.png", {{ type: "image/png" }}));
        document.querySelector("input").files = files.files;
        document.querySelector("form").submit();
        </script>"""

    with serving_page(attack) as elsewhere:
        page.goto(elsewhere)
        page.wait_for_url(f"{live_server}/api/predict")

    assert "other sites" in page.locator("body").inner_text()
    page.goto(live_server)
    expect(page.locator("#history .history-item__value")).to_have_text(["7"])
    assert stored() == [("7", None, "canvas")]


@contextmanager
def serving_page(html: str):
    """`html` served at the root of another origin (localhost, where the service is at 127.0.0.1)."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(html.encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://localhost:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()

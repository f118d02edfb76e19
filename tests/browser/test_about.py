"""About tells, in plain words, which model version answers and the history of the versions: when each
was retrained and put in use, and what it scored against the version before it."""

import json
import re

from playwright.sync_api import expect

from src import versions
from tests.browser.conftest import DESKTOP, open_page
from tests.conftest import model_path


def gate(before: float, after: float, held_before: float, held_after: float, promoted: bool) -> dict:
    def figures(version, mnist, held):
        return {
            "version": version,
            "mnist_test": mnist,
            "mnist_test_digits": 10000,
            "held_back": held,
            "held_back_samples": 40,
        }

    return {
        "current": figures("base", before, held_before),
        "candidate": figures("new", after, held_after),
        "promoted": promoted,
        "reasons": [] if promoted else ["worse"],
    }


def keep(app, version: str, **card) -> None:
    """Keep a version (the shipped model's file under another name and card), put in use if `use`."""
    use = card.pop("use", False)
    base = json.loads(model_path().with_suffix(".json").read_text())
    with app.app_context():
        versions.add_version(app, model_path().read_bytes(), {**base, "version": version, **card}, promote=use)


def test_about_names_the_version_in_use_and_the_history_of_versions_in_plain_words(
    browser, app, live_server, console, screenshots
):
    base = app.extensions["served_model"].base.version
    corrections = {"training": 160, "held_back": 40, "writers": 12}
    keep(
        app,
        "svm-hog-refused00001",
        parent=base,
        created_at="2026-05-01T09:00:00Z",
        corrections=corrections,
        gate=gate(0.991, 0.985, 0.80, 0.95, promoted=False),
    )
    keep(
        app,
        "svm-hog-promoted0002",
        parent=base,
        created_at="2026-05-02T09:00:00Z",
        corrections=corrections,
        gate=gate(0.991, 0.9912, 0.80, 0.95, promoted=True),
        use=True,
    )

    page = open_page(browser, live_server, console, DESKTOP)
    about = page.locator("#about .versions")

    expect(about.locator(".versions__in-use")).to_have_text(
        re.compile(
            r"^Answering now: version svm-hog-promoted0002, retrained on .*2026.* with 160 digits people corrected\.$"
        )
    )
    items = about.locator(".versions__history li")
    expect(items).to_have_count(3)
    expect(items.nth(0)).to_contain_text("svm-hog-promoted0002: retrained on")
    expect(items.nth(0)).to_contain_text(
        "It read right 99.12% of 10,000 test digits (the version before it: 99.10%) "
        "and 95.00% of 40 corrected digits by people it had not learned from "
        "(before: 80.00%). Put in use on "
    )
    expect(items.nth(0)).to_have_text(re.compile(r"Put in use on .*2\d{3}.*\. It answers now\.$"))
    expect(items.nth(1)).to_contain_text("svm-hog-refused00001: retrained on")
    expect(items.nth(1)).to_contain_text("Not put in use: it did worse than the version in use.")
    expect(items.nth(2)).to_have_text(f"{base}: the model the service came with.")
    about.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "about-versions.png", full_page=True)
    page.context.close()

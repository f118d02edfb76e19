"""Numbers drawn on the page with their digits touching, read as the page sends them and as the pad looks.

    python -m benchmarks.drawn [--numbers 40] [--seed 1]

Starts `python run.py` and Debian's Chromium (Playwright) with a phone's screen, and draws each number by touch
on the pad: 2 to 4 digits in the world's styles (`src.ml.handwriting`, seeded), each digit's ink touching the
one before and then overlapping it by up to 15% of its width. Each number is read twice in one run: as the
page sends it (its strokes grouped into digits and moved apart, src/static/js/apart.js), and as the pad looks,
its canvas POSTed as it is (what the page sent before). Prints how many of each were read whole.
"""

import argparse
import collections
import json
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
from playwright.sync_api import expect, sync_playwright

from src.ml import handwriting
from tests.browser.drawing import finger

from .servers import run_py

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True}
OVERLAP = 0.15
"""The most a digit's ink overlaps the one before, as a share of its width (of a third of its height, if narrower)."""
SAMPLES = 16
"""Points a stroke is drawn through (each straight part in 4 touch moves): the pen's paths have more."""
PAD = "document.querySelector('#pad').toDataURL('image/png')"
READ = """async (image) => {
  const answer = await fetch("/api/predict", {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({image, save: false}),
  });
  return answer.ok ? (await answer.json()).number : "";
}"""


def numbers(count: int, seed: int, height: float, pen: float) -> list[tuple[str, list[np.ndarray]]]:
    """Each number and its strokes in CSS pixels, its digits `height` high, from x = 0."""
    rng = np.random.default_rng(seed)
    styles = list(handwriting.DIGIT_STYLES.values())
    made = []
    for _ in range(count):
        chosen = [styles[i] for i in rng.integers(len(styles), size=int(rng.integers(2, 5)))]
        strokes, right = [], None
        for _, draw in chosen:
            digit = [np.asarray(stroke, float) * height for stroke in draw(rng)]
            every = np.concatenate(digit)
            left, width = every[:, 0].min(), np.ptp(every[:, 0])
            # The pen's ink reaches half its width past the points: ink just touching, then overlapping.
            x = -left if right is None else right + pen - left - rng.uniform(0, OVERLAP) * max(width, height / 3)
            strokes += [stroke + [x, 0] for stroke in digit]
            right = x + left + width
        made.append(("".join(str(digit) for digit, _ in chosen), strokes))
    return made


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    read = collections.defaultdict(collections.Counter)
    with tempfile.TemporaryDirectory() as folder, run_py(Path(folder)) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_context(base_url=server.base_url, **PHONE).new_page()
        page.goto("/")
        sent = {}
        page.on(
            "request",
            lambda request: sent.update(body=request.post_data) if request.url.endswith("/api/predict") else None,
        )
        pad = page.locator("#pad").bounding_box()
        stroke = finger(page)
        for number, strokes in numbers(args.numbers, args.seed, pad["height"] * 0.55, pad["height"] / 16):
            width = np.ptp(np.concatenate(strokes)[:, 0])
            # Narrowed to fit the pad, and centred on it, a fifth of its height from the top.
            scale = min(1.0, 0.9 * pad["width"] / width)
            origin = np.array([pad["x"] + (pad["width"] - scale * width) / 2, pad["y"] + pad["height"] * 0.2])
            page.locator("#clear").click()
            for line in strokes:
                # A finger's path sampled about as often as a phone reports it over a stroke this long.
                kept = line[:: max(1, len(line) // SAMPLES)].tolist() + [line[-1].tolist()]
                stroke(page, [tuple(origin + scale * np.asarray(point)) for point in kept])
            page.locator("#predict").click()
            expect(page.locator(".readout")).not_to_have_class(re.compile("is-busy"), timeout=60_000)
            as_sent = page.locator("#result").inner_text()
            drawn = page.evaluate(PAD)
            moved = json.loads(sent["body"])["image"] != drawn
            as_drawn = page.evaluate(READ, drawn)
            for tally in (read["all"], read[len(number)]):
                tally.update(numbers=1, sent=int(as_sent == number), drawn=int(as_drawn == number), moved=int(moved))
            if as_sent != number or as_drawn != number:
                print(f"  {number}: read {as_sent or 'no digit'!r} as sent, {as_drawn or 'no digit'!r} as drawn")
        browser.close()
    print(f"Numbers drawn touching on the page by touch (seed {args.seed}), read whole:")
    for kind in sorted(read, key=str):
        tally = read[kind]
        label = "all" if kind == "all" else f"{kind} digits"
        print(
            f"  {label:9s} {tally['numbers']:4d}   as the page sends them {tally['sent'] / tally['numbers']:6.1%}   "
            f"as drawn {tally['drawn'] / tally['numbers']:6.1%}   (digits moved apart in {tally['moved']})"
        )


if __name__ == "__main__":
    main()

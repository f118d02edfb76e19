"""What the screen shows, measured in its pixels rather than read from styles."""

import io

from PIL import Image


def track_row(page, digit: int) -> list[tuple[int, int, int]]:
    """The pixels across the middle of digit's bar track, as the screen shows them."""
    shot = page.locator("#probabilities li").nth(digit).locator(".bar__track").screenshot()
    image = Image.open(io.BytesIO(shot)).convert("RGB")
    return [image.getpixel((x, image.height // 2)) for x in range(image.width)]


def drawn_bars(page, probabilities: list[float]) -> list[tuple[float, tuple[int, int, int] | None]]:
    """For each digit, how much of its track the bar covers, counted in pixels drawn, and the bar's colour;
    measured once the bars have stopped growing (they take 0.3 s)."""
    previous = None
    for _ in range(40):
        rows = [track_row(page, digit) for digit in range(10)]
        # The middle of the least likely digit's track is bare: the track's own colour.
        least = min(range(10), key=lambda digit: probabilities[digit])
        ground = rows[least][len(rows[least]) // 2]
        bars = []
        for row in rows:
            distance = [sum(abs(a - b) for a, b in zip(pixel, ground)) for pixel in row]
            fill = max(distance)
            if fill < 30:
                bars.append((0.0, None))
                continue
            # Anti-aliased edges count in proportion to how far their colour is from the track's.
            bars.append((sum(min(1.0, d / fill) for d in distance) / len(row), row[distance.index(fill)]))
        if bars == previous:
            return bars
        previous = bars
        page.wait_for_timeout(100)
    raise AssertionError("the bars kept moving")

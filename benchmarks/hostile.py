"""Hostile input against both servers: what crafted files and requests cost, and whether slow clients or a
failed start hurt anyone.

    python -m benchmarks.hostile [--export-digits 500000]

Starts `python run.py` (waitress, SQLite) and the production stack as `serve.py` runs it
(nginx in front of four gunicorn workers, on a PostgreSQL schema and a Redis prefix of its own on this
machine), one after the other, and sends each the corpus of benchmarks/corpus.py: images at the limits
of every format, decompression and parsing bombs, files with metadata, malformed, deeply nested and
oversized bodies, a label with a newline. For each it prints how many inputs were tried, how many got a
5xx, the most CPU and the most added peak memory any one request cost the server's processes (and the
same for a canvas, for scale), how long the health check and a prediction took while 50 clients sent
their requests a byte a second (and, for comparison, gunicorn without nginx), and how many acknowledged
predictions were lost, also after a second start on the busy port. Then it times a CSV and an IDX export
of --export-digits digits through nginx.
"""

import argparse
import base64
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psycopg
import requests

from benchmarks import corpus
from benchmarks.servers import ADMIN_TOKEN, ROOT, Server, bare_gunicorn, environment, production, run_py

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def images() -> list[tuple[str, bytes]]:
    """The crafted images, each sent as a raw body to be read and stored."""
    from PIL import Image

    size_16 = (4700, 3500)  # 16.45 megapixels: the most RGB and RGBA may have
    size_10 = (3650, 2730)  # 9.96 megapixels: the most WebP and TIFF may have
    exif = Image.Exif()
    exif[0x0112] = 6
    return [
        ("progressive JPEG, 500 cheap scans (6000x6000, 100 KB)", corpus.progressive_scan_bomb()),
        ("progressive JPEG at the scan limit (6000x6000, 8 refinements)", corpus.progressive_scan_bomb(6000, 8)),
        ("transparent PNG, 40 MP (150 KB)", corpus.transparent_png()),
        ("transparent PNG, 16.45 MP", corpus.transparent_png(size_16)),
        ("greyscale PNG, 40 MP", corpus.large_image("PNG", "L")),
        ("RGB PNG, 16.45 MP", corpus.large_image("PNG", "RGB", size=size_16)),
        ("palette PNG with transparency, 40 MP", corpus.palette_png_with_transparency()),
        ("baseline JPEG 4:4:4, 40 MP", corpus.large_image("JPEG", "RGB", quality=90, subsampling=0)),
        ("progressive JPEG 4:2:0, 40 MP", corpus.large_image("JPEG", "RGB", quality=90, progressive=True)),
        ("JPEG turned by EXIF, 40 MP", corpus.large_image("JPEG", "L", exif=exif)),
        ("lossless WebP, 10 MP", corpus.large_image("WEBP", "RGB", size=size_10, lossless=True)),
        ("GIF, 40 MP", corpus.large_image("GIF", "P")),
        ("run-length BMP, 40 MP", corpus.rle_bmp()),
        ("LZW RGB TIFF, 10 MP", corpus.large_image("TIFF", "RGB", size=size_10, compression="tiff_lzw")),
        (
            "deflated RGBA TIFF, 10 MP",
            corpus.large_image("TIFF", "RGBA", size=size_10, compression="tiff_adobe_deflate"),
        ),
        ("CIELAB TIFF", corpus.lab_tiff()),
        ("premultiplied-alpha TIFF", corpus.la_tiff()),
        ("PNG of 800,000 empty chunks (9.6 MB)", corpus.many_chunks_png()),
        ("JPEG of 2,500,000 empty comments (10 MB)", corpus.many_segments_jpeg()),
        ("GIF comment of 4,000,000 sub-blocks (8 MB)", corpus.many_blocks_gif()),
        ("TIFF of 1,000,000 strips (9 MB)", corpus.many_strips_tiff()),
        ("BigTIFF whose directory lies at 2**63", corpus.bigtiff_far_directory()),
        ("TIFF whose strip offset is a float", corpus.tiff_with_strip_offsets_typed(11)),
        ("animated GIF cut in its second frame", corpus.gif_cut_in_its_second_frame()),
        ("JPEG whose EXIF orientation is 70,000", corpus.photo_with_odd_orientation()),
        ("empty lined page", corpus.empty_lined_page()),
        ("PNG padded to 9 MB", corpus.padded_png(corpus.large_image("PNG", "L", size=(280, 280)), 9_000_000)),
        ("photo with GPS, camera and a comment", corpus.photo_with_location()),
    ]


def canvas() -> bytes:
    from benchmarks.uploads import written

    return written("7")


def send_image(server: Server, data: bytes) -> Callable[[], requests.Response]:
    return lambda: requests.post(
        f"{server.base_url}/api/predict?source=api", data=data, headers={"Content-Type": "image/png"}, timeout=120
    )


def send_raw(server: Server, request: bytes) -> Callable[[], int]:
    from benchmarks.clients import send_raw as raw

    return lambda: raw(server.base_url, request)[0]


def probe(server: Server, label: str, crafted: list[tuple[str, bytes]]) -> None:
    tried, server_errors, worst_cpu, worst_memory = 0, [], ("", 0.0), ("", 0.0)
    session = requests.Session()
    # Every worker's first requests start its thread pools and fill its caches: a canvas is measured after.
    unsaved = base64.b64encode(canvas()).decode()
    for _ in range(12):
        requests.post(f"{server.base_url}/api/predict", json={"image": unsaved, "save": False}, timeout=60)
    reference = server.cost(send_image(server, canvas()))
    cases: list[tuple[str, Callable]] = [(name, send_image(server, data)) for name, data in crafted]
    cases += [(name, send_raw(server, request)) for name, request, _ in corpus.hostile_requests()]
    made = session.post(
        f"{server.base_url}/api/predict",
        json={"image": base64.b64encode(corpus.large_image("PNG", "L", size=(560, 200))).decode()},
        timeout=60,
    )
    if made.status_code == 201:
        server.acknowledged.add(made.json()["id"])
        url = f"{server.base_url}/api/predictions/{made.json()['id']}"
        cases.append(
            (
                "label with a final newline",
                lambda: session.patch(url, json={"label": "1" * len(made.json()["number"]) + "\n"}, timeout=60),
            )
        )
    cases += [
        ("statistics", lambda: requests.get(f"{server.base_url}/api/stats", timeout=60)),
        ("CSV export", lambda: requests.get(f"{server.base_url}/api/predictions/export?format=csv", timeout=60)),
        ("IDX export", lambda: requests.get(f"{server.base_url}/api/predictions/export?format=idx", timeout=60)),
        (
            "IDX export of every client's (admin token)",
            lambda: requests.get(f"{server.base_url}/api/predictions/export?format=idx", headers=ADMIN, timeout=60),
        ),
    ]
    print(f"\n{label}")
    print(f"  {'input':62s} {'status':>6s} {'CPU':>8s} {'added peak':>11s}")
    print(f"  {'a canvas (for scale)':62s} {reference.status:6d} {reference.cpu:7.2f}s {reference.peak_mb:8.0f} MB")
    for name, send in cases:
        cost = server.cost(send)
        tried += 1
        if cost.status >= 500:
            server_errors.append(name)
        if cost.cpu > worst_cpu[1]:
            worst_cpu = (name, cost.cpu)
        if cost.peak_mb > worst_memory[1]:
            worst_memory = (name, cost.peak_mb)
        print(f"  {name:62s} {cost.status:6d} {cost.cpu:7.2f}s {cost.peak_mb:8.0f} MB", flush=True)
    print(f"  inputs tried: {tried}; 5xx: {len(server_errors)} {server_errors or ''}")
    print(f"  most CPU: {worst_cpu[1]:.2f} s ({worst_cpu[0]}); a canvas {reference.cpu:.3f} s")
    print(f"  most added peak memory: {worst_memory[1]:.0f} MB ({worst_memory[0]})")


def slow_clients(base_url: str, count: int = 50) -> str:
    """The slowest of five health checks and five predictions while `count` clients trickle their requests."""
    from benchmarks.clients import slow_clients as trickling

    health, prediction = [], []
    with trickling(base_url, count):
        for _ in range(5):
            for timings, send in (
                (health, lambda: requests.get(f"{base_url}/api/health", timeout=10)),
                (
                    prediction,
                    lambda: requests.post(
                        f"{base_url}/api/predict",
                        json={"image": base64.b64encode(canvas()).decode(), "save": False},
                        timeout=10,
                    ),
                ),
            ):
                started = time.perf_counter()
                try:
                    ok = send().status_code == 200
                except requests.RequestException:
                    ok = False
                timings.append(time.perf_counter() - started if ok else float("inf"))

    def show(timings: list[float]) -> str:
        return "no answer within 10 s" if max(timings) == float("inf") else f"slowest {max(timings) * 1000:.0f} ms"

    return f"health {show(health)}, prediction {show(prediction)}"


def second_start_on_the_busy_port(server: Server, folder: Path) -> int:
    """Start `python run.py` again on the running server's port and instance: it must fail and change nothing."""
    before = server.stored_ids()
    port = server.base_url.rsplit(":", 1)[1]
    subprocess.run(
        [sys.executable, "run.py", "--port", port],
        cwd=ROOT,
        env=environment(folder),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
    )
    return len(before - server.stored_ids())


def export_figures(server: Server, digits: int) -> None:
    """Store `digits` digits straight into the table (2024, four at a time), then time both exports, and the
    list and the statistics anyone may ask for."""
    rng = np.random.default_rng(0)
    inputs = (rng.random(4 * 784) * 255 * (rng.random(4 * 784) < 0.2)).astype(np.uint8).tobytes()
    digit = {
        "digit": 2,
        "confidence": 1.0,
        "probabilities": [0.0, 0.0, 1.0] + [0.0] * 7,
        "box": {"x": 0, "y": 0, "width": 1, "height": 1},
    }
    row = ("image/png", "0" * 64, inputs, "2024", json.dumps([digit] * 4), "m", "api")
    with psycopg.connect(server.database_url) as connection, connection.cursor() as cursor:
        with cursor.copy(
            "COPY predictions (public_id, created_at, image, content_type, sha256, inputs, number, digits, "
            "model_version, source) FROM STDIN"
        ) as copy:
            for index in range(digits // 4):
                copy.write_row((f"x{index:021d}", "now", b"", *row))
    for export_format in ("csv", "idx"):
        started = time.perf_counter()
        try:
            with requests.get(
                f"{server.base_url}/api/predictions/export?format={export_format}",
                headers=ADMIN,
                stream=True,
                timeout=120,
            ) as answer:
                size = sum(len(chunk) for chunk in answer.iter_content(1 << 20))
            outcome = f"complete, {size / 1e6:,.0f} MB"
        except requests.RequestException as error:
            outcome = f"cut off ({type(error).__name__})"
        print(
            f"  {export_format.upper()} export of {digits:,} digits through nginx: "
            f"{time.perf_counter() - started:.1f} s, {outcome}"
        )
    for name, path in (("the list, without a session cookie", "/api/predictions"), ("the statistics", "/api/stats")):
        started = time.perf_counter()
        answer = requests.get(f"{server.base_url}{path}", timeout=60)
        print(
            f"  {name}, {digits // 4:,} predictions stored: {answer.status_code} in "
            f"{1000 * (time.perf_counter() - started):.0f} ms"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export-digits", type=int, default=500_000, help="digits to export at the end (0: none)")
    args = parser.parse_args(argv)
    print(f"Hostile input, {time.strftime('%Y-%m-%d %H:%M')}; the machine's processes are shared, timings are noisy.")
    crafted = images()
    with tempfile.TemporaryDirectory(prefix="digits-hostile-") as folder:
        folder = Path(folder)
        with run_py(folder / "run") as server:
            probe(server, "python run.py (waitress, SQLite)", crafted)
            print(f"  50 slow clients: {slow_clients(server.base_url)}")
            lost_at_start = second_start_on_the_busy_port(server, folder / "run")
            lost = len(server.acknowledged - server.stored_ids())
            print(
                f"  rows lost: {lost} of {len(server.acknowledged)} acknowledged; "
                f"by a second start on the busy port: {lost_at_start}"
            )
        with production(folder / "production") as server:
            probe(server, "nginx + gunicorn (4 workers, PostgreSQL, Redis), as serve.py runs them", crafted)
            print(f"  50 slow clients: {slow_clients(server.base_url)}")
            lost = len(server.acknowledged - server.stored_ids())
            print(f"  rows lost: {lost} of {len(server.acknowledged)} acknowledged")
            if args.export_digits:
                export_figures(server, args.export_digits)
        with bare_gunicorn(folder / "bare") as base_url:
            print(
                f"\ngunicorn alone (4 workers, no nginx), for comparison\n  50 slow clients: {slow_clients(base_url)}"
            )


if __name__ == "__main__":
    main()

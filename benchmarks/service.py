"""How fast the service answers over real HTTP, against the engine alone on the same canvas.

    python -m benchmarks.service [--repeats N]

Starts `run.py` on a free port with a temporary instance folder, and prints the
time from start to a healthy /api/health, the median of POST /api/predict (JSON
with a data URL, as the page sends it) for a 280x280 transparent canvas PNG against
the engine's own median in this process, on a new connection for each request and
on one connection kept open, and the median of a cached repeat against an uncached
request, all measured in interleaved rounds.
"""

import argparse
import base64
import http.client
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageOps
from PIL.PngImagePlugin import PngInfo

from serve import free_port
from src.ml import DEFAULT_MODEL_PATH, compute_on_one_thread, load_model, recognise

from .load.cpu import cpu_seconds, cpu_used

ROOT = Path(__file__).resolve().parents[1]
CANVAS = ROOT / "examples" / "seven.png"
TARGETS = {"ratio": 2.0, "cached": 0.5, "start_s": 3.0}


def canvas_variants(count: int) -> list[bytes]:
    """The same 280x280 canvas, as the page exports it (black strokes, their coverage in the alpha channel),
    encoded `count` times with a different text chunk, so no two hit the cache."""
    grey = Image.open(CANVAS).convert("L")
    assert grey.size == (280, 280)
    canvas = Image.new("RGBA", grey.size)
    canvas.putalpha(ImageOps.invert(grey))
    variants = []
    for number in range(count):
        info = PngInfo()
        info.add_text("variant", str(number))
        encoded = io.BytesIO()
        canvas.save(encoded, format="PNG", pnginfo=info)
        variants.append(encoded.getvalue())
    return variants


def page_request(image: bytes, **fields) -> bytes:
    """A POST /api/predict body as the page sends it: JSON with a data URL."""
    return json.dumps({"image": f"data:image/png;base64,{base64.b64encode(image).decode()}", **fields}).encode()


def median_ms(timings: list[float]) -> float:
    return statistics.median(timings) * 1000


def time_engine(model, images: list[bytes], clock=time.perf_counter) -> list[float]:
    """The engine's time for each image, in this process, by `clock` (wall time unless told)."""
    timings = []
    for image in images:
        started = clock()
        recognise(image, model)
        timings.append(clock() - started)
    return timings


def start_service(instance: str, model_path: Path) -> tuple[subprocess.Popen, int, float]:
    """run.py on a free port; returns it, its port and the seconds until /api/health answered 200."""
    port = free_port()
    env = {**os.environ, "INSTANCE_PATH": instance, "MODEL_PATH": str(model_path)}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "run.py", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while True:
        if process.poll() is not None:
            raise SystemExit(f"run.py exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/api/health")
            if connection.getresponse().status == 200:
                return process, port, time.perf_counter() - started
        except ConnectionRefusedError:
            time.sleep(0.01)
        finally:
            connection.close()


class Client:
    """A lean HTTP client, so that the figures are the service's, which sends the session cookie back as a
    browser would. It opens a connection for each request, its time included (as every figure before
    run.py kept connections open was taken, werkzeug's development server closing each), or with
    `keep_alive` keeps one open, as a browser does."""

    def __init__(self, port: int, keep_alive: bool = False):
        self.port = port
        self.keep_alive = keep_alive
        self.connection: http.client.HTTPConnection | None = None
        self.headers = {"Content-Type": "application/json"}

    def post(self, path: str, body: bytes) -> tuple[float, dict]:
        connection = self.connection or http.client.HTTPConnection("127.0.0.1", self.port)
        started = time.perf_counter()
        connection.request("POST", path, body, self.headers)
        response = connection.getresponse()
        answer = response.read()
        seconds = time.perf_counter() - started
        if self.keep_alive and not response.will_close:
            self.connection = connection
        else:
            connection.close()
            self.connection = None
        assert response.status in (200, 201), answer
        if cookie := response.getheader("Set-Cookie"):
            self.headers["Cookie"] = cookie.split(";", 1)[0]
        return seconds, json.loads(answer)


def time_predictions(client: Client, bodies: list[bytes], expect_cached: bool) -> tuple[list[float], list[float]]:
    """Seconds per request as the client saw it, and as the service reported (elapsed_ms)."""
    round_trips, in_service = [], []
    for body in bodies:
        seconds, answer = client.post("/api/predict", body)
        assert answer["cached"] is expect_cached
        round_trips.append(seconds)
        in_service.append(answer["elapsed_ms"] / 1000)
    return round_trips, in_service


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=100, help="requests per measurement (default 100)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH, help="model file (default %(default)s)")
    args = parser.parse_args(argv)

    rounds = 5
    per_round = max(args.repeats // rounds, 1)
    count = rounds * per_round
    # The first canvas for the cached repeats, then one for each request of the new connections and of the
    # kept one, and the kept connection's first request.
    images = canvas_variants(2 * count + 2)
    bodies = [page_request(image) for image in images]
    unsaved = page_request(images[0], save=False)
    # The engine alone runs as run.py runs it.
    compute_on_one_thread()
    model = load_model(args.model)
    recognise(images[0], model)
    names = (
        "engine",
        "service",
        "service_inside",
        "kept_alive",
        "kept_alive_inside",
        "cached",
        "cached_inside",
        "unsaved",
        "unsaved_inside",
    )
    timings = {name: [] for name in names}

    with tempfile.TemporaryDirectory() as instance:
        process, port, start_s = start_service(instance, args.model)
        try:
            client, browser = Client(port), Client(port, keep_alive=True)
            client.post("/api/predict", bodies[0])
            browser.post("/api/predict", bodies[-1])
            before, started = cpu_seconds(), time.perf_counter()
            # Round by round, so that the machine's load weighs on every figure alike.
            for round_number in range(rounds):
                fresh = slice(1 + round_number * per_round, 1 + (round_number + 1) * per_round)
                timings["engine"] += time_engine(model, images[fresh])
                kept = slice(fresh.start + count, fresh.stop + count)
                measurements = (
                    (client, "service", bodies[fresh], False),
                    (browser, "kept_alive", bodies[kept], False),
                    (client, "cached", [bodies[0]] * per_round, True),
                    (client, "unsaved", [unsaved] * per_round, True),
                )
                for sender, name, sent, cached in measurements:
                    round_trips, inside = time_predictions(sender, sent, expect_cached=cached)
                    timings[name] += round_trips
                    timings[f"{name}_inside"] += inside
            # run.py is this process's child: its CPU is the service's, not the machine's other load.
            used = cpu_used(before, cpu_seconds(), {"run.py": {process.pid}})
            others = used["other processes"] / (time.perf_counter() - started)
        finally:
            process.terminate()
            process.wait(timeout=30)

    ms = {name: median_ms(values) for name, values in timings.items()}
    print(f"{args.model.name}, {CANVAS.name} (280x280 PNG) sent as JSON with a data URL")
    print(f"medians of {rounds * per_round} requests, measured in {rounds} interleaved rounds")
    print("run.py (waitress); 'in service' is the elapsed_ms the service reports")
    print("each request on a new connection, as figures before waitress; the cached ones too")
    print(f"other processes used {others:.2f} cores meanwhile (a busy machine lowers every figure)\n")
    print(f"start to a healthy /api/health    {start_s * 1000:7.0f} ms   target <= {TARGETS['start_s'] * 1000:.0f} ms")
    print(f"engine alone, in process          {ms['engine']:7.2f} ms")
    print(
        f"POST /api/predict over HTTP       {ms['service']:7.2f} ms   {ms['service'] / ms['engine']:.2f}x the engine, "
        f"target <= {TARGETS['ratio']}x   (in service {ms['service_inside']:.2f} ms)"
    )
    print(
        f"  the same on one kept connection {ms['kept_alive']:7.2f} ms   "
        f"{ms['kept_alive'] / ms['engine']:.2f}x the engine, as a browser sends them   "
        f"(in service {ms['kept_alive_inside']:.2f} ms)"
    )
    cached = ms["cached"] / ms["service"]
    print(
        f"cached repeat, stored             {ms['cached']:7.2f} ms   {cached:.2f}x an uncached one, "
        f"target <= {TARGETS['cached']}x   (in service {ms['cached_inside']:.2f} ms)"
    )
    print(f"cached repeat, save: false        {ms['unsaved']:7.2f} ms   (in service {ms['unsaved_inside']:.2f} ms)")


if __name__ == "__main__":
    main()

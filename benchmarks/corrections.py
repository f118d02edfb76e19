"""Learning from corrections: does a retrain on people's corrections teach the model a way of writing it
misreads, without making it worse on MNIST?

    python -m benchmarks.corrections [--writers 12] [--per-writer 24] [--train-limit N] [--augment 3]
                                     [--test-limit N] [--seed 0]

Synthetic writers (seeded) write digits with straight strokes, as on a calculator's display: a 3 of
four bars and a 9 with a flat foot, each writer with proportions, slant and pen of their own. Two
thirds of the writers send their digits to the service (`python run.py`'s app over real HTTP) and
correct every misreading through the API; the others only write, and are never seen in training.
Then `flask retrain` trains and gates a candidate. Printed: the held-out writers' digits read by the
model in use and by the candidate, and the gate's table (MNIST test through the whole path).

The issue asks for +20 points on the held-out writers and at most -0.1 point on MNIST test, with a full
retrain (no --train-limit; some 25 minutes on a 2-core machine). --train-limit 2000 --augment 1
proves the loop in a few minutes, but its candidate is compared with a model trained on all of MNIST.
"""

import argparse
import base64
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import requests
from werkzeug.serving import make_server

from src import create_app, storage, versions
from src.ml import handwriting, mnist, recognise

from .world import on_pad

STYLE = "calculator"
DIGITS = {3: "abgcd", 9: "abcdfg"}
"""The digits written, as the segments of a seven-segment display each is drawn with."""


def segments(rng: np.random.Generator, lit: str, writer: dict) -> handwriting.Strokes:
    """A digit of straight bars, in a writer's proportions: `width` of the box, middle bar at `middle`."""
    w, m = writer["width"], writer["middle"]
    ends = {
        "a": [(0, 0), (w, 0)],
        "b": [(w, 0), (w, m)],
        "c": [(w, m), (w, 1)],
        "d": [(0, 1), (w, 1)],
        "e": [(0, m), (0, 1)],
        "f": [(0, 0), (0, m)],
        "g": [(0, m), (w * writer["bar"], m)],
    }
    return [np.array(ends[segment], float) + rng.normal(0, 0.02, (2, 2)) for segment in lit]


def writers(count: int, rng: np.random.Generator) -> list[dict]:
    return [
        {"width": rng.uniform(0.45, 0.8), "middle": rng.uniform(0.42, 0.55), "bar": rng.uniform(0.7, 1.0)}
        for _ in range(count)
    ]


def written(writer: dict, count: int, rng: np.random.Generator) -> list[tuple[int, bytes]]:
    digits = rng.choice(list(DIGITS), count)
    return [(int(d), on_pad(segments(rng, DIGITS[int(d)], writer), rng)) for d in digits]


def accuracy(model, cases: list[tuple[int, bytes]]) -> float:
    return float(np.mean([recognise(data, model).number == str(digit) for digit, data in cases]))


def send_corrections(base_url: str, cases: list[tuple[int, bytes]]) -> tuple[int, int]:
    """One writer's browser session: each digit read, and corrected where it was misread; (sent, corrected)."""
    session, corrected = requests.Session(), 0
    for digit, data in cases:
        read = session.post(f"{base_url}/api/predict", json={"image": base64.b64encode(data).decode()})
        if read.status_code != 201 or len(read.json()["number"]) != 1:
            continue  # read as no digit or several: nothing a person could correct digit by digit
        if read.json()["number"] != str(digit):
            session.patch(
                f"{base_url}/api/predictions/{read.json()['id']}", json={"label": str(digit)}
            ).raise_for_status()
            corrected += 1
    return len(cases), corrected


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, default=12)
    parser.add_argument("--per-writer", type=int, default=24, help="digits each writer writes")
    parser.add_argument("--train-limit", type=int, default=None)
    parser.add_argument("--augment", type=int, default=3)
    parser.add_argument("--test-limit", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=mnist.configured_dir())
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    rng = np.random.default_rng(args.seed)
    people = writers(args.writers, rng)
    cases = [written(person, args.per_writer, rng) for person in people]
    correcting = args.writers * 2 // 3
    held_out = [case for writer_cases in cases[correcting:] for case in writer_cases]

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "SECRET_KEY": "benchmark",
                "DATABASE_URL": f"sqlite:///{folder}/benchmark.sqlite",
                "MODEL_DIR": os.path.join(folder, "models"),
                "QUOTA_PREDICTIONS_PER_HOUR": 0,
            }
        )
        storage.start(app)
        base = app.extensions["digit_model"]
        before = accuracy(base, held_out)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base_url = f"http://127.0.0.1:{server.server_port}"
        sent = corrected = 0
        for writer_cases in cases[:correcting]:
            written_count, corrected_count = send_corrections(base_url, writer_cases)
            sent, corrected = sent + written_count, corrected + corrected_count
        server.shutdown()
        print(
            f"{STYLE} digits {sorted(DIGITS)}: {correcting} writers sent {sent} and corrected {corrected}; "
            f"{args.writers - correcting} writers ({len(held_out)} digits) held out",
            flush=True,
        )

        options = ["--augment", str(args.augment), "--seed", str(args.seed), "--data-dir", str(args.data_dir)]
        options += ["--train-limit", str(args.train_limit)] if args.train_limit else []
        options += ["--test-limit", str(args.test_limit)] if args.test_limit else []
        started = time.perf_counter()
        result = app.test_cli_runner().invoke(args=["retrain", *options])
        seconds = time.perf_counter() - started
        print(result.output, flush=True)
        if result.exit_code not in (0, 3):
            raise SystemExit(f"retrain failed: {result.exception!r}")
        with app.app_context():
            newest = versions.versions(app)[-1]["card"]
            candidate = versions.load_version(app, newest["version"])
        after = accuracy(candidate, held_out)
        gate = newest["gate"]
        rise = (after - before) * 100
        drop = (gate["current"]["mnist_test"] - gate["candidate"]["mnist_test"]) * 100

    print(f"retrain took {seconds / 60:.1f} min (train limit {args.train_limit or 'none'}, augment {args.augment})")
    print(
        f"held-out writers' {STYLE} digits: {before:.1%} by {base.version}, {after:.1%} by {candidate.version} "
        f"({rise:+.1f} points; at least +20 wanted)"
    )
    print(
        f"MNIST test: {gate['current']['mnist_test']:.2%} -> {gate['candidate']['mnist_test']:.2%} "
        f"({-drop:+.2f} points; at most -0.10 wanted)"
    )
    # The figures are shares of whole digits: a drop of one digit in 1,000 is 0.1 point, give or take rounding.
    print(
        f"verdict: {'met' if rise >= 20 and drop <= 0.1 + 1e-9 else 'not met'}; gate "
        f"{'promoted' if gate['promoted'] else 'refused'} the candidate"
    )


if __name__ == "__main__":
    main()

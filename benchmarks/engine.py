"""Print the engine's figures: MNIST through the whole path, robustness, the world's handwriting, speed.

    python -m benchmarks.engine [--limit N] [--model PATH] [--against REV] [--speed-only]

Every sample is generated from the MNIST test digits or from pen trajectories with a fixed
seed (`benchmarks.variants`, `benchmarks.world`). Speed is measured on one core (BLAS and
OpenCV on one thread), as ratios taken in this run: against a fixed reference (Pillow decoding
the same PNG, and one 100 x 12,374 float32 matrix-vector product with its exponential, the
kernel row of the model this engine replaced), and with --against, against the engine of
another commit, timed in turns with this one in two processes.
"""

import argparse
import collections
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from threadpoolctl import threadpool_limits

from src.ml import DEFAULT_MODEL_PATH, load_model, mnist, recognise
from src.ml.evaluate import calibration_error, encode_png, read_all, scores

from .load.cpu import cpu_seconds, other_cores
from .variants import SINGLE_DIGIT_VARIANTS, number_samples, single_digit_samples
from .world import non_digit_cases, photographed_cases, ruled_cases, style_cases, touching_cases, touching_drawn_cases

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_TARGET = 3.0
"""The engine's time for a canvas may be at most this many times the fixed reference's."""
WORLD_SEED = 1
"""The seed the world's cases are built with: `benchmarks.tuning` refuses it, so that they are never tuned on."""


def accuracy(model, samples) -> tuple[float, float]:
    """Share of digits read right, and share of images read exactly (right count, right digits)."""
    right = exact = total = 0
    for sample in samples:
        digits = recognise(sample.data, model).digits
        hits = (
            sum(d.digit == label for d, label in zip(digits, sample.labels)) if len(digits) == len(sample.labels) else 0
        )
        right += hits
        exact += hits == len(sample.labels)
        total += len(sample.labels)
    return right / total, exact / len(samples)


def mnist_figures(model, images, labels) -> None:
    result = scores(read_all(model, [encode_png(i) for i in images]), labels)
    print(
        f"MNIST test, {len(labels):,} digits as PNG through the whole path: accuracy {result['accuracy']:.2%}, "
        f"{result['answered_no_digit']} answered no digit ({result['answered_no_digit'] / len(labels):.2%}), "
        f"ECE {result['expected_calibration_error']:.4f}"
    )


def robustness(model, images, labels) -> None:
    print(f"\nRobustness on {len(images)} MNIST test digits (seed 0):")
    plain = None
    for variant in SINGLE_DIGIT_VARIANTS:
        digits, _ = accuracy(model, single_digit_samples(variant, images, labels))
        plain = digits if plain is None else plain
        print(f"  {variant:34s} {digits:8.2%}   {100 * (digits - plain):+6.2f} points")
    digits, numbers = accuracy(model, number_samples(images, labels))
    print(
        f"  {'several digits side by side':34s} {digits:8.2%}   {100 * (digits - plain):+6.2f} points"
        f"   ({numbers:.2%} of numbers read whole)"
    )


def read_cases(model, cases) -> tuple[dict, list]:
    """Per kind of case, how many were read as the person meant; and (confidence, right) of each digit kept."""
    by_kind = collections.defaultdict(lambda: [0, 0])
    kept = []
    for case in cases:
        reading = recognise(case.data, model)
        number = reading.number if reading.digits else None
        by_kind[case.kind][0] += number == case.number
        by_kind[case.kind][1] += 1
        if case.number is not None and len(reading.digits) == len(case.number):
            kept += [(d.confidence, str(d.digit) == c) for d, c in zip(reading.digits, case.number)]
    return by_kind, kept


def world(model, images, labels, scale: float) -> None:
    sections = [
        (
            "Other countries' styles (drawn on the pad, scanned, MNIST test digits edited): read right",
            style_cases(images, labels, per_style=round(100 * scale), seed=WORLD_SEED),
        ),
        (
            "Touching numbers, 2 to 4 MNIST test digits touching to 15% overlap: read whole",
            touching_cases(images, labels, count=round(1000 * scale), seed=WORLD_SEED),
        ),
        (
            "Touching numbers, 2 to 4 digits drawn on the pad in the world's styles, touching to 15% overlap: "
            "read whole",
            touching_drawn_cases(count=round(500 * scale), seed=WORLD_SEED),
        ),
        (
            "Numbers of 1 to 3 MNIST test digits photographed on lined and squared paper: read whole",
            ruled_cases(images, labels, count=round(300 * scale), seed=WORLD_SEED),
        ),
        (
            "Numbers of 1 to 4 MNIST test digits photographed as people do: read whole",
            photographed_cases(images, labels, count=round(300 * scale), seed=WORLD_SEED),
        ),
        ("Not digits: answered no digit", non_digit_cases(per_kind=round(40 * scale), seed=WORLD_SEED)),
    ]
    for title, cases in sections:
        by_kind, kept = read_cases(model, cases)
        right, total = sum(r for r, _ in by_kind.values()), sum(t for _, t in by_kind.values())
        print(f"\n{title}: {right / total:.2%} of {total}")
        for kind, (r, t) in by_kind.items():
            print(f"  {kind:58s} {r / t:8.2%} of {t}")
        if kept:
            confidence, correct = np.array(kept).T
            error = calibration_error(confidence, correct.astype(bool))
            print(f"  digits kept: {correct.mean():.2%} right, ECE {error:.4f}")


def canvases(images, labels) -> list[bytes]:
    """280x280 canvases as the page sends them: strokes on a transparent background."""
    return [s.data for s in single_digit_samples("transparent PNG, black strokes", images[:200], labels[:200], seed=1)]


def engine_and_reference_ms(model, pngs: list[bytes], rounds: int = 3) -> tuple[float, float]:
    """Median milliseconds for a canvas: the engine's, and the fixed reference's (Pillow decodes the PNG,
    and one 100 x 12,374 float32 kernel row is computed), taken in turns on the same canvases."""
    rng = np.random.default_rng(0)
    support = rng.standard_normal((12_374, 100), dtype=np.float32)
    engine, reference = [], []
    for data in pngs * rounds:
        start = time.perf_counter()
        Image.open(io.BytesIO(data)).load()
        x = rng.standard_normal(100, dtype=np.float32)
        np.exp(np.float32(-0.01) * (support @ x))
        reference.append(time.perf_counter() - start)
        start = time.perf_counter()
        recognise(data, model)
        engine.append(time.perf_counter() - start)
    return 1000 * statistics.median(engine), 1000 * statistics.median(reference)


TIMER = """
import json, sys, time, statistics
from threadpoolctl import threadpool_limits
import cv2
from src.ml import DEFAULT_MODEL_PATH, load_model, recognise
pngs = [bytes.fromhex(line) for line in open(sys.argv[1]).read().split()]
model = load_model(DEFAULT_MODEL_PATH)
cv2.setNumThreads(1)
with threadpool_limits(1):
    for data in pngs[:20]:
        recognise(data, model)
    for line in sys.stdin:
        times = []
        for data in pngs:
            start = time.perf_counter(); recognise(data, model); times.append(time.perf_counter() - start)
        print(json.dumps(1000 * statistics.median(times)), flush=True)
"""


def side_by_side(pngs: list[bytes], against: str, rounds: int = 6) -> None:
    """This checkout's engine and its model against another commit's, in turns, each in its own process."""
    with tempfile.TemporaryDirectory() as scratch:
        other = Path(scratch) / "other"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(other), against],
            check=True,
            capture_output=True,
        )
        try:
            canvases_file = Path(scratch) / "canvases.txt"
            canvases_file.write_text("\n".join(p.hex() for p in pngs))
            timers = {
                name: subprocess.Popen(
                    [sys.executable, "-c", TIMER, str(canvases_file)],
                    cwd=cwd,
                    text=True,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
                for name, cwd in (("this", ROOT), (against, other))
            }
            medians = collections.defaultdict(list)
            for _ in range(rounds):
                for name, timer in timers.items():
                    timer.stdin.write("go\n")
                    timer.stdin.flush()
                    medians[name].append(json.loads(timer.stdout.readline()))
            for timer in timers.values():
                timer.stdin.close()
                timer.wait()
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)], check=True)
    this, that = statistics.median(medians["this"]), statistics.median(medians[against])
    print(
        f"  side by side with {against}, {rounds} turns each: {this:.2f} ms against {that:.2f} ms a canvas, "
        f"{this / that:.2f}x"
    )


def speed(model, images, labels, model_path: Path, against: str | None) -> None:
    pngs = canvases(images, labels)
    opencv_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        with threadpool_limits(1):
            start = time.perf_counter()
            load_model(model_path)
            load_seconds = time.perf_counter() - start
            before, started = cpu_seconds(), time.perf_counter()
            engine, reference = engine_and_reference_ms(model, pngs)
            others = other_cores(before, cpu_seconds(), time.perf_counter() - started)
    finally:
        cv2.setNumThreads(opencv_threads)
    batch = np.concatenate([images] * (10_000 // len(images) + 1))[:10_000]
    start = time.perf_counter()
    model.predict_proba(batch)
    batch_seconds = time.perf_counter() - start
    print(f"\nSpeed (one core, ratios taken in this run; other processes used {others:.2f} cores meanwhile):")
    ratio = engine / reference
    print(
        f"  280x280 transparent canvas PNG to digits: median {engine:.2f} ms, {ratio:.2f}x the fixed reference "
        f"({reference:.2f} ms)   target <= {REFERENCE_TARGET:g}x   {'ok' if ratio <= REFERENCE_TARGET else 'MISSED'}"
    )
    if against:
        side_by_side(pngs, against)
    print(f"  batch of 10,000 28x28 digits, both cores: {10_000 / batch_seconds:,.0f} digits/s")
    print(f"  model load: {1000 * load_seconds:.0f} ms")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=mnist.configured_dir())
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--limit", type=int, default=None, help="only the first N test digits, and fewer cases")
    parser.add_argument("--against", help="also time the engine of this commit, side by side")
    parser.add_argument("--speed-only", action="store_true", help="only the speed figures")
    args = parser.parse_args(argv)
    images, labels = mnist.load("test", args.data_dir)
    images, labels = images[: args.limit], labels[: args.limit]
    model = load_model(args.model)
    print(
        f"model {model.version}; {model.card['support_vectors']:,} support vectors; "
        f"trained in {model.card['training_seconds']:.0f} s"
    )
    if not args.speed_only:
        mnist_figures(model, images, labels)
        robustness(model, images, labels)
        world(model, images, labels, scale=min(1.0, len(images) / 10_000))
    speed(model, images, labels, args.model, args.against)


if __name__ == "__main__":
    main()

"""Print the engine's figures: MNIST accuracy through the whole path, robustness, speed.

    python -m benchmarks.engine [--limit N] [--model PATH]

Robustness variants are generated from the MNIST test digits with a fixed seed and
scored against the plain-PNG figure of the same run. Speed is measured on one core
(BLAS and OpenMP limited to one thread), except the batch figure, which uses both.
"""
import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from src.ml import DEFAULT_MODEL_PATH, load_model, mnist, recognise
from src.ml.recognise import normalised_digits

from .variants import SINGLE_DIGIT_VARIANTS, number_samples, single_digit_samples


def accuracy(model, samples) -> tuple[float, float]:
    """Share of digits read right, and share of images read exactly (right count, right digits)."""
    right = exact = total = 0
    for sample in samples:
        found = normalised_digits(sample.data)
        if len(found) == len(sample.labels):
            predicted = model.predict_proba(np.stack([image for _, image in found])).argmax(axis=1)
            hits = int((predicted == np.array(sample.labels)).sum())
        else:
            hits = 0
        right += hits
        exact += hits == len(sample.labels)
        total += len(sample.labels)
    return right / total, exact / len(samples)


def robustness(model, images, labels) -> None:
    print(f"\nRobustness on {len(images)} MNIST test digits (seed 0):")
    plain = None
    for variant in SINGLE_DIGIT_VARIANTS:
        digits, _ = accuracy(model, single_digit_samples(variant, images, labels))
        plain = digits if plain is None else plain
        print(f"  {variant:34s} {digits:8.2%}   {100 * (digits - plain):+6.2f} points")
    digits, numbers = accuracy(model, number_samples(images, labels))
    print(f"  {'several digits side by side':34s} {digits:8.2%}   {100 * (digits - plain):+6.2f} points"
          f"   ({numbers:.2%} of numbers read whole)")


def speed(model, images, labels, model_path: Path) -> None:
    canvases = single_digit_samples("large on a canvas", images[:200], labels[:200], seed=1)
    with threadpool_limits(1):
        start = time.perf_counter()
        load_model(model_path)
        load_seconds = time.perf_counter() - start
        times = []
        for sample in canvases * 3:
            start = time.perf_counter()
            recognise(sample.data, model)
            times.append(time.perf_counter() - start)
    batch = np.concatenate([images] * (10_000 // len(images) + 1))[:10_000]
    start = time.perf_counter()
    model.predict_proba(batch)
    batch_seconds = time.perf_counter() - start
    print("\nSpeed:")
    print(f"  280x280 canvas PNG to probabilities, one core: median {1000 * statistics.median(times):.2f} ms"
          f" (p90 {1000 * np.percentile(times, 90):.2f} ms, {len(times)} runs)")
    print(f"  batch of 10,000 28x28 digits: {10_000 / batch_seconds:,.0f} digits/s ({batch_seconds:.2f} s)")
    print(f"  model load: {1000 * load_seconds:.0f} ms")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=mnist.DEFAULT_DIR)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--limit", type=int, default=None, help="only the first N test digits")
    args = parser.parse_args(argv)
    images, labels = mnist.load("test", args.data_dir)
    images, labels = images[: args.limit], labels[: args.limit]
    model = load_model(args.model)
    print(f"model {model.version}; card: MNIST test accuracy {model.card['mnist_test']['accuracy']:.4%}, "
          f"trained in {model.card['training_seconds']:.0f} s")
    robustness(model, images, labels)
    speed(model, images, labels, args.model)


if __name__ == "__main__":
    main()

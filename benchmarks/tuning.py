"""The tuning sets: what the engine's choices are made on, so that the benchmark's own cases never are.

    python -m benchmarks.tuning [--model PATH] [--seeds 5 7] [--non-digit-seeds 5 8] [--singles N]

Built as `benchmarks.engine` builds its cases, but from the MNIST training digits 50,000 to 59,999
instead of the test digits, and with other seeds: touching numbers and numbers drawn touching (200 a
seed), non-digits (`non_digit_cases(per_kind=7)`, 188 a seed), and the same training digits read one by
one as PNG. A model trained with `python -m src.ml.train --limit 50000` has seen none of them. The
committed model trained on all 60,000, so with it only the difference between two engines counts.
Prints how many of each set were read as meant. MNIST comes from MNIST_DIR.
"""

import argparse
from pathlib import Path

import numpy as np

from src.ml import DEFAULT_MODEL_PATH, load_model, mnist
from src.ml.evaluate import encode_png, read_all, scores

from .engine import WORLD_SEED, read_cases
from .world import non_digit_cases, touching_cases, touching_drawn_cases

HELD_OUT = 50_000
"""The first training digit that `python -m src.ml.train --limit 50000` leaves out."""
NUMBERS = 200
NON_DIGITS_PER_KIND = 7


def read_as_meant(model, cases) -> str:
    by_kind, _ = read_cases(model, cases)
    return f"{sum(right for right, _ in by_kind.values())} of {len(cases)}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=mnist.configured_dir())
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--seeds", type=int, nargs="+", default=[5, 7], help="of the touching numbers, drawn or not")
    parser.add_argument("--non-digit-seeds", type=int, nargs="+", default=[5, 8])
    parser.add_argument("--singles", type=int, default=10_000, help="held-out training digits read one by one")
    args = parser.parse_args(argv)
    # Numbers drawn touching and non-digits come from pen trajectories, not from MNIST: the benchmark's seed
    # would build the benchmark's own cases.
    if WORLD_SEED in args.seeds + args.non_digit_seeds:
        parser.error(f"seed {WORLD_SEED} builds the benchmark's own cases, which are never tuned on")
    images, labels = mnist.load("train", args.data_dir)
    images, labels = images[HELD_OUT:], labels[HELD_OUT:]
    model = load_model(args.model)
    print(f"model {model.version}; MNIST training digits {HELD_OUT:,} on")
    for seed in args.seeds:
        touching = touching_cases(images, labels, count=NUMBERS, seed=seed)
        drawn = touching_drawn_cases(count=NUMBERS, seed=seed)
        print(
            f"  seed {seed}: touching numbers read whole {read_as_meant(model, touching)}; "
            f"drawn touching {read_as_meant(model, drawn)}"
        )
    for seed in args.non_digit_seeds:
        cases = non_digit_cases(per_kind=NON_DIGITS_PER_KIND, seed=seed)
        print(f"  seed {seed}: non-digits answered no digit {read_as_meant(model, cases)}")
    if args.singles:
        result = scores(read_all(model, [encode_png(i) for i in images[: args.singles]]), labels[: args.singles])
        several = result["not_read_as_one_digit"] - result["answered_no_digit"]
        confusion = np.array(result["confusion_matrix"])
        misread = int(confusion.sum() - np.trace(confusion))
        print(
            f"  single digits: {result['accuracy']:.2%} of {result['samples']:,} right "
            f"({misread} misread, {result['answered_no_digit']} no digit, {several} several)"
        )


if __name__ == "__main__":
    main()

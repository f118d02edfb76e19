"""Measure a model on the MNIST test set through the whole path, from PNG bytes.

python -m src.ml.evaluate [--data-dir DIR] [--model PATH] [--limit N] [--write-card]

With --write-card, the figures replace the `mnist_test` of the model's card: the card then says what the
engine as it is now reads with that model, as the page's About panel and the retraining gate take it.
"""

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from . import mnist
from .model import DEFAULT_MODEL_PATH, DigitModel, card_path, load_model, write_card
from .recognise import recognise
from .types import Recognition


def encode_png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    return data.tobytes()


def read_all(model: DigitModel, encoded: list[bytes], progress: bool = False) -> list[Recognition]:
    """What the engine reads in each image."""
    readings = []
    for i, data in enumerate(encoded):
        readings.append(recognise(data, model))
        if progress and (i + 1) % 2000 == 0:
            print(f"  read {i + 1}/{len(encoded)} images", flush=True)
    return readings


def calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: the gap between confidence and accuracy, over ten equal-width bins."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    return float(
        sum(
            abs(confidence[which == b].mean() - correct[which == b].mean()) * (which == b).mean()
            for b in range(bins)
            if (which == b).any()
        )
    )


def scores(readings: list[Recognition], labels: np.ndarray) -> dict:
    """Accuracy, refusals, confusion matrix and calibration of single-digit readings against their labels.

    An image read as anything but exactly one digit is a miss; those read as no digit are also
    counted apart. Calibration is measured on the images read as one digit.
    """
    one = np.array([len(r.digits) == 1 for r in readings])
    no_digit = np.array([not r.digits for r in readings])
    probabilities = np.stack([r.digits[0].probabilities if len(r.digits) == 1 else np.zeros(10) for r in readings])
    predicted = np.where(one, probabilities.argmax(axis=1), -1)
    confusion = np.zeros((10, 10), int)
    np.add.at(confusion, (labels[one], predicted[one]), 1)
    correct = (predicted == labels)[one]
    true_probability = probabilities[np.arange(len(labels)), labels][one]
    return {
        "samples": int(len(labels)),
        "accuracy": float((predicted == labels).mean()),
        "answered_no_digit": int(no_digit.sum()),
        "not_read_as_one_digit": int((~one).sum()),
        "confusion_matrix": confusion.tolist(),
        "expected_calibration_error": calibration_error(probabilities.max(axis=1)[one], correct),
        "log_loss": float(-np.log(np.clip(true_probability, 1e-15, 1)).mean()),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=mnist.configured_dir())
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--limit", type=int, default=None, help="only the first N test images")
    parser.add_argument("--write-card", action="store_true", help="keep the figures in the model's card")
    args = parser.parse_args(argv)
    if args.write_card and args.limit is not None:
        parser.error("--write-card measures the whole test set: it takes no --limit")
    images, labels = mnist.load("test", args.data_dir)
    images, labels = images[: args.limit], labels[: args.limit]
    model = load_model(args.model)
    start = time.perf_counter()
    result = scores(read_all(model, [encode_png(i) for i in images], progress=True), labels)
    seconds = time.perf_counter() - start
    print(f"model {model.version}")
    print(
        f"MNIST test, whole path from PNG: accuracy {result['accuracy']:.4%} on {result['samples']} digits "
        f"({result['answered_no_digit']} answered no digit, {result['not_read_as_one_digit']} not read as one digit)"
    )
    print(f"calibration: ECE {result['expected_calibration_error']:.4f}, log loss {result['log_loss']:.4f}")
    print(f"{seconds:.1f} s, {len(images) / seconds:.0f} images/s")
    if args.write_card:
        write_card(args.model, {**model.card, "mnist_test": result})
        print(f"wrote the figures to {card_path(args.model)}")


if __name__ == "__main__":
    main()

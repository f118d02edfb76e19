"""Measure the committed model on the MNIST test set through the whole path, from PNG bytes.

    python -m src.ml.evaluate [--data-dir DIR] [--model PATH] [--limit N]
"""
import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from . import mnist
from .model import DEFAULT_MODEL_PATH, DigitModel, load_model
from .recognise import normalised_digits

BLANK = np.full(10, np.nan)


def encode_png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    return data.tobytes()


def whole_path_probabilities(model: DigitModel, encoded: list[bytes], progress: bool = False) -> np.ndarray:
    """Each image's probabilities through decode, segment, normalise and model.

    An image read as anything but exactly one digit scores a row of NaN: a miss.
    """
    found = []
    for i, data in enumerate(encoded):
        found.append(normalised_digits(data))
        if progress and (i + 1) % 2000 == 0:
            print(f"  read {i + 1}/{len(encoded)} images", flush=True)
    single = [i for i, digits in enumerate(found) if len(digits) == 1]
    probabilities = np.tile(BLANK, (len(encoded), 1))
    if single:
        probabilities[single] = model.predict_proba(np.stack([found[i][0][1] for i in single]))
    return probabilities


def scores(probabilities: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy, confusion matrix and calibration of the predictions against the labels."""
    read = ~np.isnan(probabilities[:, 0])
    predicted = np.where(read, np.nan_to_num(probabilities).argmax(axis=1), -1)
    confusion = np.zeros((10, 10), int)
    np.add.at(confusion, (labels[read], predicted[read]), 1)
    confidence = np.nan_to_num(probabilities).max(axis=1)[read]
    correct = (predicted == labels)[read]
    edges = np.linspace(0, 1, 11)
    bins = np.clip(np.digitize(confidence, edges[1:-1]), 0, 9)
    ece = sum(
        abs(confidence[bins == b].mean() - correct[bins == b].mean()) * (bins == b).mean()
        for b in range(10) if (bins == b).any()
    )
    true_probability = np.nan_to_num(probabilities[np.arange(len(labels)), labels])[read]
    return {
        "samples": int(len(labels)),
        "accuracy": float((predicted == labels).mean()),
        "not_read_as_one_digit": int((~read).sum()),
        "confusion_matrix": confusion.tolist(),
        "expected_calibration_error": float(ece),
        "log_loss": float(-np.log(np.clip(true_probability, 1e-15, 1)).mean()),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=mnist.DEFAULT_DIR)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--limit", type=int, default=None, help="only the first N test images")
    args = parser.parse_args(argv)
    images, labels = mnist.load("test", args.data_dir)
    images, labels = images[: args.limit], labels[: args.limit]
    model = load_model(args.model)
    start = time.perf_counter()
    probabilities = whole_path_probabilities(model, [encode_png(i) for i in images], progress=True)
    result = scores(probabilities, labels)
    seconds = time.perf_counter() - start
    print(f"model {model.version}")
    print(f"MNIST test, whole path from PNG: accuracy {result['accuracy']:.4%} on {result['samples']} digits "
          f"({result['not_read_as_one_digit']} not read as one digit)")
    print(f"calibration: ECE {result['expected_calibration_error']:.4f}, log loss {result['log_loss']:.4f}")
    print(f"{seconds:.1f} s, {len(images) / seconds:.0f} images/s")


if __name__ == "__main__":
    main()

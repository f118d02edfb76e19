"""Train the digit model from MNIST and write it with its model card.

    python -m src.ml.train [--data-dir DIR] [--out PATH] [--augment N] [--limit N] [--download]

Every training digit goes through the same normalisation as a served image, then
through the Pipeline; N distorted copies of each are added (slant, rotation, wobble,
pen width). Progress goes to standard output.
"""
import argparse
import platform
import time
from pathlib import Path

import cv2
import joblib
import numpy as np
import PIL
import scipy
import sklearn

from . import mnist
from .augment import distort
from .evaluate import encode_png, scores, whole_path_probabilities
from .ink import find_ink
from .model import DEFAULT_MODEL_PATH, DigitModel, build_pipeline, save_model
from .normalise import normalise_digit


def normalise_mnist(images: np.ndarray) -> np.ndarray:
    """Normalise whole 28x28 images as single digits, as the engine does a digit it has found."""
    return np.stack([normalise_digit(find_ink(image).intensity()) for image in images])


def distorted_copies(images: np.ndarray, copies: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([distort(image, rng) for _ in range(copies) for image in images])


def _in_parallel(function, images: np.ndarray, *args) -> np.ndarray:
    chunks = np.array_split(images, 8)
    return np.concatenate(joblib.Parallel(n_jobs=-1)(joblib.delayed(function)(c, *args) for c in chunks))


def _distort_and_normalise(images: np.ndarray, copies: int, seed: int) -> np.ndarray:
    return normalise_mnist(distorted_copies(images, copies, seed))


def _parameters(pipeline) -> dict:
    simple = (str, int, float, bool, type(None))
    return {k: v for k, v in pipeline.get_params().items() if isinstance(v, simple)}


def train(data_dir: Path, out: Path, augment: int, components: int, limit: int | None, seed: int,
          download: bool) -> dict:
    started = time.perf_counter()

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f} s] {message}", flush=True)

    images, labels = mnist.load("train", data_dir, download)
    test_images, test_labels = mnist.load("test", data_dir, download)
    images, labels = images[:limit], labels[:limit]
    say(f"loaded {len(images)} training digits (hashes verified)")
    X = _in_parallel(normalise_mnist, images)
    y = labels
    if augment:
        # A seed per chunk, so that the copies do not depend on how many workers run.
        seeds = [seed + i for i in range(8)]
        chunks = np.array_split(images, 8)
        copies = joblib.Parallel(n_jobs=-1)(
            joblib.delayed(_distort_and_normalise)(c, augment, s) for c, s in zip(chunks, seeds)
        )
        X = np.concatenate([X, *copies])
        y = np.concatenate([labels, *[np.tile(c_labels, augment) for c_labels in np.array_split(labels, 8)]])
    say(f"normalised {len(X)} digits ({augment} distorted copies of each)")
    pipeline = build_pipeline(components=components, random_state=seed)
    say("fitting deskew -> HOG -> PCA -> SVM, with 5-fold Platt scaling of each pair of digits ...")
    pipeline.fit(X.reshape(len(X), -1), y)
    fit_seconds = time.perf_counter() - started
    say("fitted; evaluating on the 10,000 MNIST test digits through the whole path ...")
    unsaved = DigitModel(pipeline=pipeline, card={}, version="unsaved")
    test = scores(whole_path_probabilities(unsaved, [encode_png(i) for i in test_images]), test_labels)
    say(f"MNIST test accuracy {test['accuracy']:.4%}, ECE {test['expected_calibration_error']:.4f}")
    card = {
        "name": "Handwritten digits: deskew, HOG, PCA and an RBF SVM with pairwise Platt probabilities",
        "training_data": {
            "dataset": "MNIST",
            "content_sha256": mnist.hashes(),
            "training_digits": int(len(images)),
            "distorted_copies_per_digit": augment,
            "samples": int(len(X)),
        },
        "preprocessing": [
            "decode (PNG, JPEG, WebP, BMP, GIF, TIFF; transparency composited)",
            "find ink (polarity, uneven lighting, noise)",
            "segment into digits left to right",
            "normalise: 20x20 box, centred by mass in 28x28, MNIST stroke width",
        ],
        "pipeline": str(pipeline),
        "parameters": _parameters(pipeline),
        "seed": seed,
        "mnist_test": test,
        "training_seconds": round(fit_seconds, 1),
        "libraries": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
            "opencv": cv2.__version__,
            "pillow": PIL.__version__,
            "joblib": joblib.__version__,
        },
    }
    saved = save_model(pipeline, card, out)
    say(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB), version {saved.version}")
    return saved.card


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=mnist.DEFAULT_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--augment", type=int, default=3, help="distorted copies of each training digit")
    parser.add_argument("--components", type=int, default=100, help="PCA components fed to the SVM")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N digits only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--download", action="store_true", help="fetch missing MNIST files, then verify them")
    args = parser.parse_args(argv)
    train(args.data_dir, args.out, args.augment, args.components, args.limit, args.seed, args.download)


if __name__ == "__main__":
    main()

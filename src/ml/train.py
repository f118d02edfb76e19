"""Train the digit model and write it with its model card.

    python -m src.ml.train [--data-dir DIR] [--out PATH] [--augment N] [--limit N] [--test-limit N] [--download]

The training set (`trainingset`) is MNIST normalised as a served digit is, with N distorted
copies of each digit, MNIST digits edited into other countries' styles, digits drawn in the
world's styles, digits cut from touching pairs, and marks that are not digits. Progress goes
to standard output.
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

from . import handwriting, marks, mnist, trainingset
from .evaluate import encode_png, read_all, scores
from .model import DEFAULT_MODEL_PATH, DigitModel, build_pipeline, save_model


def _parameters(pipeline) -> dict:
    simple = (str, int, float, bool, type(None))
    return {k: v for k, v in pipeline.get_params().items() if isinstance(v, simple)}


def _steps(pipeline) -> list[str]:
    """Each step's name and estimator, functions by name: a repr would carry memory addresses."""
    return [
        f"{name}: {getattr(getattr(step, 'func', None), '__name__', type(step).__name__)}"
        for name, step in pipeline.steps
    ]


def train(
    data_dir: Path,
    out: Path,
    augment: int,
    components: int,
    limit: int | None,
    seed: int,
    download: bool,
    test_limit: int | None = None,
    samples: trainingset.Part | None = None,
) -> dict:
    """Train on MNIST's first `limit` training digits and what `trainingset` makes of them, plus
    `samples` (normalised digits people corrected) if given; write the model and its card to `out`."""
    started = time.perf_counter()

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f} s] {message}", flush=True)

    images, labels = mnist.load("train", data_dir, download)
    test_images, test_labels = mnist.load("test", data_dir, download)
    images, labels = images[:limit], labels[:limit]
    test_images, test_labels = test_images[:test_limit], test_labels[:test_limit]
    say(f"loaded {len(images)} training digits (hashes verified)")
    parts = trainingset.build(images, labels, augment, seed, say, samples)
    X = np.concatenate([part.images for part in parts])
    y = np.concatenate([part.labels for part in parts])
    say(f"{len(X):,} samples in all")
    pipeline = build_pipeline(components=components, random_state=seed)
    say("fitting deskew -> HOG -> PCA -> SVM, and the SVMs of 3 calibration folds beside it ...")
    pipeline.fit(X.reshape(len(X), -1), y)
    fit_seconds = time.perf_counter() - started
    say(
        f"fitted, {len(pipeline[-1].support_vectors_):,} support vectors; "
        f"evaluating on {len(test_labels):,} MNIST test digits through the whole path ..."
    )
    unsaved = DigitModel(pipeline=pipeline, card={}, version="unsaved")
    test = scores(read_all(unsaved, [encode_png(i) for i in test_images]), test_labels)
    say(
        f"MNIST test accuracy {test['accuracy']:.4%} ({test['answered_no_digit']} answered no digit), "
        f"ECE {test['expected_calibration_error']:.4f}"
    )
    card = {
        "name": "Handwritten digits and what is not one: deskew, HOG, PCA and an RBF SVM with pairwise Platt "
        "probabilities",
        "classes": "0 to 9, 10 for a mark that is not a digit, and 11 for several digits run together",
        "training_data": {
            "dataset": "MNIST",
            "content_sha256": mnist.hashes(),
            "training_digits": int(len(images)),
            "distorted_copies_per_digit": augment,
            "synthesised": "from MNIST digits and from pen trajectories, by src/ml/trainingset.py",
            "parts": {part.name: int(len(part.labels)) for part in parts},
            "digits_in_other_styles": int(
                sum(len(p.labels) for p in parts if p.name.startswith(("MNIST edited", "digits drawn")))
            ),
            "marks_that_are_not_digits": int(sum(len(p.labels) for p in parts if p.name.startswith("not a digit"))),
            "drawn_styles": list(handwriting.DIGIT_STYLES),
            "marks_not_digits": list(marks.NON_DIGIT_MARKS),
            "letters": marks.LETTERS_UNLIKE_DIGITS,
            "fonts": list(marks.HERSHEY_FONTS),
            "samples": int(len(X)),
            "corrections": int(len(samples.labels)) if samples is not None else 0,
            "fingerprint": trainingset.fingerprint(images, labels, augment, seed),
        },
        "preprocessing": [
            "decode (PNG, JPEG, WebP, BMP, GIF, TIFF; transparency composited)",
            "find ink (polarity, uneven lighting, noise)",
            "segment into blobs left to right; cut touching digits where the pieces read best",
            "normalise: 20x20 box, centred by mass in 28x28, MNIST stroke width",
        ],
        "pipeline": _steps(pipeline),
        "parameters": _parameters(pipeline),
        "support_vectors": int(len(pipeline[-1].support_vectors_)),
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
    parser.add_argument("--data-dir", type=Path, default=mnist.configured_dir())
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--augment", type=int, default=3, help="distorted copies of each training digit")
    parser.add_argument("--components", type=int, default=100, help="PCA components fed to the SVM")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N digits only")
    parser.add_argument("--test-limit", type=int, default=None, help="evaluate on the first N test digits only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--download", action="store_true", help="fetch missing MNIST files, then verify them")
    args = parser.parse_args(argv)
    train(args.data_dir, args.out, args.augment, args.components, args.limit, args.seed, args.download, args.test_limit)


if __name__ == "__main__":
    main()

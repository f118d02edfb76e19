"""The committed model: its accuracy through the whole path, its card, its probabilities."""
import hashlib
import json

import numpy as np

from src.ml import DEFAULT_MODEL_PATH, recognise
from src.ml.evaluate import encode_png, scores, whole_path_probabilities
from src.ml.model import card_path

from benchmarks.variants import compose, dark_on_light, encode


def test_committed_model_reads_the_mnist_test_set_from_png_at_994_percent(model, mnist_test):
    images, labels = mnist_test
    result = scores(whole_path_probabilities(model, [encode_png(i) for i in images]), labels)
    assert result["samples"] == 10_000
    assert result["accuracy"] >= 0.994
    assert result["expected_calibration_error"] < 0.01


def test_model_card_describes_the_committed_file(model):
    card = json.loads(card_path(DEFAULT_MODEL_PATH).read_text())
    digest = hashlib.sha256(DEFAULT_MODEL_PATH.read_bytes()).hexdigest()
    assert card["version"] == model.version == f"svm-hog-{digest[:12]}"
    assert card["training_data"]["content_sha256"]["t10k-images-idx3-ubyte.gz"].startswith("0fa7898d")
    assert card["mnist_test"]["accuracy"] >= 0.994
    assert np.array(card["mnist_test"]["confusion_matrix"]).sum() <= 10_000
    assert {"scikit-learn", "opencv", "numpy"} <= set(card["libraries"])
    assert DEFAULT_MODEL_PATH.stat().st_size < 25_000_000


def test_recognise_gives_a_probability_for_every_digit_and_reads_a_number(model, mnist_test):
    images, labels = mnist_test
    ink, boxes = compose(list(images[:4]), np.random.default_rng(0), scales=(4.0, 6.0))
    result = recognise(encode(dark_on_light(ink)), model)
    assert result.number == "".join(str(v) for v in labels[:4])
    for digit, box in zip(result.digits, boxes):
        assert digit.probabilities.shape == (10,)
        assert abs(digit.probabilities.sum() - 1) < 1e-6
        assert digit.confidence == digit.probabilities.max()
        assert digit.image.shape == (28, 28)
        assert abs(digit.box.x - box.x) <= 3 and abs(digit.box.width - box.width) <= 6


def test_recognise_reads_a_blank_canvas_as_no_digit(model):
    assert recognise(encode(np.full((280, 280), 255, np.uint8)), model).digits == []

"""The committed model: its accuracy through the whole path, its card, its probabilities."""

import hashlib
import json

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from benchmarks.variants import compose, dark_on_light, encode
from src.ml import DEFAULT_MODEL_PATH, mnist, recognise, trainingset
from src.ml.augment import turned
from src.ml.evaluate import encode_png, read_all, scores
from src.ml.model import TURNS, DigitModel, card_path


@pytest.mark.slow
def test_committed_model_reads_the_mnist_test_set_from_png_at_995_percent(model, mnist_test):
    # The 99.5% asked of the engine; it reads 99.51%, and 99.45% without reading hesitant digits again
    # (docs/performance.md).
    images, labels = mnist_test
    result = scores(read_all(model, [encode_png(i) for i in images]), labels)
    assert result["samples"] == 10_000
    assert result["accuracy"] >= 0.995
    # What the page's About panel and the retraining gate report (`python -m src.ml.evaluate --write-card`).
    assert model.card["mnist_test"]["accuracy"] == result["accuracy"]
    assert result["answered_no_digit"] <= 30
    assert result["expected_calibration_error"] < 0.01


@pytest.mark.slow
def test_the_committed_model_is_what_make_train_makes_of_this_code(model, mnist_dir):
    images, labels = mnist.load("train", mnist_dir)
    data = model.card["training_data"]
    made = trainingset.fingerprint(images, labels, data["distorted_copies_per_digit"], model.card["seed"])
    assert made == data["fingerprint"], "This code makes another training set than the model's: run make train."


def test_served_steps_give_the_pipelines_probabilities(model, mnist_test):
    # The SVM's float32 kernel (src/ml/svm.py) turns rounding in the last bits of its input into
    # differences of about 1e-5, and up to about 1e-4 for a digit near a boundary, where the pairwise
    # sigmoids are steep; a step served wrong moves probabilities by far more than 1e-3.
    digits = mnist_test[0][:500]
    served = model.predict_proba(digits)
    assert np.abs(served - model.pipeline.predict_proba(digits.reshape(len(digits), -1))).max() < 1e-3
    assert np.abs(model.predict_proba(digits[:1]) - served[:1]).max() < 1e-4


def test_a_mark_read_unsurely_is_read_again_turned_and_its_readings_averaged(model, mnist_test):
    digits = mnist_test[0][:2000]
    first = model.predict_proba(digits)
    hesitant = first.max(axis=1) < 0.9
    assert 0 < hesitant.sum() < 100
    steadied, plain = model.read_steadied(digits, unsure=0.9), model.read(digits)
    assert np.array_equal(steadied.digits[~hesitant], plain.digits[~hesitant])
    views = [first[hesitant]] + [
        model.predict_proba(np.stack([turned(digit, degrees) for digit in digits[hesitant]])) for degrees in TURNS
    ]
    mean = np.mean(views, axis=0)
    # The views are read here a turn at a time, there all in one batch: the float32 kernel's rounding
    # depends on the batch on some processors (OpenBLAS on AMD: up to about 5e-5), where a view left out
    # of the mean moves it by more than 4e-3.
    assert np.allclose(steadied.one_digit[hesitant], mean[:, :10].sum(axis=1), atol=1e-3)
    assert np.allclose(steadied.digits[hesitant], mean[:, :10] / mean[:, :10].sum(axis=1, keepdims=True), atol=1e-3)
    assert np.allclose(steadied.not_a_digit[hesitant], mean[:, 10], atol=1e-3)
    assert not np.allclose(steadied.digits[hesitant], plain.digits[hesitant], atol=1e-3)


def test_steps_without_a_bare_form_are_served_by_their_own_transform():
    rng = np.random.default_rng(0)
    digits, labels = rng.integers(0, 256, (60, 28, 28), dtype=np.uint8), rng.integers(0, 3, 60)
    pipeline = Pipeline(
        [
            ("root", FunctionTransformer(np.sqrt, validate=True)),
            ("pca", PCA(n_components=5, whiten=True, random_state=0)),
            ("classify", LogisticRegression()),
        ]
    ).fit(digits.reshape(60, -1), labels)
    served = DigitModel(pipeline=pipeline, card={}, version="test").predict_proba(digits)
    assert np.allclose(served, pipeline.predict_proba(digits.reshape(60, -1)), rtol=0, atol=1e-12)


def test_model_card_describes_the_committed_file(model):
    card = json.loads(card_path(DEFAULT_MODEL_PATH).read_text())
    digest = hashlib.sha256(DEFAULT_MODEL_PATH.read_bytes()).hexdigest()
    assert card["version"] == model.version == f"svm-hog-{digest[:12]}"
    assert card["training_data"]["content_sha256"]["t10k-images-idx3-ubyte.gz"].startswith("0fa7898d")
    assert card["mnist_test"]["accuracy"] >= 0.994
    assert np.array(card["mnist_test"]["confusion_matrix"]).sum() <= 10_000
    assert {"scikit-learn", "opencv", "numpy"} <= set(card["libraries"])
    assert DEFAULT_MODEL_PATH.stat().st_size < 25_000_000
    # What was synthesised, and how much, is on the card; no memory address is.
    assert card["training_data"]["parts"]["digits drawn in the world's styles"] > 10_000
    assert "1 continental" in card["training_data"]["drawn_styles"]
    assert " at 0x" not in json.dumps(card)


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


def test_recognise_reads_a_blank_canvas_as_no_digit_and_no_mark(model):
    reading = recognise(encode(np.full((280, 280), 255, np.uint8)), model)
    assert reading.digits == [] and reading.marks == 0

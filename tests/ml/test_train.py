"""The training command keeps working: a small run writes a loadable model and a full card."""

import pytest

from src.ml import evaluate, load_model, recognise
from src.ml.evaluate import encode_png
from src.ml.train import main

# Trains a model.
pytestmark = pytest.mark.slow


def test_training_on_a_small_subset_writes_a_model_that_reads_digits(tmp_path, mnist_dir, mnist_test, capsys):
    out = tmp_path / "small.joblib"
    main(["--data-dir", str(mnist_dir), "--out", str(out), "--limit", "1500", "--augment", "1", "--test-limit", "500"])
    printed = capsys.readouterr().out
    assert "normalised 1,500 MNIST digits and 1 distorted copies" in printed and "MNIST test accuracy" in printed
    model = load_model(out)
    parts = model.card["training_data"]["parts"]
    assert parts["MNIST"] == 1500 and parts["MNIST, 1 distorted copies"] == 1500
    assert parts["not a digit: letters"] > 0 and parts["touching numbers read whole (several digits)"] > 0
    assert model.card["training_data"]["samples"] == sum(parts.values())
    assert model.card["mnist_test"]["samples"] == 500 and model.card["mnist_test"]["accuracy"] > 0.9
    images, labels = mnist_test
    hits = sum(recognise(encode_png(i), model).number == str(label) for i, label in zip(images[:200], labels[:200]))
    assert hits >= 180

    # After a change to the engine, the card's MNIST figures are measured again on the whole test set.
    evaluate.main(["--data-dir", str(mnist_dir), "--model", str(out), "--write-card"])
    card = load_model(out).card
    assert card["mnist_test"]["samples"] == 10_000 and card["version"] == model.version
    assert f"accuracy {card['mnist_test']['accuracy']:.4%} on 10000 digits" in capsys.readouterr().out

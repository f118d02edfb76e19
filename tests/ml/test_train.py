"""The training command keeps working: a small run writes a loadable model and a full card."""
from src.ml import load_model, recognise
from src.ml.evaluate import encode_png
from src.ml.train import main


def test_training_on_a_small_subset_writes_a_model_that_reads_digits(tmp_path, mnist_dir, mnist_test, capsys):
    out = tmp_path / "small.joblib"
    main(["--data-dir", str(mnist_dir), "--out", str(out), "--limit", "1500", "--augment", "1"])
    printed = capsys.readouterr().out
    assert "normalised 3000 digits" in printed and "MNIST test accuracy" in printed
    model = load_model(out)
    assert model.card["training_data"]["samples"] == 3000
    assert model.card["mnist_test"]["accuracy"] > 0.9
    images, labels = mnist_test
    hits = sum(recognise(encode_png(i), model).number == str(label) for i, label in zip(images[:200], labels[:200]))
    assert hits >= 180

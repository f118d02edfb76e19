"""The `flask retrain` command: a candidate model trained as the served one was, plus the digits people
corrected, and served only if the gate (src/ml/gate.py) finds it no worse than the version in use.

Exit status 0 when the candidate is promoted, 3 when it is kept unpromoted and nothing served changes.
"""

import tempfile
from pathlib import Path

import click
import numpy as np
from flask import Flask, current_app
from flask.cli import with_appcontext

from src import storage, versions
from src.database import utc_now
from src.ml import gate, mnist, train
from src.ml.trainingset import Part

REFUSED = 3


def corrected_samples() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Every stored sample: inputs (n, 28, 28), true digits (n,) and writers."""
    rows = list(storage.sample_rows())
    images = np.frombuffer(b"".join(row[1] for row in rows), np.uint8).reshape(-1, 28, 28)
    return images, np.array([row[0] for row in rows], int), [row[2] or "" for row in rows]


@click.command("retrain")
@with_appcontext
@click.option(
    "--train-limit",
    type=click.IntRange(min=1),
    default=None,
    help="Train on the first N MNIST training digits only, for a quick run.",
)
@click.option(
    "--test-limit", type=click.IntRange(min=1), default=None, help="Gate on the first N MNIST test digits only."
)
@click.option(
    "--augment",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Distorted copies of each training digit, as `make train` makes.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=mnist.configured_dir,
    show_default="MNIST_DIR",
    help="The MNIST files.",
)
def retrain_command(train_limit, test_limit, augment, seed, data_dir) -> None:
    """Train a candidate on MNIST plus the corrected samples; promote it if the gate passes, else exit 3."""
    app: Flask = current_app._get_current_object()
    try:
        test_images, test_labels = mnist.load("test", data_dir)
    except mnist.MnistError as error:
        raise click.ClickException(str(error)) from None
    images, labels, writers = corrected_samples()
    held = gate.held_back(writers)
    current = versions.in_use(app)
    click.echo(
        f"{len(labels):,} samples from {len(set(writers)):,} writers: training on {int((~held).sum()):,}, "
        f"holding back the {int(held.sum()):,} of {len(set(np.array(writers)[held])):,} writers to test on. "
        f"In use: {current.version}."
    )
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "candidate.joblib"
        card = train.train(
            data_dir,
            out,
            augment,
            components=100,
            limit=train_limit,
            seed=seed,
            download=False,
            test_limit=test_limit,
            samples=Part("digits people corrected", images[~held], labels[~held]),
        )
        model = out.read_bytes()
    candidate = versions.as_model(model, card)
    click.echo(f"gate: reading the {len(test_labels[:test_limit]):,} MNIST test digits with {current.version} ...")
    # The candidate's training read the same MNIST test digits, through the same path.
    verdict = gate.judge(
        current,
        candidate,
        test_images[:test_limit],
        test_labels[:test_limit],
        images[held],
        labels[held],
        candidate_mnist=card["mnist_test"]["accuracy"],
    )
    click.echo(gate.table(verdict))
    card = {
        **card,
        "created_at": versions.timestamp(utc_now()),
        "parent": current.version,
        "corrections": {"training": int((~held).sum()), "held_back": int(held.sum()), "writers": len(set(writers))},
        "gate": verdict.figures(),
    }
    versions.add_version(app, model, card, promote=verdict.promote)
    if not verdict.promote:
        click.echo(f"kept {candidate.version} unpromoted; still serving {current.version}.")
        raise SystemExit(REFUSED)
    click.echo(f"promoted {candidate.version}: every process of the service serves it within a few seconds.")


def init_app(app: Flask) -> None:
    app.cli.add_command(retrain_command)

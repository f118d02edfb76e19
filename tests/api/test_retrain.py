"""Learning from corrections, end to end: people correct readings of `python run.py`, the service restarts
(predictions cleared, samples kept), `flask retrain` trains a candidate and gates it, and the running
service serves the version promoted or chosen with `flask model use`, naming it in its answers.

The model in use is one trained here on a small part of MNIST, so that a candidate trained the same way
plus the samples is comparable with it, whatever model the repository ships."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from benchmarks.uploads import b64, written
from src.ml import load_model
from tests.api.conftest import SMALL_MODEL
from tests.api.test_http import run_py
from tests.conftest import ADMIN, ADMIN_TOKEN, ROOT

# Trains models and restarts the service.
pytestmark = pytest.mark.slow

TRAIN_LIMIT, AUGMENT, TEST_LIMIT = (
    str(SMALL_MODEL["limit"]),
    str(SMALL_MODEL["augment"]),
    str(SMALL_MODEL["test_limit"]),
)
# Three writers, each writing numbers and giving the true digits.
WRITINGS = {"ana": ["17", "4", "90"], "bo": ["71", "9", "24"], "chen": ["1", "74", "59"]}


@pytest.fixture
def instance(tmp_path, no_service_environment) -> Path:
    """An instance folder whose config.py sets the admin token, as a deployment's would."""
    folder = tmp_path / "instance"
    folder.mkdir()
    (folder / "config.py").write_text(f"ADMIN_TOKEN = {ADMIN_TOKEN!r}\nQUOTA_PREDICTIONS_PER_HOUR = 0\n")
    return folder


def flask(instance: Path, model: Path, *args: str) -> subprocess.CompletedProcess:
    """`flask --app src ...` run as an operator would, on the service's instance folder."""
    env = {
        **os.environ,
        "INSTANCE_PATH": str(instance),
        "MODEL_PATH": str(model),
        "MODEL_DIR": str(instance / "models"),
    }
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "src", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def retrain(
    instance: Path, model: Path, mnist_dir: Path, train_limit: str = TRAIN_LIMIT
) -> subprocess.CompletedProcess:
    return flask(
        instance,
        model,
        "retrain",
        "--train-limit",
        train_limit,
        "--augment",
        AUGMENT,
        "--test-limit",
        TEST_LIMIT,
        "--data-dir",
        str(mnist_dir),
    )


def run(instance: Path, model: Path):
    return run_py(instance, MODEL_PATH=str(model), MODEL_DIR=str(instance / "models"))


def served_version(base_url: str) -> str:
    response = requests.post(f"{base_url}/api/predict", json={"image": b64(written("3")), "save": False}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["model"]


def serves_within(base_url: str, version: str, seconds: float = 5) -> list[str]:
    """The versions that answered, one request after another, until `version` does (within `seconds`)."""
    answered, deadline = [], time.monotonic() + seconds
    while not answered or answered[-1] != version:
        assert time.monotonic() < deadline, f"still answering with {answered[-1]} after {seconds} s, not {version}"
        answered.append(served_version(base_url))
        # Few requests: run.py's log goes to a pipe that is read only at the end.
        time.sleep(0.1)
    return answered


def correct_as_writers(base_url: str) -> int:
    """Each writer writes their numbers in a browser session of their own and gives the true digits."""
    corrected = 0
    for numbers in WRITINGS.values():
        writer = requests.Session()
        for number in numbers:
            read = writer.post(
                f"{base_url}/api/predict", json={"image": b64(written(number, size=(200 * len(number), 280)))}
            )
            assert read.status_code == 201, read.text
            assert len(read.json()["number"]) == len(number), "each number is written so that its digits are found"
            labelled = writer.patch(f"{base_url}/api/predictions/{read.json()['id']}", json={"label": number})
            assert labelled.status_code == 200
            corrected += len(number)
    return corrected


def test_corrections_outlive_a_restart_and_the_promoted_retrain_is_served_until_rolled_back(
    instance, small_model, mnist_dir
):
    base = load_model(small_model).version
    with run(instance, small_model) as base_url:
        corrected = correct_as_writers(base_url)
    with run(instance, small_model) as base_url:
        after_restart = requests.get(f"{base_url}/api/predictions", headers=ADMIN).json()["total"]
        samples = requests.get(f"{base_url}/api/samples", headers=ADMIN).json()
        before = served_version(base_url)

        retrained = retrain(instance, small_model, mnist_dir)
        listed = requests.get(f"{base_url}/api/model").json()
        new = next(version for version in listed["versions"] if version["version"] != base)
        switched = serves_within(base_url, new["version"])
        card = requests.get(f"{base_url}/api/model").json()
        rolled_back = flask(instance, small_model, "model", "use", base)
        back = serves_within(base_url, base)
        again = flask(instance, small_model, "model", "use", new["version"])
        forward = serves_within(base_url, new["version"])

    assert after_restart == 0, "the restart clears the predictions"
    assert samples["total"] == corrected == 15, "and keeps the samples"
    assert before == base
    assert retrained.returncode == 0, retrained.stdout + retrained.stderr
    output = retrained.stdout
    assert "training on 10, holding back the 5 of 1 writers" in output
    assert "fitting deskew -> HOG -> PCA -> SVM" in output, "progress is shown while it trains"
    assert f"version                  {base}  {new['version']}" in output
    assert "MNIST test (300 digits)" in output and "held-back samples (5)" in output
    assert "verdict: promote" in output
    assert new["promoted"] and new["parent"] == base
    assert new["corrections"] == {"training": 10, "held_back": 5, "writers": 3}
    gate = new["gate"]
    assert gate["candidate"]["mnist_test"] >= gate["current"]["mnist_test"] - 0.001
    assert gate["candidate"]["held_back"] >= gate["current"]["held_back"]
    assert set(switched) <= {base, new["version"]}
    assert card["version"] == new["version"]
    assert card["training_data"]["corrections"] == 10, "the candidate learned from the samples of unseen writers"
    assert [(v["version"], v["in_use"]) for v in card["versions"]] == [(base, False), (new["version"], True)]
    assert rolled_back.returncode == again.returncode == 0
    assert set(back) <= {base, new["version"]} and set(forward) <= {base, new["version"]}


def test_a_worse_candidate_is_kept_unpromoted_and_the_service_goes_on_with_the_model_in_use(
    instance, small_model, mnist_dir
):
    base = load_model(small_model).version
    with run(instance, small_model) as base_url:
        correct_as_writers(base_url)
        # Trained on a tenth of the digits the model in use learned from: worse on MNIST.
        refused = retrain(instance, small_model, mnist_dir, train_limit="100")
        time.sleep(2.5)
        answered = [served_version(base_url) for _ in range(3)]
        versions = requests.get(f"{base_url}/api/model").json()["versions"]
        unknown = flask(instance, small_model, "model", "use", "svm-hog-000000000000")

    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "verdict: keep the model in use: MNIST test accuracy fell by" in refused.stdout
    candidate = versions[1]
    assert (candidate["promoted"], candidate["in_use"], candidate["promoted_at"]) == (False, False, None)
    assert candidate["gate"]["promoted"] is False
    assert answered == [base] * 3
    assert unknown.returncode != 0 and "There is no model version 'svm-hog-000000000000'" in unknown.stderr

"""Corrections as training data: each corrected digit kept as a sample, changed with its correction,
kept when the predictions are cleared; listed and exported for the admin only."""

import csv
import io
import struct
import zipfile

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from benchmarks.uploads import b64, written
from src import storage
from src.database import db
from src.tables import Sample
from tests.conftest import ADMIN


def predict(client, image: bytes, **options) -> dict:
    response = client.post("/api/predict", json={"image": b64(image), "source": "canvas", **options})
    assert response.status_code in (200, 201), response.json
    return response.json


def correct(client, prediction_id: str, label: str | None):
    response = client.patch(f"/api/predictions/{prediction_id}", json={"label": label})
    assert response.status_code == 200, response.json
    return response


def samples(client) -> list[tuple[int, int]]:
    """(true digit, digit read) of every sample, oldest first, as the admin lists them."""
    response = client.get("/api/samples?per_page=100", headers=ADMIN)
    assert response.status_code == 200
    return [(item["label"], item["read"]) for item in reversed(response.json["items"])]


@pytest.fixture
def number(client) -> dict:
    """A stored prediction of a written 17."""
    found = predict(client, written("17", size=(420, 280)))
    assert found["number"] == "17"
    return found


def test_a_correction_keeps_each_digit_with_its_true_and_read_digits_and_the_input_the_model_saw(app, client, number):
    correct(client, number["id"], "12")

    assert samples(client) == [(1, 1), (2, 7)]
    with app.app_context():
        stored = db.session.execute(select(Sample).order_by(Sample.position)).scalars().all()
        prediction = storage.get_prediction(number["id"])
        assert b"".join(sample.input for sample in stored) == prediction.inputs
        assert {(sample.model_version, sample.source, sample.client_id) for sample in stored} == {
            (number["model"], "canvas", prediction.client_id)
        }


def test_changing_or_withdrawing_a_correction_changes_its_samples(client, number):
    correct(client, number["id"], "12")
    correct(client, number["id"], "14")
    changed = samples(client)
    correct(client, number["id"], None)

    assert changed == [(1, 1), (4, 7)]
    assert samples(client) == []


def test_a_drawing_read_again_in_place_of_a_corrected_one_withdraws_its_samples(client, number):
    correct(client, number["id"], "12")

    predict(client, written("174", size=(560, 280)), replaces=number["id"])

    assert samples(client) == []


def test_deleting_a_prediction_deletes_its_samples_but_clearing_the_predictions_keeps_them(app, client, number):
    correct(client, number["id"], "17")
    other = predict(client, written("3"))
    correct(client, other["id"], "8")
    client.delete(f"/api/predictions/{other['id']}")
    assert samples(client) == [(1, 1), (7, 7)]

    cleared = client.delete("/api/predictions", headers=ADMIN)
    storage.start(app)

    assert cleared.json == {"deleted": 1}
    assert client.get("/api/predictions", headers=ADMIN).json["total"] == 0
    assert samples(client) == [(1, 1), (7, 7)]


def test_a_correction_whose_samples_cannot_be_stored_is_not_stored_either(app, client, number, monkeypatch):
    def failing(self, instances):
        raise RuntimeError("the samples could not be written")

    monkeypatch.setattr(Session, "add_all", failing)
    with pytest.raises(RuntimeError):
        client.patch(f"/api/predictions/{number['id']}", json={"label": "12"})
    monkeypatch.undo()

    assert client.get(f"/api/predictions/{number['id']}").json["label"] is None
    assert samples(client) == []


def test_the_samples_list_pages_newest_first_with_counts_of_each_digit(client, number):
    correct(client, number["id"], "17")
    correct(client, predict(client, written("3"))["id"], "3")
    correct(client, predict(client, written("7"))["id"], "1")

    first = client.get("/api/samples?per_page=2", headers=ADMIN).json
    second = client.get("/api/samples?per_page=2&page=2", headers=ADMIN).json

    assert [item["label"] for item in first["items"] + second["items"]] == [1, 3, 7, 1]
    assert (first["total"], first["pages"], second["page"]) == (4, 2, 2)
    assert first["counts"] == {"0": 0, "1": 2, "2": 0, "3": 1, "4": 0, "5": 0, "6": 0, "7": 1, "8": 0, "9": 0}


@pytest.mark.parametrize("path", ["/api/samples", "/api/samples/export"])
def test_only_the_admin_token_sees_the_samples(make_app, client, number, path):
    correct(client, number["id"], "17")

    without = client.get(path)
    wrong = client.get(path, headers={"Authorization": "Bearer not-the-admin-token"})
    unconfigured = make_app(ADMIN_TOKEN=None).test_client().get(path)

    assert (without.status_code, wrong.status_code, unconfigured.status_code) == (401, 401, 403)
    assert without.mimetype == "application/problem+json"


def test_the_samples_export_as_csv_and_idx_with_their_true_digits(app, client, number):
    correct(client, number["id"], "12")
    with app.app_context():
        inputs = storage.get_prediction(number["id"]).inputs

    rows = list(csv.reader(io.StringIO(client.get("/api/samples/export?format=csv", headers=ADMIN).text)))
    archive = zipfile.ZipFile(io.BytesIO(client.get("/api/samples/export?format=idx", headers=ADMIN).data))
    images = archive.read("digits-images-idx3-ubyte")
    labels = archive.read("digits-labels-idx1-ubyte")

    assert [row[0] for row in rows[1:]] == ["1", "2"]
    pixels = np.array([[int(value) for value in row[1:]] for row in rows[1:]], np.uint8)
    assert pixels.tobytes() == inputs
    assert struct.unpack(">IIII", images[:16]) == (0x0803, 2, 28, 28)
    assert images[16:] == inputs
    assert labels[8:] == bytes([1, 2])


def test_an_unknown_export_format_is_a_400(client):
    response = client.get("/api/samples/export?format=xml", headers=ADMIN)

    assert response.status_code == 400
    assert "csv or idx" in response.json["detail"]


def test_a_misspelt_query_parameter_is_a_400_not_ignored(client):
    response = client.get("/api/samples?perpage=5", headers=ADMIN)

    assert response.status_code == 400
    assert response.json["detail"] == "Unknown query parameter 'perpage'; this takes only page, per_page."

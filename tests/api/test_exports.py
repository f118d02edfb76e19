"""The stored digits exported as a dataset, and the statistics of what was read and corrected."""

import csv
import io
import struct
import zipfile

import numpy as np
import pytest
import requests
from sqlalchemy import insert

from benchmarks.uploads import b64
from src.database import db
from src.ml import recognise
from src.tables import Prediction, new_public_id
from tests.conftest import ADMIN, serving


def test_the_csv_export_has_a_row_per_digit_labelled_by_its_correction_else_its_reading(
    app, client, three, number_2024
):
    client.patch(f"/api/predictions/{three[0]['id']}", json={"label": "1"})

    response = client.get("/api/predictions/export?format=csv")

    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=digits.csv"
    header, *rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert header == ["label", *(f"pixel{i}" for i in range(784))]
    assert [row[0] for row in rows] == ["1", "2", "0", "2", "4", "3"]
    engine = recognise(number_2024, app.extensions["served_model"].base)
    assert [[int(value) for value in row[1:]] for row in rows[1:5]] == [d.image.ravel().tolist() for d in engine.digits]


def test_the_idx_export_is_a_zip_of_mnist_idx_files(app, client, three, number_2024):
    client.patch(f"/api/predictions/{three[1]['id']}", json={"label": "2021"})

    response = client.get("/api/predictions/export?format=idx")

    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == "attachment; filename=digits-idx.zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.namelist() == ["digits-images-idx3-ubyte", "digits-labels-idx1-ubyte"]
    images, labels = (archive.read(name) for name in archive.namelist())
    assert struct.unpack(">IIII", images[:16]) == (0x0803, 6, 28, 28)
    assert struct.unpack(">II", labels[:8]) == (0x0801, 6)
    assert list(labels[8:]) == [7, 2, 0, 2, 1, 3]
    pixels = np.frombuffer(images[16:], np.uint8).reshape(6, 28, 28)
    engine = recognise(number_2024, app.extensions["served_model"].base)
    assert np.array_equal(pixels[1:5], np.stack([d.image for d in engine.digits]))


def test_an_empty_store_exports_an_empty_dataset(client):
    csv_text = client.get("/api/predictions/export").get_data(as_text=True)
    archive = zipfile.ZipFile(io.BytesIO(client.get("/api/predictions/export?format=idx").data))

    assert csv_text.count("\n") == 1
    assert struct.unpack(">IIII", archive.read("digits-images-idx3-ubyte")) == (0x0803, 0, 28, 28)
    assert struct.unpack(">II", archive.read("digits-labels-idx1-ubyte")) == (0x0801, 0)


def test_a_client_exports_its_own_digits_and_the_admin_token_every_clients(app, seven, number_2024):
    mine, theirs, stranger = app.test_client(), app.test_client(), app.test_client()
    mine.post("/api/predict", json={"image": b64(seven)})
    theirs.post("/api/predict", json={"image": b64(number_2024)})

    def labels(client, **headers) -> list[str]:
        answer = client.get("/api/predictions/export?format=csv", headers=headers)
        assert answer.status_code == 200
        return [row[0] for row in list(csv.reader(io.StringIO(answer.get_data(as_text=True))))[1:]]

    assert labels(mine) == ["7"]
    assert labels(theirs) == ["2", "0", "2", "4"]
    assert labels(stranger) == []
    assert labels(stranger, **ADMIN) == ["7", "2", "0", "2", "4"]
    archive = zipfile.ZipFile(io.BytesIO(stranger.get("/api/predictions/export?format=idx").data))
    assert struct.unpack(">II", archive.read("digits-labels-idx1-ubyte")) == (0x0801, 0)
    assert stranger.get("/api/predictions/export", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_an_unknown_export_format_is_400(client):
    response = client.get("/api/predictions/export?format=xlsx")

    assert response.status_code == 400
    assert response.json["detail"] == "The query parameter 'format' must be csv or idx, not 'xlsx'."
    misspelt = client.get("/api/predictions/export?fromat=idx")
    assert misspelt.status_code == 400
    assert misspelt.json["detail"] == "Unknown query parameter 'fromat'; this takes only format."


def test_stats_count_the_digits_read_and_the_corrections(client, three):
    client.patch(f"/api/predictions/{three[0]['id']}", json={"label": "1"})
    client.patch(f"/api/predictions/{three[1]['id']}", json={"label": "2024"})

    stats = client.get("/api/stats").json

    assert stats["predictions"] == 3
    assert stats["digit_counts"] == [1, 0, 2, 1, 1, 0, 0, 1, 0, 0]
    assert stats["corrections"] == 2
    assert stats["accuracy"] == 0.5
    expected = np.zeros((10, 10), int)
    for true, read in [(1, 7), (2, 2), (0, 0), (2, 2), (4, 4)]:
        expected[true, read] += 1
    assert stats["confusion_matrix"] == expected.tolist()


def test_stats_of_an_empty_store(client):
    stats = client.get("/api/stats").json

    assert (stats["predictions"], stats["corrections"], stats["accuracy"]) == (0, 0, None)
    assert stats["digit_counts"] == [0] * 10
    assert stats["confusion_matrix"] == [[0] * 10] * 10


def store_rows(app, rows: list[dict]) -> None:
    """Rows written straight to the table, as an older version or another program may have left them."""
    digit = {
        "digit": 0,
        "confidence": 1.0,
        "probabilities": [1.0] + [0.0] * 9,
        "box": {"x": 0, "y": 0, "width": 1, "height": 1},
    }
    defaults = {
        "image": b"",
        "content_type": "image/png",
        "sha256": "0" * 64,
        "digits": [digit],
        "model_version": "m",
        "source": "api",
    }
    with app.app_context():
        db.session.execute(insert(Prediction), [{**defaults, "public_id": new_public_id(), **row} for row in rows])
        db.session.commit()


def test_stats_and_exports_survive_any_stored_reading_or_label(app, client, three):
    four = bytes(4 * 784)
    store_rows(
        app,
        [
            {"number": "2024", "inputs": four, "label": "202\n"},
            {"number": "2024", "inputs": four, "label": "abcd"},
            {"number": "2024", "inputs": four, "label": "7"},
            {"number": "x", "inputs": bytes(784), "label": None},
            {"number": "", "inputs": b"", "label": ""},
            {"number": "77", "inputs": bytes(784), "label": None},
        ],
    )

    stats = client.get("/api/stats")
    # Each streamed answer read before the next request, as a client does.
    csv_export = client.get("/api/predictions/export?format=csv", headers=ADMIN)
    csv_export.get_data()
    idx_export = client.get("/api/predictions/export?format=idx", headers=ADMIN)
    idx_export.get_data()

    assert stats.status_code == csv_export.status_code == idx_export.status_code == 200
    # Stats count every reading of digits; exports, those with one input per digit. Bad labels are no corrections.
    assert (stats.json["predictions"], stats.json["corrections"]) == (7, 0)
    rows = list(csv.reader(io.StringIO(csv_export.get_data(as_text=True))))[1:]
    assert [row[0] for row in rows] == list("720243202420242024")
    archive = zipfile.ZipFile(io.BytesIO(idx_export.data))
    assert archive.read("digits-labels-idx1-ubyte")[8:] == bytes([7, 2, 0, 2, 4, 3, *[2, 0, 2, 4] * 3])


def test_an_export_that_outlasts_its_time_fails_where_the_client_sees_it(make_app):
    app = make_app(EXPORT_TIMEOUT=0)
    store_rows(app, [{"number": "7", "inputs": bytes(784)}] * 5000)

    with serving(app) as base_url:
        response = requests.get(f"{base_url}/api/predictions/export?format=csv", headers=ADMIN, stream=True, timeout=30)
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            b"".join(response.iter_content(65536))
        after = requests.get(f"{base_url}/api/health", timeout=30)

    assert response.status_code == 200
    assert after.status_code == 200, "the service goes on"

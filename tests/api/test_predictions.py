"""Stored predictions over the API: listing, one prediction and its images, corrections, deletion,
the dataset export and the statistics; what is stored of an upload, and who may read it."""
import csv
import io
import re
import struct
import zipfile
from datetime import datetime

import numpy as np
import pytest
import requests
from PIL import Image, PngImagePlugin
from sqlalchemy import insert

from benchmarks.corpus import encoded, la_tiff, lab_tiff, photo_with_location
from src.ml import decode_image, recognise
from src.storage import Prediction, db, new_public_id
from benchmarks.uploads import b64, written
from tests.conftest import ADMIN_TOKEN, serving

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def predict(client, image: bytes) -> dict:
    response = client.post("/api/predict", json={"image": b64(image), "source": "canvas"})
    assert response.status_code == 201, response.json
    return response.json


def listed(client, query: str = "") -> list[str]:
    response = client.get(f"/api/predictions{query}")
    assert response.status_code == 200
    return [item["number"] for item in response.json["items"]]


@pytest.fixture
def three(client, seven, number_2024) -> list[dict]:
    """Three stored predictions, oldest first: 7, 2024 and 3."""
    return [predict(client, image) for image in (seven, number_2024, written("3"))]


def test_predictions_are_listed_newest_first_with_the_total(client, three):
    response = client.get("/api/predictions")

    assert [item["id"] for item in response.json["items"]] == [p["id"] for p in reversed(three)]
    assert [item["number"] for item in response.json["items"]] == ["3", "2024", "7"]
    counts = {key: response.json[key] for key in ("total", "page", "per_page", "pages")}
    assert counts == {"total": 3, "page": 1, "per_page": 20, "pages": 1}


def test_each_client_lists_only_the_predictions_it_made(app, client, three, seven):
    other = app.test_client()
    other_id = predict(other, seven)["id"]

    mine = client.get("/api/predictions").json
    theirs = other.get("/api/predictions").json
    newcomer = app.test_client().get("/api/predictions").json
    everyone = app.test_client().get("/api/predictions", headers=ADMIN).json

    assert ([item["id"] for item in mine["items"]], mine["total"]) == ([p["id"] for p in reversed(three)], 3)
    assert ([item["id"] for item in theirs["items"]], theirs["total"]) == ([other_id], 1)
    assert (newcomer["items"], newcomer["total"]) == ([], 0)
    assert everyone["total"] == 4
    assert other.get("/api/predictions?digit=2").json["items"] == [], "filters apply within the client's own"


def test_listing_with_a_wrong_admin_token_is_401(client, three):
    response = client.get("/api/predictions", headers={"Authorization": "Bearer guess"})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "The admin token is wrong" in response.json["detail"]


def test_predictions_are_paginated(client, seven):
    ids = [predict(client, seven)["id"] for _ in range(5)]

    pages = [client.get(f"/api/predictions?per_page=2&page={page}").json for page in (1, 2, 3, 4)]

    assert [[item["id"] for item in page["items"]] for page in pages] == [ids[4:2:-1], ids[2:0:-1], ids[:1], []]
    assert {(page["total"], page["pages"]) for page in pages} == {(5, 3)}


def test_predictions_are_filtered_by_a_digit_read(client, three):
    assert listed(client, "?digit=2") == ["2024"]
    assert listed(client, "?digit=7") == ["7"]
    assert listed(client, "?digit=9") == []
    assert client.get("/api/predictions?digit=2").json["total"] == 1


def test_predictions_are_filtered_by_their_corrected_label(client, three):
    client.patch(f"/api/predictions/{three[0]['id']}", json={"label": "1"})

    assert listed(client, "?label=1") == ["7"]
    assert listed(client, "?label=7") == []
    assert listed(client, "?label=1&digit=2") == []


@pytest.mark.parametrize(
    "query, detail",
    [
        ("page=0", "'page' must be at least 1"),
        ("page=two", "'page' must be a whole number"),
        ("per_page=101", "'per_page' must be from 1 to 100"),
        ("digit=10", "'digit' must be from 0 to 9"),
        ("digit=a", "'digit' must be a whole number"),
        ("label=seven", "'label' must be digits"),
    ],
)
def test_bad_list_parameters_are_400(client, query, detail):
    response = client.get(f"/api/predictions?{query}")

    assert response.status_code == 400
    assert detail in response.json["detail"]


def test_a_prediction_is_shown_with_links_to_its_images(client, three):
    prediction = three[1]

    shown = client.get(f"/api/predictions/{prediction['id']}").json

    assert {key: shown[key] for key in ("id", "number", "digits", "model")} == {
        key: prediction[key] for key in ("id", "number", "digits", "model")
    }
    assert (shown["source"], shown["content_type"]) == ("canvas", "image/png")
    assert (shown["label"], shown["labelled_at"]) == (None, None)
    assert datetime.fromisoformat(shown["created_at"]).utcoffset().total_seconds() == 0
    assert shown["image_url"] == f"/api/predictions/{prediction['id']}/image"
    assert shown["input_url"] == f"/api/predictions/{prediction['id']}/input.png"


MISSING = "A" * 22


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", f"/api/predictions/{MISSING}"),
        ("GET", f"/api/predictions/{MISSING}/image"),
        ("GET", f"/api/predictions/{MISSING}/input.png"),
        ("PATCH", f"/api/predictions/{MISSING}"),
        ("DELETE", f"/api/predictions/{MISSING}"),
    ],
)
def test_a_missing_prediction_is_404(client, method, path):
    response = client.open(path, method=method, json={"label": "7"}, headers=ADMIN)

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["detail"] == f"There is no prediction {MISSING}; it may have been deleted."


@pytest.mark.parametrize(
    "image_format, content_type", [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_the_image_comes_back_as_uploaded(client, image_format, content_type):
    image = written("7", image_format=image_format)
    prediction = predict(client, image)

    response = client.get(f"/api/predictions/{prediction['id']}/image")

    assert response.data == image
    assert response.mimetype == content_type


def test_input_png_shows_the_normalised_digits_side_by_side(app, client, number_2024):
    prediction = predict(client, number_2024)

    response = client.get(f"/api/predictions/{prediction['id']}/input.png")

    assert response.mimetype == "image/png"
    shown = Image.open(io.BytesIO(response.data))
    assert (shown.size, shown.mode) == ((4 * 28, 28), "L")
    engine = recognise(number_2024, app.extensions["digit_model"])
    assert np.array_equal(np.asarray(shown), np.hstack([digit.image for digit in engine.digits]))


def test_the_client_that_made_a_prediction_may_correct_it(client, three):
    response = client.patch(f"/api/predictions/{three[0]['id']}", json={"label": "1"})

    assert response.status_code == 200
    assert response.json["label"] == "1"
    assert datetime.fromisoformat(response.json["labelled_at"]) >= datetime.fromisoformat(response.json["created_at"])
    assert client.get(f"/api/predictions/{three[0]['id']}").json["label"] == "1"


def test_another_client_may_not_correct_it(app, three):
    stranger = app.test_client()

    response = stranger.patch(f"/api/predictions/{three[0]['id']}", json={"label": "1"})
    wrong_token = stranger.patch(
        f"/api/predictions/{three[0]['id']}", json={"label": "1"}, headers={"Authorization": "Bearer guess"}
    )

    assert response.status_code == 403
    assert "Only the client that made prediction" in response.json["detail"]
    assert wrong_token.status_code == 401, "a wrong token is refused as such, as the list refuses it"
    assert wrong_token.headers["WWW-Authenticate"].startswith("Bearer")
    assert stranger.get(f"/api/predictions/{three[0]['id']}", headers=ADMIN).json["label"] is None


def test_the_admin_token_may_correct_any_prediction(app, three):
    response = app.test_client().patch(f"/api/predictions/{three[0]['id']}", json={"label": "1"}, headers=ADMIN)

    assert response.status_code == 200
    assert response.json["label"] == "1"


def test_a_label_gives_one_digit_for_each_digit_read(client, three):
    response = client.patch(f"/api/predictions/{three[1]['id']}", json={"label": "7"})

    assert response.status_code == 422
    assert response.json["detail"] == (
        f"Prediction {three[1]['id']} read 4 digit(s) (2024); "
        "give the true digit for each of them, e.g. '2024', not '7'."
    )
    assert client.get(f"/api/predictions/{three[1]['id']}").json["label"] is None


@pytest.mark.parametrize(
    "request_kwargs, status, detail",
    [
        (dict(json={"label": "seven"}), 400, "does not match"),
        (dict(json={"label": 7}), 400, "is not of type 'string', 'null'"),
        (dict(json={}), 400, "'label' is a required property"),
        (dict(data="{", content_type="application/json"), 400, "not valid JSON"),
        (dict(data="7", content_type="text/plain"), 415, "Send a JSON body"),
    ],
)
def test_a_malformed_correction_is_refused(client, three, request_kwargs, status, detail):
    response = client.patch(f"/api/predictions/{three[0]['id']}", **request_kwargs)

    assert response.status_code == status
    assert detail in response.json["detail"]


def test_a_correction_can_be_withdrawn(client, three):
    client.patch(f"/api/predictions/{three[0]['id']}", json={"label": "1"})

    response = client.patch(f"/api/predictions/{three[0]['id']}", json={"label": None})

    assert (response.json["label"], response.json["labelled_at"]) == (None, None)


def test_deleting_everything_is_refused_without_a_configured_admin_token(make_app, seven):
    app = make_app(ADMIN_TOKEN=None)
    client = app.test_client()
    predict(client, seven)

    every = client.delete("/api/predictions", headers={"Authorization": "Bearer anything"})

    assert every.status_code == 403
    assert every.json["detail"] == "Deleting is disabled: the service has no ADMIN_TOKEN configured."
    assert client.get("/api/predictions").json["total"] == 1


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer guess"}, {"Authorization": f"Basic {ADMIN_TOKEN}"}])
def test_deleting_everything_without_the_admin_token_is_401(client, three, headers):
    every = client.delete("/api/predictions", headers=headers)

    assert every.status_code == 401
    assert every.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer <token>" in every.json["detail"]
    assert client.get("/api/predictions", headers=ADMIN).json["total"] == 3


def test_the_client_that_made_a_prediction_deletes_it(client, three):
    response = client.delete(f"/api/predictions/{three[0]['id']}")

    assert response.status_code == 204
    assert client.get(f"/api/predictions/{three[0]['id']}").status_code == 404


def test_the_admin_deletes_one_prediction(client, three):
    response = client.delete(f"/api/predictions/{three[0]['id']}", headers=ADMIN)

    assert response.status_code == 204
    assert client.get(f"/api/predictions/{three[0]['id']}").status_code == 404
    assert listed(client) == ["3", "2024"]


def test_the_admin_deletes_every_prediction(client, three):
    response = client.delete("/api/predictions", headers=ADMIN)

    assert response.status_code == 200
    assert response.json == {"deleted": 3}
    assert client.get("/api/predictions").json["total"] == 0


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
    engine = recognise(number_2024, app.extensions["digit_model"])
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
    engine = recognise(number_2024, app.extensions["digit_model"])
    assert np.array_equal(pixels[1:5], np.stack([d.image for d in engine.digits]))


def test_an_empty_store_exports_an_empty_dataset(client):
    csv_text = client.get("/api/predictions/export").get_data(as_text=True)
    archive = zipfile.ZipFile(io.BytesIO(client.get("/api/predictions/export?format=idx").data))

    assert csv_text.count("\n") == 1
    assert struct.unpack(">IIII", archive.read("digits-images-idx3-ubyte")) == (0x0803, 0, 28, 28)
    assert struct.unpack(">II", archive.read("digits-labels-idx1-ubyte")) == (0x0801, 0)


def test_an_unknown_export_format_is_400(client):
    response = client.get("/api/predictions/export?format=xlsx")

    assert response.status_code == 400
    assert response.json["detail"] == "The query parameter 'format' must be csv or idx, not 'xlsx'."


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


@pytest.mark.parametrize("label", ["202\n", "2024\n", "20 4", "２０２４", "٢٠٢٤", "2O24"])
def test_a_label_of_anything_but_one_ascii_digit_per_digit_read_is_refused(client, three, label):
    response = client.patch(f"/api/predictions/{three[1]['id']}", json={"label": label})

    assert response.status_code == 400
    assert client.get(f"/api/predictions/{three[1]['id']}").json["label"] is None
    assert client.get("/api/stats").status_code == 200


def store_rows(app, rows: list[dict]) -> None:
    """Rows written straight to the table, as an older version or another program may have left them."""
    digit = {"digit": 0, "confidence": 1.0, "probabilities": [1.0] + [0.0] * 9, "box": {"x": 0, "y": 0, "width": 1, "height": 1}}
    defaults = {"image": b"", "content_type": "image/png", "sha256": "0" * 64, "digits": [digit], "model_version": "m", "source": "api"}
    with app.app_context():
        db.session.execute(insert(Prediction), [{**defaults, "public_id": new_public_id(), **row} for row in rows])
        db.session.commit()


def test_stats_and_exports_survive_any_stored_reading_or_label(app, client, three):
    four = bytes(4 * 784)
    store_rows(app, [
        {"number": "2024", "inputs": four, "label": "202\n"},
        {"number": "2024", "inputs": four, "label": "abcd"},
        {"number": "2024", "inputs": four, "label": "7"},
        {"number": "x", "inputs": bytes(784), "label": None},
        {"number": "", "inputs": b"", "label": ""},
        {"number": "77", "inputs": bytes(784), "label": None},
    ])

    stats = client.get("/api/stats")
    # Each streamed answer read before the next request, as a client does.
    csv_export = client.get("/api/predictions/export?format=csv")
    csv_export.get_data()
    idx_export = client.get("/api/predictions/export?format=idx")
    idx_export.get_data()

    assert stats.status_code == csv_export.status_code == idx_export.status_code == 200
    # Stats count every reading of digits; exports, those with one input per digit. Bad labels are no corrections.
    assert (stats.json["predictions"], stats.json["corrections"]) == (7, 0)
    rows = list(csv.reader(io.StringIO(csv_export.get_data(as_text=True))))[1:]
    assert [row[0] for row in rows] == list("7" "2024" "3" "2024" "2024" "2024")
    archive = zipfile.ZipFile(io.BytesIO(idx_export.data))
    assert archive.read("digits-labels-idx1-ubyte")[8:] == bytes([7, 2, 0, 2, 4, 3, *[2, 0, 2, 4] * 3])


def test_an_export_that_outlasts_its_time_fails_where_the_client_sees_it(make_app):
    app = make_app(EXPORT_TIMEOUT=0)
    store_rows(app, [{"number": "7", "inputs": bytes(784)}] * 5000)

    with serving(app) as base_url:
        response = requests.get(f"{base_url}/api/predictions/export?format=csv", stream=True, timeout=30)
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            b"".join(response.iter_content(65536))
        after = requests.get(f"{base_url}/api/health", timeout=30)

    assert response.status_code == 200
    assert after.status_code == 200, "the service goes on"


# Privacy: what is stored of an upload, who may read it, and ids nobody can guess.


def exif_with_location(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "PhoneMaker", "Phone 12", orientation
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (48.0, 51.0, 29.0), "E", (2.0, 17.0, 40.0)
    return exif


def canvas(text: str = "7") -> Image.Image:
    return Image.open(io.BytesIO(written(text))).convert("RGB")


def png_with_metadata() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "PhoneMaker, rue de Rivoli")
    return encoded(canvas(), "PNG", pnginfo=info, exif=exif_with_location())


UPLOADS_WITH_METADATA = {
    "JPEG": (lambda: photo_with_location((400, 300)), "image/jpeg"),
    "PNG": (png_with_metadata, "image/png"),
    "WebP": (lambda: encoded(canvas(), "WEBP", exif=exif_with_location(), xmp=b"<x>PhoneMaker</x>", lossless=True), "image/webp"),
    "GIF": (lambda: encoded(canvas().convert("P"), "GIF", comment=b"PhoneMaker", save_all=True, append_images=[Image.new("P", (280, 280))]), "image/gif"),
    "BMP": (lambda: encoded(canvas(), "BMP") + b"PhoneMaker, rue de Rivoli", "image/bmp"),
    "TIFF": (lambda: encoded(canvas(), "TIFF", tiffinfo={0x010F: "PhoneMaker", 0x010E: "rue de Rivoli"}), "image/png"),
}


@pytest.mark.parametrize("builder", [la_tiff, lab_tiff], ids=["premultiplied alpha", "CIELAB"])
def test_a_tiff_in_an_unusual_colour_mode_is_read_and_stored(client, builder):
    response = client.post("/api/predict", data=builder(), content_type="image/tiff")

    assert response.status_code == 201
    assert response.json["number"] == "111"
    stored = client.get(f"/api/predictions/{response.json['id']}/image")
    assert stored.mimetype == "image/png"
    # CIELAB is stored as RGB: its lightness and RGB's luminance differ by a few levels.
    assert np.abs(decode_image(stored.data).astype(int) - decode_image(builder())).max() <= 5


@pytest.mark.parametrize("image_format", UPLOADS_WITH_METADATA)
def test_an_upload_is_stored_without_its_metadata_and_with_its_pixels(app, client, image_format):
    build, content_type = UPLOADS_WITH_METADATA[image_format]
    upload = build()
    assert b"PhoneMaker" in upload

    prediction = client.post("/api/predict", data={"image": (io.BytesIO(upload), "upload")}).json
    stored = client.get(f"/api/predictions/{prediction['id']}/image")

    assert stored.mimetype == content_type
    assert b"PhoneMaker" not in stored.data and b"Rivoli" not in stored.data
    kept = Image.open(io.BytesIO(stored.data))
    assert dict(kept.getexif()) in ({}, {0x0112: 1})
    assert kept.getexif().get_ifd(0x8825) == {}
    assert np.array_equal(decode_image(stored.data), decode_image(upload))


def test_a_photos_orientation_is_all_that_is_kept_of_its_exif(client):
    photo = encoded(canvas().transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif_with_location(orientation=6))

    prediction = client.post("/api/predict", data={"image": (io.BytesIO(photo), "photo.jpg")}).json
    kept = Image.open(io.BytesIO(client.get(f"/api/predictions/{prediction['id']}/image").data))

    assert dict(kept.getexif()) == {0x0112: 6}
    assert prediction["number"] == "7"


@pytest.mark.parametrize("path", ["", "/image", "/input.png"])
def test_only_the_client_that_made_a_prediction_or_the_admin_may_read_it(app, client, three, path):
    url = f"/api/predictions/{three[0]['id']}{path}"

    by_maker, by_admin = client.get(url), app.test_client().get(url, headers=ADMIN)
    by_stranger = app.test_client().get(url)

    assert by_maker.status_code == by_admin.status_code == 200
    assert by_maker.data == by_admin.data
    assert by_stranger.status_code == 403
    assert by_stranger.mimetype == "application/problem+json"
    assert "Only the client that made prediction" in by_stranger.json["detail"]


def test_another_client_may_not_delete_it(app, client, three):
    response = app.test_client().delete(f"/api/predictions/{three[0]['id']}")

    assert response.status_code == 403
    assert client.get(f"/api/predictions/{three[0]['id']}").status_code == 200


def test_prediction_ids_cannot_be_guessed_or_counted(client, seven):
    ids = [predict(client, seven)["id"] for _ in range(20)]

    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", prediction_id) for prediction_id in ids)
    assert len(set(ids)) == 20
    assert client.get("/api/predictions/1", headers=ADMIN).status_code == 404

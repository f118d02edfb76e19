"""Stored predictions over the API: listing, one prediction and its images, corrections, deletion,
and who may read them (the exports are in test_exports.py, what is kept of an upload in
test_stored_images.py)."""

import io
import re
from datetime import datetime

import numpy as np
import pytest
from PIL import Image

from benchmarks.uploads import written
from src.ml import recognise
from tests.api.conftest import predict
from tests.conftest import ADMIN, ADMIN_TOKEN


def listed(client, query: str = "") -> list[str]:
    response = client.get(f"/api/predictions{query}")
    assert response.status_code == 200
    return [item["number"] for item in response.json["items"]]


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
        ("page=1_0", "'page' must be a whole number, not '1_0'"),
        ("page=%2B2", "'page' must be a whole number, not '+2'"),
        ("per_page=%205", "'per_page' must be a whole number, not ' 5'"),
        ("digit=%D9%A3", "'digit' must be a whole number, not '٣'"),
        ("page=" + "9" * 5000, "'page' must be a whole number, not '99999999999"),
        ("label=seven", "'label' must be digits"),
        ("perpage=5", "Unknown query parameter 'perpage'; this takes only page, per_page, digit, label."),
        ("sort=created_at", "Unknown query parameter 'sort'"),
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
    engine = recognise(number_2024, app.extensions["served_model"].base)
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
    huge = client.patch(f"/api/predictions/{three[1]['id']}", json={"label": "1" * 1_000_000})
    assert huge.status_code == 422
    assert huge.json["detail"].endswith(
        "give the true digit for each of them, e.g. '2024', not '111111111111...1111111111111'."
    )
    assert client.get(f"/api/predictions/{three[1]['id']}").json["label"] is None


@pytest.mark.parametrize(
    "request_kwargs, status, detail",
    [
        (
            dict(json={"label": "seven"}),
            400,
            "'seven' is not a number in the digits 0 to 9, one for each digit read, e.g. \"2024\" (at $.label).",
        ),
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


@pytest.mark.parametrize("label", ["202\n", "2024\n", "20 4", "２０２４", "٢٠٢٤", "2O24"])
def test_a_label_of_anything_but_one_ascii_digit_per_digit_read_is_refused(client, three, label):
    response = client.patch(f"/api/predictions/{three[1]['id']}", json={"label": label})

    assert response.status_code == 400
    # What a label must be, in words: not the schema's regular expression, written for Python's re.
    assert "is not a number in the digits 0 to 9" in response.json["detail"]
    assert "[0-9]" not in response.json["detail"]
    assert client.get(f"/api/predictions/{three[1]['id']}").json["label"] is None
    assert client.get("/api/stats").status_code == 200


# Privacy: who may read a prediction, and ids nobody can guess.


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

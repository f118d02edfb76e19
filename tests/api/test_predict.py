"""POST /api/predict: the three ways to send an image, what is stored, the cache, and each way a request fails."""

import base64
import dataclasses
import io

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from benchmarks.corpus import empty_lined_page
from benchmarks.uploads import b64, encoded, written
from src import readings
from src.database import db
from src.ml import handwriting, marks, recognise
from src.tables import Prediction


def stored_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Prediction))


def stored(app, prediction_id: str) -> dict:
    with app.app_context():
        prediction = db.session.execute(select(Prediction).where(Prediction.public_id == prediction_id)).scalar_one()
        return {column.name: getattr(prediction, column.name) for column in Prediction.__table__.columns}


def test_predict_reads_a_base64_image_and_stores_it(app, client, seven):
    response = client.post("/api/predict", json={"image": b64(seven), "source": "canvas"})

    assert response.status_code == 201
    body = response.json
    assert body["number"] == "7"
    [digit] = body["digits"]
    assert digit["digit"] == 7
    assert digit["confidence"] == digit["probabilities"][7] == max(digit["probabilities"])
    assert sum(digit["probabilities"]) == pytest.approx(1.0, abs=1e-3), "ten probabilities, each rounded"
    assert body["marks"] == 0
    assert body["cached"] is False
    assert body["model"] == app.extensions["served_model"].base.version
    assert body["elapsed_ms"] > 0
    assert response.headers["Location"] == f"/api/predictions/{body['id']}"
    assert "session=" in response.headers["Set-Cookie"]

    row = stored(app, body["id"])
    assert row["image"] == seven
    assert row["content_type"] == "image/png"
    assert row["source"] == "canvas"
    assert row["number"] == "7"
    assert rounded(row["digits"]) == body["digits"]
    assert row["model_version"] == body["model"]
    assert len(row["inputs"]) == 28 * 28
    assert row["label"] is None


def rounded(digits: list[dict]) -> list[dict]:
    return [
        {**d, "confidence": round(d["confidence"], 4), "probabilities": [round(p, 4) for p in d["probabilities"]]}
        for d in digits
    ]


def decimals(number: float) -> int:
    return len(repr(number).partition(".")[2].rstrip("0"))


def test_probabilities_are_answered_with_four_decimals(client):
    # Every digit once: a model sure of a few digits (0.0 and 1.0 throughout) is still unsure in the
    # fourth decimal of some of ten.
    digits = written("0123456789", size=(1400, 200))
    created = client.post("/api/predict", json={"image": b64(digits)}).json
    assert created["number"] == "0123456789"
    shown = client.get(f"/api/predictions/{created['id']}").json
    listed = client.get("/api/predictions").json["items"][0]

    for answer in (created, shown, listed):
        values = [value for d in answer["digits"] for value in (d["confidence"], *d["probabilities"])]
        assert max(decimals(value) for value in values) <= 4, values
        assert any(decimals(value) == 4 for value in values), "rounded, not truncated to fewer decimals"


@pytest.mark.parametrize("prefix", ["data:image/png;base64,", "DATA:image/PNG;BASE64,", "data:;base64,"])
def test_predict_accepts_a_data_url(client, seven, prefix):
    response = client.post("/api/predict", json={"image": f"{prefix}{b64(seven)}"})

    assert response.status_code == 201
    assert response.json["number"] == "7"


def test_predict_accepts_base64_wrapped_in_lines(client, seven):
    text = b64(seven)
    wrapped = "\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))

    response = client.post("/api/predict", json={"image": wrapped})

    assert response.status_code == 201
    assert response.json["number"] == "7"


def test_predict_accepts_base64url_with_or_without_its_padding(client, seven):
    text = base64.urlsafe_b64encode(seven).decode()
    assert {"-", "_"} & set(text), "the image's base64 differs between the two alphabets"

    for image in (text, text.rstrip("="), f"data:image/png;base64,{text}"):
        response = client.post("/api/predict", json={"image": image})

        assert response.status_code == 201, response.json
        assert response.json["number"] == "7"


def test_predict_reads_every_digit_left_to_right_as_the_engine_does(app, client, number_2024):
    response = client.post("/api/predict", data={"image": (io.BytesIO(number_2024), "2024.png")})

    assert response.status_code == 201
    body = response.json
    assert body["number"] == "2024"
    boxes = [digit["box"] for digit in body["digits"]]
    assert [box["x"] for box in boxes] == sorted(box["x"] for box in boxes)
    engine = recognise(number_2024, app.extensions["served_model"].base)
    assert [digit["probabilities"] for digit in body["digits"]] == [
        [round(probability, 4) for probability in d.probabilities.tolist()] for d in engine.digits
    ]
    assert boxes == [dataclasses.asdict(d.box) for d in engine.digits]
    row = stored(app, body["id"])
    assert row["source"] == "upload"
    assert row["inputs"] == b"".join(d.image.tobytes() for d in engine.digits)


def test_predict_accepts_a_raw_image_body(app, client, seven):
    default = client.post("/api/predict", data=seven, content_type="image/png")
    from_canvas = client.post("/api/predict?source=canvas", data=seven, content_type="image/png")

    assert default.status_code == from_canvas.status_code == 201
    assert stored(app, default.json["id"])["source"] == "api"
    assert stored(app, from_canvas.json["id"])["source"] == "canvas"


def test_bytes_of_unnamed_type_are_read_as_a_raw_image_body(app, client):
    # What many HTTP clients send a file as when told nothing of its type; the bytes say it is a JPEG.
    response = client.post(
        "/api/predict", data=written("5", image_format="JPEG"), content_type="application/octet-stream"
    )

    assert response.status_code == 201
    assert response.json["number"] == "5"
    assert stored(app, response.json["id"])["content_type"] == "image/jpeg"


def test_a_canvas_with_a_transparent_background_is_read(client):
    response = client.post("/api/predict", json={"image": b64(written("3", transparent=True)), "source": "canvas"})

    assert response.status_code == 201
    assert response.json["number"] == "3"


def test_the_stored_content_type_is_what_the_bytes_are(app, client):
    jpeg = written("5", image_format="JPEG")

    response = client.post("/api/predict", data=jpeg, content_type="image/png")

    assert stored(app, response.json["id"])["content_type"] == "image/jpeg"


@pytest.mark.parametrize(
    "send",
    [
        lambda client, image: client.post("/api/predict", json={"image": b64(image), "save": False}),
        lambda client, image: client.post(
            "/api/predict", data={"image": (io.BytesIO(image), "7.png"), "save": "false"}
        ),
        lambda client, image: client.post("/api/predict?save=false", data=image, content_type="image/png"),
        lambda client, image: client.post("/api/predict?save=false", json={"image": b64(image)}),
        lambda client, image: client.post("/api/predict?save=0", data={"image": (io.BytesIO(image), "7.png")}),
        lambda client, image: client.post(
            "/api/predict?save=false", data={"image": (io.BytesIO(image), "7.png"), "save": "false"}
        ),
        # The words the settings accept for a yes or a no, read by the same parser.
        lambda client, image: client.post("/api/predict?save=No", data=image, content_type="image/png"),
    ],
    ids=["json", "multipart", "raw", "json-query", "multipart-query", "multipart-both", "raw-no"],
)
def test_predict_without_saving_answers_200_and_stores_nothing(app, client, seven, send):
    response = send(client, seven)

    assert response.status_code == 200
    assert response.json["id"] is None
    assert response.json["number"] == "7"
    assert "Location" not in response.headers
    assert "Set-Cookie" not in response.headers
    assert stored_count(app) == 0


def test_the_source_may_be_a_query_parameter_however_the_image_is_sent(app, client, seven):
    by_json = client.post("/api/predict?source=canvas", json={"image": b64(seven)})
    by_form = client.post("/api/predict?source=api", data={"image": (io.BytesIO(seven), "7.png")})

    assert stored(app, by_json.json["id"])["source"] == "canvas"
    assert stored(app, by_form.json["id"])["source"] == "api"


def test_a_new_reading_of_a_drawing_replaces_the_clients_earlier_prediction(app, client, seven, number_2024):
    first = client.post("/api/predict", json={"image": b64(seven), "source": "canvas"}).json
    client.patch(f"/api/predictions/{first['id']}", json={"label": "1"})

    again = client.post("/api/predict", json={"image": b64(number_2024), "source": "canvas", "replaces": first["id"]})

    assert again.status_code == 200
    assert (again.json["id"], again.json["number"]) == (first["id"], "2024")
    assert again.headers["Location"] == f"/api/predictions/{first['id']}"
    assert stored_count(app) == 1
    row = stored(app, first["id"])
    assert (row["number"], row["image"], row["source"]) == ("2024", number_2024, "canvas")
    assert (row["label"], row["labelled_at"]) == (None, None), "the correction was of the reading replaced"


@pytest.mark.parametrize(
    "whose, status, detail",
    [
        ("another client's", 403, "Only the client that made prediction"),
        ("a deleted one", 404, "There is no prediction"),
        ("not to be saved", 400, "cannot go with save false"),
        ("an integer", 400, "is not of type 'string'"),
        ("not an id", 400, 'is not a prediction\'s id, as the service gave it in "id" (at $.replaces).'),
    ],
)
def test_a_reading_replaces_only_a_prediction_of_the_same_client(app, client, seven, whose, status, detail):
    made = client.post("/api/predict", json={"image": b64(seven)}).json["id"]
    sender, replaces, body = app.test_client(), made, {}
    if whose == "a deleted one":
        deleted = client.post("/api/predict", json={"image": b64(written("5"))}).json["id"]
        assert client.delete(f"/api/predictions/{deleted}").status_code == 204
        sender, replaces = client, deleted
    elif whose == "not to be saved":
        sender, body = client, {"save": False}
    elif whose == "an integer":
        sender, replaces = client, 1
    elif whose == "not an id":
        sender, replaces = client, made + "\n"

    response = sender.post("/api/predict", json={"image": b64(written("3")), "replaces": replaces, **body})

    assert response.status_code == status
    assert detail in response.json["detail"]
    assert (stored_count(app), stored(app, made)["number"]) == (1, "7")


def test_identical_bytes_are_answered_from_the_cache_and_still_stored(app, client, seven, monkeypatch):
    first = client.post("/api/predict", json={"image": b64(seven)})
    engine_calls = []
    monkeypatch.setattr(readings, "recognise", lambda *args, **kwargs: engine_calls.append(args))

    second = client.post("/api/predict", data=seven, content_type="image/png")

    assert first.json["cached"] is False
    assert second.json["cached"] is True
    assert engine_calls == [], "a cached reading must not run the model"
    assert second.json["digits"] == first.json["digits"]
    assert second.json["id"] != first.json["id"]
    assert stored_count(app) == 2


def test_the_cache_is_kept_per_model_version(app, client, seven, monkeypatch):
    client.post("/api/predict", json={"image": b64(seven)})
    another = dataclasses.replace(app.extensions["served_model"].base, version="another-model")
    monkeypatch.setattr(app.extensions["served_model"], "get", lambda: another)

    response = client.post("/api/predict", json={"image": b64(seven)})

    assert response.json["cached"] is False
    assert response.json["model"] == "another-model"


SEVEN = written("7")
PNG_START = SEVEN[: len(SEVEN) // 2]
BAD_REQUESTS = [
    ("malformed JSON", dict(data="{", content_type="application/json"), 400, "not valid JSON"),
    ("JSON that is not an object", dict(json=["image"]), 400, "is not of type 'object'"),
    ("no image field", dict(json={"picture": b64(SEVEN)}), 400, "'image' is a required property"),
    ("image not a string", dict(json={"image": 7}), 400, "is not of type 'string'"),
    (
        "image a list of a million numbers, quoted short",
        dict(json={"image": [1] * 1_000_000}),
        400,
        "[1, 1, 1, 1, 1, 1, ...] is not of type 'string' (at $.image).",
    ),
    ("image a small object", dict(json={"image": {"a": 1}}), 400, "{'a': 1} is not of type 'string'"),
    (
        "image a large object, counted",
        dict(json={"image": {str(key): key for key in range(100_000)}}),
        400,
        "an object of 100,000 members is not of type 'string' (at $.image).",
    ),
    ("an empty image", dict(json={"image": ""}), 400, "should be non-empty"),
    ("malformed base64", dict(json={"image": "iVBORw0KGgo$"}), 400, "not valid base64"),
    ("base64 that is not ASCII", dict(json={"image": "\u00e9\u00ee+)?"}), 400, "not valid base64"),
    ("base64 of both alphabets", dict(json={"image": "iVBO+w0K/goA-AAA_"}), 400, "mixes base64's alphabet"),
    ("base64 one character too long", dict(json={"image": "iVBORw0KG"}), 400, "not valid base64"),
    ("a data URL without base64", dict(json={"image": "data:image/png,%89PNG"}), 400, "not base64-encoded"),
    ("save not a boolean", dict(json={"image": b64(SEVEN), "save": "no"}), 400, "is not of type 'boolean'"),
    ("an unknown source", dict(json={"image": b64(SEVEN), "source": "fax"}), 400, "'fax' is not one of"),
    ("a form without the image", dict(data={"picture": (io.BytesIO(SEVEN), "7.png")}), 400, "no file field 'image'"),
    (
        "a form with save not a boolean",
        dict(data={"image": (io.BytesIO(SEVEN), "7.png"), "save": "maybe"}),
        400,
        "true or false",
    ),
    (
        "save in the form and the query, differently",
        dict(data={"image": (io.BytesIO(SEVEN), "7.png"), "save": "true"}, query_string={"save": "false"}),
        400,
        "'save' is given twice and differently: True in the form and False in the query",
    ),
    (
        "save in the JSON body and the query, differently",
        dict(json={"image": b64(SEVEN), "save": False}, query_string={"save": "1"}),
        400,
        "'save' is given twice and differently",
    ),
    (
        "a JSON body with save=maybe in the query",
        dict(json={"image": b64(SEVEN)}, query_string={"save": "maybe"}),
        400,
        "The query parameter 'save' must be true or false, not 'maybe'.",
    ),
    (
        "an unknown source in the query",
        dict(json={"image": b64(SEVEN)}, query_string={"source": "fax"}),
        400,
        "'fax' is not one of",
    ),
    ("an empty raw body", dict(data=b"", content_type="image/png"), 400, "The body is empty"),
    ("a text body", dict(data="seven", content_type="text/plain"), 415, "not text/plain"),
    ("a body without a content type", dict(data=SEVEN), 415, "without a content type"),
    ("bytes that are not an image", dict(data=b"just text", content_type="image/png"), 415, "not a PNG, JPEG"),
    ("base64 of text", dict(json={"image": b64(b"just text")}), 415, "not a PNG, JPEG"),
    ("a truncated PNG", dict(data=PNG_START, content_type="image/png"), 415, "truncated or corrupt"),
    ("an SVG", dict(data=b"<svg xmlns='http://www.w3.org/2000/svg'/>", content_type="image/svg+xml"), 415, "not a PNG"),
    ("a blank canvas", dict(json={"image": b64(written(""))}), 422, "the image looks blank"),
    ("an empty lined page", dict(data=empty_lined_page(), content_type="image/png"), 422, "the image looks blank"),
    ("a word", dict(json={"image": b64(written("hey", size=(560, 280)))}), 422, "holds no recognisable digit"),
]


@pytest.mark.parametrize(
    "request_kwargs, status, detail", [case[1:] for case in BAD_REQUESTS], ids=[case[0] for case in BAD_REQUESTS]
)
def test_a_bad_request_is_a_problem_document_and_stores_nothing(app, client, request_kwargs, status, detail):
    response = client.post("/api/predict", **request_kwargs)

    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == status
    assert detail in response.json["detail"]
    assert stored_count(app) == 0


@pytest.mark.parametrize("text, size, blank", [("", (280, 280), True), ("hey", (560, 280), False)])
def test_an_image_without_a_digit_says_how_many_marks_were_left_out(client, text, size, blank):
    response = client.post("/api/predict", json={"image": b64(written(text, size=size))})

    # A client can tell a blank image (nothing there) from marks that are not digits without parsing `detail`.
    assert response.status_code == 422
    assert (response.json["marks"] == 0) is blank


def test_a_stray_scribble_beside_the_digits_is_left_out_and_counted(client):
    # A small spiral drawn after "205": the answer is the number alone, and says that a mark was left out.
    rng = np.random.default_rng(8)
    spiral = handwriting.render(marks.spiral(rng), rng, height=50, pen=0.1)
    height, width = spiral.shape
    page = np.full((200, 380 + width), 255, np.uint8)
    page[:, :360] = np.asarray(Image.open(io.BytesIO(written("205", size=(360, 200)))).convert("L"))
    page[80 : 80 + height, 370 : 370 + width] = np.rint(255 * (1 - spiral)).astype(np.uint8)

    response = client.post("/api/predict", json={"image": b64(encoded(Image.fromarray(page), "PNG"))})

    assert response.status_code == 201
    assert response.json["number"] == "205"
    assert response.json["marks"] == 1


def test_a_body_over_the_upload_limit_is_413(make_app, seven):
    app = make_app(MAX_CONTENT_LENGTH=len(seven) - 1)

    response = app.test_client().post("/api/predict", data=seven, content_type="image/png")

    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert f"upload limit of {len(seven) - 1:,} bytes" in response.json["detail"]
    assert stored_count(app) == 0


@pytest.mark.parametrize(
    "form",
    [{f"field{i}": "x" for i in range(1001)}, {"note": "x" * 600_000}],
    ids=["a thousand and one parts", "a text field of 600 KB"],
)
def test_a_form_over_its_limits_is_413_saying_so(app, client, seven, form):
    response = client.post("/api/predict", data={"image": (io.BytesIO(seven), "7.png"), **form})

    assert response.status_code == 413
    assert response.json["detail"] == (
        "The form has more than 1,000 parts, or a field that is not a file over 500,000 bytes; "
        "send the image as the one file field 'image'."
    )
    assert stored_count(app) == 0


def test_an_image_over_the_pixel_limit_is_413_before_it_is_decoded(make_app, seven):
    app = make_app(MAX_PIXELS=100 * 100)

    response = app.test_client().post("/api/predict", json={"image": b64(seven)})

    assert response.status_code == 413
    assert "more than 10,000 pixels" in response.json["detail"]
    assert stored_count(app) == 0

"""Storage has limits: what one client address may store in an hour, how long predictions are kept and
how many, without a cron job; and, behind a proxy, the client's own address counts."""

from datetime import timedelta

import pytest

from benchmarks.corpus import padded_png
from benchmarks.uploads import b64, written
from src import database
from tests.api.test_exports import store_rows
from tests.conftest import ADMIN


def from_address(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def stored_numbers(app) -> list[str]:
    return [
        item["number"] for item in app.test_client().get("/api/predictions?per_page=100", headers=ADMIN).json["items"]
    ]


def test_a_client_past_its_hourly_quota_of_predictions_gets_a_429_problem(make_app, seven):
    app = make_app(QUOTA_PREDICTIONS_PER_HOUR=3)
    client, new_session = app.test_client(), app.test_client()

    stored = [client.post("/api/predict", json={"image": b64(seven)}, **from_address("192.0.2.1")) for _ in range(3)]
    refused = client.post("/api/predict", json={"image": b64(seven)}, **from_address("192.0.2.1"))
    without_cookie = new_session.post("/api/predict", json={"image": b64(seven)}, **from_address("192.0.2.1"))
    unsaved = client.post("/api/predict", json={"image": b64(seven), "save": False}, **from_address("192.0.2.1"))
    other_address = client.post("/api/predict", json={"image": b64(seven)}, **from_address("192.0.2.2"))

    assert [response.status_code for response in stored] == [201] * 3
    assert refused.status_code == without_cookie.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert "has stored 3 predictions" in refused.json["detail"] and "save: false" in refused.json["detail"]
    assert 3500 < int(refused.headers["Retry-After"]) <= 3601
    assert (unsaved.status_code, other_address.status_code) == (200, 201)
    assert len(stored_numbers(app)) == 4


def test_a_client_past_its_hourly_quota_of_bytes_gets_a_429_problem(make_app, seven):
    app = make_app(QUOTA_BYTES_PER_HOUR=2 * len(seven))
    client = app.test_client()

    statuses = [client.post("/api/predict", json={"image": b64(seven)}).status_code for _ in range(3)]

    assert statuses == [201, 201, 429]


def test_on_postgresql_the_quota_is_counted_as_each_prediction_is_stored(make_app, seven, postgres_settings):
    app = make_app(QUOTA_PREDICTIONS_PER_HOUR=2, **postgres_settings)
    bytes_app = make_app(QUOTA_BYTES_PER_HOUR=2 * len(seven), **postgres_settings)
    client = app.test_client()

    statuses = [client.post("/api/predict", json={"image": b64(seven)}).status_code for _ in range(3)]
    by_bytes = [bytes_app.test_client().post("/api/predict", json={"image": b64(seven)}).status_code for _ in range(2)]

    assert statuses == [201, 201, 429]
    assert by_bytes == [429, 429], "the same address has stored two images of that size in the hour already"
    assert stored_numbers(app) == ["7", "7"]


def test_a_drawing_read_again_at_the_quota_is_stored_in_place_of_its_first_reading(make_app, seven):
    app = make_app(QUOTA_PREDICTIONS_PER_HOUR=1)
    client = app.test_client()

    first = client.post("/api/predict", json={"image": b64(written("1")), "source": "canvas"})
    again = client.post("/api/predict", json={"image": b64(seven), "source": "canvas", "replaces": first.json["id"]})
    another = client.post("/api/predict", json={"image": b64(seven)})

    assert (first.status_code, again.status_code) == (201, 200)
    assert another.status_code == 429, "a new entry still counts"
    assert stored_numbers(app) == ["7"]


def test_a_reading_stored_in_place_of_another_counts_its_own_bytes(make_app, seven):
    small, large = written("1"), written("1", (800, 800))
    app = make_app(QUOTA_BYTES_PER_HOUR=len(large))
    client = app.test_client()
    first = client.post("/api/predict", json={"image": b64(small)}).json["id"]

    grown = client.post("/api/predict", json={"image": b64(large), "replaces": first})
    another = client.post("/api/predict", json={"image": b64(seven)})

    assert len(small) < len(large)
    assert grown.status_code == 200
    assert another.status_code == 429, "the hour's bytes are the large image's, not the small one's it replaced"


def test_padding_in_an_upload_is_not_stored(app, client, seven):
    padded = padded_png(seven, 9_000_000)

    prediction = client.post("/api/predict", data=padded, content_type="image/png").json

    assert client.get(f"/api/predictions/{prediction['id']}/image").data == seven


def test_predictions_older_than_the_retention_are_deleted_as_new_ones_are_stored(make_app, seven):
    app = make_app(RETENTION_DAYS=30)
    old, recent = database.utc_now() - timedelta(days=31), database.utc_now() - timedelta(days=29)
    store_rows(app, [{"number": "1", "inputs": bytes(784), "created_at": old}] * 3)
    store_rows(app, [{"number": "2", "inputs": bytes(784), "created_at": recent}])

    app.test_client().post("/api/predict", json={"image": b64(seven)})

    assert stored_numbers(app) == ["7", "2"]


def test_only_the_newest_predictions_are_kept_past_the_retention_count(make_app, seven):
    app = make_app(RETENTION_PREDICTIONS=5)
    store_rows(app, [{"number": str(digit), "inputs": bytes(784)} for digit in range(9)])

    app.test_client().post("/api/predict", json={"image": b64(seven)})

    assert stored_numbers(app) == ["7", "8", "7", "6", "5"]


@pytest.mark.parametrize("trusted, counted_apart", [(1, True), (0, False)])
def test_behind_a_trusted_proxy_each_client_address_has_its_own_quota(make_app, seven, trusted, counted_apart):
    app = make_app(QUOTA_PREDICTIONS_PER_HOUR=1, TRUSTED_PROXIES=trusted)
    client = app.test_client()

    first = client.post("/api/predict", json={"image": b64(seven)}, headers={"X-Forwarded-For": "192.0.2.1"})
    second = client.post("/api/predict", json={"image": b64(written("3"))}, headers={"X-Forwarded-For": "192.0.2.2"})

    assert first.status_code == 201
    assert second.status_code == (201 if counted_apart else 429), "without a trusted proxy the header is ignored"

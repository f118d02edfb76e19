"""Requests that store or change something, refused when a browser sends them from a page of another origin:
a form posted by another site would otherwise give the browser a new client id (and lose it its history), or,
from the same site on another port, store a prediction as the browser's own."""

import pytest

from benchmarks.uploads import b64
from tests.api.conftest import predict, stored_total


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://elsewhere.example"},
        {"Origin": "null"},
    ],
    ids=["another site", "the same site, another origin", "an older browser on another site", "an opaque origin"],
)
def test_a_prediction_posted_from_another_origin_is_refused_and_changes_no_session(app, client, seven, headers):
    mine = predict(client, seven)

    answer = client.post("/api/predict", json={"image": b64(seven)}, headers=headers)

    assert answer.status_code == 403
    assert answer.mimetype == "application/problem+json"
    assert "other sites" in answer.json["detail"]
    assert "Set-Cookie" not in answer.headers
    assert [item["id"] for item in client.get("/api/predictions").json["items"]] == [mine["id"]]
    assert stored_total(app) == 1


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_a_change_sent_from_another_site_is_refused(client, seven, method):
    url = f"/api/predictions/{predict(client, seven)['id']}"

    answer = client.open(url, method=method, json={"label": "1"}, headers={"Sec-Fetch-Site": "cross-site"})

    assert answer.status_code == 403
    assert client.get(url).json["label"] is None


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
        {"Origin": "http://localhost"},
    ],
    ids=["curl", "the service's page", "typed by the person", "an older browser on the service's page"],
)
def test_a_prediction_from_the_page_or_without_a_browser_is_stored(client, seven, headers):
    answer = client.post("/api/predict", json={"image": b64(seven)}, headers=headers)

    assert answer.status_code == 201, answer.json


def test_reading_from_another_site_is_not_refused(client, seven):
    predict(client, seven)

    assert client.get("/api/stats", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200

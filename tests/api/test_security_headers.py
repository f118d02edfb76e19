"""Security headers on every kind of response: the page, static files, API answers, images, problem
documents (including a 500 and a 429), and errors outside the API."""

import pytest

from benchmarks.uploads import b64

POLICY = (
    "default-src 'self'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
EXPECTED = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def security_headers(response) -> dict:
    return {name: response.headers.get(name) for name in EXPECTED}


@pytest.mark.parametrize(
    "path, status, mimetype",
    [
        ("/", 200, "text/html"),
        ("/static/js/app.js", 200, "text/javascript"),
        ("/static/css/page.css", 200, "text/css"),
        ("/api/stats", 200, "application/json"),
        ("/api/predictions/999", 404, "application/problem+json"),
        ("/api/nothing-here", 404, "application/problem+json"),
        ("/no-such-page", 404, "text/html"),
    ],
)
def test_every_response_carries_the_security_headers(client, path, status, mimetype):
    response = client.get(path)

    assert (response.status_code, response.mimetype) == (status, mimetype)
    assert security_headers(response) == EXPECTED


def test_a_stored_image_carries_the_security_headers(client, seven):
    prediction_id = client.post("/api/predict", json={"image": b64(seven)}).json["id"]

    response = client.get(f"/api/predictions/{prediction_id}/image")

    assert response.mimetype == "image/png"
    assert security_headers(response) == EXPECTED


def test_an_unexpected_error_carries_the_security_headers(unexpected_error):
    response = unexpected_error

    assert response.status_code == 500
    assert security_headers(response) == EXPECTED


def test_a_refused_rate_carries_the_security_headers(make_app, redis_settings):
    client = make_app(**redis_settings, RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="1 per minute").test_client()

    client.get("/api/stats")
    response = client.get("/api/stats")

    assert response.status_code == 429
    assert security_headers(response) == EXPECTED

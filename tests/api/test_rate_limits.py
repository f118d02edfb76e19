"""Per-client rate limits: off for the local service, on in production, counted in Redis so that every
process of the service shares them, answered with a 429 problem and Retry-After; and what happens
while Redis is down."""

import logging

import pytest

from benchmarks.faults import Outage
from benchmarks.uploads import written
from benchmarks.world import touching_drawn_cases
from src import create_app
from tests.conftest import model_path

LIMITED = {"RATELIMIT_ENABLED": True, "RATELIMIT_DEFAULT": "3 per minute"}


def from_client(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def test_the_local_service_does_not_limit_rates(client):
    responses = [client.get("/api/stats") for _ in range(20)]

    assert [response.status_code for response in responses] == [200] * 20
    assert "Retry-After" not in responses[-1].headers


def test_the_production_entry_point_limits_rates_by_default(tmp_path, monkeypatch, no_service_environment):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))

    app = create_app({"SECRET_KEY": "x", "MODEL_PATH": model_path()}, production=True)

    assert app.config["RATELIMIT_ENABLED"] is True
    assert app.config["RATELIMIT_DEFAULT"] == "300 per minute"


def test_a_client_over_its_limit_gets_a_429_problem_with_retry_after_from_any_process(make_app, redis_settings):
    first, second = make_app(**redis_settings, **LIMITED), make_app(**redis_settings, **LIMITED)

    answers = [app.test_client().get("/api/stats", **from_client("192.0.2.1")) for app in (first, second, first)]
    refused = second.test_client().get("/api/stats", **from_client("192.0.2.1"))
    other_client = second.test_client().get("/api/stats", **from_client("192.0.2.2"))

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert "Retry-After" not in answers[-1].headers
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert refused.json["detail"] == (
        "Too many requests from this client: the limit is 3 per 1 minute. Retry after the time given."
    )
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert other_client.status_code == 200


def test_an_image_the_engine_cut_apart_counts_as_the_requests_its_reading_cost(make_app, redis_settings):
    # Four digits drawn touching: read in some 500 pieces, a fifth of a second or more of CPU, where a canvas
    # reads one. Counted as one request, 300 such images a minute would keep five cores busy.
    (touching,) = [case for case in touching_drawn_cases(count=8, seed=3) if case.number == "0044"]
    client = make_app(**redis_settings, RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="6 per minute").test_client()

    def send(image: bytes):
        return client.post("/api/predict?save=false", data=image, content_type="image/png")

    read, cached, canvas = send(touching.data), send(touching.data), send(written("7"))

    assert read.json["number"] == "0044"  # 1 request and 4 for its 493 pieces: 5 of 6
    assert cached.status_code == 200 and cached.json["cached"]  # read from the cache, it costs 1: 6 of 6
    assert canvas.status_code == 429


def test_the_health_check_is_never_limited(make_app, redis_settings):
    client = make_app(**redis_settings, **LIMITED).test_client()

    statuses = [client.get("/api/health").status_code for _ in range(5)]

    assert statuses == [200] * 5


def test_with_redis_down_each_process_counts_on_its_own_and_says_so_once(make_app, redis_settings, caplog):
    redis = Outage(6379)
    url = f"redis://127.0.0.1:{redis.port}/0"
    client = make_app(**{**redis_settings, "CACHE_REDIS_URL": url}, **LIMITED).test_client()
    caplog.set_level(logging.WARNING, logger="flask-limiter")

    redis.down()
    try:
        statuses = [client.get("/api/stats").status_code for _ in range(4)]
    finally:
        redis.up()

    assert statuses == [200, 200, 200, 429]
    warnings = [record.getMessage() for record in caplog.records if record.name == "flask-limiter"]
    assert warnings == ["Rate limit storage unreachable - falling back to in-memory storage"]


@pytest.mark.parametrize("path", ["/api/predictions", "/"])
def test_every_page_and_api_path_counts_against_the_limit(make_app, redis_settings, path):
    client = make_app(**redis_settings, **LIMITED).test_client()

    statuses = [client.get(path).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]

"""The cache in Redis (127.0.0.1:6379): shared by every process of the service, kept as JSON, and a Redis
that goes away or hangs costs no request more than its timeout, and is logged once."""

import base64
import hashlib
import json
import logging
import math
import pickle
import time

import redis

from benchmarks.faults import Outage
from benchmarks.uploads import b64, written
from src.cache import CacheInUse
from src.readings import cache_key
from tests.api.conftest import REDIS_URL, stored_total
from tests.conftest import ADMIN


def test_a_redis_cache_is_shared_by_every_process_of_the_service(make_app, redis_settings, seven):
    first, second = make_app(**redis_settings), make_app(**redis_settings)

    read = first.test_client().post("/api/predict", json={"image": b64(seven)})
    repeated = second.test_client().post("/api/predict", json={"image": b64(seven)})

    assert second.test_client().get("/api/health", headers=ADMIN).json["cache"] == {"ok": True, "backend": "RedisCache"}
    assert (read.json["cached"], repeated.json["cached"]) == (False, True)
    assert repeated.json["digits"] == read.json["digits"]
    assert stored_total(second) == 2


def test_a_cache_that_goes_down_is_logged_once_and_again_when_it_is_back(make_app, redis_settings, caplog):
    redis = Outage(6379)
    app = make_app(**{**redis_settings, "CACHE_REDIS_URL": f"redis://127.0.0.1:{redis.port}/0"})
    client = app.test_client()
    images = [written(digit) for digit in "234568"]
    caplog.set_level(logging.INFO, logger=app.logger.name)

    first = client.post("/api/predict", json={"image": b64(images[0])})
    redis.down()
    try:
        during = [client.post("/api/predict", json={"image": b64(image)}) for image in images[1:]]
    finally:
        redis.up()
    app.extensions["cache_in_use"].retry_after = 0
    repeats = [client.post("/api/predict", json={"image": b64(images[0])}) for _ in range(2)]

    assert first.status_code == 201
    assert [response.status_code for response in during] == [201] * 5
    assert [response.json["number"] for response in during] == ["3", "4", "5", "6", "8"]
    messages = [record.getMessage() for record in caplog.records if record.name == app.logger.name]
    assert len(messages) == 2, messages
    assert messages[0].startswith("The cache is down (ConnectionError")
    assert messages[1].startswith("The cache is back after")
    assert [response.json["cached"] for response in repeats] == [True, True]


class PlantedCode:
    """What a pickle planted in Redis could do when the service reads it back: here, leave a file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_the_cache_keeps_json_and_never_runs_a_pickle_planted_in_redis(make_app, redis_settings, tmp_path, seven):
    app = make_app(**redis_settings)
    client = app.test_client()
    model = app.extensions["served_model"].base.version
    planted, trap = written("5"), tmp_path / "code-ran"
    key = f"{redis_settings['CACHE_KEY_PREFIX']}{cache_key(model, hashlib.sha256(planted).hexdigest())}"
    redis_client = redis.Redis.from_url(REDIS_URL)
    redis_client.set(key, b"!" + pickle.dumps(PlantedCode(trap)))

    first = client.post("/api/predict", json={"image": b64(seven)})
    stored = redis_client.get(
        f"{redis_settings['CACHE_KEY_PREFIX']}{cache_key(model, hashlib.sha256(seven).hexdigest())}"
    )
    answer = client.post("/api/predict", json={"image": b64(planted)})

    assert json.loads(stored)["number"] == "7"
    assert not trap.exists(), "the planted pickle ran"
    assert (answer.status_code, answer.json["number"], answer.json["cached"]) == (201, "5", False)
    assert first.json["cached"] is False


def test_what_an_earlier_engine_read_with_the_same_model_is_read_again(make_app, redis_settings, seven):
    app = make_app(**redis_settings)
    model = app.extensions["served_model"].base.version
    # As the engine before the cache key named the engine's version left it: this image read as a 5.
    box = {"x": 0, "y": 0, "width": 28, "height": 28}
    five = {"digit": 5, "confidence": 1.0, "probabilities": [0.0] * 5 + [1.0] + [0.0] * 4, "box": box}
    earlier = {"number": "5", "digits": [five], "inputs": base64.b64encode(bytes(28 * 28)).decode(), "marks": 0}
    key = f"{redis_settings['CACHE_KEY_PREFIX']}reading:{model}:{hashlib.sha256(seven).hexdigest()}"
    redis.Redis.from_url(REDIS_URL).set(key, json.dumps(earlier))

    answer = app.test_client().post("/api/predict", json={"image": b64(seven)})

    assert (answer.json["number"], answer.json["cached"]) == ("7", False)


def test_a_hanging_redis_costs_a_request_its_timeout_once_per_retry_period(make_app, redis_settings, monkeypatch):
    # A period longer than the test, however slow the machine: the twenty requests fall in one.
    monkeypatch.setattr(CacheInUse, "retry_after", 60.0)
    redis_proxy = Outage(6379)
    settings = {**redis_settings, "CACHE_REDIS_URL": f"redis://127.0.0.1:{redis_proxy.port}/0"}
    app = make_app(**settings, RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="1000 per minute")
    client = app.test_client()
    images = [written(digit) for digit in "0123456789"]
    client.post("/api/predict", json={"image": b64(images[0])})

    redis_proxy.hang()
    hung_at = time.monotonic()
    try:
        durations, statuses = [], []
        for image in images * 2:
            started = time.perf_counter()
            statuses.append(client.post("/api/predict", json={"image": b64(image)}).status_code)
            durations.append(time.perf_counter() - started)
        health = client.get("/api/health")
        hung_for = time.monotonic() - hung_at
    finally:
        redis_proxy.down()

    # Flask-Limiter tries Redis again after 1, 2, 4 ... s, so a slow machine's twenty requests may span more
    # than one of its periods; the cache tries once in its 60 s.
    limiter_tries = 1 + int(math.log2(1 + hung_for))
    assert statuses == [201] * 20
    assert redis_proxy.hung_connections <= limiter_tries + 1, (redis_proxy.hung_connections, hung_for)
    # Each try waits 50 ms at most (REDIS_TIMEOUT); a second is far above that on any day of this machine,
    # and below what one try cost before (1 s, three retries).
    assert max(durations) < 1.0, durations
    assert health.status_code == 200 and health.json["status"] == "degraded"

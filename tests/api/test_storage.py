"""Storage: SQLite's tuning, clearing once per start, and the whole storage cycle on SQLite and on
PostgreSQL (127.0.0.1:5432, database `test`), with the cache shared through Redis (127.0.0.1:6379)."""
import csv
import io
import threading
import uuid
import zipfile

import psycopg
import pytest
import redis
import requests
from sqlalchemy import text

from src import storage
from src.storage import db
from tests.api.images import b64
from tests.conftest import ADMIN_TOKEN, serving, unavailable

POSTGRES_URL = "postgresql://127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def postgres_settings():
    """Settings for a schema of the test's own in PostgreSQL, dropped afterwards."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    try:
        connection = psycopg.connect(POSTGRES_URL, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as error:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_URL}: {error}")
    with connection:
        connection.execute(f"CREATE SCHEMA {schema}")
        in_schema = {"connect_args": {"options": f"-csearch_path={schema}"}}
        yield {"DATABASE_URL": POSTGRES_URL, "SQLALCHEMY_ENGINE_OPTIONS": in_schema}
        connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def redis_settings():
    """Settings for the Redis cache under a key prefix of the test's own, emptied afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.ConnectionError as error:
        unavailable(f"Redis is not reachable at {REDIS_URL}: {error}")
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    yield {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": prefix}
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, make_app):
    """The name of a database and an app storing its predictions there."""
    if request.param == "sqlite":
        return request.param, make_app()
    return request.param, make_app(**request.getfixturevalue("postgres_settings"))


def stored_total(app) -> int:
    return app.test_client().get("/api/predictions").json["total"]


def test_sqlite_runs_with_wal_and_a_busy_timeout(app):
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 15000


def test_building_an_app_never_clears_stored_predictions(make_app, seven):
    make_app().test_client().post("/api/predict", json={"image": b64(seven)})

    rebuilt = make_app(CLEAR_PREDICTIONS_ON_START=True)

    assert stored_total(rebuilt) == 1


@pytest.mark.parametrize("clear, kept", [(True, 0), (False, 1)])
def test_preparing_a_start_clears_stored_predictions_if_configured(make_app, seven, clear, kept):
    app = make_app(CLEAR_PREDICTIONS_ON_START=clear)
    app.test_client().post("/api/predict", json={"image": b64(seven)})

    storage.prepare_database(app)

    assert stored_total(app) == kept


def test_the_storage_cycle(database, seven, number_2024):
    backend, app = database
    client = app.test_client()

    assert client.get("/api/health").json["database"] == {"ok": True, "backend": backend}
    seven_id = client.post("/api/predict", json={"image": b64(seven), "source": "canvas"}).json["id"]
    number_id = client.post("/api/predict", data={"image": (io.BytesIO(number_2024), "2024.png")}).json["id"]
    assert client.patch(f"/api/predictions/{seven_id}", json={"label": "1"}).status_code == 200

    assert client.get(f"/api/predictions/{number_id}/image").data == number_2024
    assert [item["id"] for item in client.get("/api/predictions?digit=2").json["items"]] == [number_id]
    assert [item["id"] for item in client.get("/api/predictions?label=1").json["items"]] == [seven_id]
    assert client.get("/api/stats").json["accuracy"] == 0.0
    rows = list(csv.reader(io.StringIO(client.get("/api/predictions/export?format=csv").get_data(as_text=True))))
    assert [row[0] for row in rows[1:]] == ["1", "2", "0", "2", "4"]
    archive = zipfile.ZipFile(io.BytesIO(client.get("/api/predictions/export?format=idx").data))
    assert list(archive.read("digits-labels-idx1-ubyte")[8:]) == [1, 2, 0, 2, 4]

    assert client.delete(f"/api/predictions/{seven_id}", headers=ADMIN).status_code == 204
    assert client.delete("/api/predictions", headers=ADMIN).json == {"deleted": 1}
    assert stored_total(app) == 0


def test_eight_concurrent_writers_on_postgresql(make_app, postgres_settings, seven):
    app = make_app(**postgres_settings)
    statuses = []
    with serving(app) as base_url:
        def write():
            session = requests.Session()
            for _ in range(5):
                statuses.append(session.post(f"{base_url}/api/predict", json={"image": b64(seven)}).status_code)

        threads = [threading.Thread(target=write) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert statuses == [201] * 40
    assert stored_total(app) == 40


def test_a_redis_cache_is_shared_by_every_process_of_the_service(make_app, redis_settings, seven):
    first, second = make_app(**redis_settings), make_app(**redis_settings)

    read = first.test_client().post("/api/predict", json={"image": b64(seven)})
    repeated = second.test_client().post("/api/predict", json={"image": b64(seven)})

    assert second.test_client().get("/api/health").json["cache"] == {"ok": True, "backend": "RedisCache"}
    assert (read.json["cached"], repeated.json["cached"]) == (False, True)
    assert repeated.json["digits"] == read.json["digits"]
    assert stored_total(second) == 2

"""PostgreSQL (127.0.0.1:5432, database `test`) going away, through a proxy the test controls, or ending
the service's connections itself: a 503 problem while it is away, and no request failed once it is back."""

import time

import psycopg
import pytest
from sqlalchemy.exc import DisconnectionError

from benchmarks.faults import Outage
from benchmarks.uploads import b64, written
from src import database
from src.database import db
from tests.api.conftest import POSTGRES_URL, schema_url, stored_total
from tests.conftest import ADMIN


@pytest.fixture
def postgres_through_a_proxy(make_app, postgres_settings, postgres_schema):
    """A proxy in front of PostgreSQL that a test can take down, and an app on the test's schema
    that reaches PostgreSQL only through it."""
    make_app(**postgres_settings)  # the tables
    postgres = Outage(5432)
    through_the_proxy = schema_url(postgres_schema, f"127.0.0.1:{postgres.port}")
    yield postgres, make_app(create_tables=False, DATABASE_URL=through_the_proxy)
    postgres.down()


def test_postgresql_going_away_is_a_503_problem_and_the_service_recovers_by_itself(postgres_through_a_proxy, seven):
    postgres, app = postgres_through_a_proxy
    client = app.test_client()
    before = client.post("/api/predict", json={"image": b64(seven)})

    postgres.down()
    try:
        during = client.post("/api/predict", json={"image": b64(written("3"))})
        health = client.get("/api/health", headers=ADMIN)
        unsaved = client.post("/api/predict", json={"image": b64(written("4")), "save": False})
    finally:
        postgres.up()
    after = client.post("/api/predict", json={"image": b64(written("5"))})

    assert before.status_code == 201
    assert during.status_code == 503
    assert during.mimetype == "application/problem+json"
    assert during.json["detail"] == "The database is not answering; try again in a few seconds."
    assert health.status_code == 503
    assert health.json["detail"] == "Not working: database."
    assert health.json["database"]["error"].startswith("OperationalError: ")
    assert (unsaved.status_code, unsaved.json["number"]) == (200, "4"), "reading without storing needs no database"
    assert after.status_code == 201
    assert [item["number"] for item in client.get("/api/predictions").json["items"]] == ["5", "7"]


def test_a_connection_that_postgresql_dropped_is_replaced_without_failing_a_request(postgres_through_a_proxy, seven):
    postgres, app = postgres_through_a_proxy
    client = app.test_client()
    before = client.post("/api/predict", json={"image": b64(seven)})

    postgres.cut()
    after = client.post("/api/predict", json={"image": b64(written("5"))})

    assert (before.status_code, after.status_code) == (201, 201)
    assert stored_total(app) == 2


def end_backend(pid: int) -> None:
    """End a PostgreSQL backend, as PostgreSQL does to every connection when it shuts down or fails
    over, and wait until it has gone (its goodbye is sent to the client before that)."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        deadline = time.monotonic() + 5
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            assert time.monotonic() < deadline, "the backend did not end"
            time.sleep(0.01)


def test_only_an_open_connection_with_nothing_to_read_leaves_the_pool():
    with psycopg.connect(POSTGRES_URL) as idle:
        assert database.refuse_closed_connection(idle, None, None) is None
        end_backend(idle.info.backend_pid)
        with pytest.raises(DisconnectionError):
            database.refuse_closed_connection(idle, None, None)
    with pytest.raises(DisconnectionError):
        database.refuse_closed_connection(idle, None, None)


def test_a_connection_that_postgresql_ended_itself_is_replaced_without_failing_a_request(
    make_app, postgres_settings, seven
):
    app = make_app(**postgres_settings)
    client = app.test_client()
    before = client.post("/api/predict", json={"image": b64(seven)})
    with app.app_context():
        pooled = db.engine.raw_connection()
        backend = pooled.driver_connection.info.backend_pid
        pooled.close()

    end_backend(backend)
    after = client.post("/api/predict", json={"image": b64(written("5"))})

    assert (before.status_code, after.status_code) == (201, 201)
    assert stored_total(app) == 2

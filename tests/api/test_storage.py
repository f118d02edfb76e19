"""Storage: SQLite's tuning, clearing once per start, and the whole storage cycle on SQLite and on
PostgreSQL (127.0.0.1:5432, database `test`), with the cache shared through Redis (127.0.0.1:6379) as
JSON; tables created by several processes at once or by an earlier version, and PostgreSQL or Redis
going away, hanging and coming back."""

import csv
import hashlib
import io
import json
import logging
import pickle
import threading
import time
import zipfile

import psycopg
import pytest
import redis
import requests
from flask.testing import FlaskClient
from sqlalchemy import Column, MetaData, Table, inspect, text
from sqlalchemy.exc import DisconnectionError

from benchmarks.faults import Outage
from benchmarks.uploads import b64, written
from src import storage
from src.cache import CacheInUse
from src.storage import Prediction, db
from tests.api.conftest import POSTGRES_URL, REDIS_URL, schema_url
from tests.conftest import ADMIN_TOKEN, serving

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, make_app):
    """The name of a database and an app storing its predictions there."""
    if request.param == "sqlite":
        return request.param, make_app()
    return request.param, make_app(**request.getfixturevalue("postgres_settings"))


def stored_total(app) -> int:
    return app.test_client().get("/api/predictions", headers=ADMIN).json["total"]


def test_sqlite_runs_with_wal_and_a_busy_timeout(app):
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 15000


def test_building_an_app_never_clears_stored_predictions(make_app, seven):
    make_app().test_client().post("/api/predict", json={"image": b64(seven)})

    rebuilt = make_app(CLEAR_PREDICTIONS_ON_START=True)

    assert stored_total(rebuilt) == 1


def test_the_init_db_command_creates_the_tables(make_app):
    app = make_app(create_tables=False)

    result = app.test_cli_runner().invoke(args=["init-db"])

    assert result.exit_code == 0 and "The database is ready." in result.output
    with app.app_context():
        assert {"predictions", "samples"} <= set(inspect(db.engine).get_table_names())


def test_the_clear_predictions_command_deletes_every_prediction_and_says_how_many(make_app, seven):
    app = make_app()
    for _ in range(2):
        app.test_client().post("/api/predict", json={"image": b64(seven)})

    result = app.test_cli_runner().invoke(args=["clear-predictions"])

    assert result.exit_code == 0 and "Deleted 2 predictions." in result.output
    assert stored_total(app) == 0


@pytest.mark.parametrize("clear, kept", [(True, 0), (False, 1)])
def test_preparing_a_start_clears_stored_predictions_if_configured(make_app, seven, clear, kept):
    app = make_app(CLEAR_PREDICTIONS_ON_START=clear)
    app.test_client().post("/api/predict", json={"image": b64(seven)})

    storage.prepare_database(app)

    assert stored_total(app) == kept


def test_the_storage_cycle(database, seven, number_2024):
    backend, app = database
    client = app.test_client()

    assert client.get("/api/health", headers=ADMIN).json["database"] == {"ok": True, "backend": backend}
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


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("prediction_id", ["2147483648", "A" * 22, "%27%20OR%201%3D1%20--%20x", "A" * 21 + "%00"])
def test_an_id_that_is_not_one_of_the_services_is_404_not_a_database_error(database, method, prediction_id):
    _, app = database

    response = app.test_client().open(
        f"/api/predictions/{prediction_id}", method=method, json={"label": "7"}, headers=ADMIN
    )

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("page", [2**31 - 1, 2**80])
def test_a_page_past_any_there_can_be_is_empty_not_a_database_error(database, seven, page):
    _, app = database
    client = app.test_client()
    client.post("/api/predict", json={"image": b64(seven)})

    response = client.get(f"/api/predictions?page={page}&per_page=100")

    assert response.status_code == 200
    assert (response.json["items"], response.json["total"]) == ([], 1)


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

    assert second.test_client().get("/api/health", headers=ADMIN).json["cache"] == {"ok": True, "backend": "RedisCache"}
    assert (read.json["cached"], repeated.json["cached"]) == (False, True)
    assert repeated.json["digits"] == read.json["digits"]
    assert stored_total(second) == 2


def test_four_processes_creating_the_tables_of_a_fresh_schema_at_once_all_succeed(make_app, postgres_settings):
    apps = [make_app(create_tables=False, **postgres_settings) for _ in range(4)]
    start = threading.Barrier(len(apps))
    failures: list[Exception] = []

    def prepare(app) -> None:
        start.wait()
        try:
            storage.prepare_database(app)
        except Exception as error:
            failures.append(error)

    threads = [threading.Thread(target=prepare, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    with apps[0].app_context():
        assert sorted(inspect(db.engine).get_table_names()) == [
            "model_in_use",
            "model_versions",
            "predictions",
            "samples",
        ]
    assert stored_total(apps[0]) == 0


REFUSE_INSERTS = {
    "sqlite": ["CREATE TRIGGER refuse BEFORE INSERT ON predictions BEGIN SELECT RAISE(ABORT, 'the disk is full'); END"],
    "postgresql": [
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE 'the disk is full'; END $$",
        "CREATE TRIGGER refuse BEFORE INSERT ON predictions FOR EACH ROW EXECUTE FUNCTION refuse()",
    ],
}
ACCEPT_INSERTS = {"sqlite": ["DROP TRIGGER refuse"], "postgresql": ["DROP TRIGGER refuse ON predictions"]}


def run_sql(app, statements: list[str]) -> None:
    with app.app_context():
        for statement in statements:
            db.session.execute(text(statement))
        db.session.commit()


def test_an_insert_the_database_refuses_stores_nothing_and_the_next_one_is_stored(database, seven):
    name, app = database
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.test_client_class = FlaskClient  # the document does not list 500 for each operation
    client = app.test_client()

    run_sql(app, REFUSE_INSERTS[name])
    failed = client.post("/api/predict", json={"image": b64(seven)})
    run_sql(app, ACCEPT_INSERTS[name])
    after = client.post("/api/predict", json={"image": b64(seven)})

    assert failed.status_code == 500
    assert after.status_code == 201
    assert stored_total(app) == 1


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
        assert storage.refuse_closed_connection(idle, None, None) is None
        end_backend(idle.info.backend_pid)
        with pytest.raises(DisconnectionError):
            storage.refuse_closed_connection(idle, None, None)
    with pytest.raises(DisconnectionError):
        storage.refuse_closed_connection(idle, None, None)


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


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_table_made_by_the_previous_version_gets_the_new_columns_and_its_rows_ids(request, make_app, seven, backend):
    settings = request.getfixturevalue("postgres_settings") if backend == "postgresql" else {}
    app = make_app(create_tables=False, **settings)
    # The table as the version before random ids made it: the same columns but public_id.
    old = MetaData()
    columns = [column for column in Prediction.__table__.columns if column.name != "public_id"]
    Table(
        "predictions", old, *(Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable) for c in columns)
    )
    digits = json.dumps(
        [
            {
                "digit": 7,
                "confidence": 0.9,
                "probabilities": [0.0] * 7 + [0.9, 0.1, 0.0],
                "box": {"x": 0, "y": 0, "width": 1, "height": 1},
            }
        ]
    )
    with app.app_context():
        old.create_all(db.engine)
        db.session.execute(
            text(
                "INSERT INTO predictions "
                "(created_at, image, content_type, sha256, inputs, number, digits, model_version, source) "
                "VALUES (:now, :image, 'image/png', :sha, :inputs, '7', :digits, 'old', 'api')"
            ),
            [{"now": storage.utc_now(), "image": seven, "sha": "0" * 64, "inputs": bytes(784), "digits": digits}] * 2,
        )
        db.session.commit()

    with app.app_context():
        storage.init_db()
    client = app.test_client()
    listed = client.get("/api/predictions", headers=ADMIN).json["items"]
    added = client.post("/api/predict", json={"image": b64(seven)})

    assert len(listed) == 2 and len({item["id"] for item in listed}) == 2
    assert client.get(f"/api/predictions/{listed[0]['id']}", headers=ADMIN).json["number"] == "7"
    assert added.status_code == 201


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
    key = f"{redis_settings['CACHE_KEY_PREFIX']}reading:{model}:{hashlib.sha256(planted).hexdigest()}"
    redis_client = redis.Redis.from_url(REDIS_URL)
    redis_client.set(key, b"!" + pickle.dumps(PlantedCode(trap)))

    first = client.post("/api/predict", json={"image": b64(seven)})
    stored = redis_client.get(
        f"{redis_settings['CACHE_KEY_PREFIX']}reading:{model}:{hashlib.sha256(seven).hexdigest()}"
    )
    answer = client.post("/api/predict", json={"image": b64(planted)})

    assert json.loads(stored)["number"] == "7"
    assert not trap.exists(), "the planted pickle ran"
    assert (answer.status_code, answer.json["number"], answer.json["cached"]) == (201, "5", False)
    assert first.json["cached"] is False


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
    try:
        durations, statuses = [], []
        for image in images * 2:
            started = time.perf_counter()
            statuses.append(client.post("/api/predict", json={"image": b64(image)}).status_code)
            durations.append(time.perf_counter() - started)
        health = client.get("/api/health")
    finally:
        redis_proxy.down()

    assert statuses == [201] * 20
    assert redis_proxy.hung_connections <= 2, "one try for the rate limits, one for the cache"
    # Each try waits 50 ms at most (REDIS_TIMEOUT); a second is far above that on any day of this machine,
    # and below what one try cost before (1 s, three retries).
    assert max(durations) < 1.0, durations
    assert health.status_code == 200 and health.json["status"] == "degraded"

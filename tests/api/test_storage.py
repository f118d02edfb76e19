"""Storage: SQLite's tuning, clearing once per start, and the whole storage cycle on SQLite and on
PostgreSQL (127.0.0.1:5432, database `test`), with the cache shared through Redis (127.0.0.1:6379) as
JSON; tables created by several processes at once or by an earlier version. PostgreSQL going away is
in test_database.py, the cache in test_cache.py."""

import csv
import io
import json
import threading
import zipfile

import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy import Column, MetaData, Table, inspect, text

from benchmarks.uploads import b64
from src import storage
from src.database import db, utc_now
from src.tables import Prediction
from tests.api.conftest import stored_total
from tests.conftest import ADMIN, serving


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


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
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
            [{"now": utc_now(), "image": seven, "sha": "0" * 64, "inputs": bytes(784), "digits": digits}] * 2,
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

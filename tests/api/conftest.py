"""Canvas images the API tests send, and the real PostgreSQL (127.0.0.1:5432, database `test`) and
Redis (127.0.0.1:6379) the storage, cache and rate-limit tests use: each test has a schema and a
key prefix of its own, removed afterwards."""

import uuid
from pathlib import Path

import psycopg
import pytest
import redis
from flask.testing import FlaskClient

from benchmarks.uploads import b64, written
from src import storage
from tests.conftest import ADMIN, unavailable

POSTGRES_URL = "postgresql://127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"


def schema_url(schema: str, host_port: str = "127.0.0.1:5432") -> str:
    """A DATABASE_URL for the `test` database whose connections work in `schema`."""
    return f"postgresql://{host_port}/test?options=-csearch_path%3D{schema}"


SMALL_MODEL = {"limit": 1000, "augment": 1, "test_limit": 300}
"""How the model of the retrain tests is trained: on a small part of MNIST, in seconds."""


@pytest.fixture(scope="session")
def small_model(tmp_path_factory, mnist_dir) -> Path:
    """A model file (and card) trained here, for the tests of retraining and of switching versions."""
    from src.ml import train

    path = tmp_path_factory.mktemp("model") / "digits-svm.joblib"
    train.train(
        mnist_dir,
        path,
        augment=SMALL_MODEL["augment"],
        components=100,
        limit=SMALL_MODEL["limit"],
        seed=0,
        download=False,
        test_limit=SMALL_MODEL["test_limit"],
    )
    return path


@pytest.fixture(scope="session")
def seven() -> bytes:
    return written("7")


@pytest.fixture(scope="session")
def number_2024() -> bytes:
    return written("2024", size=(560, 200))


@pytest.fixture(scope="session")
def blank() -> bytes:
    return written("")


@pytest.fixture
def postgres_schema():
    """The name of a fresh, empty PostgreSQL schema of the test's own, dropped afterwards."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    try:
        connection = psycopg.connect(POSTGRES_URL, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as error:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_URL}: {error}")
    with connection:
        connection.execute(f"CREATE SCHEMA {schema}")
        yield schema
        connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def postgres_settings(postgres_schema):
    """Settings that store predictions in the test's own PostgreSQL schema."""
    return {"DATABASE_URL": schema_url(postgres_schema)}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request, make_app):
    """The name of a database and an app storing its predictions there."""
    if request.param == "sqlite":
        return request.param, make_app()
    return request.param, make_app(**request.getfixturevalue("postgres_settings"))


@pytest.fixture
def redis_prefix():
    """A Redis key prefix of the test's own; its keys are deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.ConnectionError as error:
        unavailable(f"Redis is not reachable at {REDIS_URL}: {error}")
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield prefix
    # The cache's keys start with the prefix; Flask-Limiter's hold it after its own.
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def redis_settings(redis_prefix):
    """Settings that share the cache and the rate limits through Redis, under the test's own prefix."""
    return {"CACHE_REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": f"{redis_prefix}:", "RATELIMIT_KEY_PREFIX": redis_prefix}


@pytest.fixture
def unexpected_error(make_app, monkeypatch):
    """The answer to GET /api/stats when the code under it raises an error nobody expected, whose
    message ("secret internals") must not reach the client."""
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    app.test_client_class = FlaskClient  # the document does not list 500 for each operation

    def broken():
        raise RuntimeError("secret internals")

    monkeypatch.setattr(storage, "numbers_and_labels", broken)
    return app.test_client().get("/api/stats")


def stored_total(app) -> int:
    """How many predictions the app has stored, as the admin lists them."""
    return app.test_client().get("/api/predictions", headers=ADMIN).json["total"]


def predict(client, image: bytes) -> dict:
    """The answer to a prediction stored from a canvas."""
    response = client.post("/api/predict", json={"image": b64(image), "source": "canvas"})
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def three(client, seven, number_2024) -> list[dict]:
    """Three stored predictions, oldest first: 7, 2024 and 3."""
    return [predict(client, image) for image in (seven, number_2024, written("3"))]

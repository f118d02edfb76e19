"""Fixtures shared by every test folder."""

import json
import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from src.config import boolean
from src.ml import mnist


def pytest_collection_modifyitems(items):
    """Mark the tests that need more than Python and Redis, so that `-m "not browser and not postgres"`
    leaves them out: a browser (the tests under tests/browser), PostgreSQL (the postgres_schema fixture)."""
    for item in items:
        if "browser" in item.path.relative_to(ROOT).parts:
            item.add_marker(pytest.mark.browser)
        if "postgres_schema" in item.fixturenames:
            item.add_marker(pytest.mark.postgres)


def unavailable(reason: str):
    """Skip a test whose real dependency is missing, except in CI, where that is a failure."""
    if boolean(os.environ.get("CI") or "false"):
        pytest.fail(f"{reason} (CI must have it)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    folder = mnist.configured_dir()
    if not (folder / "t10k-images-idx3-ubyte.gz").exists():
        unavailable(f"MNIST is not at {folder}; set MNIST_DIR")
    return folder


# The service: an app on a temporary SQLite file, a test client that checks every /api/
# response against the OpenAPI document, and the app served over real HTTP.

ROOT = Path(__file__).resolve().parents[1]
ADMIN_TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
"""The headers of a request made with the admin token."""


def model_path() -> Path:
    from src.ml import DEFAULT_MODEL_PATH

    if not DEFAULT_MODEL_PATH.exists():
        unavailable(f"The model {DEFAULT_MODEL_PATH} is missing; run `make train`")
    return DEFAULT_MODEL_PATH


class DocumentedClient(FlaskClient):
    """A test client that fails a test when an /api/ response is not what the OpenAPI document says."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        check_documented(self.application, response)
        return response


def check_documented(app: Flask, response) -> None:
    from src.api.openapi import DOCUMENT, DOCUMENT_URI, REGISTRY

    request = response.request
    if not request.path.startswith("/api/"):
        return
    try:
        rule, _ = app.url_map.bind("localhost").match(request.path, method=request.method, return_rule=True)
    except HTTPException:
        documented, pointer = DOCUMENT["components"]["responses"]["NotFound"], "/components/responses/NotFound"
    else:
        path = re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule.rule)
        responses = DOCUMENT["paths"][path][request.method.lower()]["responses"]
        status = str(response.status_code)
        assert status in responses, f"{request.method} {path} answered {status}, which the OpenAPI document omits"
        documented = responses[status]
        pointer = "/paths/" + path.replace("/", "~1") + f"/{request.method.lower()}/responses/{status}"
        if "$ref" in documented:
            pointer = documented["$ref"][1:]
            documented = DOCUMENT["components"]["responses"][pointer.rsplit("/", 1)[1]]
    if response.status_code == 204:
        assert response.data == b""
        return
    content = documented["content"]
    media = response.mimetype if response.mimetype in content else response.mimetype.split("/")[0] + "/*"
    assert media in content, f"{request.path} answered {response.mimetype}; the document says {list(content)}"
    if media.endswith("json"):
        schema = {"$ref": f"{DOCUMENT_URI}#{pointer}/content/{media.replace('/', '~1')}/schema"}
        validator = Draft202012Validator(schema, registry=REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER)
        validator.validate(json.loads(response.data))


@pytest.fixture
def no_service_environment(monkeypatch):
    """Keep the developer's own settings (ADMIN_TOKEN, DATABASE_URL, ...) away from the test."""
    from src.config import ENVIRONMENT

    for name in [*ENVIRONMENT, "INSTANCE_PATH"]:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_app(tmp_path, no_service_environment):
    """Build an app on a fresh SQLite file with its tables (unless `create_tables` is false); keyword
    arguments override the test settings."""
    from src import create_app, storage

    model = model_path()

    def make(*, create_tables: bool = True, **settings) -> Flask:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test secret",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'predictions.sqlite'}",
                "MODEL_PATH": model,
                "MODEL_DIR": tmp_path / "models",
                "ADMIN_TOKEN": ADMIN_TOKEN,
                **settings,
            }
        )
        app.test_client_class = DocumentedClient
        if create_tables:
            with app.app_context():
                storage.init_db()
        return app

    return make


@pytest.fixture
def app(make_app) -> Flask:
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@contextmanager
def serving(app: Flask):
    """Serve `app` over real HTTP on a free port, in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture
def live_server(app):
    with serving(app) as base_url:
        yield base_url

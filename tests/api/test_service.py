"""What the service says about itself (model card, health, OpenAPI document) and how it fails."""

import json
import re

import pytest
from openapi_spec_validator import validate

from benchmarks.uploads import b64
from src import create_app
from src.api.openapi import DOCUMENT
from tests.conftest import ADMIN, ADMIN_TOKEN, DocumentedClient, model_path


def test_the_model_card_is_the_one_beside_the_model_file(app, client):
    response = client.get("/api/model")

    card = json.loads(model_path().with_suffix(".json").read_text())
    assert {name: value for name, value in response.json.items() if name != "versions"} == card
    assert response.json["version"] == app.extensions["served_model"].base.version
    assert [(v["version"], v["promoted"], v["in_use"]) for v in response.json["versions"]] == [
        (card["version"], True, True)
    ]


def test_health_reports_the_database_the_cache_and_the_model_to_the_admin(app, client):
    response = client.get("/api/health", headers=ADMIN)

    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "database": {"ok": True, "backend": "sqlite"},
        "cache": {"ok": True, "backend": "SimpleCache"},
        "model": {"ok": True, "version": app.extensions["served_model"].base.version},
    }


def test_health_is_503_when_the_database_is_down(no_service_environment):
    unreachable = "postgresql://127.0.0.1:1/none"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "MODEL_PATH": model_path(),
            "DATABASE_URL": unreachable,
            "ADMIN_TOKEN": ADMIN_TOKEN,
        }
    )
    app.test_client_class = DocumentedClient

    response = app.test_client().get("/api/health", headers=ADMIN)

    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.json["detail"] == "Not working: database."
    assert response.json["database"]["ok"] is False
    assert "OperationalError" in response.json["database"]["error"]
    assert response.json["cache"]["ok"] is response.json["model"]["ok"] is True


def test_a_cache_that_is_down_degrades_health_but_not_predictions(make_app, seven):
    app = make_app(CACHE_TYPE="RedisCache", CACHE_REDIS_URL="redis://127.0.0.1:1/0")
    client = app.test_client()

    health = client.get("/api/health", headers=ADMIN)
    first = client.post("/api/predict", json={"image": b64(seven)})
    second = client.post("/api/predict", json={"image": b64(seven)})

    assert health.status_code == 200
    assert health.json["status"] == "degraded"
    assert health.json["database"]["ok"] and health.json["model"]["ok"]
    assert "ConnectionError" in health.json["cache"]["error"]
    assert first.status_code == second.status_code == 201
    assert first.json["number"] == second.json["number"] == "7"
    assert second.json["cached"] is False


def test_a_model_that_cannot_be_loaded_is_reported_not_hidden(make_app, tmp_path, seven):
    app = make_app(MODEL_PATH=tmp_path / "missing.joblib")
    client = app.test_client()

    health = client.get("/api/health", headers=ADMIN)
    prediction = client.post("/api/predict", json={"image": b64(seven)})
    card = client.get("/api/model")

    assert health.status_code == prediction.status_code == card.status_code == 503
    assert health.json["detail"] == "Not working: model."
    assert "missing.joblib could not be loaded (FileNotFoundError" in health.json["model"]["error"]
    assert prediction.json["detail"] == "The model could not be loaded when the service started; try again later."


@pytest.mark.parametrize("down", ["database", "model", None])
def test_health_tells_anyone_but_the_admin_no_more_than_what_is_down(make_app, tmp_path, down):
    settings = {
        "database": {"DATABASE_URL": "postgresql://127.0.0.1:1/none"},
        "model": {"MODEL_PATH": tmp_path / "missing.joblib"},
        None: {},
    }[down]
    app = make_app(create_tables=down != "database", **settings)

    response = app.test_client().get("/api/health")

    assert response.status_code == (503 if down else 200)
    assert set(response.json) == ({"type", "title", "status", "detail"} if down else {"status"})
    assert "Error" not in response.get_data(as_text=True) and str(tmp_path) not in response.get_data(as_text=True)


def test_the_openapi_document_is_valid_openapi_3_1(client):
    document = client.get("/api/openapi.json").json

    validate(document)
    assert document["openapi"].startswith("3.1")
    assert document == DOCUMENT


def test_every_api_route_is_in_the_document_and_every_documented_operation_is_served(app):
    served = {
        (re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {
        (path, method)
        for path, operations in DOCUMENT["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }

    assert served == documented


def test_an_unknown_api_path_is_a_problem_document(client):
    response = client.get("/api/nothing-here")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "Nothing is at /api/nothing-here; the API's paths are listed in /api/openapi.json.",
    }


@pytest.mark.parametrize("method, path, allowed", [("DELETE", "/api/stats", "GET"), ("GET", "/api/predict", "POST")])
def test_a_method_the_path_does_not_take_is_405_with_the_allowed_ones(client, method, path, allowed):
    response = client.open(path, method=method)

    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert allowed in response.headers["Allow"]
    assert response.json["detail"] == f"{method} is not allowed on {path}; it accepts {allowed}."


def test_outside_the_api_a_missing_page_stays_html(client):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_the_page_is_served_at_the_root(client):
    response = client.get("/")

    assert response.status_code == 200
    assert response.mimetype == "text/html"


def test_an_unexpected_error_is_a_500_problem_without_internals(unexpected_error):
    response = unexpected_error

    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert response.json["title"] == "Internal Server Error"
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)

"""What the service tells about itself: statistics, the model card, health and the OpenAPI document."""

from flask import current_app
from flask_restful import Resource

from src.api.auth import has_admin_token
from src.api.openapi import DOCUMENT
from src.api.problems import problem
from src.health import health
from src.readings import current_model
from src.statistics import statistics
from src.versions import versions


class Stats(Resource):
    def get(self):
        return statistics()


def version_json(entry: dict, served: str) -> dict:
    card = entry["card"]
    return {
        "version": card["version"],
        "created_at": entry["created_at"],
        "promoted": entry["promoted_at"] is not None or card.get("parent") is None,
        "promoted_at": entry["promoted_at"],
        "in_use": card["version"] == served,
        "parent": card.get("parent"),
        "corrections": card.get("corrections"),
        "gate": card.get("gate"),
    }


class ModelCard(Resource):
    def get(self):
        """The card of the version this process serves, and every version kept."""
        model = current_model()
        return {**model.card, "versions": [version_json(entry, model.version) for entry in versions(current_app)]}


class Health(Resource):
    def get(self):
        """503 when predictions cannot be served; 200 "degraded" when only the cache is down, since
        predictions go on without it and a load balancer should keep sending them here. What each
        part says (backends, versions, errors from the database's driver) only to the admin token."""
        checks = health()
        down = [part for part, status in checks.items() if not status["ok"]]
        details = checks if has_admin_token() else {}
        if set(down) - {"cache"}:
            return problem(503, f"Not working: {', '.join(down)}.", **details)
        return {"status": "degraded" if down else "ok", **details}


class OpenApiDocument(Resource):
    def get(self):
        return DOCUMENT

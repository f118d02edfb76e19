"""The JSON API under /api/: a Flask-RESTful Api on a blueprint, with its resources."""

from flask import Blueprint, Flask
from flask_restful import Api
from werkzeug.routing import BaseConverter

from src.api.predictions import (
    Predict,
    PredictionExport,
    PredictionImage,
    PredictionInput,
    PredictionItem,
    PredictionList,
)
from src.api.samples import SampleExport, SampleList
from src.api.service import Health, ModelCard, OpenApiDocument, Stats

bp = Blueprint("api", __name__, url_prefix="/api")


class ProblemApi(Api):
    """An Api that leaves every error to Flask's handlers.

    Flask-RESTful would answer errors in its own {"message": ...} shape; passing them
    on lets src/api/problems.py turn routed and unrouted errors alike into problem+json.
    """

    def handle_error(self, e):
        raise e


class PublicId(BaseConverter):
    """A prediction's id: 22 characters of URL-safe base64 (src/tables.py's new_public_id), so that no
    other path (/predictions/export) and nothing a database would refuse (a NUL) is taken for one."""

    regex = "[A-Za-z0-9_-]{22}"


def init_app(app: Flask) -> None:
    app.url_map.converters["public_id"] = PublicId
    app.register_blueprint(bp)


api = ProblemApi(bp)
api.add_resource(Predict, "/predict", endpoint="predict")
api.add_resource(PredictionList, "/predictions", endpoint="predictions")
api.add_resource(PredictionExport, "/predictions/export", endpoint="prediction_export")
api.add_resource(PredictionItem, "/predictions/<public_id:prediction_id>", endpoint="prediction")
api.add_resource(PredictionImage, "/predictions/<public_id:prediction_id>/image", endpoint="prediction_image")
api.add_resource(PredictionInput, "/predictions/<public_id:prediction_id>/input.png", endpoint="prediction_input")
api.add_resource(SampleList, "/samples", endpoint="samples")
api.add_resource(SampleExport, "/samples/export", endpoint="sample_export")
api.add_resource(Stats, "/stats", endpoint="stats")
api.add_resource(ModelCard, "/model", endpoint="model")
api.add_resource(Health, "/health", endpoint="health")
api.add_resource(OpenApiDocument, "/openapi.json", endpoint="openapi")

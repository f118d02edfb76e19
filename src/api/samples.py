"""The samples people's corrections made, for the admin: listed a page at a time with counts per digit,
and exported as a training set."""

from flask_restful import Resource

from src.api.auth import require_admin
from src.api.predictions import MAX_PER_PAGE, dataset_export, int_arg, only_query_parameters, page_json, timestamp
from src.samples import exported_samples, labelled_samples, samples_page
from src.tables import Sample


def sample_json(sample: Sample) -> dict:
    return {
        "id": sample.id,
        "created_at": timestamp(sample.created_at),
        "label": sample.label,
        "read": sample.read,
        "model": sample.model_version,
        "source": sample.source,
        "prediction": sample.prediction_id,
        "position": sample.position,
    }


class SampleList(Resource):
    def get(self):
        require_admin()
        only_query_parameters("page", "per_page")
        page, counts = samples_page(page=int_arg("page", 1, 1), per_page=int_arg("per_page", 20, 1, MAX_PER_PAGE))
        return {**page_json(page, sample_json), "counts": {str(digit): count for digit, count in counts.items()}}


class SampleExport(Resource):
    def get(self):
        require_admin()
        only_query_parameters("format")
        return dataset_export("samples", exported_samples, labelled_samples)

"""The samples people's corrections made, for the admin: listed a page at a time with counts per digit,
and exported as a training set."""
from flask import Response, current_app, request, stream_with_context
from flask_restful import Resource
from werkzeug.exceptions import BadRequest

from src import storage
from src.api.auth import require_admin
from src.api.predictions import MAX_PER_PAGE, int_arg, timestamp, within_time
from src.datasets import csv_chunks, idx_zip_chunks


def only_query_parameters(*names: str) -> None:
    """Refuse a query parameter this list or export does not take: a misspelt one would be ignored unseen."""
    unknown = sorted(set(request.args) - set(names))
    if unknown:
        raise BadRequest(f"Unknown query parameter {unknown[0]!r}; this takes only {', '.join(names)}.")


def sample_json(sample: storage.Sample) -> dict:
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
        page = storage.find_samples(page=int_arg("page", 1, 1), per_page=int_arg("per_page", 20, 1, MAX_PER_PAGE))
        counts = storage.sample_counts()
        return {
            "items": [sample_json(sample) for sample in page.items],
            "total": page.total,
            "page": page.page,
            "per_page": page.per_page,
            "pages": page.pages,
            "counts": {str(digit): counts.get(digit, 0) for digit in range(10)},
        }


class SampleExport(Resource):
    def get(self):
        require_admin()
        only_query_parameters("format")
        export_format = request.args.get("format", "csv")
        if export_format not in ("csv", "idx"):
            raise BadRequest(f"The query parameter 'format' must be csv or idx, not {export_format!r}.")
        total, last = storage.exported_samples()

        def chunks():
            # Rows are read inside the stream, which runs after the view has returned.
            rows = ((str(label), data) for label, data, _ in storage.sample_rows(last))
            yield from csv_chunks(rows) if export_format == "csv" else idx_zip_chunks(total, rows)

        if export_format == "csv":
            mimetype, filename = "text/csv", "samples.csv"
        else:
            mimetype, filename = "application/zip", "samples-idx.zip"
        return Response(
            stream_with_context(within_time(chunks(), current_app.config["EXPORT_TIMEOUT"])),
            mimetype=mimetype,
            headers={"Content-Disposition": f"attachment; filename={filename}"},
        )

"""Predictions over HTTP: read an image, list, show, correct, delete and export stored ones."""

import json
import re
import reprlib
import time
from datetime import UTC, datetime

from flask import Response, current_app, request, stream_with_context, url_for
from flask_restful import Resource
from werkzeug.exceptions import BadRequest, PreconditionFailed
from werkzeug.http import generate_etag, quote_etag

from src.api.auth import client_id, own_prediction, requesting_client, require_admin
from src.api.openapi import json_body
from src.api.uploads import read_upload
from src.datasets import csv_chunks, idx_zip_chunks
from src.readings import (
    clear_predictions,
    correct_prediction,
    delete_prediction,
    exported_digits,
    find_predictions,
    input_png,
    labelled_inputs,
    predict,
)
from src.tables import Prediction

DIGITS = re.compile(r"[0-9]+")
# What int() reads that a query parameter should not be: spaces, "1_000", "+5", other scripts' digits ("٣").
INTEGER = re.compile(r"-?[0-9]+")
MAX_PER_PAGE = 100
# Probabilities in answers: more decimals than the model's calibration can vouch for only look precise.
PROBABILITY_DECIMALS = 4


def timestamp(moment: datetime | None) -> str | None:
    return moment.replace(tzinfo=UTC).isoformat() if moment else None


def digits_json(digits: list[dict]) -> list[dict]:
    """The digits read as answers give them: probabilities rounded to PROBABILITY_DECIMALS."""
    return [
        {
            **found,
            "confidence": round(found["confidence"], PROBABILITY_DECIMALS),
            "probabilities": [round(probability, PROBABILITY_DECIMALS) for probability in found["probabilities"]],
        }
        for found in digits
    ]


def prediction_json(prediction: Prediction) -> dict:
    """A stored prediction as answers give it, with its entity tag (`etag`), which changes whenever the rest does."""
    body = {
        "id": prediction.public_id,
        "created_at": timestamp(prediction.created_at),
        "number": prediction.number,
        "digits": digits_json(prediction.digits),
        "model": prediction.model_version,
        "source": prediction.source,
        "content_type": prediction.content_type,
        "sha256": prediction.sha256,
        "label": prediction.label,
        "labelled_at": timestamp(prediction.labelled_at),
        "image_url": url_for("api.prediction_image", prediction_id=prediction.public_id),
        "input_url": url_for("api.prediction_input", prediction_id=prediction.public_id),
    }
    # In the body as well as in the ETag header: a list's items have no header of their own.
    return {**body, "etag": quote_etag(generate_etag(json.dumps(body, sort_keys=True).encode()))}


def with_etag(body: dict) -> tuple[dict, int, dict]:
    """A prediction's answer, with its entity tag as the ETag header."""
    return body, 200, {"ETag": body["etag"]}


def unless_changed(prediction: Prediction) -> Prediction:
    """The prediction, unless the request has an If-Match that names neither its entity tag nor `*`: a change made
    by a page or a script that saw it before another request read it again or corrected it is refused (412)."""
    # An If-Match that names no entity tag (empty, or nothing but malformed ones) matches none: it is not ignored.
    if "If-Match" in request.headers and not request.if_match.contains_raw(prediction_json(prediction)["etag"]):
        raise PreconditionFailed(
            f"Prediction {prediction.public_id} has changed since the version named in If-Match (it was read again "
            "or corrected meanwhile), so nothing was changed; get it again, then retry."
        )
    return prediction


def only_query_parameters(*names: str) -> None:
    """Refuse a query parameter this list or export does not take: a misspelt one would be ignored unseen."""
    unknown = sorted(set(request.args) - set(names))
    if unknown:
        raise BadRequest(f"Unknown query parameter {unknown[0]!r}; this takes only {', '.join(names)}.")


def int_arg(name: str, default: int | None, minimum: int, maximum: int | None = None) -> int | None:
    text = request.args.get(name)
    if text is None:
        return default
    try:
        if not INTEGER.fullmatch(text):
            raise ValueError(text)
        value = int(text)  # ValueError too beyond Python's 4,300 digits
    except ValueError:
        raise BadRequest(f"The query parameter '{name}' must be a whole number, not {reprlib.repr(text)}.") from None
    if value < minimum or (maximum is not None and value > maximum):
        limits = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise BadRequest(f"The query parameter '{name}' must be {limits}, not {value}.")
    return value


class Predict(Resource):
    def post(self):
        started = time.perf_counter()
        upload = read_upload()
        replaced = own_prediction(upload.replaces) if upload.replaces is not None else None
        outcome = predict(
            upload.image,
            save=upload.save,
            source=upload.source,
            client_id=client_id() if upload.save else None,
            client_address=request.remote_addr,
            replaces=replaced,
        )
        body = {
            "id": outcome.prediction_id,
            "number": outcome.reading.number,
            "digits": digits_json(outcome.reading.digits),
            "marks": outcome.reading.marks,
            "cached": outcome.cached,
            "model": outcome.model_version,
            "elapsed_ms": round((time.perf_counter() - started) * 1000, 3),
        }
        if outcome.prediction_id is None:
            return body, 200
        location = {"Location": url_for("api.prediction", prediction_id=outcome.prediction_id)}
        return body, 200 if replaced else 201, location


def page_json(page, item_json) -> dict:
    """One page of a paginated list, each item as `item_json` gives it."""
    return {
        "items": [item_json(item) for item in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
        "pages": page.pages,
    }


class PredictionList(Resource):
    def get(self):
        only_query_parameters("page", "per_page", "digit", "label")
        label = request.args.get("label")
        if label is not None and not DIGITS.fullmatch(label):
            raise BadRequest(f"The query parameter 'label' must be digits, like 7 or 2024, not {label!r}.")
        page = find_predictions(
            client_id=requesting_client(),
            digit=int_arg("digit", None, 0, 9),
            label=label,
            page=int_arg("page", 1, 1),
            per_page=int_arg("per_page", 20, 1, MAX_PER_PAGE),
        )
        return page_json(page, prediction_json)

    def delete(self):
        require_admin()
        return {"deleted": clear_predictions()}


class PredictionItem(Resource):
    def get(self, prediction_id: str):
        return with_etag(prediction_json(own_prediction(prediction_id)))

    def patch(self, prediction_id: str):
        prediction = unless_changed(own_prediction(prediction_id))
        # A version named in If-Match must still be the prediction's when it is changed, not only when read.
        as_read = "If-Match" in request.headers and not request.if_match.star_tag
        correct_prediction(prediction, json_body("LabelRequest")["label"], as_read)
        return with_etag(prediction_json(prediction))

    def delete(self, prediction_id: str):
        delete_prediction(unless_changed(own_prediction(prediction_id)))
        return Response(status=204)


class PredictionImage(Resource):
    def get(self, prediction_id: str):
        prediction = own_prediction(prediction_id, Prediction.image)
        return Response(prediction.image, mimetype=prediction.content_type)


class PredictionInput(Resource):
    def get(self, prediction_id: str):
        return Response(input_png(own_prediction(prediction_id, Prediction.inputs)), mimetype="image/png")


class ExportTooLong(RuntimeError):
    """An export that would outlast the worker's timeout: cut off so that the client sees it fail."""


def within_time(chunks, seconds: float):
    """The chunks of a streamed answer, until `seconds` have passed; then the stream fails.

    Once the status is sent, failing the stream (the server closes the connection before the end of
    its chunked body) is the only error a client can still see. Failing first, with a log line, is
    better than being killed by the worker's timeout.
    """
    deadline = time.monotonic() + seconds
    for chunk in chunks:
        yield chunk
        if time.monotonic() > deadline:
            current_app.logger.error("Export cut off after %g s; raise EXPORT_TIMEOUT, or export less.", seconds)
            raise ExportTooLong(f"The export took more than {seconds:g} s.")


def dataset_export(name: str, exported, rows) -> Response:
    """Stream a dataset of 28x28 digits in the requested `format`, as `name`.csv or `name`-idx.zip.

    `exported()` gives how many samples there are and the last one's id, before the stream starts;
    `rows(last)` yields them, up to that one, as (label, bytes)."""
    export_format = request.args.get("format", "csv")
    if export_format not in ("csv", "idx"):
        raise BadRequest(f"The query parameter 'format' must be csv or idx, not {export_format!r}.")
    total, last = exported()

    def chunks():
        # Rows are read inside the stream, which runs after the view has returned.
        yield from csv_chunks(rows(last)) if export_format == "csv" else idx_zip_chunks(total, rows(last))

    if export_format == "csv":
        mimetype, filename = "text/csv", f"{name}.csv"
    else:
        mimetype, filename = "application/zip", f"{name}-idx.zip"
    return Response(
        stream_with_context(within_time(chunks(), current_app.config["EXPORT_TIMEOUT"])),
        mimetype=mimetype,
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


class PredictionExport(Resource):
    def get(self):
        # A client exports the digits it wrote, as it lists its predictions; the admin token, every client's.
        only_query_parameters("format")
        client = requesting_client()
        return dataset_export("digits", lambda: exported_digits(client), lambda last: labelled_inputs(last, client))

"""Every error under /api/ as an RFC 7807 `application/problem+json` document, in this one place."""

import json
from functools import partial

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge, TooManyRequests
from werkzeug.http import HTTP_STATUS_CODES

from src.database import DatabaseUnavailable
from src.errors import LabelMismatch, ModelUnavailable, NoDigitFound, QuotaExceeded
from src.ml import ImageTooLarge, NotAnImage
from src.storage import PredictionChanged, PredictionCorrected, PredictionNotFound

PROBLEM_JSON = "application/problem+json"

# Errors the service raises in its own terms, with the status each means to a client.
DOMAIN_ERRORS = {
    ImageTooLarge: 413,
    NotAnImage: 415,
    PredictionNotFound: 404,
    PredictionChanged: 409,
    PredictionCorrected: 412,
    LabelMismatch: 422,
    ModelUnavailable: 503,
    DatabaseUnavailable: 503,
}


def problem(status: int, detail: str, headers=None, **members) -> Response:
    body = {"type": "about:blank", "title": HTTP_STATUS_CODES[status], "status": status, "detail": detail, **members}
    return Response(json.dumps(body), status, headers, mimetype=PROBLEM_JSON)


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def http_problem(error: HTTPException):
    if not is_api_request():
        return error
    detail = error.description
    if isinstance(error, NotFound) and request.url_rule is None:
        detail = f"Nothing is at {request.path}; the API's paths are listed in /api/openapi.json."
    elif isinstance(error, MethodNotAllowed):
        allowed = ", ".join(sorted(set(error.valid_methods or ()) - {"HEAD", "OPTIONS"}))
        detail = f"{request.method} is not allowed on {request.path}; it accepts {allowed}."
    elif isinstance(error, RequestEntityTooLarge) and request.max_content_length is not None:
        if request.content_length is not None and request.content_length <= request.max_content_length:
            # Within the upload limit, so werkzeug refused the form itself.
            detail = (
                f"The form has more than {request.max_form_parts:,} parts, or a field that is not a file over "
                f"{request.max_form_memory_size:,} bytes; send the image as the one file field 'image'."
            )
        else:
            detail = f"The body is over the upload limit of {request.max_content_length:,} bytes; send a smaller image."
    elif isinstance(error, TooManyRequests):
        # Flask-Limiter's description is the limit itself, e.g. "300 per 1 minute"; it adds Retry-After.
        detail = f"Too many requests from this client: the limit is {error.description}. Retry after the time given."
    # Keep the headers the error needs (Allow, WWW-Authenticate), not its HTML content type.
    headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
    return problem(error.code or 500, detail, headers)


def domain_problem(status: int, error: Exception) -> Response:
    return problem(status, str(error))


def no_digit_problem(error: NoDigitFound) -> Response:
    return problem(422, str(error), marks=error.marks)


def quota_problem(error: QuotaExceeded) -> Response:
    return problem(429, str(error), {"Retry-After": str(error.retry_after)})


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, http_problem)
    app.register_error_handler(QuotaExceeded, quota_problem)
    app.register_error_handler(NoDigitFound, no_digit_problem)
    for error_class, status in DOMAIN_ERRORS.items():
        app.register_error_handler(error_class, partial(domain_problem, status))

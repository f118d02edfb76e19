"""The image a client sends to POST /api/predict: JSON with base64 or a data URL, multipart
form data, or a raw body of an image or octet-stream content type; and its options (`save`, `source`), which
each way takes as query parameters, JSON and forms also as fields of their own."""

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass

from flask import request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from src.api.openapi import check_against_schema, json_body
from src.config import boolean

# Its scheme and parameters are ASCII case-insensitive (RFC 2397, and 2045 for the media type).
DATA_URL = re.compile(r"data:(?P<type>[^,]*?)(?P<base64>;base64)?,(?P<data>.*)", re.DOTALL | re.IGNORECASE | re.ASCII)

URL_SAFE = str.maketrans("-_", "+/")
"""base64url (RFC 4648, section 5), as `base64.urlsafe_b64encode` and browsers' URL-safe encoders write it."""


@dataclass(frozen=True)
class Upload:
    image: bytes
    save: bool
    source: str
    replaces: str | None = None
    """The id of the client's earlier prediction this reading is to be stored in place of (JSON only)."""


def decode_image_text(text: str) -> bytes:
    """The bytes of base64 or base64url text, or of a base64 data URL."""
    data_url = DATA_URL.fullmatch(text.strip())
    if data_url:
        if not data_url["base64"]:
            raise BadRequest("The data URL is not base64-encoded; send 'data:image/png;base64,...'.")
        text = data_url["data"]
    # Line-wrapped base64 (MIME, or `base64` without -w0) is base64 too; split() is 15 times
    # quicker than a regular expression on the usual, unwrapped text.
    text = "".join(text.split())
    if "-" in text or "_" in text:
        if "+" in text or "/" in text:
            raise BadRequest("The image mixes base64's alphabet (+ and /) with base64url's (- and _); use one.")
        text = text.translate(URL_SAFE)
    try:
        # The padding is what base64url most often goes without (JSON Web Tokens, many libraries).
        image = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except ValueError as error:  # binascii.Error, or text that is not ASCII
        raise BadRequest(f"The image is not valid base64 ({error}).") from None
    if not image:
        raise BadRequest("The image is empty.")
    return image


def _text_options(fields: Mapping[str, str], where: str) -> dict:
    """The `save` and `source` given as text (form fields, query parameters), as JSON would give them."""
    options = {}
    if "save" in fields:
        try:
            options["save"] = boolean(fields["save"])
        except ValueError:
            raise BadRequest(f"The {where} 'save' must be true or false, not {fields['save']!r}.") from None
    if "source" in fields:
        options["source"] = fields["source"]
    return options


def _options(given: dict, where: str, default_source: str) -> dict:
    """The options a request gives in its body (JSON fields, form fields) and in its query, which
    every way of sending an image accepts: each may come from either, and where both give one they agree."""
    options = dict(given)
    for name, value in _text_options(request.args, "query parameter").items():
        if name in options and options[name] != value:
            raise BadRequest(
                f"'{name}' is given twice and differently: {options[name]!r} in the {where} "
                f"and {value!r} in the query. Give it once."
            )
        options[name] = value
    check_against_schema("PredictOptions", options)
    return {"save": True, "source": default_source, **options}


def _from_json() -> Upload:
    body = json_body("PredictRequest")
    options = _options({name: body[name] for name in ("save", "source") if name in body}, "JSON body", "api")
    if "replaces" in body and not options["save"]:
        raise BadRequest("'replaces' stores the reading in place of an earlier one, so it cannot go with save false.")
    return Upload(decode_image_text(body["image"]), options["save"], options["source"], body.get("replaces"))


def _from_form() -> Upload:
    uploaded = request.files.get("image")
    if uploaded is None:
        raise BadRequest("The form has no file field 'image'; send the picture as image=@file.png.")
    image = uploaded.read()
    if not image:
        raise BadRequest("The uploaded file 'image' is empty.")
    options = _options(_text_options(request.form, "form field"), "form", "upload")
    return Upload(image, options["save"], options["source"])


def _from_raw_body() -> Upload:
    image = request.get_data()
    if not image:
        raise BadRequest("The body is empty; send the image's bytes.")
    options = _options({}, "body", "api")
    return Upload(image, options["save"], options["source"])


def read_upload() -> Upload:
    if request.is_json:
        return _from_json()
    if request.mimetype == "multipart/form-data":
        return _from_form()
    # Bytes of unnamed type are what many HTTP clients send a file as; the decoder tells the format by its content.
    if request.mimetype.startswith("image/") or request.mimetype == "application/octet-stream":
        return _from_raw_body()
    raise UnsupportedMediaType(
        f'Send the image as JSON ({{"image": "<base64>"}}), as multipart form data with a file field \'image\', '
        "or as a raw body with an image/* or application/octet-stream content type, not "
        f"{request.mimetype or 'a body without a content type'}."
    )

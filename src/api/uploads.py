"""The image a client sends to POST /api/predict: JSON with base64 or a data URL, multipart
form data, or a raw body with an image content type."""
import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass

from flask import request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from src.api.openapi import check_against_schema, json_body

DATA_URL = re.compile(r"data:(?P<type>[^,]*?)(?P<base64>;base64)?,(?P<data>.*)", re.DOTALL)


@dataclass(frozen=True)
class Upload:
    image: bytes
    save: bool
    source: str


def decode_image_text(text: str) -> bytes:
    """The bytes of base64 text or of a base64 data URL."""
    data_url = DATA_URL.fullmatch(text.strip())
    if data_url:
        if not data_url["base64"]:
            raise BadRequest("The data URL is not base64-encoded; send 'data:image/png;base64,...'.")
        text = data_url["data"]
    try:
        # Line-wrapped base64 (MIME, or `base64` without -w0) is base64 too; split() is 15 times
        # quicker than a regular expression on the usual, unwrapped text.
        image = base64.b64decode("".join(text.split()), validate=True)
    except ValueError as error:  # binascii.Error, or text that is not ASCII
        raise BadRequest(f"The image is not valid base64 ({error}).") from None
    if not image:
        raise BadRequest("The image is empty.")
    return image


def _upload_with_text_options(
    image: bytes, empty: str, fields: Mapping[str, str], where: str, default_source: str
) -> Upload:
    """An upload whose `save` and `source` came as text (form fields, query parameters), checked like JSON ones."""
    if not image:
        raise BadRequest(empty)
    words = {"true": True, "1": True, "false": False, "0": False}
    save_text = fields.get("save", "true").strip().lower()
    if save_text not in words:
        raise BadRequest(f"The {where} 'save' must be true or false, not {fields['save']!r}.")
    options = {"save": words[save_text], "source": fields.get("source", default_source)}
    check_against_schema("PredictOptions", options)
    return Upload(image, options["save"], options["source"])


def _from_json() -> Upload:
    body = json_body("PredictRequest")
    return Upload(decode_image_text(body["image"]), body.get("save", True), body.get("source", "api"))


def _from_form() -> Upload:
    uploaded = request.files.get("image")
    if uploaded is None:
        raise BadRequest("The form has no file field 'image'; send the picture as image=@file.png.")
    empty = "The uploaded file 'image' is empty."
    return _upload_with_text_options(uploaded.read(), empty, request.form, "form field", "upload")


def _from_raw_body() -> Upload:
    empty = "The body is empty; send the image's bytes."
    return _upload_with_text_options(request.get_data(), empty, request.args, "query parameter", "api")


def read_upload() -> Upload:
    if request.is_json:
        return _from_json()
    if request.mimetype == "multipart/form-data":
        return _from_form()
    if request.mimetype.startswith("image/"):
        return _from_raw_body()
    raise UnsupportedMediaType(
        f"Send the image as JSON ({{\"image\": \"<base64>\"}}), as multipart form data with a file field 'image', "
        f"or as a raw body with an image/* content type, not {request.mimetype or 'a body without a content type'}."
    )

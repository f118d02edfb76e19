"""Predictions, for the API: the one path from image bytes to a stored prediction, with what the engine
read cached by image content, model version and engine version (`src.ml.ENGINE_VERSION`); finding,
correcting and deleting stored ones, and the digits as a dataset. src/api reaches stored predictions only
through here."""

import base64
import dataclasses
import hashlib
import hmac
import io
import re
import reprlib
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from flask import Flask, current_app, g
from flask_sqlalchemy.pagination import Pagination
from PIL import Image

from src import storage
from src.database import utc_now
from src.errors import LabelMismatch, ModelUnavailable, NoDigitFound, QuotaExceeded
from src.ml import ENGINE_VERSION, DigitModel, recognise
from src.stored_image import without_metadata
from src.tables import Prediction

DIGIT_SIDE = 28
DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Reading:
    """What the engine read in one image, as the service caches and stores it."""

    number: str
    digits: list[dict]
    inputs: bytes
    """The normalised 28x28 uint8 digits, left to right, row-major."""
    marks: int
    """Marks read as no digit and left out (see `src.ml.Recognition.marks`)."""

    def to_json(self) -> dict:
        return {
            "number": self.number,
            "digits": self.digits,
            "inputs": base64.b64encode(self.inputs).decode(),
            "marks": self.marks,
        }

    @classmethod
    def from_cached(cls, value) -> "Reading | None":
        """The reading a cached value holds; None for a miss, or a value that is not a reading."""
        try:
            return None if value is None else cls.from_json(value)
        except (ValueError, KeyError, TypeError):
            return None

    @classmethod
    def from_json(cls, value) -> "Reading":
        """Raises ValueError, KeyError or TypeError for a value that is not a reading."""
        reading = cls(
            number=value["number"],
            digits=value["digits"],
            inputs=base64.b64decode(value["inputs"], validate=True),
            marks=value["marks"],
        )
        if (
            not isinstance(reading.number, str)
            or not isinstance(reading.digits, list)
            or len(reading.digits) != len(reading.number)
        ):
            raise ValueError("not a reading")
        if not isinstance(reading.marks, int) or reading.marks < 0:
            raise ValueError("not a reading")
        if len(reading.inputs) != DIGIT_SIDE * DIGIT_SIDE * len(reading.digits):
            raise ValueError("not a reading")
        return reading


@dataclass(frozen=True)
class Outcome:
    reading: Reading
    prediction_id: str | None
    """The stored prediction's public id; None when the client asked not to store it."""
    cached: bool
    model_version: str


class Retention:
    """Deletes expired predictions as new ones are stored, at most every `interval` seconds per process:
    no cron job to set up, and the cost of a sweep is spread thin."""

    interval = 10.0

    def __init__(self, app: Flask):
        self.app = app
        self.last_sweep: float | None = None
        self.lock = threading.Lock()

    def sweep_if_due(self) -> None:
        with self.lock:
            if self.last_sweep is not None and time.monotonic() - self.last_sweep < self.interval:
                return
            self.last_sweep = time.monotonic()
        storage.delete_expired(self.app.config)


def init_app(app: Flask) -> None:
    app.extensions["retention"] = Retention(app)


def current_model() -> DigitModel:
    """The version in use (src/versions.py), as this process serves it."""
    model = current_app.extensions["served_model"].get()
    if model is None:
        # Why is for the log and the admin's health check (`model_load_error`): it names files on the server.
        raise ModelUnavailable("The model could not be loaded when the service started; try again later.")
    return model


def model_load_error() -> str | None:
    """Why no model can be served, or None."""
    served = current_app.extensions["served_model"]
    return served.load_error if served.get() is None else None


def read_image(image: bytes, model: DigitModel) -> Reading:
    recognition = recognise(image, model, max_pixels=current_app.config["MAX_PIXELS"])
    # What reading it cost, for the rate limit to count (src/ratelimit.py); a cached reading costs nothing.
    g.pieces_read = recognition.pieces_read
    return Reading(
        number=recognition.number,
        digits=[
            {
                "digit": found.digit,
                "confidence": found.confidence,
                "probabilities": found.probabilities.tolist(),
                "box": dataclasses.asdict(found.box),
            }
            for found in recognition.digits
        ],
        inputs=b"".join(found.image.tobytes() for found in recognition.digits),
        marks=recognition.marks,
    )


def address_key(address: str | None) -> str:
    """What is stored of a client's address: a hash keyed with the secret key, enough to count by."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, (address or "").encode(), hashlib.sha256).hexdigest()[:32]


def hourly_quota() -> storage.Quota | None:
    """What a client address may store in the hour up to now; None when there is no limit."""
    per_hour, bytes_per_hour = (
        current_app.config["QUOTA_PREDICTIONS_PER_HOUR"],
        current_app.config["QUOTA_BYTES_PER_HOUR"],
    )
    if not per_hour and not bytes_per_hour:
        return None
    return storage.Quota(per_hour, bytes_per_hour, utc_now() - timedelta(hours=1))


def check_quota(address: str, replaces: Prediction) -> None:
    """Refuse to store a reading in place of `replaces` from a client address that has stored its hour's
    worth. It takes the replaced one's room: a drawing read again as it grows is still one entry, even at the
    limit. (A new prediction is counted in the statement that stores it, `storage.add_prediction`.)"""
    quota = hourly_quota()
    if quota is None:
        return
    count, size, first = storage.stored_since(address, quota.since)
    if replaces.client_address == address and replaces.created_at >= quota.since:
        count, size = count - 1, size - (replaces.image_size or 0)
    if quota.reached(count, size):
        raise quota_exceeded(quota, count, size, first)


def quota_exceeded(quota: storage.Quota, count: int, size: int, first: datetime | None) -> QuotaExceeded:
    """The refusal of a client address that has stored `count` predictions and `size` bytes since the quota's
    start, the first of them at `first`: with when to try again."""
    limits = [
        f"{quota.predictions:,} predictions" if quota.predictions else "",
        f"{quota.bytes:,} bytes" if quota.bytes else "",
    ]
    return QuotaExceeded(
        f"This client has stored {count:,} predictions ({size:,} bytes of images) in the last hour, as much as "
        f"it may ({' or '.join(limit for limit in limits if limit)} an hour); retry after the time given, "
        "or read images without storing them (save: false).",
        # No first row: the hour's rows expired since the insert was refused.
        retry_after=max(1, int(((first or quota.since) - quota.since).total_seconds()) + 1),
    )


def cache_key(model_version: str, sha256: str) -> str:
    """Where what this engine read with that model in the image of that SHA-256 is cached."""
    return f"reading:{model_version}:{ENGINE_VERSION}:{sha256}"


def predict(
    image: bytes,
    *,
    save: bool,
    source: str,
    client_id: str | None,
    client_address: str | None = None,
    replaces: Prediction | None = None,
) -> Outcome:
    """Read the digits in encoded image bytes and, if asked, store the prediction: as a new one,
    or in place of the stored prediction `replaces` (a drawing read again once it has more strokes).

    Identical bytes read by the same model and engine come from the cache; a cached reading is
    stored like a new one. Nothing is stored for an image that fails, and of one that is read, its
    pixels without the metadata it came with.
    """
    model = current_model()
    if save:
        address = address_key(client_address)
        if replaces is not None:
            check_quota(address, replaces)
    sha256 = hashlib.sha256(image).hexdigest()
    key = cache_key(model.version, sha256)
    # The cache only saves time: when it is down, read the image again (/api/health reports it).
    cache_in_use = current_app.extensions["cache_in_use"]
    reading = Reading.from_cached(cache_in_use.get(key))
    cached = reading is not None
    if reading is None:
        reading = read_image(image, model)
        cache_in_use.set(key, reading.to_json())
    if not reading.digits and reading.marks:
        raise NoDigitFound(
            "No digit was found: the image holds no recognisable digit (it looks like letters, a drawing or a "
            "picture). Write the digits alone, one beside the other.",
            marks=reading.marks,
        )
    if not reading.digits:
        raise NoDigitFound(
            "No digit was found: the image looks blank. Write the digits darker or larger, on a plain background.",
            marks=0,
        )
    prediction_id = None
    if save:
        stored, content_type = without_metadata(image)
        columns = dict(
            image=stored,
            content_type=content_type,
            sha256=sha256,
            inputs=reading.inputs,
            number=reading.number,
            digits=reading.digits,
            model_version=model.version,
            source=source,
        )
        if replaces is None:
            quota = hourly_quota()
            try:
                prediction_id = storage.add_prediction(quota, client_id=client_id, client_address=address, **columns)
            except storage.OverQuota:
                raise quota_exceeded(quota, *storage.stored_since(address, quota.since)) from None
        else:
            storage.replace_prediction(replaces, **columns)
            prediction_id = replaces.public_id
        current_app.extensions["retention"].sweep_if_due()
    return Outcome(reading=reading, prediction_id=prediction_id, cached=cached, model_version=model.version)


def get_prediction(public_id: str, *deferred) -> Prediction:
    """The stored prediction `public_id`, with the `deferred` columns loaded; PredictionNotFound if there is none."""
    return storage.get_prediction(public_id, *deferred)


def find_predictions(
    *, client_id: str | None, digit: int | None, label: str | None, page: int, per_page: int
) -> Pagination:
    """A page of stored predictions, newest first: `client_id`'s (None: every client's), whose reading
    contains `digit` or whose correction is `label`."""
    return storage.find_predictions(client_id=client_id, digit=digit, label=label, page=page, per_page=per_page)


def delete_prediction(prediction: Prediction) -> None:
    """Delete a prediction, and the samples its correction made."""
    storage.delete_prediction(prediction)


def clear_predictions() -> int:
    """Delete every stored prediction; how many there were."""
    return storage.clear_predictions()


def is_label_for(label: str | None, number: str) -> bool:
    """Whether `label` gives one ASCII digit for each digit of `number`, and nothing else."""
    return label is not None and len(label) == len(number) and DIGITS.fullmatch(label) is not None


def correct_prediction(prediction: Prediction, label: str | None, as_read: bool = False) -> None:
    """Record the number a person says was written (one digit per digit read), or withdraw it with None; with
    `as_read`, only if no other correction was made since the prediction was read (`storage.set_label`)."""
    if label is not None and not is_label_for(label, prediction.number):
        raise LabelMismatch(
            f"Prediction {prediction.public_id} read {len(prediction.number)} digit(s) ({prediction.number}); "
            # reprlib: a label may be megabytes long, and the answer quotes it.
            f"give the true digit for each of them, e.g. {prediction.number!r}, not {reprlib.repr(label)}."
        )
    storage.set_label(prediction, label, as_read)


def exported_digits(client_id: str | None) -> tuple[int, int]:
    """How many digits an export of the predictions `client_id` made (None: every client's) will hold, and
    the last prediction in it."""
    return storage.exported_digits(client_id)


def labelled_inputs(last: int, client_id: str | None):
    """Each exportable prediction `client_id` made (None: every client's) up to `last`, oldest first: its
    labels (the correction, else the reading) and its inputs."""
    for number, label, inputs in storage.exported_rows(last, client_id):
        yield (label if is_label_for(label, number) else number), inputs


def input_png(prediction: Prediction) -> bytes:
    """The digits the model saw, side by side: white ink on black, 28 pixels high."""
    digits = np.frombuffer(prediction.inputs, dtype=np.uint8).reshape(-1, DIGIT_SIDE, DIGIT_SIDE)
    png = io.BytesIO()
    Image.fromarray(np.hstack(digits)).save(png, format="PNG")
    return png.getvalue()

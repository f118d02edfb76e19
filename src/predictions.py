"""Predicting and storing: the one path from image bytes to a stored prediction, with what
the engine read cached by image content and model version."""

import base64
import dataclasses
import hashlib
import hmac
import io
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from cachelib import RedisCache
from flask import Flask, current_app
from flask_caching import Cache
from PIL import Image

from src import storage
from src.config import redis_options
from src.ml import DigitModel, load_model, recognise
from src.stored_image import without_metadata

cache = Cache()

DIGIT_SIDE = 28
DIGITS = re.compile(r"[0-9]+")


class NoDigitFound(Exception):
    """The image was read but holds no digit: it is blank, or what is on it is not digits."""


class LabelMismatch(Exception):
    """A correction does not give one digit for each digit read."""


class ModelUnavailable(Exception):
    """The model file could not be loaded when the service started."""


class QuotaExceeded(Exception):
    """A client address has stored as much in the last hour as it may."""

    def __init__(self, detail: str, retry_after: int):
        super().__init__(detail)
        self.retry_after = retry_after


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


class JsonValues:
    """How cache values are kept in Redis: as JSON. cachelib pickles them, and a pickle read back would
    run whatever code anyone who can write to Redis put in it. What does not parse is a miss."""

    def dumps(self, value) -> bytes:
        return json.dumps(value).encode()

    def loads(self, data: bytes | None):
        if data is None:
            return None
        try:
            return json.loads(data)
        except ValueError:
            return None


@dataclass(frozen=True)
class Outcome:
    reading: Reading
    prediction_id: str | None
    """The stored prediction's public id; None when the client asked not to store it."""
    cached: bool
    model_version: str


class CacheInUse:
    """The cache as the service uses it: a cache that is down or hangs only costs time, bounded.

    Each call to Redis waits REDIS_TIMEOUT at most. When a lookup or a store fails, the process reads
    images without the cache, says so once in the log, and tries the cache again after `retry_after`
    seconds, so a cache that hangs costs one request that wait once per period; it says so again when
    the cache is back. Readings are cached as JSON; a cached value that is not a reading is a miss.
    """

    retry_after = 5.0

    def __init__(self, app: Flask):
        self.app = app
        self.down_since: float | None = None
        self.last_failure = 0.0
        self.last_error = ""
        self.lock = threading.Lock()

    def get(self, key: str) -> Reading | None:
        value = self._call(cache.get, key)
        try:
            return None if value is None else Reading.from_json(value)
        except (ValueError, KeyError, TypeError):
            return None

    def set(self, key: str, reading: Reading) -> None:
        self._call(cache.set, key, reading.to_json())

    def check(self) -> str | None:
        """What is wrong with the cache, or None when a value stored in it reads back. While it is
        known to be down, says so without trying it before `retry_after`."""
        key, token = f"health:{uuid.uuid4().hex}", uuid.uuid4().hex
        if self._call(cache.set, key, token, 10) is None and self._resting():
            return self.last_error
        read = self._call(cache.get, key)
        self._call(cache.delete, key)
        if self._resting():
            return self.last_error
        return None if read == token else "A value stored in the cache could not be read back."

    def _resting(self) -> bool:
        return self.down_since is not None and time.monotonic() - self.last_failure < self.retry_after

    def _call(self, operation, *args):
        if self._resting():
            return None
        try:
            result = operation(*args)
        except Exception as error:
            self._failed(error)
            return None
        if self.down_since is not None:
            self._recovered()
        return result

    def _failed(self, error: Exception) -> None:
        with self.lock:
            self.last_failure = time.monotonic()
            self.last_error = storage.describe_error(error)
            if self.down_since is None:
                self.down_since = time.monotonic()
                self.app.logger.warning(
                    "The cache is down (%s: %s); reading every image without it, trying it again every %g s.",
                    type(error).__name__,
                    error,
                    self.retry_after,
                )

    def _recovered(self) -> None:
        with self.lock:
            if self.down_since is not None:
                self.app.logger.info("The cache is back after %.1f s.", time.monotonic() - self.down_since)
                self.down_since = None


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
    if app.config["CACHE_TYPE"] == "RedisCache" and not app.config.get("CACHE_OPTIONS"):
        cache.init_app(app, config={"CACHE_OPTIONS": redis_options()})
    else:
        cache.init_app(app)
    backend = app.extensions["cache"][cache]
    if isinstance(backend, RedisCache):
        backend.serializer = JsonValues()
    app.extensions["cache_in_use"] = CacheInUse(app)
    app.extensions["retention"] = Retention(app)
    path = app.config["MODEL_PATH"]
    try:
        app.extensions["digit_model"] = load_model(path)
    except Exception as error:
        # A model that cannot be loaded leaves the service up to say so: /api/health
        # reports it and predictions answer 503, rather than the process dying unexplained.
        app.logger.exception("Could not load the model %s", path)
        app.extensions["digit_model"] = f"The model {path} could not be loaded ({type(error).__name__}: {error})."


def current_model() -> DigitModel:
    """The version in use (src/versions.py), as this process serves it."""
    model = current_app.extensions["served_model"].get()
    if isinstance(model, str):
        # Why is for the log and the admin's health check: the message names files on the server.
        raise ModelUnavailable("The model could not be loaded when the service started; try again later.")
    return model


def model_load_error() -> str | None:
    """Why the model could not be loaded, or None."""
    model = current_app.extensions["served_model"].get()
    return model if isinstance(model, str) else None


def read_image(image: bytes, model: DigitModel) -> Reading:
    recognition = recognise(image, model, max_pixels=current_app.config["MAX_PIXELS"])
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


def check_quota(address: str, replaces: storage.Prediction | None = None) -> None:
    """Refuse to store from a client address that has stored its hour's worth. A reading stored in place
    of another (`replaces`) takes that one's room: a drawing read again as it grows is still one entry,
    even at the limit."""
    per_hour, bytes_per_hour = (
        current_app.config["QUOTA_PREDICTIONS_PER_HOUR"],
        current_app.config["QUOTA_BYTES_PER_HOUR"],
    )
    if not per_hour and not bytes_per_hour:
        return
    hour_ago = storage.utc_now() - timedelta(hours=1)
    count, size, first = storage.stored_since(address, hour_ago)
    if replaces is not None and replaces.client_address == address and replaces.created_at >= hour_ago:
        count, size = count - 1, size - (replaces.image_size or 0)
    if (per_hour and count >= per_hour) or (bytes_per_hour and size >= bytes_per_hour):
        limits = [
            f"{per_hour:,} predictions" if per_hour else "",
            f"{bytes_per_hour:,} bytes" if bytes_per_hour else "",
        ]
        raise QuotaExceeded(
            f"This client has stored {count:,} predictions ({size:,} bytes of images) in the last hour, as much as "
            f"it may ({' or '.join(limit for limit in limits if limit)} an hour); retry after the time given, "
            "or read images without storing them (save: false).",
            retry_after=max(1, int((first - hour_ago).total_seconds()) + 1),
        )


def predict(
    image: bytes,
    *,
    save: bool,
    source: str,
    client_id: str | None,
    client_address: str | None = None,
    replaces: storage.Prediction | None = None,
) -> Outcome:
    """Read the digits in encoded image bytes and, if asked, store the prediction: as a new one,
    or in place of the stored prediction `replaces` (a drawing read again once it has more strokes).

    Identical bytes read by the same model come from the cache; a cached reading is
    stored like a new one. Nothing is stored for an image that fails, and of one that is read, its
    pixels without the metadata it came with.
    """
    model = current_model()
    if save:
        address = address_key(client_address)
        check_quota(address, replaces)
    sha256 = hashlib.sha256(image).hexdigest()
    key = f"reading:{model.version}:{sha256}"
    # The cache only saves time: when it is down, read the image again (/api/health reports it).
    cache_in_use = current_app.extensions["cache_in_use"]
    reading = cache_in_use.get(key)
    cached = reading is not None
    if reading is None:
        reading = read_image(image, model)
        cache_in_use.set(key, reading)
    if not reading.digits and reading.marks:
        raise NoDigitFound(
            "No digit was found: the image holds no recognisable digit (it looks like letters, a drawing or a "
            "picture). Write the digits alone, one beside the other."
        )
    if not reading.digits:
        raise NoDigitFound(
            "No digit was found: the image looks blank. Write the digits darker or larger, on a plain background."
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
            prediction_id = storage.add_prediction(client_id=client_id, client_address=address, **columns)
        else:
            storage.replace_prediction(replaces, **columns)
            prediction_id = replaces.public_id
        current_app.extensions["retention"].sweep_if_due()
    return Outcome(reading=reading, prediction_id=prediction_id, cached=cached, model_version=model.version)


def is_label_for(label: str | None, number: str) -> bool:
    """Whether `label` gives one ASCII digit for each digit of `number`, and nothing else."""
    return label is not None and len(label) == len(number) and DIGITS.fullmatch(label) is not None


def correct_prediction(prediction: storage.Prediction, label: str | None) -> None:
    """Record the number a person says was written (one digit per digit read), or withdraw it with None."""
    if label is not None and not is_label_for(label, prediction.number):
        raise LabelMismatch(
            f"Prediction {prediction.public_id} read {len(prediction.number)} digit(s) ({prediction.number}); "
            f"give the true digit for each of them, e.g. {prediction.number!r}, not {label!r}."
        )
    storage.set_label(prediction, label)


def labelled_inputs(last: int):
    """Each exportable prediction up to `last`, oldest first: its labels (the correction, else the
    reading) and its inputs."""
    for number, label, inputs in storage.exported_rows(last):
        yield (label if is_label_for(label, number) else number), inputs


def input_png(prediction: storage.Prediction) -> bytes:
    """The digits the model saw, side by side: white ink on black, 28 pixels high."""
    digits = np.frombuffer(prediction.inputs, dtype=np.uint8).reshape(-1, DIGIT_SIDE, DIGIT_SIDE)
    png = io.BytesIO()
    Image.fromarray(np.hstack(digits)).save(png, format="PNG")
    return png.getvalue()


def statistics() -> dict:
    """Counts per digit read, corrections, accuracy on corrected predictions, and the confusion matrix.

    The matrix's rows are the true digits (from corrections), its columns the digits read. A stored
    reading or label that is not digits (none can be stored now; older rows may hold one) is left out.
    """
    digit_counts = [0] * 10
    confusion = [[0] * 10 for _ in range(10)]
    predictions = corrections = right = 0
    for number, label in storage.numbers_and_labels():
        if not DIGITS.fullmatch(number):
            continue
        predictions += 1
        for digit in number:
            digit_counts[int(digit)] += 1
        if is_label_for(label, number):
            corrections += 1
            right += label == number
            for true, read in zip(label, number):
                confusion[int(true)][int(read)] += 1
    return {
        "predictions": predictions,
        "digit_counts": digit_counts,
        "corrections": corrections,
        "accuracy": right / corrections if corrections else None,
        "confusion_matrix": confusion,
    }

"""Predicting and storing: the one path from image bytes to a stored prediction, with what
the engine read cached by image content and model version."""
import dataclasses
import hashlib
import io
import threading
import time
from dataclasses import dataclass

import numpy as np
from flask import Flask, current_app
from flask_caching import Cache
from PIL import Image

from src import storage
from src.ml import DigitModel, load_model, recognise

cache = Cache()

DIGIT_SIDE = 28


class NoDigitFound(Exception):
    """The image was read but holds no digit: a blank canvas, or ink too faint to tell from noise."""


class LabelMismatch(Exception):
    """A correction does not give one digit for each digit read."""


class ModelUnavailable(Exception):
    """The model file could not be loaded when the service started."""


@dataclass(frozen=True)
class Reading:
    """What the engine read in one image, as the service caches and stores it."""

    number: str
    digits: list[dict]
    inputs: bytes
    """The normalised 28x28 uint8 digits, left to right, row-major."""
    content_type: str


@dataclass(frozen=True)
class Outcome:
    reading: Reading
    prediction_id: int | None
    """None when the client asked not to store the prediction."""
    cached: bool
    model_version: str


class CacheInUse:
    """The cache as the predict path uses it: a cache that is down only costs time.

    When a lookup or a store fails, the process reads images without the cache, says so once in
    the log, and tries the cache again after `retry_after` seconds (a cache that hangs would
    otherwise slow every request); it says so again when the cache is back.
    """

    retry_after = 5.0

    def __init__(self, app: Flask):
        self.app = app
        self.down_since: float | None = None
        self.last_failure = 0.0
        self.lock = threading.Lock()

    def get(self, key: str):
        return self._call(cache.get, key)

    def set(self, key: str, value) -> None:
        self._call(cache.set, key, value)

    def _call(self, operation, *args):
        if self.down_since is not None and time.monotonic() - self.last_failure < self.retry_after:
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
            if self.down_since is None:
                self.down_since = time.monotonic()
                self.app.logger.warning(
                    "The cache is down (%s: %s); reading every image without it, trying it again every %g s.",
                    type(error).__name__, error, self.retry_after,
                )

    def _recovered(self) -> None:
        with self.lock:
            if self.down_since is not None:
                self.app.logger.info("The cache is back after %.1f s.", time.monotonic() - self.down_since)
                self.down_since = None


def init_app(app: Flask) -> None:
    if app.config["CACHE_TYPE"] == "RedisCache" and not app.config.get("CACHE_OPTIONS"):
        # Seconds, not the client's default of waiting for ever, for a Redis that stops answering.
        cache.init_app(app, config={"CACHE_OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}})
    else:
        cache.init_app(app)
    app.extensions["cache_in_use"] = CacheInUse(app)
    path = app.config["MODEL_PATH"]
    try:
        app.extensions["digit_model"] = load_model(path)
    except Exception as error:
        # A model that cannot be loaded leaves the service up to say so: /api/health
        # reports it and predictions answer 503, rather than the process dying unexplained.
        app.logger.exception("Could not load the model %s", path)
        app.extensions["digit_model"] = f"The model {path} could not be loaded ({type(error).__name__}: {error})."


def current_model() -> DigitModel:
    model = current_app.extensions["digit_model"]
    if isinstance(model, str):
        raise ModelUnavailable(model)
    return model


def content_type_of(image: bytes) -> str:
    with Image.open(io.BytesIO(image)) as opened:
        return opened.get_format_mimetype()


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
        content_type=content_type_of(image),
    )


def predict(
    image: bytes, *, save: bool, source: str, client_id: str | None, replaces: storage.Prediction | None = None
) -> Outcome:
    """Read the digits in encoded image bytes and, if asked, store the prediction: as a new one,
    or in place of the stored prediction `replaces` (a drawing read again once it has more strokes).

    Identical bytes read by the same model come from the cache; a cached reading is
    stored like a new one. Nothing is stored for an image that fails.
    """
    model = current_model()
    sha256 = hashlib.sha256(image).hexdigest()
    key = f"reading:{model.version}:{sha256}"
    # The cache only saves time: when it is down, read the image again (/api/health reports it).
    cache_in_use = current_app.extensions["cache_in_use"]
    reading = cache_in_use.get(key)
    cached = reading is not None
    if reading is None:
        reading = read_image(image, model)
        cache_in_use.set(key, reading)
    if not reading.digits:
        raise NoDigitFound(
            "No digit was found: the image looks blank. Write the digits darker or larger, on a plain background."
        )
    prediction_id = None
    if save:
        columns = dict(
            image=image,
            content_type=reading.content_type,
            sha256=sha256,
            inputs=reading.inputs,
            number=reading.number,
            digits=reading.digits,
            model_version=model.version,
            source=source,
        )
        if replaces is None:
            prediction_id = storage.add_prediction(client_id=client_id, **columns)
        else:
            storage.replace_prediction(replaces, **columns)
            prediction_id = replaces.id
    return Outcome(reading=reading, prediction_id=prediction_id, cached=cached, model_version=model.version)


def correct_prediction(prediction: storage.Prediction, label: str | None) -> None:
    """Record the number a person says was written (one digit per digit read), or withdraw it with None."""
    if label is not None and len(label) != len(prediction.number):
        raise LabelMismatch(
            f"Prediction {prediction.id} read {len(prediction.number)} digit(s) ({prediction.number}); "
            f"give the true digit for each of them, e.g. {prediction.number!r}, not {label!r}."
        )
    storage.set_label(prediction, label)


def input_png(prediction: storage.Prediction) -> bytes:
    """The digits the model saw, side by side: white ink on black, 28 pixels high."""
    digits = np.frombuffer(prediction.inputs, dtype=np.uint8).reshape(-1, DIGIT_SIDE, DIGIT_SIDE)
    png = io.BytesIO()
    Image.fromarray(np.hstack(digits)).save(png, format="PNG")
    return png.getvalue()


def statistics() -> dict:
    """Counts per digit read, corrections, accuracy on corrected predictions, and the confusion matrix.

    The matrix's rows are the true digits (from corrections), its columns the digits read.
    """
    digit_counts = [0] * 10
    confusion = [[0] * 10 for _ in range(10)]
    predictions = corrections = right = 0
    for number, label in storage.numbers_and_labels():
        predictions += 1
        for digit in number:
            digit_counts[int(digit)] += 1
        if label is not None:
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

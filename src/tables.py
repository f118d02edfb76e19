"""What is stored: the `predictions` table, the `samples` table of corrected digits (which outlives the
predictions), and the `model_versions` and `model_in_use` tables of the models the service can serve."""

import secrets
from datetime import datetime

from sqlalchemy import JSON, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from src.database import db, utc_now


class Prediction(db.Model):
    """One image a client sent and what the model read in it, with a person's correction if given."""

    __tablename__ = "predictions"
    __table_args__ = (
        # Covers the quota's question (how many, and how many bytes, from one address since when), so that it
        # is answered from the index alone.
        Index("ix_predictions_quota", "client_address", "created_at", "image_size"),
        # A client's list, newest first, found through the index rather than by a scan of every client's rows.
        Index("ix_predictions_client", "client_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    """The order predictions were stored in; never shown, since it would let anyone count and guess them."""
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    """The id in URLs and answers: random, 128 bits."""
    created_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    image: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    content_type: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    # A row's version is its image's hash, which only a replacement changes: an UPDATE made of what a request
    # read matches no row if another request replaced or deleted it meanwhile (src/storage.py).
    __mapper_args__ = {"version_id_col": sha256, "version_id_generator": False}
    inputs: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    """The normalised 28x28 uint8 digits the model saw, left to right, row-major."""
    number: Mapped[str] = mapped_column(String)
    digits: Mapped[list] = mapped_column(JSON)
    model_version: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[str | None] = mapped_column(String(64))
    client_address: Mapped[str | None] = mapped_column(String(32))
    """A keyed hash of the address the prediction came from: what a client's quota counts by."""
    image_size: Mapped[int | None]
    """The stored image's bytes."""
    label: Mapped[str | None] = mapped_column(String)
    labelled_at: Mapped[datetime | None]


class Sample(db.Model):
    """One digit of a corrected prediction, as training data: the input the model saw and the true digit.

    Kept apart from the predictions so that clearing them (at start, by retention, by the admin) keeps
    the dataset people built; a prediction's maker deleting it deletes its samples too.
    """

    __tablename__ = "samples"
    __table_args__ = (UniqueConstraint("prediction_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prediction_id: Mapped[str] = mapped_column(String(32))
    """The public id of the prediction it came from, which may since have been deleted."""
    position: Mapped[int]
    """Which digit of that prediction, from 0 at the left."""
    input: Mapped[bytes] = mapped_column(LargeBinary)
    """The normalised 28x28 uint8 digit the model saw, row-major."""
    label: Mapped[int]
    """The true digit, as the person gave it."""
    read: Mapped[int]
    """The digit the model read."""
    model_version: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[str | None] = mapped_column(String(64))
    """Who wrote it (the client that made the prediction): the retrain tests on writers it has not seen."""
    created_at: Mapped[datetime] = mapped_column(default=utc_now, index=True)


class ModelVersion(db.Model):
    """A trained model, kept in the database (on PostgreSQL) so that every host of the service can serve it."""

    __tablename__ = "model_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    model: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    """The joblib file."""
    card: Mapped[dict] = mapped_column(JSON)
    promoted_at: Mapped[datetime | None]
    """When it was last put in use, by the gate or by `flask model use`; None if never."""


class ModelInUse(db.Model):
    """The one row naming the version every host serves; none: the model file the service ships with."""

    __tablename__ = "model_in_use"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(default=utc_now)


def new_public_id() -> str:
    """22 characters of URL-safe base64: 128 random bits."""
    return secrets.token_urlsafe(16)

"""Stored predictions: the database, the `predictions` table, the queries the service runs,
and the `init-db` and `clear-predictions` commands."""
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime

import click
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import JSON, LargeBinary, String, delete, event, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


def utc_now() -> datetime:
    """Naive UTC: SQLite keeps no time zone, so every stored time is UTC by convention."""
    return datetime.now(UTC).replace(tzinfo=None)


class Prediction(db.Model):
    """One image a client sent and what the model read in it, with a person's correction if given."""

    __tablename__ = "predictions"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    image: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    content_type: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    inputs: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    """The normalised 28x28 uint8 digits the model saw, left to right, row-major."""
    number: Mapped[str] = mapped_column(String)
    digits: Mapped[list] = mapped_column(JSON)
    model_version: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    client_id: Mapped[str | None] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String)
    labelled_at: Mapped[datetime | None]


def tune_sqlite(dbapi_connection, connection_record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers carry on while one writer commits; the busy timeout makes
    # concurrent writers queue for the write lock instead of failing with
    # "database is locked". NORMAL is durable enough in WAL mode and spares an
    # fsync per commit.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def init_app(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", tune_sqlite)
    app.cli.add_command(init_db_command)
    app.cli.add_command(clear_predictions_command)


def init_db() -> None:
    """Create the tables that do not exist yet."""
    db.create_all()


def clear_predictions() -> int:
    deleted = db.session.execute(delete(Prediction)).rowcount
    db.session.commit()
    return deleted


def prepare_database(app: Flask) -> None:
    """Ready the database for a start of the service: run once per start, never per worker.

    `run.py` calls it; a process manager calls it from its master process (gunicorn's
    `on_starting` hook), so a worker that restarts does not clear anything.
    """
    with app.app_context():
        init_db()
        if app.config["CLEAR_PREDICTIONS_ON_START"]:
            app.logger.info("Cleared %d stored predictions at start", clear_predictions())


def add_prediction(**columns) -> int:
    """Store one prediction in a single commit; return its id."""
    prediction = Prediction(**columns)
    db.session.add(prediction)
    db.session.flush()
    prediction_id = prediction.id
    db.session.commit()
    return prediction_id


def get_prediction(prediction_id: int) -> Prediction:
    return db.get_or_404(
        Prediction, prediction_id, description=f"There is no prediction {prediction_id}; it may have been deleted."
    )


def find_predictions(*, digit: int | None, label: str | None, page: int, per_page: int) -> Pagination:
    """Stored predictions newest first, those whose reading contains `digit` or whose correction is `label`."""
    query = select(Prediction).order_by(Prediction.id.desc())
    if digit is not None:
        query = query.where(Prediction.number.contains(str(digit)))
    if label is not None:
        query = query.where(Prediction.label == label)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def set_label(prediction: Prediction, label: str | None) -> None:
    prediction.label = label
    prediction.labelled_at = utc_now() if label is not None else None
    db.session.commit()


def delete_prediction(prediction: Prediction) -> None:
    db.session.delete(prediction)
    db.session.commit()


def numbers_and_labels() -> Iterator[tuple[str, str | None]]:
    """Every stored reading with its correction, if any."""
    return iter(db.session.execute(select(Prediction.number, Prediction.label)))


def labelled_inputs() -> tuple[int, Iterator[tuple[str, bytes]]]:
    """The number of stored digits, and each prediction's inputs with their labels, oldest first.

    A label is the correction where there is one, else the reading. The total comes
    from the same statement as the rows (a window sum) so that a prediction stored
    meanwhile cannot make the two disagree.
    """
    total = func.sum(func.length(Prediction.number)).over()
    labels = func.coalesce(Prediction.label, Prediction.number)
    rows = iter(
        db.session.execute(
            select(total, labels, Prediction.inputs).order_by(Prediction.id).execution_options(yield_per=200)
        )
    )
    first = next(rows, None)
    if first is None:
        return 0, iter(())
    return int(first[0]), ((labels, inputs) for _, labels, inputs in itertools.chain([first], rows))


@click.command("init-db")
def init_db_command() -> None:
    """Create the database tables."""
    init_db()
    click.echo("The database is ready.")


@click.command("clear-predictions")
def clear_predictions_command() -> None:
    """Delete every stored prediction."""
    click.echo(f"Deleted {clear_predictions()} predictions.")

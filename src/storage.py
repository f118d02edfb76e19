"""Stored predictions and samples: the queries the service runs, the tables created and the stored
predictions cleared once per start of the service, and the `init-db` and `clear-predictions` commands.

Every function here raises domain errors (`PredictionNotFound`, `PredictionChanged`, `PredictionCorrected`,
`DatabaseUnavailable`), never HTTP ones."""

import multiprocessing
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from flask import Flask
from flask.cli import with_appcontext
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import BigInteger, and_, bindparam, delete, func, insert, inspect, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import undefer
from sqlalchemy.orm.attributes import flag_modified, set_committed_value
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

from src import database
from src.database import DatabaseUnavailable, db, needs_database, utc_now
from src.errors import describe_error
from src.tables import Prediction, Sample, new_public_id

# The largest id the `predictions` table can hold (its id is an INTEGER), and so the most pages there can be.
MAX_ID = 2**31 - 1
# How often a service that started while the database was down tries to prepare it.
PREPARE_RETRY_SECONDS = 2
# The advisory lock that lets one process at a time create the tables: any number shared by every
# process of the service, whichever host it runs on.
SCHEMA_LOCK = 0x64696769747321


@dataclass(frozen=True)
class Quota:
    """What one client address may have stored since `since`: so many predictions, so many bytes of images
    (0: no limit)."""

    predictions: int
    bytes: int
    since: datetime

    @property
    def most_predictions(self) -> int:
        return self.predictions or NO_LIMIT

    @property
    def most_bytes(self) -> int:
        return self.bytes or NO_LIMIT

    def reached(self, count: int, size: int) -> bool:
        """Whether `count` predictions of `size` bytes in all leave no room for another (as INSERT_WITHIN_QUOTA
        asks it)."""
        return count >= self.most_predictions or size >= self.most_bytes


NO_LIMIT = 2**62
"""What a quota of 0 (no limit) is compared as: more than any count of rows or bytes."""


class OverQuota(Exception):
    """Storing the prediction would take its client address past its quota: nothing was stored."""


class PredictionNotFound(LookupError):
    """No stored prediction has this id: it never existed, or it was deleted."""

    def __init__(self, public_id: str):
        super().__init__(f"There is no prediction {public_id}; it may have been deleted.")


class PredictionChanged(Exception):
    """The prediction was read again (replaced by a new image) while this change to it was being made: the
    change was meant for the reading it had, so nothing was changed."""

    def __init__(self, public_id: str):
        super().__init__(
            f"Prediction {public_id} was replaced by a new reading while this request was made; "
            "nothing was changed. Read it again, then correct it."
        )


class PredictionCorrected(Exception):
    """The prediction was corrected by another request after this one read it, and this one asked to change it
    only as read: nothing was changed."""

    def __init__(self, public_id: str):
        super().__init__(
            f"Prediction {public_id} was corrected by another request after this one read it; nothing was changed. "
            "Read it again, then correct it."
        )


# Built once, not per call: building the statement and its key for SQLAlchemy's compiled cache is a
# large part of what an insert costs. Inline: the new row's id is not wanted (its public id is made
# here), so the insert does not return it, nor SQLAlchemy read it.
INSERT_PREDICTION = insert(Prediction).inline()


def init_app(app: Flask) -> None:
    database.init_app(app)
    app.cli.add_command(init_db_command)
    app.cli.add_command(clear_predictions_command)


def init_db() -> None:
    """Create the tables that do not exist yet, safely when several processes or hosts start at once.

    On PostgreSQL two concurrent CREATE TABLEs of one name make one of them fail; the advisory
    lock, held until the transaction ends, lets one process at a time look and create.
    """
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK)))
        db.metadata.create_all(connection)
        _add_new_columns(connection)


def _add_new_columns(connection) -> None:
    """Add the columns a table made by an earlier version lacks (nullable), and give its rows public ids."""
    present = {column["name"] for column in inspect(connection).get_columns(Prediction.__tablename__)}
    for column in Prediction.__table__.columns:
        if column.name not in present:
            kind = column.type.compile(connection.dialect)
            connection.execute(text(f"ALTER TABLE {Prediction.__tablename__} ADD COLUMN {column.name} {kind}"))
    table = Prediction.__table__
    if "public_id" not in present:
        for (row_id,) in connection.execute(select(table.c.id)).all():
            connection.execute(table.update().where(table.c.id == row_id).values(public_id=new_public_id()))
        connection.execute(text(f"CREATE UNIQUE INDEX ix_predictions_public_id ON {table.name} (public_id)"))
    for index in table.indexes:
        index.create(connection, checkfirst=True)


@needs_database
def clear_predictions() -> int:
    return _delete_predictions()


def _delete_predictions() -> int:
    deleted = db.session.execute(delete(Prediction)).rowcount
    db.session.commit()
    return deleted


def prepare_database(app: Flask) -> None:
    """Ready the database for a start of the service: create the tables, and clear the stored
    predictions if configured. No connection is left open, so that worker processes forked
    afterwards share none with the master."""
    with app.app_context():
        try:
            init_db()
            if app.config["CLEAR_PREDICTIONS_ON_START"]:
                app.logger.info("Cleared %d stored predictions at start", _delete_predictions())
            else:
                delete_expired(app.config)
        finally:
            db.session.remove()
            db.engine.dispose()


def start(app: Flask) -> None:
    """Prepare the database once per start of the service, once it holds its port (a start that fails
    to bind changes nothing), and never per worker: `run.py` calls it, and gunicorn's master
    (`when_ready`, before it forks the workers).

    While the database cannot be reached, a thread tries again every PREPARE_RETRY_SECONDS and what
    needs the database answers 503; the workers see it prepared through an event they share.
    """
    ready = multiprocessing.get_context("fork").Event()
    app.extensions["database_ready"] = ready
    started = time.monotonic()
    try:
        prepare_database(app)
    except (DatabaseUnavailable, OperationalError) as error:
        app.logger.warning(
            "The database cannot be reached (%s): what needs it answers 503 until it is prepared; trying every %d s.",
            describe_error(error),
            PREPARE_RETRY_SECONDS,
        )
    else:
        ready.set()
        return

    def prepare_when_reachable() -> None:
        while True:
            time.sleep(PREPARE_RETRY_SECONDS)
            try:
                prepare_database(app)
            except (DatabaseUnavailable, OperationalError):
                continue
            ready.set()
            app.logger.info("The database answers: prepared %.0f s after the start.", time.monotonic() - started)
            return

    threading.Thread(target=prepare_when_reachable, name="prepare-database", daemon=True).start()


def _single_statement():
    """A connection of its own in autocommit mode, for one statement on the path every stored prediction
    takes: a single statement is atomic and sees one snapshot on its own, and a transaction around it
    (BEGIN, then COMMIT or ROLLBACK) would cost two more round trips to the database."""
    return db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")


@needs_database
def add_prediction(quota: Quota | None = None, **columns) -> str:
    """Store one prediction, in one statement; return its public id. Given a `quota`, only if its client
    address stays within it; else store nothing and raise OverQuota."""
    public_id = new_public_id()
    row = {**columns, "public_id": public_id, "image_size": len(columns["image"]), "created_at": utc_now()}
    if quota is not None:
        row.update(since=quota.since, most_predictions=quota.most_predictions, most_bytes=quota.most_bytes)
    with _single_statement() as connection:
        if quota is None:
            connection.execute(INSERT_PREDICTION, row)
        elif connection.execute(INSERT_WITHIN_QUOTA, row).rowcount == 0:
            raise OverQuota()
    return public_id


# Built once, and run as one statement (`_single_statement`), as INSERT_PREDICTION.
STORED_SINCE = select(
    func.count().label("predictions"),
    func.coalesce(func.sum(Prediction.image_size), 0).label("bytes"),
    func.min(Prediction.created_at).label("first"),
).where(Prediction.client_address == bindparam("client_address"), Prediction.created_at >= bindparam("since"))
# The quota's count and the insert in one statement: one round trip, and another request from the same
# address goes uncounted only if its statement runs at the same instant (each sees the rows committed before
# it began), not while an image is read.
_STORED = STORED_SINCE.subquery()
_ROW = (
    "public_id",
    "created_at",
    "image",
    "content_type",
    "sha256",
    "inputs",
    "number",
    "digits",
    "model_version",
    "source",
    "client_id",
    "client_address",
    "image_size",
)
# Its rowcount, which SQLAlchemy keeps only when asked (preserve_rowcount), says whether the row was stored.
INSERT_WITHIN_QUOTA = (
    insert(Prediction)
    .from_select(
        _ROW,
        select(*(bindparam(name, type_=Prediction.__table__.c[name].type) for name in _ROW))
        .select_from(_STORED)
        .where(
            _STORED.c.predictions < bindparam("most_predictions", type_=BigInteger),
            _STORED.c.bytes < bindparam("most_bytes", type_=BigInteger),
        ),
    )
    .execution_options(preserve_rowcount=True)
)


@needs_database
def stored_since(client_address: str, since: datetime) -> tuple[int, int, datetime | None]:
    """How many predictions a client address stored since `since`, their images' bytes, and when the
    first of them was stored."""
    with _single_statement() as connection:
        count, size, first = connection.execute(STORED_SINCE, {"client_address": client_address, "since": since}).one()
    return int(count), int(size), first


def delete_expired(settings) -> int:
    """Delete the predictions older than RETENTION_DAYS, and all but the newest RETENTION_PREDICTIONS
    (0: no limit); how many went."""
    days, keep = settings["RETENTION_DAYS"], settings["RETENTION_PREDICTIONS"]
    deleted = 0
    if days:
        older_than = utc_now() - timedelta(days=days)
        deleted += db.session.execute(delete(Prediction).where(Prediction.created_at < older_than)).rowcount
    if keep:
        newest_dropped = select(Prediction.id).order_by(Prediction.id.desc()).offset(keep).limit(1).scalar_subquery()
        deleted += db.session.execute(delete(Prediction).where(Prediction.id <= newest_dropped)).rowcount
    db.session.commit()
    return deleted


@needs_database
def get_prediction(public_id: str, *deferred) -> Prediction:
    """The prediction `public_id`, with the `deferred` columns (its image, its inputs) loaded in the same query,
    not later, when the row may be gone."""
    query = select(Prediction).where(Prediction.public_id == public_id).options(*map(undefer, deferred))
    prediction = db.session.execute(query).scalar_one_or_none()
    if prediction is None:
        raise PredictionNotFound(public_id)
    return prediction


@needs_database
def find_predictions(
    *, client_id: str | None, digit: int | None, label: str | None, page: int, per_page: int
) -> Pagination:
    """Stored predictions newest first: those `client_id` made (None: every client's), whose reading
    contains `digit` or whose correction is `label`.

    Pages past MAX_ID are as empty as that one, and asking for them would overflow the database's offset.
    """
    query = select(Prediction).order_by(Prediction.id.desc())
    if client_id is not None:
        query = query.where(Prediction.client_id == client_id)
    if digit is not None:
        query = query.where(Prediction.number.contains(str(digit)))
    if label is not None:
        query = query.where(Prediction.label == label)
    return db.paginate(query, page=min(page, MAX_ID), per_page=per_page, error_out=False)


@needs_database
def replace_prediction(prediction: Prediction, **columns) -> None:
    """Store a new reading in place of `prediction`, which keeps its id, client and time: a correction
    of the reading it replaces says nothing of the new one, so it is withdrawn."""
    with _unless_gone_or_replaced(prediction):
        for name, value in {**columns, "image_size": len(columns["image"])}.items():
            setattr(prediction, name, value)
        prediction.label = prediction.labelled_at = None
        # Written even where this request read no correction: one made since is withdrawn too.
        flag_modified(prediction, "label")
        flag_modified(prediction, "labelled_at")
        db.session.execute(delete(Sample).where(Sample.prediction_id == prediction.public_id))
        db.session.commit()


@needs_database
def set_label(prediction: Prediction, label: str | None, as_read: bool = False) -> None:
    """Record a correction, or withdraw it with None, and the samples it makes, in one transaction:
    one sample per digit, with the input the model saw, the true digit and the digit read. A row stored
    by an earlier version without an input for each digit makes none.

    With `as_read`, only if the prediction still holds the correction it held when read: a request that
    named the version it saw must not undo a correction made since (PredictionCorrected)."""
    side = 28 * 28
    labelled_at = utc_now() if label is not None else None
    public_id, sha256 = prediction.public_id, prediction.sha256
    still = [Prediction.id == prediction.id, Prediction.sha256 == sha256]
    if as_read:
        still += [
            Prediction.label.is_not_distinct_from(prediction.label),
            Prediction.labelled_at.is_not_distinct_from(prediction.labelled_at),
        ]
    # One conditional UPDATE: the check and the change in one statement, so that another request's
    # change between them is not overwritten.
    changed = db.session.execute(
        update(Prediction).where(*still).values(label=label, labelled_at=labelled_at),
        execution_options={"synchronize_session": False},
    )
    if changed.rowcount == 0:
        raise _why_unchanged(public_id, sha256)
    set_committed_value(prediction, "label", label)
    set_committed_value(prediction, "labelled_at", labelled_at)
    db.session.execute(delete(Sample).where(Sample.prediction_id == prediction.public_id))
    readable = prediction.number.isascii() and prediction.number.isdigit()
    if label is not None and readable and len(prediction.inputs or b"") == side * len(label):
        db.session.add_all(
            Sample(
                prediction_id=prediction.public_id,
                position=position,
                input=prediction.inputs[position * side : (position + 1) * side],
                label=int(true),
                read=int(read),
                model_version=prediction.model_version,
                source=prediction.source,
                client_id=prediction.client_id,
                created_at=prediction.labelled_at,
            )
            for position, (true, read) in enumerate(zip(label, prediction.number))
        )
    db.session.commit()


@needs_database
def delete_prediction(prediction: Prediction) -> None:
    """Delete a prediction at its maker's request, and the samples its correction made, whatever reading it
    holds now; PredictionNotFound if another request deleted it meanwhile."""
    row, public_id = prediction.id, prediction.public_id
    # The row first: a correction made meanwhile waits for it, then finds no row, rather than adding samples
    # after they were deleted.
    if db.session.execute(delete(Prediction).where(Prediction.id == row)).rowcount == 0:
        db.session.rollback()
        raise PredictionNotFound(public_id)
    db.session.execute(delete(Sample).where(Sample.prediction_id == public_id))
    db.session.commit()


@contextmanager
def _unless_gone_or_replaced(prediction: Prediction):
    """Change `prediction` only as it was read: each UPDATE of it matches its row only if it still holds the
    image it held (`Prediction`'s version is its image's SHA-256). If another request deleted or replaced it
    meanwhile, nothing is changed, and PredictionNotFound or PredictionChanged says which."""
    public_id, sha256 = prediction.public_id, prediction.sha256
    try:
        yield
    except (StaleDataError, ObjectDeletedError):
        raise _why_unchanged(public_id, sha256) from None


def _why_unchanged(public_id: str, sha256: str) -> Exception:
    """After a change to a prediction that matched no row, rolled back: why. PredictionNotFound is raised if it
    was deleted; the error returned is PredictionChanged if it holds another image than `sha256`, the one read,
    else PredictionCorrected."""
    db.session.rollback()
    now = get_prediction(public_id)
    return PredictionChanged(public_id) if now.sha256 != sha256 else PredictionCorrected(public_id)


@needs_database
def find_samples(*, page: int, per_page: int) -> Pagination:
    """Stored samples, newest first."""
    query = select(Sample).order_by(Sample.id.desc())
    return db.paginate(query, page=min(page, MAX_ID), per_page=per_page, error_out=False)


@needs_database
def sample_counts() -> dict[int, int]:
    """How many samples there are of each true digit."""
    return {
        label: count for label, count in db.session.execute(select(Sample.label, func.count()).group_by(Sample.label))
    }


@needs_database
def exported_samples() -> tuple[int, int]:
    """How many samples an export will hold, and the last one in it."""
    total, last = db.session.execute(select(func.count(), func.coalesce(func.max(Sample.id), 0))).one()
    return int(total), int(last)


@needs_database
def sample_rows(last: int | None = None) -> Iterator[tuple[int, bytes, str | None]]:
    """Each sample's label, input and writer (client id), oldest first, up to sample `last`."""
    query = select(Sample.label, Sample.input, Sample.client_id).order_by(Sample.id).execution_options(yield_per=500)
    if last is not None:
        query = query.where(Sample.id <= last)
    return iter(db.session.execute(query))


@needs_database
def numbers_and_labels() -> Iterator[tuple[str, str | None, int]]:
    """Each distinct stored reading with its correction, if any, and how many predictions hold them: counted by
    the database, so that statistics over the whole table cost a pass in Python over what differs only."""
    query = select(Prediction.number, Prediction.label, func.count()).group_by(Prediction.number, Prediction.label)
    return iter(db.session.execute(query))


def digits_only(column):
    """SQL that is true where a text column holds ASCII digits and nothing else, on SQLite and PostgreSQL alike."""
    rest = column
    for digit in "0123456789":
        rest = func.replace(rest, digit, "")
    return and_(func.length(column) > 0, rest == "")


# A reading of digits, with one 28x28 input for each: every row the service stores, but not any value a
# table may hold.
EXPORTABLE = and_(
    digits_only(Prediction.number), func.length(Prediction.inputs) == 784 * func.length(Prediction.number)
)


def _exportable(client_id: str | None):
    """The predictions an export of `client_id`'s holds (None: every client's)."""
    return EXPORTABLE if client_id is None else and_(EXPORTABLE, Prediction.client_id == client_id)


@needs_database
def exported_digits(client_id: str | None) -> tuple[int, int]:
    """How many digits an export of the predictions `client_id` made (None: every client's) will hold, and
    the last prediction in it."""
    total, last = db.session.execute(
        select(
            func.coalesce(func.sum(func.length(Prediction.number)), 0), func.coalesce(func.max(Prediction.id), 0)
        ).where(_exportable(client_id))
    ).one()
    return int(total), int(last)


@needs_database
def exported_rows(last: int, client_id: str | None) -> Iterator[tuple[str, str | None, bytes]]:
    """Each reading, label and inputs of the predictions `client_id` made (None: every client's), oldest
    first, up to prediction `last`."""
    query = (
        select(Prediction.number, Prediction.label, Prediction.inputs)
        .where(_exportable(client_id), Prediction.id <= last)
        .order_by(Prediction.id)
        .execution_options(yield_per=500)
    )
    return iter(db.session.execute(query))


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the database tables."""
    init_db()
    click.echo("The database is ready.")


@click.command("clear-predictions")
@with_appcontext
def clear_predictions_command() -> None:
    """Delete every stored prediction."""
    click.echo(f"Deleted {clear_predictions()} predictions.")

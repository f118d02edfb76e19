"""Stored predictions: the database, the `predictions` table, the queries the service runs,
and the `init-db` and `clear-predictions` commands.

On PostgreSQL a database that is down or stuck fails requests fast, as `DatabaseUnavailable`,
and the service recovers by itself once it answers again."""
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from select import POLLIN, poll

import click
from flask import Flask, abort
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import JSON, LargeBinary, String, delete, event, func, insert, select
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Seconds to wait for a connection; psycopg waits at least 2.
CONNECT_TIMEOUT = 2
# The longest any statement of the service may run: far above what they take, but bounded, so
# that a lock held elsewhere cannot pin a worker for ever.
STATEMENT_TIMEOUT_MS = 5000
# The largest id the `predictions` table can hold (its id is an INTEGER), and so the most pages there can be.
MAX_ID = 2**31 - 1
# The advisory lock that lets one process at a time create the tables: any number shared by every
# process of the service, whichever host it runs on.
SCHEMA_LOCK = 0x64696769747321


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


def utc_now() -> datetime:
    """Naive UTC: SQLite keeps no time zone, so every stored time is UTC by convention."""
    return datetime.now(UTC).replace(tzinfo=None)


class DatabaseUnavailable(Exception):
    """The database cannot be reached or did not answer in time; the request may be tried again later."""

    def __init__(self, reason: str):
        super().__init__("The database is not answering; try again in a few seconds.")
        self.reason = reason
        """What the database driver said, for the health check and the log (not for clients)."""


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


# Built once: building the statement and its key for SQLAlchemy's compiled cache on every call
# took a fifth of the time an insert takes.
INSERT_PREDICTION = insert(Prediction).returning(Prediction.id)


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


def limit_statement_time(dbapi_connection, connection_record) -> None:
    # A session setting, so outside a transaction: a rollback would undo it.
    dbapi_connection.autocommit = True
    dbapi_connection.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
    dbapi_connection.autocommit = False


def refuse_closed_connection(dbapi_connection, connection_record, connection_proxy) -> None:
    """Hand out no pooled connection that PostgreSQL has closed (a restart, a failover, an idle
    timeout): the pool then connects afresh, and the request goes on.

    A server that closes a connection says so on it, so an idle connection with anything to read
    is one that is going away. Looking costs no round trip to the database, where pool_pre_ping's
    SELECT 1 cost one on every request: 0.27 ms of a worker's CPU, a twentieth of a prediction's.
    """
    if not dbapi_connection.closed:
        poller = poll()
        poller.register(dbapi_connection.fileno(), POLLIN)
        if not poller.poll(0):
            return
    raise DisconnectionError("PostgreSQL closed this connection while it was in the pool.")


def as_unavailable(context: ExceptionContext) -> DatabaseUnavailable | None:
    """An OperationalError is the database's state, not the request's fault: refused or dropped
    connections, a server shutting down, a statement cancelled by its timeout."""
    if isinstance(context.sqlalchemy_exception, OperationalError):
        return DatabaseUnavailable(describe_error(context.original_exception))
    return None


def describe_error(error: Exception) -> str:
    """The error's type and the first line of its message: drivers' messages run on with hints."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def postgresql_engine_options(configured: dict) -> dict:
    """Fail fast: a bounded wait to connect."""
    return {
        **configured,
        "connect_args": {"connect_timeout": CONNECT_TIMEOUT, **configured.get("connect_args", {})},
    }


def init_app(app: Flask) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        configured = app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = postgresql_engine_options(configured)
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", tune_sqlite)
        elif db.engine.dialect.name == "postgresql":
            event.listen(db.engine, "connect", limit_statement_time)
            event.listen(db.engine, "checkout", refuse_closed_connection)
        event.listen(db.engine, "handle_error", as_unavailable)
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


def clear_predictions() -> int:
    deleted = db.session.execute(delete(Prediction)).rowcount
    db.session.commit()
    return deleted


def prepare_database(app: Flask) -> None:
    """Ready the database for a start of the service: run once per start, never per worker.

    `run.py` calls it; a process manager calls it from its master process (gunicorn's
    `on_starting` hook), so a worker that restarts does not clear anything. No connection is
    left open, so that worker processes forked afterwards share none with the master.
    """
    with app.app_context():
        init_db()
        if app.config["CLEAR_PREDICTIONS_ON_START"]:
            app.logger.info("Cleared %d stored predictions at start", clear_predictions())
        db.session.remove()
        db.engine.dispose()


def add_prediction(**columns) -> int:
    """Store one prediction; return its id.

    One INSERT in autocommit mode: a single statement is atomic on its own, and the transaction
    around it (BEGIN, then COMMIT) would cost two more round trips to the database on the path
    every prediction takes.
    """
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return connection.execute(INSERT_PREDICTION, columns).scalar_one()


def get_prediction(prediction_id: int) -> Prediction:
    missing = f"There is no prediction {prediction_id}; it may have been deleted."
    if prediction_id > MAX_ID:
        # The database would refuse the number before it could say that no row has it.
        abort(404, description=missing)
    return db.get_or_404(Prediction, prediction_id, description=missing)


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


def replace_prediction(prediction: Prediction, **columns) -> None:
    """Store a new reading in place of `prediction`, which keeps its id, client and time: a correction
    of the reading it replaces says nothing of the new one, so it is withdrawn."""
    for name, value in columns.items():
        setattr(prediction, name, value)
    prediction.label = prediction.labelled_at = None
    db.session.commit()


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

"""The database: one SQLAlchemy object, how its connections behave on SQLite and on PostgreSQL, and
`DatabaseUnavailable`, the error every storage function raises when it cannot be reached.

On PostgreSQL a database that is down or stuck fails requests fast, and the service recovers by itself
once it answers again. What is stored, and the queries, are in `src/tables.py` and `src/storage.py`."""

import functools
import threading
from datetime import UTC, datetime
from select import POLLIN, poll

from flask import Flask, current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event, select
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import DeclarativeBase

from src.errors import describe_error

# Seconds to wait for a connection; psycopg waits at least 2.
CONNECT_TIMEOUT = 2
# The longest any statement of the service may run: far above what they take, but bounded, so
# that a lock held elsewhere cannot pin a worker for ever.
STATEMENT_TIMEOUT_MS = 5000


class Base(DeclarativeBase):
    pass


# What a request changed and committed stays as it wrote it, not reloaded when its answer reads it: another
# request may have deleted the row by then, and the answer is about what this one did.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


def utc_now() -> datetime:
    """Naive UTC: SQLite keeps no time zone, so every stored time is UTC by convention."""
    return datetime.now(UTC).replace(tzinfo=None)


class DatabaseUnavailable(Exception):
    """The database cannot be reached or did not answer in time; the request may be tried again later."""

    def __init__(self, reason: str):
        super().__init__("The database is not answering; try again in a few seconds.")
        self.reason = reason
        """What the database driver said, for the health check and the log (not for clients)."""


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
    SELECT 1 costs one on every request.
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
    # An app that is built but not started (tests, the CLI commands) uses the database as it is.
    ready = threading.Event()
    ready.set()
    app.extensions["database_ready"] = ready


def needs_database(function):
    """A storage function that is refused, as DatabaseUnavailable, until the database is prepared for
    this start of the service: nothing is stored that the clearing at start would then delete."""

    @functools.wraps(function)
    def when_prepared(*args, **kwargs):
        if not current_app.extensions["database_ready"].is_set():
            raise DatabaseUnavailable("The database has not answered since the service started.")
        return function(*args, **kwargs)

    return when_prepared


@needs_database
def ping() -> None:
    db.session.execute(select(1))


def forget_inherited_connections(app: Flask) -> None:
    """In a forked worker: never use a connection the master had open when it forked (its thread may
    have been preparing the database), and do not close it for the master either."""
    with app.app_context():
        db.engine.dispose(close=False)

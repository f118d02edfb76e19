"""Whether the parts the service needs work: the database, the cache and the model."""

from flask import current_app

from src.cache import cache
from src.database import DatabaseUnavailable, db, ping
from src.errors import describe_error
from src.readings import current_model, model_load_error


def _failure(error: Exception) -> dict:
    if isinstance(error, DatabaseUnavailable):
        return {"ok": False, "error": error.reason}
    return {"ok": False, "error": describe_error(error)}


def database_status() -> dict:
    try:
        ping()
    except Exception as error:
        db.session.rollback()
        return _failure(error)
    return {"ok": True, "backend": db.engine.dialect.name}


def cache_status() -> dict:
    error = current_app.extensions["cache_in_use"].check()
    status = {"ok": error is None, "backend": type(cache.cache).__name__}
    if error is not None:
        status["error"] = error
    return status


def model_status() -> dict:
    error = model_load_error()
    if error is not None:
        return {"ok": False, "error": error}
    return {"ok": True, "version": current_model().version}


def health() -> dict:
    return {"database": database_status(), "cache": cache_status(), "model": model_status()}

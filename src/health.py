"""Whether the parts the service needs work: the database, the cache and the model."""
import uuid

from src.predictions import ModelUnavailable, cache, current_model
from src.storage import DatabaseUnavailable, db, describe_error, ping


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
    key, token = f"health:{uuid.uuid4().hex}", uuid.uuid4().hex
    try:
        cache.set(key, token, timeout=10)
        ok = cache.get(key) == token
        cache.delete(key)
    except Exception as error:
        return _failure(error)
    status = {"ok": ok, "backend": type(cache.cache).__name__}
    if not ok:
        status["error"] = "A value stored in the cache could not be read back."
    return status


def model_status() -> dict:
    try:
        return {"ok": True, "version": current_model().version}
    except ModelUnavailable as error:
        return {"ok": False, "error": str(error)}


def health() -> dict:
    return {"database": database_status(), "cache": cache_status(), "model": model_status()}

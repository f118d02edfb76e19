"""The cache of what the engine read, by image content, model version and engine version: Flask-Caching, in
Redis or in the process, with values kept as JSON, and a cache that is down costing only time."""

import json
import threading
import time
import uuid

from cachelib import RedisCache
from flask import Flask
from flask_caching import Cache

from src.config import redis_options
from src.errors import describe_error

cache = Cache()


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


class CacheInUse:
    """The cache as the service uses it: a cache that is down or hangs only costs time, bounded.

    Each call to Redis waits REDIS_TIMEOUT at most. When a lookup or a store fails, the process reads
    images without the cache, says so once in the log, and tries the cache again after `retry_after`
    seconds, so a cache that hangs costs one request that wait once per period; it says so again when
    the cache is back.
    """

    retry_after = 5.0

    def __init__(self, app: Flask):
        self.app = app
        self.down_since: float | None = None
        self.last_failure = 0.0
        self.last_error = ""
        self.lock = threading.Lock()

    def get(self, key: str):
        """The JSON value cached under `key`, or None (a miss, or the cache is down)."""
        return self._call(cache.get, key)

    def set(self, key: str, value) -> None:
        self._call(cache.set, key, value)

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
            self.last_error = describe_error(error)
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


def init_app(app: Flask) -> None:
    if app.config["CACHE_TYPE"] == "RedisCache" and not app.config.get("CACHE_OPTIONS"):
        cache.init_app(app, config={"CACHE_OPTIONS": redis_options()})
    else:
        cache.init_app(app)
    backend = app.extensions["cache"][cache]
    if isinstance(backend, RedisCache):
        backend.serializer = JsonValues()
    app.extensions["cache_in_use"] = CacheInUse(app)

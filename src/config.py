"""The service's settings: defaults in code (and the production entry point's own), the environment
variables that override them and `instance/config.py` (see `create_app` for the order), the settings
derived from others, and the secret key kept in the instance folder when none is configured."""

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy.engine import make_url

from src.ml import DEFAULT_MAX_PIXELS, DEFAULT_MODEL_PATH


def defaults(instance_path: str) -> dict:
    return {
        "SECRET_KEY": None,
        "DATABASE_URL": f"sqlite:///{Path(instance_path) / 'predictions.sqlite'}",
        # None: Redis when CACHE_REDIS_URL is given, else a cache in the process (see `derive`).
        "CACHE_TYPE": None,
        "CACHE_DEFAULT_TIMEOUT": 24 * 3600,
        "CACHE_THRESHOLD": 1000,
        "CACHE_KEY_PREFIX": "digits:",
        "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
        "MAX_PIXELS": DEFAULT_MAX_PIXELS,
        "ADMIN_TOKEN": None,
        "CLEAR_PREDICTIONS_ON_START": True,
        # Stored predictions older than this many days, and all but the newest this many, are deleted
        # as new ones are stored (0: no limit).
        "RETENTION_DAYS": 30,
        "RETENTION_PREDICTIONS": 100_000,
        # What one client address may store in an hour (0: no limit); saving past it is a 429 problem.
        "QUOTA_PREDICTIONS_PER_HOUR": 1000,
        "QUOTA_BYTES_PER_HOUR": 100_000_000,
        # How many reverse proxies (nginx) stand in front: the client's address and scheme are then taken
        # from the X-Forwarded-For and X-Forwarded-Proto headers the nearest of them sets.
        "TRUSTED_PROXIES": 0,
        "MODEL_PATH": DEFAULT_MODEL_PATH,
        # Where retrained model versions are kept, and the file naming the one in use, without PostgreSQL.
        "MODEL_DIR": DEFAULT_MODEL_PATH.parent,
        # Below gunicorn's worker timeout (gunicorn.conf.py), so that an export too long to finish fails
        # where the client sees it, before the worker is killed.
        "EXPORT_TIMEOUT": 25.0,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Flask-Limiter's settings; the limits count per client address.
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_DEFAULT": "300 per minute",
        # None: the Redis of CACHE_REDIS_URL when given, else each process's memory (see `derive`).
        "RATELIMIT_STORAGE_URI": None,
        "RATELIMIT_KEY_PREFIX": "digits",
        # With the shared store down, each process counts on its own until the store answers again,
        # rather than refusing every request or failing on each one.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    }


# What the production entry point (src/wsgi.py, under gunicorn) changes from the defaults.
PRODUCTION = {
    "RATELIMIT_ENABLED": True,
}


REDIS_TIMEOUT = 0.05
"""Seconds any call to Redis may wait, connecting or answering: a request that finds Redis hanging has two
calls to it (its rate limit's count and the cache), so it waits 0.1 s at most. Redis answers on a
local network in well under a millisecond."""


def redis_options() -> dict:
    """redis-py's options for a Redis that stops answering: wait REDIS_TIMEOUT, once, not its default of
    three retries with back-off; the callers go on without Redis and try it again later."""
    return {"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT, "retry": Retry(NoBackoff(), 0)}


def boolean(text: str) -> bool:
    words = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
    try:
        return words[text.strip().lower()]
    except KeyError:
        raise ValueError(f"{text!r} is not a yes/no value; use true or false") from None


# Each setting the environment may override, with how to read its text.
ENVIRONMENT = {
    "SECRET_KEY": str,
    "DATABASE_URL": str,
    "CACHE_TYPE": str,
    "CACHE_REDIS_URL": str,
    "CACHE_DEFAULT_TIMEOUT": int,
    "CACHE_KEY_PREFIX": str,
    "MAX_CONTENT_LENGTH": int,
    "MAX_PIXELS": int,
    "ADMIN_TOKEN": str,
    "CLEAR_PREDICTIONS_ON_START": boolean,
    "RETENTION_DAYS": int,
    "RETENTION_PREDICTIONS": int,
    "QUOTA_PREDICTIONS_PER_HOUR": int,
    "QUOTA_BYTES_PER_HOUR": int,
    "TRUSTED_PROXIES": int,
    "MODEL_PATH": str,
    "MODEL_DIR": str,
    "EXPORT_TIMEOUT": float,
    "SESSION_COOKIE_SECURE": boolean,
    "RATELIMIT_ENABLED": boolean,
    "RATELIMIT_DEFAULT": str,
    "RATELIMIT_STORAGE_URI": str,
    "RATELIMIT_KEY_PREFIX": str,
}


def from_environment(environ: Mapping[str, str]) -> dict:
    settings = {}
    for name, read in ENVIRONMENT.items():
        if environ.get(name, "") != "":
            try:
                settings[name] = read(environ[name])
            except ValueError as error:
                raise ValueError(f"Environment variable {name}: {error}") from None
    return settings


MIN_ADMIN_TOKEN = 16


def check(settings: dict) -> None:
    """Refuse settings the service must not run with, naming them."""
    token = settings.get("ADMIN_TOKEN")
    if token is not None and len(token) < MIN_ADMIN_TOKEN:
        raise ValueError(
            f"ADMIN_TOKEN has {len(token)} characters; it must have at least {MIN_ADMIN_TOKEN}, such as the output "
            "of `python -c 'import secrets; print(secrets.token_urlsafe(24))'`."
        )


def derive(settings: dict) -> None:
    """Fill in the settings that follow from others once every layer is read: one Redis URL is
    enough to share both the cache and the rate limits between processes."""
    redis_url = settings.get("CACHE_REDIS_URL")
    if settings["CACHE_TYPE"] is None:
        settings["CACHE_TYPE"] = "RedisCache" if redis_url else "SimpleCache"
    if settings["RATELIMIT_STORAGE_URI"] is None:
        settings["RATELIMIT_STORAGE_URI"] = redis_url or "memory://"
    settings["SQLALCHEMY_DATABASE_URI"] = sqlalchemy_uri(settings["DATABASE_URL"])


def sqlalchemy_uri(database_url: str) -> str:
    """The SQLAlchemy URL for DATABASE_URL; plain postgres:// URLs get the psycopg 3 driver this project installs."""
    url = make_url(database_url)
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def instance_secret_key(instance_path: str) -> str:
    """The key in `instance/secret_key`, made on first start.

    Kept in a file rather than drawn per process so that sessions survive a restart
    and every worker process of one deployment signs cookies with the same key.
    """
    key_file = Path(instance_path) / "secret_key"
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        pass
    candidate = key_file.with_name(f"secret_key.{os.getpid()}")
    candidate.write_text(secrets.token_hex(32))
    candidate.chmod(0o600)
    try:
        # link() refuses to replace an existing file: when workers start together, one key wins.
        os.link(candidate, key_file)
    except FileExistsError:
        pass
    finally:
        candidate.unlink()
    return key_file.read_text().strip()

"""Per-client rate limits with Flask-Limiter: every request but static files and the health check
counts against its client address's limit (RATELIMIT_DEFAULT), kept in a store that every process
of the service shares (Redis in production). Off unless RATELIMIT_ENABLED; src/wsgi.py turns it on."""
from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

# Seconds, not redis-py's default of waiting for ever, for a Redis that stops answering; Flask-Limiter
# then counts in each process's memory until Redis answers again.
STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}


def is_health_check() -> bool:
    """Load balancers and orchestrators poll the health check; they must never be refused."""
    return request.endpoint == "api.health"


def init_app(app: Flask) -> None:
    # One Limiter per app rather than one for the module: Flask-Limiter keeps its storage and
    # limits on the Limiter itself, so a shared one would take the settings of whichever app
    # was built last.
    limiter = Limiter(get_remote_address, storage_options=dict(STORAGE_OPTIONS))
    limiter.request_filter(is_health_check)
    limiter.init_app(app)

"""Per-client rate limits with Flask-Limiter: every request but static files and the health check
counts against its client address's limit (RATELIMIT_DEFAULT), kept in a store that every process
of the service shares (Redis in production). Off unless RATELIMIT_ENABLED; src/wsgi.py turns it on."""

import time

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from src.config import redis_options


def is_health_check() -> bool:
    """Load balancers and orchestrators poll the health check; they must never be refused."""
    return request.endpoint == "api.health"


def init_app(app: Flask) -> None:
    # One Limiter per app rather than one for the module: Flask-Limiter keeps its storage and
    # limits on the Limiter itself, so a shared one would take the settings of whichever app
    # was built last.
    # With Redis down or hanging, Flask-Limiter counts in each process's memory, trying Redis again
    # after 1, 2, 4 ... 32 s; each try waits REDIS_TIMEOUT at most.
    limiter = Limiter(get_remote_address, storage_options=redis_options())
    limiter.request_filter(is_health_check)
    limiter.init_app(app)

    @app.after_request
    def retry_after(response: Response) -> Response:
        """Retry-After on a refusal only: Flask-Limiter's own headers (RATELIMIT_HEADERS_ENABLED)
        cost two more Redis calls on every request."""
        if response.status_code == 429 and limiter.current_limit is not None:
            # As Flask-Limiter computes it: its reset_at is already rounded up to the next second.
            response.headers["Retry-After"] = str(int(limiter.current_limit.reset_at - time.time()))
        return response

"""Per-client rate limits with Flask-Limiter: every request but static files and the health check
counts against its client address's limit (RATELIMIT_DEFAULT), kept in a store that every process
of the service shares (Redis in production), and an image the engine had to cut apart counts as more
requests, as many as its reading cost. Off unless RATELIMIT_ENABLED; src/wsgi.py turns it on."""

import logging
import time

from flask import Flask, Response, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from src.config import redis_options

PIECES_PER_REQUEST = 100
"""An image whose blobs the engine cut apart counts as one more request for each this many pieces it read
(`Recognition.pieces_read`). A canvas reads one digit, a number written with its digits touching 100 to
500 pieces, and the most an image may cost is 1,000, some 300 canvases' CPU: counted as one request, 300 of
those a minute from one address would keep five cores busy; counted so, less than one."""

log = logging.getLogger(__name__)


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

    @app.after_request
    def count_the_cost(response: Response) -> Response:
        """Count a request whose image was cut apart as more requests, against each limit it counted against.
        Only such requests pay for the second call to the limits' store; the answer is given whatever it says."""
        extra = g.get("pieces_read", 0) // PIECES_PER_REQUEST
        if not extra:
            return response
        for counted in limiter.current_limits:
            try:
                counted.limiter.hit(counted.limit, *counted.request_args, cost=extra)
            except Exception as error:  # the store's own errors (Redis down or hanging): the answer stands
                log.warning("The rate limit could not count a costly reading: %s", error)
        return response

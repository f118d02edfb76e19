"""gunicorn's settings for the service in production: `gunicorn` run in the repository root reads them.

BIND (default 127.0.0.1:$PORT, PORT default 8000) and WEB_CONCURRENCY (default 4 worker processes)
come from the environment, like the service's own settings; GUNICORN_CMD_ARGS overrides any of
them. The master prepares the database once per start of the deployment, once it holds its port and
before any worker runs, so neither a start that fails to bind nor a replaced worker clears anything.
"""

import gc
import os

from gunicorn.glogging import Logger

from src.ml import compute_on_one_thread

wsgi_app = "src.wsgi:app"
bind = [os.environ.get("BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"]
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# One request at a time per process: reading an image is CPU work that holds the GIL, so
# processes, not threads, use the cores. Sync workers must sit behind a buffering proxy (nginx:
# deploy/nginx.conf), or a few slow clients hold them all.
worker_class = "sync"
# A worker silent this long is killed: no request takes it (each costs bounded CPU), and an export is
# cut off first, after EXPORT_TIMEOUT (25 s), where its client sees it.
timeout = 30
# The app (and its 11 MB model) is loaded once in the master and shared by the forked workers,
# so a replaced worker serves at once; `on_starting` below uses this same app. The master must
# never run the engine itself (no warm-up prediction): OpenBLAS and OpenCV start thread pools on
# first use, and a worker forked from a process that has them hangs on its first prediction.
preload_app = True
# nginx bounds what a request's head may hold (deploy/nginx.conf: a line of 8 KB, its CRLF included, and four
# such buffers in all) and refuses the rest with a problem document. gunicorn's own limits are lower by default
# (a request line of 4,094 bytes, 100 headers), and it would answer a request nginx passed with an HTML page:
# here they are at their largest, or just above nginx's.
limit_request_line = 8190
limit_request_fields = 32768
limit_request_field_size = 8192
# No `gunicornc` socket: its default path ($HOME/.gunicorn/gunicorn.ctl) is one per user, which
# two instances of the service on one host would fight over.
control_socket_disable = True


class LoggerWithoutAccessLog(Logger):
    """gunicorn's logger, without the access log: nginx, in front of gunicorn in every deployment
    (deploy/nginx.conf), logs each request already, and the line gunicorn would add is built and
    written by the worker on the path of every request."""

    def access(self, resp, req, environ, request_time):
        pass


logger_class = LoggerWithoutAccessLog
# Everything to stderr, the service's own log lines (src, flask-limiter) with gunicorn's.
logconfig_dict = {
    "root": {"level": "INFO", "handlers": ["error_console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
    },
    "formatters": {
        "generic": {
            "format": "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s",
            "datefmt": "[%Y-%m-%d %H:%M:%S %z]",
            "class": "logging.Formatter",
        }
    },
}


def when_ready(server):
    """Once per start, in the master, once the port is bound and before the workers are forked: create
    the tables and clear stored predictions if configured (in the background while the database is down).

    Then the app's objects (Flask, SQLAlchemy, the model: a great many) are frozen out of the
    garbage collector's reach: a full collection in a worker would otherwise walk them all while a
    request waits, and write to pages the workers share with the master.
    """
    from src.storage import start

    start(server.app.wsgi())
    gc.freeze()


def post_fork(server, worker):
    from src.database import forget_inherited_connections

    # Each worker serves one request at a time on a machine whose cores the other workers use.
    compute_on_one_thread()
    forget_inherited_connections(server.app.wsgi())

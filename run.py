"""Start the digit recognition service: `python run.py [--host HOST] [--port PORT]`."""

import argparse
import logging
import os

from flask import Flask
from waitress.server import create_server

from src import create_app
from src.ml import compute_on_one_thread
from src.storage import start

# Requests run on a pool of this many threads. One process: the engine's Python and much of decoding hold
# the GIL, so more threads add no throughput, only requests queued inside the process and memory (each large
# image decoded at once holds its own, docs/hostile.md); more than one, so that a request that waits (on
# SQLite's write lock, PostgreSQL's connect timeout, a client slow to take an export) holds up no other.
THREADS = 4
# Connections open at once, each holding at most a socket, a buffered body and a buffered answer (three
# files): under the 1,024 files a process may open by default, and the 1,024 that select() watches, with
# room for many slow or idle clients, which wait in waitress's buffers without a thread each. Past it, new
# connections wait in the listen queue until one closes.
CONNECTION_LIMIT = 200
# A connection silent this long (an idle keep-alive one, or a client that stopped sending) is closed at
# waitress's next sweep (every 30 s), as nginx's keepalive_timeout does in deploy/nginx.conf.
CHANNEL_TIMEOUT = 15


def server_settings(app: Flask) -> dict:
    """waitress's settings for `app`."""
    limit = app.config["MAX_CONTENT_LENGTH"]
    settings = {
        "threads": THREADS,
        "connection_limit": CONNECTION_LIMIT,
        "channel_timeout": CHANNEL_TIMEOUT,
        # No Server header, as nginx's server_tokens off.
        "ident": "",
        # X-Forwarded-* are the app's to trust or ignore (TRUSTED_PROXIES), not removed by waitress.
        "clear_untrusted_proxy_headers": False,
    }
    if limit is not None:
        # waitress buffers each body whole (on disk past 512 KB) before the app runs, up to 1 GB by default.
        # Twice the app's limit: a body somewhat over it, however framed, still reaches the app and gets its
        # 413 problem document; a larger one waitress refuses itself with a plain-text 413, from its
        # Content-Length or once that much of a chunked one has come, rather than storing all of it.
        settings["max_request_body_size"] = 2 * limit
    return settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the digit recognition page and API.")
    parser.add_argument("--host", default=os.environ.get("FLASK_RUN_HOST", "127.0.0.1"), help="default 127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("FLASK_RUN_PORT", "5000")), help="default 5000")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # waitress warns whenever a request waits for a free thread, which the page's parallel requests do on
    # every load: a warning that says nothing is wrong. How many wait is bounded by CONNECTION_LIMIT.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    # Requests run side by side on waitress's threads (several times slower on a busy machine with a pool each).
    compute_on_one_thread()
    app = create_app()
    # The port first: a start that cannot bind it (another one is running) must change nothing.
    server = create_server(app, host=args.host, port=args.port, **server_settings(app))
    start(app)
    # Each address it listens on (localhost: IPv4 and IPv6), logged as waitress's own serve() does.
    server.print_listen("Serving on http://{}:{}")
    server.run()


if __name__ == "__main__":
    main()

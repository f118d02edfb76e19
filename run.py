"""Start the digit recognition service: `python run.py [--host HOST] [--port PORT]`."""

import argparse
import logging
import os

from werkzeug.serving import make_server

from src import create_app
from src.ml import compute_on_one_thread
from src.storage import start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the digit recognition page and API.")
    parser.add_argument("--host", default=os.environ.get("FLASK_RUN_HOST", "127.0.0.1"), help="default 127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("FLASK_RUN_PORT", "5000")), help="default 5000")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Requests run in parallel threads (several times slower on a busy machine with a pool each).
    compute_on_one_thread()
    app = create_app()
    # The port first: a start that cannot bind it (another one is running) must change nothing.
    # No reloader: it would run the service in a second process, which would start (and clear) twice.
    server = make_server(args.host, args.port, app, threaded=True)
    start(app)
    app.logger.info("Serving on http://%s:%d", args.host, server.server_port)
    server.serve_forever()


if __name__ == "__main__":
    main()

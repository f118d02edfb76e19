"""Start the digit recognition service: `python run.py [--host HOST] [--port PORT]`."""
import argparse
import os

import cv2
from threadpoolctl import threadpool_limits

from src import create_app
from src.storage import prepare_database


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the digit recognition page and API.")
    parser.add_argument("--host", default=os.environ.get("FLASK_RUN_HOST", "127.0.0.1"), help="default 127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("FLASK_RUN_PORT", "5000")), help="default 5000")
    args = parser.parse_args(argv)
    # Requests already run in parallel threads; a BLAS or OpenCV thread pool for each one-image
    # operation only makes them wait on each other (several times slower on a busy machine).
    threadpool_limits(limits=1, user_api="blas")
    cv2.setNumThreads(1)
    app = create_app()
    prepare_database(app)
    # Without the reloader: it runs the service in a second process, which would
    # start (and clear the stored predictions) twice.
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()

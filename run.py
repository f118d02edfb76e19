"""Start the digit recognition service: `python run.py [--host HOST] [--port PORT]`."""
import argparse
import os

from src import create_app
from src.ml import compute_on_one_thread
from src.storage import prepare_database


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the digit recognition page and API.")
    parser.add_argument("--host", default=os.environ.get("FLASK_RUN_HOST", "127.0.0.1"), help="default 127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("FLASK_RUN_PORT", "5000")), help="default 5000")
    args = parser.parse_args(argv)
    # Requests run in parallel threads (several times slower on a busy machine with a pool each).
    compute_on_one_thread()
    app = create_app()
    prepare_database(app)
    # Without the reloader: it runs the service in a second process, which would
    # start (and clear the stored predictions) twice.
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()

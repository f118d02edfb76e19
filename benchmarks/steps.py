"""What each step of a stored prediction costs in CPU, against the engine, measured in one process.

    python -m benchmarks.steps [--calls 400] [--turns 5]

Builds the service with the production entry point's settings (rate limits on, kept in Redis; the cache
in Redis; PostgreSQL) on a PostgreSQL schema and a Redis key prefix of this run's own, removed at the end,
and times by CPU time, in turns so that each meets the same minutes: the engine on 280x280 canvases; the
whole POST /api/predict as the page sends it, through Flask's test client (each image new, so read and
stored); and steps of it alone. Prints each one's median over the turns in milliseconds and as a share of
the engine's: the service's CPU per stored prediction against the engine's is what `benchmarks.load`
measures under gunicorn, and this says where it goes. MNIST comes from MNIST_DIR.
"""

import argparse
import contextlib
import gc
import itertools
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import psycopg

from benchmarks.load.stack import deployment_of_its_own, redis_url
from benchmarks.load.traffic import Requests, canvases
from benchmarks.postgres import ROW
from src import create_app, readings, storage
from src.api.openapi import check_against_schema
from src.database import utc_now
from src.ml import compute_on_one_thread, mnist, recognise
from src.readings import current_model, read_image
from src.stored_image import without_metadata
from src.tables import new_public_id


class EngineInside:
    """`recognise`, as `src.readings` calls it inside a request, with the CPU it takes there summed."""

    def __init__(self):
        self.seconds, self.calls = 0.0, 0

    def __call__(self, *args, **kwargs):
        started = time.process_time()
        try:
            return recognise(*args, **kwargs)
        finally:
            self.seconds += time.process_time() - started
            self.calls += 1


def cpu_ms(step: Callable[[], object], calls: int) -> float:
    """CPU milliseconds a call of `step` takes, on average over `calls`."""
    started = time.process_time()
    for _ in range(calls):
        step()
    return 1000 * (time.process_time() - started) / calls


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400, help="calls of each step a turn (default 400)")
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--mnist-dir", type=Path, default=mnist.configured_dir())
    args = parser.parse_args(argv)
    compute_on_one_thread()
    requests = Requests(canvases(args.mnist_dir))
    with deployment_of_its_own() as deployment, contextlib.ExitStack() as stack:
        os.environ["INSTANCE_PATH"] = str(deployment.folder / "instance")
        settings = {
            "DATABASE_URL": deployment.database_url(),
            "CACHE_REDIS_URL": redis_url(),
            "CACHE_KEY_PREFIX": f"{deployment.prefix}:",
            "RATELIMIT_KEY_PREFIX": deployment.prefix,
            "RATELIMIT_DEFAULT": "1000000 per minute",
            "QUOTA_PREDICTIONS_PER_HOUR": 0,
            "QUOTA_BYTES_PER_HOUR": 0,
            "TESTING": False,
        }
        app = create_app(settings, production=True)
        storage.prepare_database(app)
        client = app.test_client()
        headers = {"Content-Type": "application/json"}
        body, _ = requests.next()
        assert client.post("/api/predict", data=body, headers=headers).status_code == 201

        with app.app_context():
            model = current_model()
            page = json.loads(body)
            reading = read_image(requests.pool[0], model).to_json()
            cache = app.extensions["cache_in_use"]
            raw = stack.enter_context(psycopg.connect(deployment.database_url(), autocommit=True))
            columns = {**ROW, "sha256": "0" * 64}
            names = [*columns, "public_id", "created_at", "image_size"]
            insert = f"INSERT INTO predictions ({', '.join(names)}) VALUES ({', '.join(f'%({n})s' for n in names)})"

            def insert_alone():
                row = {**columns, "digits": json.dumps(columns["digits"]), "image_size": len(columns["image"])}
                raw.execute(insert, {**row, "public_id": new_public_id(), "created_at": utc_now()})

            images, misses = itertools.cycle(requests.pool), itertools.count()

            def with_limit_checked():
                with app.test_request_context("/api/predict", method="POST"):
                    app.preprocess_request()

            def context_alone():
                with app.test_request_context("/api/predict", method="POST"):
                    pass

            steps = {
                "the engine on a canvas": lambda: recognise(next(images), model),
                "POST /api/predict, whole (Flask's test client)": lambda: client.post(
                    "/api/predict", data=requests.next()[0], headers=headers
                ),
                "a request answered 404 (Flask, rate limit, headers)": lambda: client.get("/api/no-such-thing"),
                "a request's context, pushed and popped": context_alone,
                "the same with the rate limit checked": with_limit_checked,
                "the cache: a lookup (a miss)": lambda: cache.get(f"steps:{next(misses)}"),
                "the cache: a store": lambda: cache.set("steps:reading", reading),
                "the insert (storage.add_prediction)": lambda: storage.add_prediction(**columns),
                "the same INSERT by psycopg alone": insert_alone,
                "the body's schema check": lambda: check_against_schema("PredictRequest", page),
                "the stored image's metadata stripped": lambda: without_metadata(next(images)),
            }
            for step in steps.values():
                step()
            # As gunicorn's master does before it forks the workers (gunicorn.conf.py).
            gc.freeze()
            measured = {name: [] for name in steps}
            inside = EngineInside()
            with mock.patch.object(readings, "recognise", inside):
                for _ in range(args.turns):
                    for name, step in steps.items():
                        measured[name].append(cpu_ms(step, args.calls))

    engine = statistics.median(measured["the engine on a canvas"])
    print(
        f"CPU a call, median of {args.turns} turns of {args.calls} calls, and as a share of the engine's "
        f"(model {model.version}):"
    )
    for name, turns in measured.items():
        ms = statistics.median(turns)
        print(f"  {name:50s} {ms:7.3f} ms  {ms / engine:6.2f}x")
        if name.startswith("POST"):
            # The same engine, on the same kind of canvas, takes more CPU between the service's other work
            # than called back to back: part of what the service adds is the engine's own.
            ms = 1000 * inside.seconds / inside.calls
            print(f"    {'the engine inside those requests (mean)':48s} {ms:7.3f} ms  {ms / engine:6.2f}x")


if __name__ == "__main__":
    main()

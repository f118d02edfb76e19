"""Where a stored prediction's CPU goes, step by step, against the engine's, measured in one process.

    python -m benchmarks.steps [--requests 400] [--turns 5]

Builds the service as `benchmarks.load` deploys it (the production entry point's settings: rate limits and
the hourly quota on, the limits kept in Redis; the cache in Redis; PostgreSQL), on a PostgreSQL schema and a
Redis key prefix of this run's own, removed at the end, and times by CPU time, in turns so that
both meet the same minutes: the engine alone on 280x280 canvases, one after another, and POST /api/predict as
the page sends it, through Flask's test client (each image new, so read, cached and stored), with the CPU each
step takes inside those requests summed as they run.

Each step costs more inside a request than called in a loop of its own, where its code and data stay in
the processor's caches: the engine, whose SVM reads its 11.2 MB of support vectors for every digit, and
the service's steps alike. Prints the request, and each step in it, in milliseconds and as a share of the
engine alone: the service's CPU per stored prediction against the engine's is what `benchmarks.load`
measures under gunicorn, and this says where it goes. MNIST comes from MNIST_DIR.
"""

import argparse
import contextlib
import functools
import gc
import itertools
import os
import statistics
import time
from pathlib import Path
from unittest import mock

from flask.ctx import RequestContext

from benchmarks.load.stack import ONE_ADDRESS, POSTGRES_PORT, REDIS_PORT, deployment_of_its_own, environment
from benchmarks.load.traffic import Requests, canvases
from src import create_app, readings, storage
from src.api import predictions
from src.ml import compute_on_one_thread, mnist, recognise
from src.readings import current_model


class Timed:
    """A function, as the service calls it, with the CPU its calls take summed."""

    def __init__(self, function):
        self.function, self.seconds = function, 0.0

    def __get__(self, instance, owner=None):
        # Set on a class, it stands for a method: bound to the instance it is looked up on.
        return self if instance is None else functools.partial(self, instance)

    def __call__(self, *args, **kwargs):
        started = time.process_time()
        try:
            return self.function(*args, **kwargs)
        finally:
            self.seconds += time.process_time() - started


# Each step of POST /api/predict: where the service looks it up, on a class, the app or a module.
STEPS = {
    "the request's context pushed: its session cookie read": lambda app: (RequestContext, "push"),
    "the rate limit's check (Flask's before-request hooks)": lambda app: (app, "preprocess_request"),
    "the body read: JSON, its schema, the data URL": lambda app: (predictions, "read_upload"),
    "the engine (src.ml.recognise)": lambda app: (readings, "recognise"),
    "the cache's lookup": lambda app: (app.extensions["cache_in_use"], "get"),
    "the cache's store": lambda app: (app.extensions["cache_in_use"], "set"),
    "the stored image's metadata stripped": lambda app: (readings, "without_metadata"),
    "the insert, within the hourly quota (storage.add_prediction)": lambda app: (storage, "add_prediction"),
    "the answer made ready (Flask's after-request hooks, the session)": lambda app: (app, "finalize_request"),
}


def cpu_ms(step, calls: int) -> float:
    """CPU milliseconds a call of `step` takes, on average over `calls`."""
    started = time.process_time()
    for _ in range(calls):
        step()
    return 1000 * (time.process_time() - started) / calls


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="requests, and canvases alone, a turn")
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--mnist-dir", type=Path, default=mnist.configured_dir())
    args = parser.parse_args(argv)
    compute_on_one_thread()
    requests = Requests(canvases(args.mnist_dir))
    images = itertools.cycle(requests.pool)
    with deployment_of_its_own() as deployment:
        # The settings of the deployment `benchmarks.load` runs, one worker's, and none of this shell's own; but
        # from one address, with the rate limit and the hourly quota on at counts its requests never reach: each
        # is a step of every stored prediction.
        settings = environment(
            deployment,
            1,
            POSTGRES_PORT,
            REDIS_PORT,
            RATELIMIT_DEFAULT=ONE_ADDRESS["RATELIMIT_DEFAULT"],
            QUOTA_PREDICTIONS_PER_HOUR=str(10**9),
            QUOTA_BYTES_PER_HOUR=str(10**12),
        )
        with mock.patch.dict(os.environ, settings, clear=True):
            app = create_app(production=True)
        storage.prepare_database(app)
        client = app.test_client()
        headers = {"Content-Type": "application/json"}

        def post():
            response = client.post("/api/predict", data=requests.next()[0], headers=headers)
            # 422: one of the few MNIST digits read as no digit (benchmarks.engine counts them), not stored.
            assert response.status_code in (201, 422), response.get_data(as_text=True)

        with app.app_context():
            model = current_model()

        def engine_alone():
            recognise(next(images), model)

        for _ in range(20):
            post()
            engine_alone()
        # As gunicorn's master does before it forks the workers (gunicorn.conf.py).
        gc.freeze()
        alone, whole = [], []
        places = {name: where(app) for name, where in STEPS.items()}
        timed = {name: Timed(getattr(owner, function)) for name, (owner, function) in places.items()}
        with contextlib.ExitStack() as patches:
            for name, (owner, function) in places.items():
                patches.enter_context(mock.patch.object(owner, function, timed[name]))
            for _ in range(args.turns):
                alone.append(cpu_ms(engine_alone, args.requests))
                whole.append(cpu_ms(post, args.requests))

    engine = statistics.median(alone)
    requests_made = args.requests * args.turns

    def line(name: str, ms: float) -> None:
        print(f"  {name:66s} {ms:7.3f} ms  {ms / engine:5.2f}x")

    print(
        f"CPU a canvas or a request, median of {args.turns} turns of {args.requests}, and as a share of the engine "
        f"alone (model {model.version}); each step in the requests, its mean a request:"
    )
    line("the engine alone, canvas after canvas", engine)
    line("POST /api/predict, whole (Flask's test client)", statistics.median(whole))
    for name, step in timed.items():
        line(f"  {name}", 1000 * step.seconds / requests_made)
    rest = statistics.mean(whole) - sum(1000 * step.seconds for step in timed.values()) / requests_made
    line("  the rest: Flask, Flask-RESTful, the answer's JSON, the test client", rest)


if __name__ == "__main__":
    main()

"""How many stored predictions PostgreSQL takes a second here, and the CPU each costs it.

    python -m benchmarks.postgres [--seconds 10] [--writers 1 4 16]

Each writer is a process of its own storing predictions one after another as the service stores them
(`storage.add_prediction`: one INSERT in autocommit, durable once answered), rows of the size a canvas
makes, into a schema of this run's own on the machine's PostgreSQL (database `test` on 127.0.0.1:5432),
dropped at the end. Prints, for each number of writers, the inserts a second and the CPU PostgreSQL spent
on each, measured in the same run: what bounds PostgreSQL is its CPU per insert (one core takes
1 / that many a second) and, with few writers, the wait for each commit to reach the disk.
"""

import argparse
import multiprocessing
import os
import time
import uuid

import psycopg

from benchmarks.load.cpu import cpu_seconds, cpu_used
from benchmarks.load.stack import postgres_url

# What a 280x280 canvas stores: its PNG without metadata, the 28x28 input the model saw, one digit read.
ROW = {
    "image": os.urandom(10_500),
    "content_type": "image/png",
    "inputs": bytes(784),
    "number": "7",
    "digits": [
        {
            "digit": 7,
            "confidence": 0.99,
            "probabilities": [0.001] * 10,
            "box": {"x": 70, "y": 40, "width": 120, "height": 200},
        }
    ],
    "model_version": "svm-hog-benchmark",
    "source": "canvas",
    "client_id": "x" * 22,
    "client_address": "a" * 32,
}


def app_on(schema: str):
    from src import create_app

    return create_app({"DATABASE_URL": f"{postgres_url()}?options=-csearch_path%3D{schema}", "TESTING": False})


def writer(schema: str, start: float, stop: float, counts, measured) -> None:
    """Stores predictions from `start` to `stop`; then, its connection and PostgreSQL's process for it kept,
    waits until the CPU they used is `measured`."""
    from src import storage

    app = app_on(schema)
    stored = 0
    with app.app_context():
        app.extensions["database_ready"].set()
        while time.time() < start:
            time.sleep(0.001)
        while time.time() < stop:
            storage.add_prediction(sha256=uuid.uuid4().hex * 2, **ROW)
            stored += 1
        counts.put(stored)
        measured.wait()


def measure(schema: str, writers: int, seconds: float) -> tuple[float, float, float, float]:
    """Inserts a second, PostgreSQL's CPU milliseconds per insert, and the cores PostgreSQL and the writers used."""
    context = multiprocessing.get_context("fork")
    counts, measured = context.Queue(), context.Event()
    start = time.time() + 2
    processes = [
        context.Process(target=writer, args=(schema, start, start + seconds, counts, measured)) for _ in range(writers)
    ]
    for process in processes:
        process.start()
    time.sleep(max(0.0, start - time.time()))
    before = cpu_seconds()
    stored = sum(counts.get() for _ in processes)
    used = cpu_used(before, cpu_seconds(), {"writers": {process.pid for process in processes}})
    measured.set()
    for process in processes:
        process.join()
    postgres = used["PostgreSQL"]
    return stored / seconds, 1000 * postgres / max(stored, 1), postgres / seconds, used["writers"] / seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 4, 16])
    args = parser.parse_args(argv)
    from src import storage

    schema = f"inserts_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url(), autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        with app_on(schema).app_context():
            storage.init_db()
        print(f"{os.cpu_count()} cores; rows of {len(ROW['image']):,} bytes of image, one INSERT each in autocommit")
        print(f"{'writers':>8}{'inserts/s':>11}{'PostgreSQL CPU ms/insert':>26}{'cores: PostgreSQL':>19}{'writers':>9}")
        for writers in args.writers:
            rate, cpu, postgres, clients = measure(schema, writers, args.seconds)
            print(f"{writers:8d}{rate:11.0f}{cpu:26.3f}{postgres:19.2f}{clients:9.2f}")
    finally:
        with psycopg.connect(postgres_url(), autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    main()

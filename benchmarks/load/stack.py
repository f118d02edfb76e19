"""The service under load: nginx in front of gunicorn as `make serve` runs them, on a PostgreSQL schema and a
Redis key prefix of the run's own, reached directly or through proxies that a scenario takes down."""

import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

from benchmarks.servers import inherited_environment
from serve import free_port, production_stack

POSTGRES_PORT = 5432
REDIS_PORT = 6379
ADMIN_TOKEN = "load-admin-token"


def postgres_url(port: int = POSTGRES_PORT) -> str:
    return f"postgresql://127.0.0.1:{port}/test"


def redis_url(port: int = REDIS_PORT) -> str:
    return f"redis://127.0.0.1:{port}/0"


@dataclass
class Deployment:
    """A PostgreSQL schema and a Redis prefix of this run's own, and a folder for logs and nginx's files."""

    schema: str
    prefix: str
    folder: Path

    def database_url(self, port: int = POSTGRES_PORT) -> str:
        return f"{postgres_url(port)}?options=-csearch_path%3D{self.schema}"


@contextmanager
def deployment_of_its_own() -> Iterator[Deployment]:
    schema, prefix = f"load_{uuid.uuid4().hex[:10]}", f"load-{uuid.uuid4().hex[:10]}"
    folder = Path(tempfile.mkdtemp(prefix="digits-load-"))
    # nginx's workers run as nobody when it is started as root.
    os.chmod(folder, 0o755)
    with psycopg.connect(postgres_url(), connect_timeout=5, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield Deployment(schema, prefix, folder)
    finally:
        with psycopg.connect(postgres_url(), connect_timeout=5, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")
        with redis.Redis.from_url(redis_url()) as client:
            for key in client.scan_iter(f"*{prefix}*"):
                client.delete(key)
        shutil.rmtree(folder)


ONE_ADDRESS = {
    "RATELIMIT_DEFAULT": "1000000 per minute",
    "QUOTA_PREDICTIONS_PER_HOUR": "0",
    "QUOTA_BYTES_PER_HOUR": "0",
}
"""For a client that sends far more than any one address may (the fuzzer, benchmarks.steps): the rate limit
still counts every request, and no limit nor quota stops it."""


def environment(deployment: Deployment, workers: int, postgres_port: int, redis_port: int, **settings) -> dict:
    """The service's settings as deployed (its rate limit and hourly quota included), with `settings` over them."""
    return {
        **inherited_environment(),
        "WEB_CONCURRENCY": str(workers),
        "INSTANCE_PATH": str(deployment.folder / "instance"),
        "DATABASE_URL": deployment.database_url(postgres_port),
        "CACHE_REDIS_URL": redis_url(redis_port),
        "CACHE_KEY_PREFIX": f"{deployment.prefix}:",
        "RATELIMIT_KEY_PREFIX": deployment.prefix,
        "CLEAR_PREDICTIONS_ON_START": "true",
        "ADMIN_TOKEN": ADMIN_TOKEN,
        **settings,
    }


def children(pid: int) -> set[int]:
    try:
        return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except FileNotFoundError:
        return set()


class Stack:
    """nginx on `port`, in front of gunicorn with `workers` workers; `gunicorn` is its master process."""

    def __init__(self, gunicorn, nginx, port: int, log: Path):
        self.gunicorn, self.nginx, self.port, self.log = gunicorn, nginx, port, log

    def workers(self) -> set[int]:
        return children(self.gunicorn.pid)

    def processes(self) -> dict[str, set[int]]:
        """The stack's processes by program, for the CPU they use."""
        return {"gunicorn": {self.gunicorn.pid, *self.workers()}, "nginx": {self.nginx.pid, *children(self.nginx.pid)}}

    def worker_rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.workers():
            status = Path(f"/proc/{pid}/status").read_text()
            sizes.append(int(re.search(r"VmRSS:\s+(\d+) kB", status)[1]) / 1024)
        return sorted(sizes)

    def log_count(self, text: str) -> int:
        return self.log.read_text().count(text)


@contextmanager
def stack(
    deployment: Deployment,
    workers: int,
    name: str,
    *,
    postgres_port: int = POSTGRES_PORT,
    redis_port: int = REDIS_PORT,
    settings: dict | None = None,
) -> Iterator[Stack]:
    """nginx and gunicorn started as `make serve` starts them, once every worker runs; stopped on exit.
    `settings` are the service's, over those it is deployed with."""
    port = free_port()
    log = deployment.folder / f"{name}.log"
    prefix = deployment.folder / f"nginx-{name}"
    with ExitStack() as cleanup, log.open("w") as output:
        base_url, gunicorn, nginx = cleanup.enter_context(
            production_stack(
                environment(deployment, workers, postgres_port, redis_port, **(settings or {})),
                port=port,
                prefix=prefix,
                output=output,
            )
        )
        running = Stack(gunicorn, nginx, port, log)
        deadline = time.monotonic() + 60
        while len(running.workers()) != workers:
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start {workers} workers:\n{log.read_text()}")
            time.sleep(0.1)
        yield running

"""The servers the hostile benchmark starts (`python run.py`, the production stack as `serve.py` runs it,
gunicorn alone) on this machine's PostgreSQL and Redis, each under a schema and prefix of its own, and
what one request costs their processes in CPU and peak memory, read from /proc."""

import os
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests

import serve
from benchmarks.load.cpu import process_cpu
from src.config import ENVIRONMENT

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = "postgresql://127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
ADMIN_TOKEN = "hostile-benchmark-admin-token"


@dataclass
class Cost:
    status: int
    cpu: float
    peak_mb: float


def _read(pid: int, name: str) -> str:
    return Path(f"/proc/{pid}/{name}").read_text()


def _memory_kb(pid: int, key: str) -> int:
    line = next(line for line in _read(pid, "status").splitlines() if line.startswith(key))
    return int(line.split()[1])


@dataclass
class Server:
    name: str
    base_url: str
    processes: Callable[[], list[int]]
    """The processes a request runs in, whose CPU and memory count."""
    stored_ids: Callable[[], set[str]]
    database_url: str = ""
    acknowledged: set[str] = field(default_factory=set)

    def cost(self, send: Callable[[], requests.Response | int]) -> Cost:
        """Send one request and measure it: the CPU all the server's processes spent, and the most any
        one of them grew past the memory it had before (its peak reset first)."""
        pids = self.processes()
        before = {}
        for pid in pids:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
            before[pid] = (process_cpu(pid), _memory_kb(pid, "VmRSS:"))
        answer = send()
        status = answer if isinstance(answer, int) else answer.status_code
        if not isinstance(answer, int) and status == 201:
            self.acknowledged.add(answer.json()["id"])
        cpu = sum(process_cpu(pid) - before[pid][0] for pid in pids)
        peak = max(_memory_kb(pid, "VmHWM:") - before[pid][1] for pid in pids)
        return Cost(status, cpu, peak / 1024)


def children(pid: int) -> list[int]:
    return [int(child) for child in _read(pid, f"task/{pid}/children").split()]


def inherited_environment() -> dict:
    """This process's environment without the service's own settings: a benchmark's server gets only those
    it sets, never, say, a DATABASE_URL the developer exported for their own work."""
    return {name: value for name, value in os.environ.items() if name not in {*ENVIRONMENT, "FLASK_DEBUG"}}


def environment(folder: Path, **settings: str) -> dict:
    return {
        **inherited_environment(),
        "INSTANCE_PATH": str(folder / "instance"),
        "ADMIN_TOKEN": ADMIN_TOKEN,
        # Every allocation over 128 KiB mapped and given back when freed: otherwise glibc keeps a freed
        # peak in the heap, and a later request that needs as much shows no added memory at all.
        "MALLOC_MMAP_THRESHOLD_": "131072",
        **settings,
    }


@contextmanager
def run_py(folder: Path) -> Iterator[Server]:
    port = serve.free_port()
    process = subprocess.Popen(
        [sys.executable, "run.py", "--port", str(port)],
        cwd=ROOT,
        env=environment(folder),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        serve.wait_until_answering(f"{base_url}/api/health", [process])

        def stored_ids() -> set[str]:
            with sqlite3.connect(folder / "instance" / "predictions.sqlite") as connection:
                return {row[0] for row in connection.execute("SELECT public_id FROM predictions")}

        yield Server("python run.py", base_url, lambda: [process.pid], stored_ids)
    finally:
        serve.stop(process)


@contextmanager
def production(folder: Path) -> Iterator[Server]:
    schema, prefix = f"hostile_{uuid.uuid4().hex[:10]}", f"hostile-{uuid.uuid4().hex[:10]}"
    database_url = f"postgresql://127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        environ = environment(
            folder,
            DATABASE_URL=database_url,
            CACHE_REDIS_URL=REDIS_URL,
            CACHE_KEY_PREFIX=f"{prefix}:",
            RATELIMIT_KEY_PREFIX=prefix,
            RATELIMIT_DEFAULT="100000 per minute",
            WEB_CONCURRENCY="4",
        )
        nginx_prefix = Path(tempfile.mkdtemp(prefix="digits-nginx-"))
        nginx_prefix.chmod(0o755)  # nginx's workers run as nobody when started as root
        try:
            with serve.production_stack(
                environ, port=serve.free_port(), prefix=nginx_prefix, output=subprocess.DEVNULL
            ) as (
                base_url,
                gunicorn,
                _,
            ):

                def stored_ids() -> set[str]:
                    with psycopg.connect(database_url) as connection:
                        return {row[0] for row in connection.execute("SELECT public_id FROM predictions")}

                yield Server("nginx + gunicorn", base_url, lambda: children(gunicorn.pid), stored_ids, database_url)
        finally:
            subprocess.run(["rm", "-rf", str(nginx_prefix)], check=False)
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(f"*{prefix}*"):
                client.delete(key)


@contextmanager
def bare_gunicorn(folder: Path) -> Iterator[str]:
    bind = f"127.0.0.1:{serve.free_port()}"
    environ = environment(folder, BIND=bind, RATELIMIT_ENABLED="false", WEB_CONCURRENCY="4")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn"], cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        serve.wait_until_answering(f"http://{bind}/api/health", [process])
        yield f"http://{bind}"
    finally:
        serve.stop(process)

"""Load, faults and bad input against the production configuration: gunicorn on PostgreSQL and Redis.

    python -m benchmarks.load [--seconds 60] [--clients 8] [--scenario all|load|kill|postgres|redis|fuzz]

Starts `gunicorn` (gunicorn.conf.py, as the README says) on a free loopback port, with a PostgreSQL
schema and a Redis key prefix of its own, removed at the end. Every request is POST /api/predict as
the page sends it (JSON, a PNG data URL) with an image of its own: the 10,000 MNIST test digits drawn
large on a canvas, each request's PNG made unique by a counter in a text chunk, so nothing comes from
the cache. Rate limits are on, as in production, with a limit the load never reaches. First it times
the engine on 200 of those canvases in its own process: the machine's pace, which every figure follows.

  load      8 clients against 4 workers and against 1 worker for half as long, both running, in six
            turns each: throughput, p50, p99, errors
  kill      4 workers; one is SIGKILLed a third of the way through
  postgres  4 workers; PostgreSQL stopped a third of the way through, started again --outage s later
  redis     4 workers; Redis stopped a third of the way through, started again --outage s later
  fuzz      schemathesis against /api/openapi.json, then hypothesis on the image decoder

After each run the stored rows are checked against the 201 answers: every acknowledged prediction
stored with its image (nothing lost), no image stored twice (nothing doubled). Requests go to
127.0.0.1 only, each with a timeout, for a bounded time. PostgreSQL or Redis is stopped only when no
other client uses it (the script waits up to 2 minutes, else skips the scenario), and always started
again, whatever happens. MNIST comes from MNIST_DIR (default ../shared/data/mnist).
"""
import argparse
import base64
import gc
import hashlib
import http.client
import itertools
import json
import os
import re
import resource
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

from benchmarks.service import free_port, median_ms, time_engine
from benchmarks.variants import single_digit_samples
from src.config import ENVIRONMENT
from src.ml import compute_on_one_thread, load_model, mnist

ROOT = Path(__file__).resolve().parents[1]
# The name this script's connections to PostgreSQL and Redis go by, so that it can tell whether
# anyone else is using them before it stops them.
CLIENT_NAME = "digits-load"
POSTGRES_URL = f"postgresql://127.0.0.1:5432/test?application_name={CLIENT_NAME}"
REDIS_URL = f"redis://127.0.0.1:6379/0?client_name={CLIENT_NAME}"
POSTGRES_CLUSTER = ["pg_ctlcluster", "--skip-systemctl-redirect"]
REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379", "--save", "",
    "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
]
ADMIN_TOKEN = "load-admin-token"
REQUEST_TIMEOUT = 10
TARGETS = {"ratio": 1.6, "p99_ms": 50.0, "unavailable_s": 2.0}
LOAD_TURNS = 6


# Images: MNIST test digits as canvases, each request's bytes unique.

def canvases(mnist_dir: Path) -> list[bytes]:
    images, labels = mnist.load("test", mnist_dir)
    return [sample.data for sample in single_digit_samples("large on a canvas", images, labels, seed=5)]


def engine_pace(pool: list[bytes], count: int = 200) -> float:
    """Median milliseconds the engine takes to read one of the canvases, in this process, on one thread
    as a worker runs it.

    The machine is shared and its pace changes from hour to hour; every figure of a run scales with
    it, so a run's figures are read against this one, measured just before.
    """
    compute_on_one_thread()
    return median_ms(time_engine(load_model(), pool[:count]))


def with_counter(png: bytes, number: int) -> bytes:
    """The PNG with a tEXt chunk holding `number` after its header: other bytes, the same picture."""
    data = b"request\0" + str(number).encode()
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    header_end = 8 + 25  # the signature, then IHDR: length, type, 13 bytes of data, CRC
    return png[:header_end] + chunk + png[header_end:]


class Requests:
    """Request bodies, one distinct image each, handed out to any number of client threads."""

    def __init__(self, pool: list[bytes]):
        self.pool = pool
        self.numbers = itertools.count()

    def next(self) -> tuple[bytes, str]:
        number = next(self.numbers)
        image = with_counter(self.pool[number % len(self.pool)], number)
        data_url = "data:image/png;base64," + base64.b64encode(image).decode()
        return json.dumps({"image": data_url, "source": "canvas"}).encode(), hashlib.sha256(image).hexdigest()


# The service under test.

@dataclass
class Deployment:
    """A PostgreSQL schema and a Redis prefix of this run's own, and where gunicorn writes its logs."""

    schema: str
    prefix: str
    folder: Path

    @property
    def database_url(self) -> str:
        return f"{POSTGRES_URL}&options=-csearch_path%3D{self.schema}"


def environment(deployment: Deployment, workers: int, port: int) -> dict:
    inherited = {name: value for name, value in os.environ.items() if name not in {*ENVIRONMENT, "FLASK_DEBUG"}}
    return {
        **inherited,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "INSTANCE_PATH": str(deployment.folder / "instance"),
        "DATABASE_URL": deployment.database_url,
        "CACHE_REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": f"{deployment.prefix}:",
        "RATELIMIT_KEY_PREFIX": deployment.prefix,
        "RATELIMIT_DEFAULT": "1000000 per minute",
        # Every request comes from one address: no hourly quota, as no rate limit, may stop the load.
        "QUOTA_PREDICTIONS_PER_HOUR": "0",
        "QUOTA_BYTES_PER_HOUR": "0",
        "CLEAR_PREDICTIONS_ON_START": "true",
        "ADMIN_TOKEN": ADMIN_TOKEN,
    }


class Service:
    """gunicorn with `workers` workers, started as the README says; stopped on exit."""

    def __init__(self, deployment: Deployment, workers: int, name: str):
        self.port = free_port()
        self.log = deployment.folder / f"gunicorn-{name}.log"
        with self.log.open("w") as output:
            self.master = subprocess.Popen(
                [sys.executable, "-m", "gunicorn"], cwd=ROOT, env=environment(deployment, workers, self.port),
                stdout=output, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while get(self.port, "/api/health")[0] != 200 or len(self.workers()) != workers:
            if self.master.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"gunicorn did not start:\n{self.log.read_text()}")
            time.sleep(0.1)

    def workers(self) -> set[int]:
        try:
            children = Path(f"/proc/{self.master.pid}/task/{self.master.pid}/children").read_text()
        except FileNotFoundError:
            return set()
        return {int(pid) for pid in children.split()}

    def worker_rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.workers():
            status = Path(f"/proc/{pid}/status").read_text()
            sizes.append(int(re.search(r"VmRSS:\s+(\d+) kB", status)[1]) / 1024)
        return sorted(sizes)

    def log_count(self, text: str) -> int:
        return self.log.read_text().count(text)

    def stop(self) -> None:
        if self.master.poll() is None:
            self.master.terminate()
            try:
                self.master.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.master.kill()
                self.master.wait()


@contextmanager
def service(deployment: Deployment, workers: int, name: str) -> Iterator[Service]:
    running = Service(deployment, workers, name)
    try:
        yield running
    finally:
        running.stop()


def get(port: int, path: str) -> tuple[int, dict | None]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        # The admin token: /api/health says what each part reports to it only.
        connection.request("GET", path, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    except (OSError, http.client.HTTPException, ValueError):
        return 0, None
    finally:
        connection.close()


# Load.

@dataclass
class Answer:
    started: float
    seconds: float
    status: int
    """0 when no HTTP answer came: the connection was refused, cut or timed out."""
    sha256: str
    prediction_id: str | None = None
    problem: bool = False
    error: str = ""


@dataclass
class Run:
    answers: list[Answer] = field(default_factory=list)
    seconds: float = 0.0
    cores: dict[str, float] = field(default_factory=dict)
    """Cores used during the run by the service, PostgreSQL, Redis, this client and other processes."""

    def measured(self, after: float = 0.0, before: float = float("inf")) -> list[Answer]:
        return [answer for answer in self.answers if after <= answer.started < before]


class Client:
    """One user: a new connection per request (gunicorn's sync workers close each), its session cookie
    sent back as a browser would."""

    def __init__(self, port: int):
        self.port = port
        self.headers = {"Content-Type": "application/json"}

    def post(self, body: bytes, sha256: str, started: float) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        begin = time.perf_counter()
        try:
            connection.request("POST", "/api/predict", body, self.headers)
            response = connection.getresponse()
            payload = response.read()
            seconds = time.perf_counter() - begin
        except (OSError, http.client.HTTPException) as error:
            return Answer(begin - started, time.perf_counter() - begin, 0, sha256, error=type(error).__name__)
        finally:
            connection.close()
        answer = Answer(begin - started, seconds, response.status, sha256)
        answer.problem = response.getheader("Content-Type") == "application/problem+json"
        if response.status == 201:
            answer.prediction_id = json.loads(payload)["id"]
        if cookie := response.getheader("Set-Cookie"):
            self.headers["Cookie"] = cookie.split(";", 1)[0]
        return answer


def load(
    running: "Service", requests: Requests, clients: int, seconds: float, events: Callable[[float], None] | None = None
) -> Run:
    """`clients` threads sending one request after another for `seconds`; `events`, if given, runs in
    another thread with the start time, for faults. Also measures where the CPU went meanwhile."""
    run = Run()
    service_pids = {running.master.pid, *running.workers()}
    before = cpu_seconds()
    started = time.perf_counter()
    deadline = started + seconds
    lock = threading.Lock()

    def client() -> None:
        user = Client(running.port)
        while time.perf_counter() < deadline:
            body, sha256 = requests.next()
            answer = user.post(body, sha256, started)
            with lock:
                run.answers.append(answer)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    if events is not None:
        threads.append(threading.Thread(target=events, args=(started,)))
    # A full collection here would stop every client thread at once and add its pause to every
    # request in flight; the answers of one run take a few MB.
    gc.disable()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        gc.enable()
    run.seconds = time.perf_counter() - started
    run.cores = cores_used(before, cpu_seconds(), service_pids | running.workers(), run.seconds)
    return run


def percentile(values: list[float], percent: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]


@dataclass
class Figures:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    created: int
    errors: int


def figures(answers: list[Answer], seconds: float) -> Figures:
    created = [answer for answer in answers if answer.status == 201]
    latencies = [answer.seconds * 1000 for answer in answers]
    return Figures(
        requests_per_s=len(created) / seconds,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        created=len(created),
        errors=len(answers) - len(created),
    )


@dataclass
class Audit:
    """The stored rows against the answers: lost, doubled, and stored without a 201."""

    rows: int
    created: int
    lost: int
    doubled: int
    unacknowledged: int
    unacknowledged_from_failures: int


def audit(deployment: Deployment, answers: list[Answer]) -> Audit:
    with psycopg.connect(deployment.database_url, connect_timeout=5) as connection:
        rows = connection.execute("SELECT public_id, sha256 FROM predictions").fetchall()
    stored = dict(rows)
    acknowledged = {answer.prediction_id: answer.sha256 for answer in answers if answer.status == 201}
    failed = {answer.sha256 for answer in answers if answer.status != 201}
    unacknowledged = [sha256 for prediction_id, sha256 in rows if prediction_id not in acknowledged]
    return Audit(
        rows=len(rows),
        created=len(acknowledged),
        lost=sum(stored.get(prediction_id) != sha256 for prediction_id, sha256 in acknowledged.items()),
        doubled=len(rows) - len({sha256 for _, sha256 in rows}),
        unacknowledged=len(unacknowledged),
        unacknowledged_from_failures=sum(sha256 in failed for sha256 in unacknowledged),
    )


def warm_up(running: "Service", requests: Requests, clients: int) -> Run:
    """A few seconds of the same load first, so that every worker has served requests; counted in the
    audit, not in the figures."""
    return load(running, requests, clients, 3)


# Where the CPU went: the service's processes, PostgreSQL, Redis, this client, and everything else.

def cpu_seconds() -> dict[int, tuple[str, float]]:
    """Every process's name and CPU seconds so far."""
    tick = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
            seconds[int(entry.name)] = (name, (int(fields[11]) + int(fields[12])) / tick)
    return seconds


def cores_used(before: dict, after: dict, service_pids: set[int], seconds: float) -> dict[str, float]:
    groups = {"gunicorn": 0.0, "PostgreSQL": 0.0, "Redis": 0.0, "this client": 0.0, "other processes": 0.0}
    for pid, (name, total) in after.items():
        used = total - before.get(pid, (name, 0.0))[1]
        if pid in service_pids:
            group = "gunicorn"
        elif pid == os.getpid():
            group = "this client"
        elif name == "postgres":
            group = "PostgreSQL"
        elif name.startswith("redis-server"):
            group = "Redis"
        else:
            group = "other processes"
        groups[group] += used / seconds
    return groups


def print_cores(name: str, cores: dict[str, float]) -> None:
    print(f"  cores in use, {name}: " + ", ".join(f"{group} {used:.2f}" for group, used in cores.items()))


# Printing.

def mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def print_audit(name: str, result: Audit) -> None:
    print(
        f"  {name}: rows {result.rows} = 201 answers {result.created}; lost {result.lost}, doubled {result.doubled}, "
        f"stored without a 201 {result.unacknowledged} (all from failed requests: "
        f"{result.unacknowledged == result.unacknowledged_from_failures})"
    )


def print_figures_header() -> None:
    print(f"  {'':30}{'201/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'201s':>8}{'errors':>8}")


def print_figures(name: str, result: Figures) -> None:
    print(
        f"  {name:30}{result.requests_per_s:9.1f}{result.p50_ms:9.1f}{result.p99_ms:9.1f}"
        f"{result.created:8d}{result.errors:8d}"
    )


# Scenarios.

def scenario_load(deployment: Deployment, requests: Requests, args) -> bool:
    one_turn, four_turn = args.seconds / LOAD_TURNS / 2, args.seconds / LOAD_TURNS
    print(
        f"\nLoad: {args.clients} clients against 4 workers for {args.seconds:g} s and against 1 worker for "
        f"{args.seconds / 2:g} s, both running, in {LOAD_TURNS} turns of {one_turn:g} s and {four_turn:g} s"
    )
    # This shared machine's speed drifts by a sixth within seconds: taking turns puts both services
    # under the same conditions, where one run after the other compares a fast minute with a slow one.
    turns: dict[str, list[Run]] = {"1 worker": [], "4 workers": []}
    with service(deployment, 1, "1worker") as one, service(deployment, 4, "4workers") as four:
        warm = warm_up(one, requests, args.clients).answers + warm_up(four, requests, args.clients).answers
        for _ in range(LOAD_TURNS):
            turns["1 worker"].append(load(one, requests, args.clients, one_turn))
            turns["4 workers"].append(load(four, requests, args.clients, four_turn))
    results = {
        name: figures([answer for run in runs for answer in run.answers], sum(run.seconds for run in runs))
        for name, runs in turns.items()
    }
    print_figures_header()
    for name, result in results.items():
        print_figures(name, result)
    for name, runs in turns.items():
        seconds = sum(run.seconds for run in runs)
        cores = {group: sum(run.cores[group] * run.seconds for run in runs) / seconds for group in runs[0].cores}
        print_cores(name, cores)
    per_turn = {
        name: [figures(run.answers, run.seconds).requests_per_s for run in runs] for name, runs in turns.items()
    }
    by_turn = [four / one for one, four in zip(per_turn["1 worker"], per_turn["4 workers"])]
    print("  throughput 4 workers / 1 worker, turn by turn: " + " ".join(f"{ratio:.2f}x" for ratio in by_turn))
    ratio = results["4 workers"].requests_per_s / results["1 worker"].requests_per_s
    print(
        f"  throughput 4 workers / 1 worker: {ratio:.2f}x   target >= {TARGETS['ratio']}x   "
        f"{mark(ratio >= TARGETS['ratio'])}"
    )
    p99 = results["4 workers"].p99_ms
    print(f"  p99 with 4 workers: {p99:.1f} ms   target <= {TARGETS['p99_ms']:g} ms   {mark(p99 <= TARGETS['p99_ms'])}")
    # Both services store into the same table.
    stored = audit(deployment, warm + [answer for runs in turns.values() for run in runs for answer in run.answers])
    print_audit("both services", stored)
    no_errors = all(result.errors == 0 for result in results.values())
    return ratio >= TARGETS["ratio"] and p99 <= TARGETS["p99_ms"] and stored.lost == stored.doubled == 0 and no_errors


def scenario_kill(deployment: Deployment, requests: Requests, args) -> bool:
    print(
        f"\nA worker SIGKILLed: 4 workers, {args.clients} clients for {args.seconds:g} s, "
        f"the kill at {args.seconds / 3:.0f} s"
    )
    events = {}
    with service(deployment, 4, "kill") as running:
        warm = warm_up(running, requests, args.clients)
        before = running.workers()

        def kill(started: float) -> None:
            time.sleep(args.seconds / 3)
            victim = min(before)
            os.kill(victim, signal.SIGKILL)
            events["kill"] = time.perf_counter() - started
            while True:
                now = running.workers()
                if len(now) == 4 and victim not in now:
                    events["replaced"] = time.perf_counter() - started
                    return
                if time.perf_counter() - started > args.seconds:
                    return
                time.sleep(0.01)

        run = load(running, requests, args.clients, args.seconds, kill)
        booted = running.log_count("Booting worker")
    result = figures(run.answers, run.seconds)
    failures = [answer for answer in run.answers if answer.status != 201]
    print_figures_header()
    print_figures("4 workers, one killed", result)
    print_cores("the whole run", run.cores)
    replaced = events.get("replaced")
    print(
        f"  replaced after {1000 * (replaced - events['kill']):.0f} ms (workers booted in all: {booted})"
        if replaced else "  the killed worker was NOT replaced"
    )
    kinds = sorted({answer.error or str(answer.status) for answer in failures})
    print(f"  failed requests: {len(failures)} {kinds}; a sync worker has one request in flight")
    result_audit = audit(deployment, warm.answers + run.answers)
    print_audit("rows", result_audit)
    return bool(replaced) and len(failures) <= 1 and result_audit.lost == result_audit.doubled == 0


def others_using_postgres() -> list[str]:
    with psycopg.connect(POSTGRES_URL, connect_timeout=5) as connection:
        rows = connection.execute(
            "SELECT datname, application_name, state FROM pg_stat_activity WHERE backend_type = 'client backend' "
            "AND application_name <> %s",
            (CLIENT_NAME,),
        ).fetchall()
    return [f"{database} {application or '(no name)'} {state}" for database, application, state in rows]


def others_using_redis() -> list[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
    try:
        return [f"{c['addr']} {c['cmd']}" for c in client.client_list() if c["name"] != CLIENT_NAME]
    finally:
        client.close()


def nobody_else_on(name: str, others: Callable[[], list[str]]) -> bool:
    """Whether no other client uses the server, after waiting up to 2 minutes for them to go: stopping
    it under another test run would fail that run."""
    deadline = time.monotonic() + 120
    while users := others():
        if time.monotonic() > deadline:
            print(f"  SKIPPED: {len(users)} other clients still use {name}: {'; '.join(users[:5])}")
            return False
        time.sleep(5)
    return True


def postgres_cluster(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    mode = ["--mode", "fast"] if action == "stop" else []
    subprocess.run([*POSTGRES_CLUSTER, version, "main", action, *mode], check=True, timeout=120)


def wait_for_postgres() -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            psycopg.connect(POSTGRES_URL, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def outage(
    deployment: Deployment, requests: Requests, args, name: str, stop: Callable[[], None], start: Callable[[], None],
    logged: dict[str, str],
) -> tuple[Run, list[Answer], dict, dict[str, int]]:
    """4 workers under load; `stop` a third of the way through, `start` --outage s later. Returns the
    run, the warm-up's answers, when each step happened (with /api/health 1 s into the outage) and
    how often each text of `logged` is in the service's log."""
    events = {}
    with service(deployment, 4, name) as running:
        warm = warm_up(running, requests, args.clients)

        def stop_and_start(started: float) -> None:
            time.sleep(args.seconds / 3)
            events["stopping"] = time.perf_counter() - started
            stop()
            try:
                events["stopped"] = time.perf_counter() - started
                time.sleep(1)
                events["health"] = get(running.port, "/api/health")
                time.sleep(max(0.0, min(args.outage, args.seconds / 2) - 1))
            finally:
                events["starting"] = time.perf_counter() - started
                start()
                events["started"] = time.perf_counter() - started

        try:
            run = load(running, requests, args.clients, args.seconds, stop_and_start)
        finally:
            if "started" not in events:
                start()
        counts = {label: running.log_count(text) for label, text in logged.items()}
    return run, warm.answers, events, counts


def outage_heading(name: str, args) -> None:
    print(
        f"\n{name} stopped: 4 workers, {args.clients} clients for {args.seconds:g} s; {name} stopped at "
        f"{args.seconds / 3:.0f} s for {min(args.outage, args.seconds / 2):g} s"
    )


def scenario_postgres(deployment: Deployment, requests: Requests, args) -> bool:
    outage_heading("PostgreSQL", args)
    if not nobody_else_on("PostgreSQL", others_using_postgres):
        return False
    run, warm, events, _ = outage(
        deployment, requests, args, "postgres", lambda: postgres_cluster("stop"), lambda: postgres_cluster("start"), {}
    )
    wait_for_postgres()
    phases = print_outage_phases(run, events, "PostgreSQL")
    unavailable = [answer for answer in phases["while stopped"] if answer.status == 503]
    problems = all(answer.problem for answer in unavailable)
    others = [answer for answer in run.answers if answer.status not in (201, 503)]
    after = [answer for answer in run.measured(events["starting"]) if answer.status == 201]
    recovery = after[0].started - events["starting"] if after else None
    slowest = max((answer.seconds for answer in unavailable), default=float("nan"))
    print(
        f"  while stopped: {len(unavailable)} of {len(phases['while stopped'])} answers 503 (all problem+json: "
        f"{problems}), p99 {1000 * percentile([a.seconds for a in unavailable], 99):.1f} ms, slowest "
        f"{1000 * slowest:.0f} ms   target < {TARGETS['unavailable_s']:g} s   "
        f"{mark(slowest < TARGETS['unavailable_s'])}"
    )
    status, health = events.get("health", (0, None))
    reason = health and health.get("database", {}).get("error")
    print(f"  /api/health while stopped: {status}, database: {reason}")
    print(f"  failures other than 503: {len(others)} {sorted({a.error or str(a.status) for a in others})}")
    print(
        f"  first 201 after the start command began: {'%.2f s' % recovery if recovery is not None else 'NEVER'} "
        f"(the command took {events['started'] - events['starting']:.2f} s)"
    )
    result_audit = audit(deployment, warm + run.answers)
    print_audit("rows", result_audit)
    return (
        len(unavailable) == len(phases["while stopped"]) > 0 and problems and slowest < TARGETS["unavailable_s"]
        and status == 503 and not others and recovery is not None and result_audit.lost == result_audit.doubled == 0
    )


def print_outage_phases(run: Run, events: dict, name: str) -> dict[str, list[Answer]]:
    """The figures before, during and after an outage, and while the stop and start commands ran."""
    edges = [0, events["stopping"], events["stopped"], events["starting"], events["started"], run.seconds]
    names = ["before the stop", f"{name} stopping", "while stopped", f"{name} starting", "after the start"]
    phases = {}
    print_figures_header()
    for phase, begin, end in zip(names, edges, edges[1:]):
        phases[phase] = run.measured(begin, end)
        print_figures(f"{phase} ({end - begin:.1f} s)", figures(phases[phase], end - begin))
    print_cores("the whole run", run.cores)
    return phases


def redis_running() -> bool:
    try:
        with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1) as client:
            return client.ping()
    except redis.ConnectionError:
        return False


def start_redis() -> None:
    subprocess.run(REDIS_START, check=True, timeout=60)
    deadline = time.monotonic() + 30
    while not redis_running():
        if time.monotonic() > deadline:
            raise SystemExit("Redis did not start again")
        time.sleep(0.1)


def scenario_redis(deployment: Deployment, requests: Requests, args) -> bool:
    outage_heading("Redis", args)
    if not nobody_else_on("Redis", others_using_redis):
        return False
    run, warm, events, logs = outage(
        deployment, requests, args, "redis", lambda: subprocess.run(["redis-cli", "shutdown", "nosave"], timeout=30),
        start_redis,
        {
            "cache down": "The cache is down",
            "cache back": "The cache is back",
            "rate limits in memory": "falling back to in-memory storage",
            "rate limits back in Redis": "Rate limit storage recovered",
            "tracebacks": "Traceback",
        },
    )
    print_outage_phases(run, events, "Redis")
    status, health = events.get("health", (0, None))
    print(
        f"  /api/health while stopped: {status} {health and health.get('status')}, "
        f"cache: {health and health.get('cache', {}).get('error')}"
    )
    print("  log lines (4 workers, each says it once): " + ", ".join(f"{name} {count}" for name, count in logs.items()))
    errors = sum(answer.status != 201 for answer in run.answers)
    result_audit = audit(deployment, warm + run.answers)
    print_audit("rows", result_audit)
    return (
        errors == 0 and status == 200 and 1 <= logs["cache down"] <= 4 and logs["tracebacks"] == 0
        and result_audit.lost == result_audit.doubled == 0
    )


def scenario_fuzz(deployment: Deployment, requests: Requests, args) -> bool:
    print(
        f"\nFuzzing: schemathesis ({args.fuzz_examples} examples an operation and phase), "
        "then hypothesis on the decoder"
    )
    with service(deployment, 4, "fuzz") as running:
        warm_up(running, requests, args.clients)
        memory_before = running.worker_rss_mb()
        started = time.perf_counter()
        # No 5xx and no hang (a request timeout) is what this run judges; tests/api/test_fuzzing.py checks
        # the answers against the document. One schemathesis worker: with several threads, hypothesis's
        # parsing of its own lambdas trips over a CPython 3.11 ast race ("AST constructor recursion depth").
        fuzz = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")), "run",
                f"http://127.0.0.1:{running.port}/api/openapi.json",
                "--checks", "not_a_server_error", "--max-examples", str(args.fuzz_examples),
                "--request-timeout", "5", "--workers", "1", "--seed", "5",
                "--header", f"Authorization: Bearer {ADMIN_TOKEN}",
            ],
            cwd=deployment.folder, capture_output=True, text=True, timeout=1800,
        )
        fuzz_seconds = time.perf_counter() - started
        memory_after = running.worker_rss_mb()
        server_errors = running.log_count("Exception on ")
    cases = re.search(r"(\d+) generated, (.*)", fuzz.stdout)
    print(
        f"  schemathesis: {cases[1] if cases else '?'} requests generated in {fuzz_seconds:.0f} s: "
        f"{cases[2].strip() if cases else 'no summary'}; exit {fuzz.returncode}"
    )
    print(f"  tracebacks in the service's log: {server_errors}")
    print(
        f"  worker memory (RSS, MB) before: {', '.join(f'{m:.0f}' for m in memory_before)}; "
        f"after: {', '.join(f'{m:.0f}' for m in memory_after)}"
    )
    if fuzz.returncode != 0:
        print(fuzz.stdout[-6000:])
    decoder_ok = fuzz_decoder(args.decoder_examples)
    grown = max(memory_after) - max(memory_before)
    return fuzz.returncode == 0 and server_errors == 0 and decoder_ok and grown < 100


def fuzz_decoder(examples: int) -> bool:
    """Hypothesis on decode_image in this process: only ImageError or a grey image, and the peak
    memory it needs."""
    import numpy as np
    from hypothesis import HealthCheck, Phase, given, settings

    from src.ml import ImageError, decode_image
    from benchmarks.uploads import any_upload

    max_pixels = 4_000_000
    outcomes = {"decoded": 0, "ImageError": 0}
    failures = []
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(any_upload)
    def decode(data: bytes) -> None:
        try:
            grey = decode_image(data, max_pixels=max_pixels)
        except ImageError:
            outcomes["ImageError"] += 1
            return
        except Exception as error:
            failures.append(f"{type(error).__name__}: {error}")
            return
        assert grey.dtype == np.uint8 and grey.ndim == 2 and grey.size <= max_pixels
        outcomes["decoded"] += 1

    with warnings.catch_warnings():
        # Pillow warns about the damage it reads past before it gives up.
        warnings.filterwarnings("ignore", category=UserWarning, module="PIL")
        decode()
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"  hypothesis on decode_image: {sum(outcomes.values()) + len(failures)} inputs in "
        f"{time.perf_counter() - started:.0f} s: {outcomes['decoded']} decoded, {outcomes['ImageError']} ImageError, "
        f"{len(failures)} other exceptions {failures[:3]}; peak memory of this process {peak_before:.0f} -> "
        f"{peak_after:.0f} MB"
    )
    return not failures


SCENARIOS = {
    "load": scenario_load,
    "kill": scenario_kill,
    "postgres": scenario_postgres,
    "redis": scenario_redis,
    "fuzz": scenario_fuzz,
}


@contextmanager
def deployment_of_its_own() -> Iterator[Deployment]:
    schema, prefix = f"load_{uuid.uuid4().hex[:10]}", f"load-{uuid.uuid4().hex[:10]}"
    folder = Path(tempfile.mkdtemp(prefix="digits-load-"))
    with psycopg.connect(POSTGRES_URL, connect_timeout=5, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield Deployment(schema, prefix, folder)
    finally:
        wait_for_postgres()
        with psycopg.connect(POSTGRES_URL, connect_timeout=5, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")
        if not redis_running():
            start_redis()
        with redis.Redis.from_url(REDIS_URL) as client:
            for key in client.scan_iter(f"*{prefix}*"):
                client.delete(key)
        shutil.rmtree(folder)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="length of each run (default 60)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--scenario", choices=["all", *SCENARIOS], default="all")
    parser.add_argument(
        "--outage", type=float, default=10, help="seconds PostgreSQL or Redis stays stopped (default 10)"
    )
    parser.add_argument(
        "--fuzz-examples", type=int, default=200, help="schemathesis examples an operation and phase (default 200)"
    )
    parser.add_argument("--decoder-examples", type=int, default=3000, help="hypothesis inputs (default 3000)")
    parser.add_argument(
        "--mnist-dir", type=Path, default=Path(os.environ.get("MNIST_DIR", ROOT.parent / "shared" / "data" / "mnist"))
    )
    args = parser.parse_args(argv)

    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    # Stopped by a signal, the script still runs its `finally` blocks: they start PostgreSQL and Redis again.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(f"stopped by signal {number}"))
    # The clients are threads of this process: one whose answer has come should not wait the default
    # 5 ms for the interpreter lock while another builds its next request.
    sys.setswitchinterval(0.0002)
    started = time.perf_counter()
    pool = canvases(args.mnist_dir)
    requests = Requests(pool)
    gc.freeze()
    print(
        f"{len(pool):,} MNIST test digits drawn on canvases (median {statistics.median(map(len, pool)) / 1024:.1f} KiB "
        f"PNG), each request's image unique; POST /api/predict as JSON with a data URL"
    )
    print(f"gunicorn (gunicorn.conf.py) on PostgreSQL and Redis, rate limits on; {os.cpu_count()} cores")
    before = cpu_seconds()
    time.sleep(2)
    idle = cores_used(before, cpu_seconds(), set(), 2)
    print(
        f"  before the runs, other processes used {idle['other processes']:.2f} cores "
        "(a busy machine lowers every figure)"
    )
    print(f"  the engine read a canvas in a median {engine_pace(pool):.2f} ms in this process (the machine's pace)")
    outcomes = {}
    with deployment_of_its_own() as deployment:
        for name in names:
            outcomes[name] = SCENARIOS[name](deployment, requests, args)
    verdicts = " ".join(f"{name}: {mark(ok)}" for name, ok in outcomes.items())
    print(f"\n{verdicts}   ({time.perf_counter() - started:.0f} s)")
    sys.exit(0 if all(outcomes.values()) else 1)


if __name__ == "__main__":
    main()

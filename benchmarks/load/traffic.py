"""The load: client threads posting canvases one after another, and what they measured."""

import base64
import gc
import hashlib
import http.client
import itertools
import json
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.variants import single_digit_samples
from src.ml import mnist

from .cpu import cpu_seconds, cpu_used, preemptions
from .stack import Stack

REQUEST_TIMEOUT = 10
CANVAS = "transparent PNG, black strokes"
"""What the page sends: a 280x280 canvas export, strokes on a transparent background."""


def canvases(mnist_dir: Path) -> list[bytes]:
    images, labels = mnist.load("test", mnist_dir)
    return [sample.data for sample in single_digit_samples(CANVAS, images, labels, seed=5)]


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

    @property
    def failed(self) -> bool:
        """Neither stored (201) nor read as holding no digit (422), which a canvas of the load may be."""
        return self.status not in (201, 422)


@dataclass
class Run:
    answers: list[Answer] = field(default_factory=list)
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds used during the run by gunicorn, nginx, PostgreSQL, Redis, this process and the rest."""
    preempted: int = 0
    """How many times the scheduler took the core from a gunicorn worker during the run (`cpu.preemptions`)."""

    def measured(self, after: float = 0.0, before: float = float("inf")) -> list[Answer]:
        return [answer for answer in self.answers if after <= answer.started < before]

    @property
    def created(self) -> int:
        return sum(answer.status == 201 for answer in self.answers)


USERS_PER_CLIENT = 32
"""Each client thread sends the requests of this many users in turn, each from an address of its own: a
user then sends about one request a second, within the rate limit and the hourly quota the service is
deployed with, so that both are counted as they are in production."""


class Client:
    """One user, as a browser is: one kept-alive connection to nginx from its own loopback address (its
    client address for the rate limit and the quota), opened again when it breaks, and its session cookie
    sent back."""

    def __init__(self, port: int, address: str):
        self.port, self.address = port, address
        self.headers = {"Content-Type": "application/json"}
        self.connection: http.client.HTTPConnection | None = None

    def post(self, body: bytes, sha256: str, started: float) -> Answer:
        if self.connection is None:
            self.connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=REQUEST_TIMEOUT, source_address=(self.address, 0)
            )
        begin = time.perf_counter()
        try:
            self.connection.request("POST", "/api/predict", body, self.headers)
            response = self.connection.getresponse()
            payload = response.read()
            seconds = time.perf_counter() - begin
        except (OSError, http.client.HTTPException) as error:
            self.close()
            return Answer(begin - started, time.perf_counter() - begin, 0, sha256, error=type(error).__name__)
        if response.will_close:
            self.close()
        answer = Answer(begin - started, seconds, response.status, sha256)
        answer.problem = response.getheader("Content-Type") == "application/problem+json"
        if response.status == 201:
            answer.prediction_id = json.loads(payload)["id"]
        if cookie := response.getheader("Set-Cookie"):
            self.headers["Cookie"] = cookie.split(";", 1)[0]
        return answer

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def load(
    running: Stack, requests: Requests, clients: int, seconds: float, events: Callable[[float], None] | None = None
) -> Run:
    """`clients` threads sending one request after another for `seconds`, each for USERS_PER_CLIENT users in
    turn; `events`, if given, runs in another thread with the start time, for faults. Also measures where
    the CPU went meanwhile."""
    run = Run()
    stack_processes = running.processes()
    before = cpu_seconds()
    preempted_before = preemptions(running.workers())
    started = time.perf_counter()
    deadline = started + seconds
    lock = threading.Lock()

    def client(index: int) -> None:
        # Linux answers on every address of 127.0.0.0/8.
        users = [Client(running.port, f"127.1.{index}.{number + 1}") for number in range(USERS_PER_CLIENT)]
        for user in itertools.cycle(users):
            if time.perf_counter() >= deadline:
                break
            body, sha256 = requests.next()
            answer = user.post(body, sha256, started)
            with lock:
                run.answers.append(answer)
        for user in users:
            user.close()

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
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
    # Workers replaced during the run count too.
    for name, pids in running.processes().items():
        stack_processes[name] |= pids
    run.cpu = cpu_used(before, cpu_seconds(), stack_processes)
    # A worker replaced during the run is counted from its start.
    preempted_after = preemptions(running.workers())
    run.preempted = sum(count - preempted_before.get(pid, 0) for pid, count in preempted_after.items())
    return run


def warm_up(running: Stack, requests: Requests, clients: int) -> Run:
    """A few seconds of the same load first, so that every worker has served requests; counted in the
    audit, not in the figures."""
    return load(running, requests, clients, 3)


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
    no_digit: int
    errors: int


def figures(answers: list[Answer], seconds: float) -> Figures:
    created = [answer for answer in answers if answer.status == 201]
    latencies = [answer.seconds * 1000 for answer in answers]
    return Figures(
        requests_per_s=len(created) / seconds,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        created=len(created),
        no_digit=sum(answer.status == 422 for answer in answers),
        errors=sum(answer.failed for answer in answers),
    )


def get(port: int, path: str, token: str) -> tuple[int, dict | None]:
    """GET a JSON document with an admin token (/api/health says what each part reports to it only)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    except (OSError, http.client.HTTPException, ValueError):
        return 0, None
    finally:
        connection.close()

"""The production entry point as it is run: `gunicorn` in the repository root, with four workers on
PostgreSQL and Redis; the database prepared once per start, a killed worker replaced without losing
anything, rates limited, and the settings it refuses to serve with. Also gunicorn's hooks called directly."""

import importlib.util
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from benchmarks.clients import send_raw
from benchmarks.corpus import hostile_requests
from benchmarks.faults import Outage
from benchmarks.uploads import b64, written
from serve import free_port, stop
from src.config import ENVIRONMENT
from src.ml import threads
from tests.api.conftest import schema_url
from tests.api.test_exports import store_rows
from tests.conftest import ADMIN, ADMIN_TOKEN, ROOT, model_path

# Starts gunicorn, often several times.
pytestmark = pytest.mark.slow

GUNICORN = [sys.executable, "-m", "gunicorn"]


def environment(tmp_path: Path, **settings: str) -> dict:
    """This process's environment without the service's settings, with `settings` and a free port."""
    inherited = {name: value for name, value in os.environ.items() if name not in {*ENVIRONMENT, "FLASK_DEBUG"}}
    return {
        **inherited,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "MODEL_PATH": str(model_path()),
        "MODEL_DIR": str(tmp_path / "models"),
        "BIND": f"127.0.0.1:{free_port()}",
        **settings,
    }


def four_workers(master: subprocess.Popen, without: int | None = None) -> set[int] | None:
    """The master's four worker processes, once it has four (none of them `without`)."""
    workers = {int(pid) for pid in Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()}
    return workers if len(workers) == 4 and without not in workers else None


def wait_for(condition, what: str, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds} s"
        time.sleep(0.05)
    return result


@contextmanager
def gunicorn(env: dict, log: Path, healthy: bool = True):
    """gunicorn started as docs/production.md says, its output in `log`; yields the master process and the
    base URL once /api/health answers 200 (or answers at all, unless `healthy`)."""
    with log.open("w") as output:
        master = subprocess.Popen(GUNICORN, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    base_url = f"http://{env['BIND']}"

    def answers() -> bool:
        assert master.poll() is None, f"gunicorn exited with {master.returncode}:\n{log.read_text()}"
        try:
            status = requests.get(f"{base_url}/api/health", timeout=5).status_code
        except requests.ConnectionError:
            return False
        return status == 200 or not healthy

    try:
        wait_for(answers, "a healthy /api/health" if healthy else "an answer from /api/health")
        yield master, base_url
    finally:
        stop(master)


def test_four_workers_on_postgresql_and_redis_clear_once_and_survive_a_killed_worker(
    tmp_path, make_app, postgres_settings, postgres_schema, redis_settings, seven
):
    make_app(**postgres_settings).test_client().post("/api/predict", json={"image": b64(seven)})
    env = environment(
        tmp_path,
        DATABASE_URL=schema_url(postgres_schema),
        WEB_CONCURRENCY="4",
        CLEAR_PREDICTIONS_ON_START="true",
        RATELIMIT_DEFAULT="10 per minute",
        ADMIN_TOKEN=ADMIN_TOKEN,
        **redis_settings,
    )
    everyone = ADMIN
    images = [written(digit) for digit in "234568"]
    log = tmp_path / "gunicorn.log"

    with gunicorn(env, log) as (master, base_url):
        after_start = requests.get(f"{base_url}/api/predictions", headers=everyone).json()["total"]
        workers = wait_for(lambda: four_workers(master), "four workers")
        before = [requests.post(f"{base_url}/api/predict", json={"image": b64(image)}) for image in images[:3]]

        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        replaced = wait_for(lambda: four_workers(master, without=victim), "a new worker")
        after = [requests.post(f"{base_url}/api/predict", json={"image": b64(image)}) for image in images[3:]]
        listed = requests.get(f"{base_url}/api/predictions", headers=everyone).json()
        stats = [requests.get(f"{base_url}/api/stats") for _ in range(11)]

    assert after_start == 0, "the start clears what an earlier run stored"
    assert [response.status_code for response in before + after] == [201] * 6
    assert sorted(item["id"] for item in listed["items"]) == sorted(r.json()["id"] for r in before + after)
    assert [item["number"] for item in listed["items"]] == ["8", "6", "5", "4", "3", "2"]
    assert len(replaced - workers) == 1
    assert [response.status_code for response in stats] == [200] * 10 + [429], "production limits rates"
    assert int(stats[-1].headers["Retry-After"]) > 0
    assert before[0].headers["X-Frame-Options"] == "DENY"
    output = log.read_text()
    assert output.count("Cleared 1 stored predictions at start") == 1
    assert output.count("Cleared") == 1, "a replaced worker clears nothing"
    assert output.count("Booting worker") == 5


@pytest.mark.parametrize(
    "settings, refusal",
    [
        ({"FLASK_DEBUG": "1", "CACHE_REDIS_URL": "redis://127.0.0.1:6379/0"}, "Debug mode is on"),
        ({}, "Rate limits need a store that every worker shares"),
    ],
    ids=["debug mode", "rate limits counted by each worker alone"],
)
def test_gunicorn_refuses_to_start_with_unsafe_settings(tmp_path, settings, refusal):
    run = subprocess.run(
        GUNICORN, cwd=ROOT, env=environment(tmp_path, **settings), capture_output=True, text=True, timeout=120
    )

    assert run.returncode != 0
    assert refusal in run.stderr
    assert "Booting worker" not in run.stderr


def gunicorn_hooks():
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gunicorn_hooks_clear_at_the_start_and_never_when_a_worker_is_replaced(
    make_app, postgres_settings, seven, monkeypatch
):
    hooks = gunicorn_hooks()
    # What the hooks do to the process they run in, recorded rather than done to this one.
    done = []
    monkeypatch.setattr(threads, "threadpool_limits", lambda **limits: done.append(("BLAS threads", limits["limits"])))
    monkeypatch.setattr(threads, "cv2", SimpleNamespace(setNumThreads=lambda n: done.append(("OpenCV threads", n))))
    monkeypatch.setattr(hooks, "gc", SimpleNamespace(freeze=lambda: done.append(("objects frozen", True))))
    app = make_app(**postgres_settings, CLEAR_PREDICTIONS_ON_START=True)
    client = app.test_client()
    client.post("/api/predict", json={"image": b64(seven)})
    server = SimpleNamespace(app=SimpleNamespace(wsgi=lambda: app))

    hooks.when_ready(server)
    after_start = client.get("/api/predictions").json["total"]
    at_start, done[:] = list(done), []
    client.post("/api/predict", json={"image": b64(seven)})
    hooks.post_fork(server, SimpleNamespace(pid=1))
    after_new_worker = client.get("/api/predictions").json["total"]

    assert (after_start, after_new_worker) == (0, 1)
    assert at_start == [("objects frozen", True)]
    assert done == [("BLAS threads", 1), ("OpenCV threads", 1)], "each worker computes on one thread"


def test_gunicorn_answers_malformed_deep_or_oversized_bodies_with_4xx_problems(tmp_path):
    env = environment(tmp_path, RATELIMIT_ENABLED="false", WEB_CONCURRENCY="1")

    with gunicorn(env, tmp_path / "gunicorn.log") as (_, base_url):
        answers = {what: send_raw(base_url, request) for what, request, _ in hostile_requests()}

    expected = {what: (status, "application/problem+json") for what, _, status in hostile_requests()}
    assert {what: (status, headers["content-type"]) for what, (status, headers, _) in answers.items()} == expected


def test_an_export_longer_than_the_workers_timeout_fails_visibly_and_the_worker_lives(tmp_path, make_app):
    database = f"sqlite:///{tmp_path / 'instance' / 'predictions.sqlite'}"
    (tmp_path / "instance").mkdir()
    store_rows(make_app(DATABASE_URL=database), [{"number": "2024", "inputs": bytes(4 * 784)}] * 25_000)
    env = environment(
        tmp_path,
        DATABASE_URL=database,
        RATELIMIT_ENABLED="false",
        WEB_CONCURRENCY="1",
        CLEAR_PREDICTIONS_ON_START="false",
        EXPORT_TIMEOUT="0",
        GUNICORN_CMD_ARGS="--timeout 3",
    )
    log = tmp_path / "gunicorn.log"

    with gunicorn(env, log) as (master, base_url):
        workers = wait_for(
            lambda: set(Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()), "a worker"
        )
        export = requests.get(f"{base_url}/api/predictions/export?format=csv", stream=True, timeout=30)
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            b"".join(export.iter_content(65536))
        after = requests.get(f"{base_url}/api/health", timeout=30)
        same_workers = set(Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split())

    assert export.status_code == after.status_code == 200
    assert same_workers == workers
    output = log.read_text()
    assert "WORKER TIMEOUT" not in output
    assert "Export cut off after 0 s" in output


def test_a_second_gunicorn_on_a_busy_port_fails_and_changes_nothing(tmp_path, seven):
    env = environment(tmp_path, RATELIMIT_ENABLED="false", WEB_CONCURRENCY="1", CLEAR_PREDICTIONS_ON_START="true")

    client = requests.Session()  # the list shows a client its own predictions
    with gunicorn(env, tmp_path / "gunicorn.log") as (_, base_url):
        client.post(f"{base_url}/api/predict", json={"image": b64(seven)})
        second = subprocess.run(GUNICORN, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        kept = client.get(f"{base_url}/api/predictions").json()["total"]

    assert second.returncode != 0
    assert "Address already in use" in second.stderr
    assert "Cleared" not in second.stderr
    assert kept == 1


def test_gunicorn_started_while_postgresql_is_down_answers_503_then_prepares_it_once_it_is_back(
    tmp_path, make_app, postgres_settings, postgres_schema, seven
):
    make_app(**postgres_settings).test_client().post("/api/predict", json={"image": b64(seven)})
    postgres = Outage(5432)
    postgres.down()
    env = environment(
        tmp_path,
        DATABASE_URL=schema_url(postgres_schema, f"127.0.0.1:{postgres.port}"),
        RATELIMIT_ENABLED="false",
        WEB_CONCURRENCY="2",
        CLEAR_PREDICTIONS_ON_START="true",
        ADMIN_TOKEN=ADMIN_TOKEN,
    )
    everyone = ADMIN
    log = tmp_path / "gunicorn.log"

    try:
        with gunicorn(env, log, healthy=False) as (_, base_url):
            health_while_down = requests.get(f"{base_url}/api/health")
            while_down = requests.post(f"{base_url}/api/predict", json={"image": b64(seven)})
            unsaved = requests.post(f"{base_url}/api/predict", json={"image": b64(seven), "save": False})
            postgres.up()
            wait_for(lambda: requests.get(f"{base_url}/api/health").status_code == 200, "a healthy service", 30)
            after = requests.post(f"{base_url}/api/predict", json={"image": b64(written("3"))})
            listed = requests.get(f"{base_url}/api/predictions", headers=everyone).json()
    finally:
        postgres.down()

    assert health_while_down.status_code == while_down.status_code == 503
    assert while_down.headers["Content-Type"] == "application/problem+json"
    assert unsaved.status_code == 200
    assert after.status_code == 201
    assert [item["number"] for item in listed["items"]] == ["3"], "cleared once it was back, before storing"
    assert log.read_text().count("Cleared 1 stored predictions at start") == 1

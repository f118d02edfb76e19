"""The service over real HTTP: a server on a free port, the README's curl examples run as written,
eight concurrent writers, malformed and oversized bodies, and `run.py` started as its own process."""

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from benchmarks.clients import send_raw, slow_clients
from benchmarks.corpus import hostile_requests
from benchmarks.uploads import b64, written
from serve import free_port
from src.api.openapi import DOCUMENT
from tests.conftest import ADMIN, ADMIN_TOKEN, ROOT, model_path, serving

README_URL = "http://127.0.0.1:5000"


def readme_curl_commands() -> list[str]:
    """The curl commands of the README's section "The API", in order."""
    section = (ROOT / "README.md").read_text().split("\n## The API\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    return [line for block in blocks for line in block.replace("\\\n", "").splitlines() if line.startswith("curl ")]


def curl_operation(command: str) -> tuple[str, str]:
    """The method and URL path a README curl command requests."""
    path = re.search(re.escape(README_URL) + r"(/[^\s'?]*)", command)[1]
    method = re.search(r"-X (\w+)", command)
    sends_body = re.search(r" (-d|-F|--data-binary) ", command)
    return (method[1] if method else "POST" if sends_body else "GET").lower(), path


def test_the_readme_shows_a_curl_example_for_every_endpoint():
    examples = [curl_operation(command) for command in readme_curl_commands()]

    for path, operations in DOCUMENT["paths"].items():
        pattern = re.compile(re.sub(r"\\\{\w+\\\}", r"\\$ID", re.escape(path)))
        for method in operations.keys() & {"get", "post", "patch", "delete"}:
            shown = any(m == method and pattern.fullmatch(p) for m, p in examples)
            assert shown, f"no README example of {method} {path}"


def run_readme_curl_examples(app, tmp_path) -> list[tuple[str, str, object]]:
    """Each README curl command run as written against `app`, in order: (command, content type, answer)."""
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    # curl reads this file: fail on an HTTP error, and say the status and type after each answer.
    curlrc = 'silent\nshow-error\nfail-with-body\nwrite-out = "\\n%{http_code} %{content_type}"\n'
    (tmp_path / ".curlrc").write_text(curlrc)
    environment = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "CURL_HOME": str(tmp_path)}
    environment["ADMIN_TOKEN"] = ADMIN_TOKEN
    answers = []
    with serving(app) as base_url:
        for command in readme_curl_commands():
            if answers:
                environment["ID"] = answers[0][2]["id"]  # as the README says: the first answer's
            run = subprocess.run(
                ["bash", "-c", command.replace(README_URL, base_url)],
                cwd=tmp_path,
                env=environment,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert run.returncode == 0, f"{command}\n{run.stdout}\n{run.stderr}"
            body, status_line = run.stdout.rsplit("\n", 1)
            status, _, content_type = status_line.partition(" ")
            assert status.startswith("2"), f"{command} answered {status_line}: {body}"
            answers.append((command, content_type, json.loads(body) if "json" in content_type else body))
    return answers


def test_the_readme_curl_examples_work_as_written(app, tmp_path):
    answers = run_readme_curl_examples(app, tmp_path)

    first_command, _, first = answers[0]
    assert first["number"] == "2024", "the README shows examples/2024.png read as 2024"
    assert (tmp_path / "prediction.png").read_bytes() == (ROOT / "examples" / "2024.png").read_bytes()
    assert (tmp_path / "digits.csv").read_text().startswith("label,pixel0,")
    assert (tmp_path / "digits-idx.zip").read_bytes()[:2] == b"PK"
    corrected = [answer for command, _, answer in answers if "PATCH" in command]
    assert [answer["label"] for answer in corrected] == ["2024", "2025"]


def readme_json_examples() -> list[dict]:
    """The example answers of the README's section "The API" and of docs/api.md, which details it."""
    section = (ROOT / "README.md").read_text().split("\n## The API\n", 1)[1].split("\n## ", 1)[0]
    text = section + (ROOT / "docs" / "api.md").read_text()
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.DOTALL)]


def shape(value):
    """A JSON value's field names and types, all the way down; a list's shape is its first item's."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return "number" if isinstance(value, int | float) and not isinstance(value, bool) else type(value).__name__


# What differs from one run of the examples to the next (a prediction's etag changes with its time).
VARYING = {"id", "created_at", "labelled_at", "elapsed_ms", "image_url", "input_url", "etag"}


def test_the_readmes_example_answers_are_real_ones(app, tmp_path):
    answers = [answer for _, _, answer in run_readme_curl_examples(app, tmp_path) if isinstance(answer, dict)]
    examples = readme_json_examples()

    assert len(examples) >= 2
    for example in examples:
        # The first answer with the example's fields and number is the one it was taken from.
        real = next((a for a in answers if a.keys() == example.keys() and a["number"] == example["number"]), None)
        assert real is not None, f"no README command answers with the fields {sorted(example)}"
        assert shape(example) == shape(real)
        assert {key: example[key] for key in example.keys() - VARYING} == {
            key: real[key] for key in real.keys() - VARYING
        }, "the README shows an answer the service of today would not give"


def test_predict_and_correct_over_http_with_the_session_cookie(live_server, seven):
    maker, stranger = requests.Session(), requests.Session()

    created = maker.post(f"{live_server}/api/predict", files={"image": ("7.png", seven, "image/png")})
    by_stranger = stranger.patch(f"{live_server}/api/predictions/{created.json()['id']}", json={"label": "1"})
    by_maker = maker.patch(f"{live_server}/api/predictions/{created.json()['id']}", json={"label": "1"})

    assert created.status_code == 201
    assert created.json()["number"] == "7"
    assert by_stranger.status_code == 403
    assert by_stranger.headers["Content-Type"] == "application/problem+json"
    assert by_maker.status_code == 200
    assert by_maker.json()["label"] == "1"


def test_a_body_over_the_limit_over_http_is_a_413_problem(make_app):
    app = make_app(MAX_CONTENT_LENGTH=10_000)

    with serving(app) as base_url:
        response = requests.post(
            f"{base_url}/api/predict", data=b"\0" * 1_000_000, headers={"Content-Type": "image/png"}
        )

    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "upload limit of 10,000 bytes" in response.json()["detail"]


def test_eight_concurrent_writers_never_see_database_is_locked(app, live_server):
    writers, each = 8, 10
    images = [written(str(digit)) for digit in range(writers)]
    start = threading.Barrier(writers)
    statuses: list[int] = []
    failures: list[str] = []

    def write(image: bytes) -> None:
        session = requests.Session()
        start.wait()
        for _ in range(each):
            response = session.post(f"{live_server}/api/predict", json={"image": b64(image)})
            statuses.append(response.status_code)
            if response.status_code != 201:
                failures.append(response.text)

    threads = [threading.Thread(target=write, args=(image,)) for image in images]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert statuses == [201] * writers * each
    everyone = ADMIN
    assert requests.get(f"{live_server}/api/predictions", headers=everyone).json()["total"] == writers * each


def run_py_process(instance: Path, port: int, **environment) -> subprocess.Popen:
    env = {
        **os.environ,
        "INSTANCE_PATH": str(instance),
        "MODEL_PATH": str(model_path()),
        "MODEL_DIR": str(instance / "models"),
        **environment,
    }
    env.pop("ADMIN_TOKEN", None)
    return subprocess.Popen(
        [sys.executable, "run.py", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@contextmanager
def run_py_serving(instance: Path, port: int | None = None, **environment):
    """`python run.py` on a free port (or `port`) with its instance folder in `instance`; yields its base
    URL and its process once healthy."""
    port = port or free_port()
    process = run_py_process(instance, port, **environment)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stdout.read().decode()
            try:
                if requests.get(f"{base_url}/api/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "run.py did not answer /api/health within a minute"
            time.sleep(0.05)
        yield base_url, process
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def run_py(instance: Path, port: int | None = None, **environment):
    """`python run.py` as `run_py_serving` starts it; yields its base URL once healthy."""
    with run_py_serving(instance, port, **environment) as (base_url, _):
        yield base_url


# Each starts `python run.py` and waits for it to load the model and answer: slow.
@pytest.mark.slow
@pytest.mark.parametrize("clear, kept", [("true", 0), ("false", 1)])
def test_run_py_clears_stored_predictions_once_per_start_if_configured(tmp_path, seven, clear, kept):
    instance = tmp_path / "instance"
    # One client throughout: the list shows a client its own predictions, and its cookie outlives a restart.
    client = requests.Session()
    with run_py(instance, CLEAR_PREDICTIONS_ON_START="false") as base_url:
        assert client.post(f"{base_url}/api/predict", json={"image": b64(seven)}).status_code == 201

    with run_py(instance, CLEAR_PREDICTIONS_ON_START=clear) as base_url:
        after_start = client.get(f"{base_url}/api/predictions").json()["total"]
        client.post(f"{base_url}/api/predict", json={"image": b64(seven)})
        later = client.get(f"{base_url}/api/predictions").json()["total"]

    assert after_start == kept
    assert later == kept + 1, "clearing happens at start, never per request"
    assert (instance / "predictions.sqlite").exists()
    assert (instance / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "what, request_bytes, status", hostile_requests(), ids=[case[0] for case in hostile_requests()]
)
def test_a_malformed_deep_or_oversized_body_is_a_4xx_problem_over_http(live_server, what, request_bytes, status):
    answer_status, headers, body = send_raw(live_server, request_bytes)

    assert answer_status == status, body[:300]
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == status


@pytest.mark.slow
def test_a_second_run_py_on_a_busy_port_fails_and_changes_nothing(tmp_path, seven):
    instance, port = tmp_path / "instance", free_port()
    client = requests.Session()  # the list shows a client its own predictions
    with run_py(instance, port, CLEAR_PREDICTIONS_ON_START="true") as base_url:
        client.post(f"{base_url}/api/predict", json={"image": b64(seven)})

        second = run_py_process(instance, port, CLEAR_PREDICTIONS_ON_START="true")
        output = second.communicate(timeout=120)[0].decode()
        kept = client.get(f"{base_url}/api/predictions").json()["total"]

    assert second.returncode != 0
    assert "Address already in use" in output
    assert "Cleared" not in output
    assert kept == 1


def threads_of(process: subprocess.Popen) -> int:
    status = Path(f"/proc/{process.pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("Threads:")).split()[1])


@pytest.mark.slow
def test_slow_clients_take_no_thread_of_run_py_and_delay_no_one(tmp_path):
    with run_py_serving(tmp_path / "instance") as (base_url, process):
        before = threads_of(process)
        with slow_clients(base_url, 60):
            during = threads_of(process)
            started = time.monotonic()
            health = requests.get(f"{base_url}/api/health", timeout=10)
            waited = time.monotonic() - started

    # Their requests, still arriving a byte a second, wait in the server's buffers, not on threads of its own.
    assert during - before < 10, f"{during - before} threads more with 60 slow clients connected"
    assert health.status_code == 200
    assert waited < 1


def chunked_upload(base_url: str, most: int) -> tuple[bytes, int]:
    """POST /api/predict a body of zeros in 64 KiB chunks, stopping at `most` bytes or as soon as the server
    answers; its answer's first bytes (empty if none came within 10 s) and how many bytes were sent."""
    host, port = base_url.removeprefix("http://").split(":")
    chunk = b"%x\r\n%s\r\n" % (65536, bytes(65536))
    sent, answered = 0, threading.Event()
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            b"POST /api/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: image/png\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )

        def send() -> None:
            nonlocal sent
            try:
                while sent < most and not answered.is_set():
                    connection.sendall(chunk)
                    sent += 65536
            except OSError:
                pass  # refused: the server closed the connection

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        try:
            answer = connection.recv(65536)
        except OSError:  # no answer in time, or the connection reset before one
            answer = b""
        answered.set()
        sender.join()
    return answer, sent


@pytest.mark.slow
def test_run_py_refuses_a_body_far_over_the_limit_before_taking_it_all_and_answers_the_next(tmp_path):
    with run_py(tmp_path / "instance", MAX_CONTENT_LENGTH="100000") as base_url:
        just_over = requests.post(
            f"{base_url}/api/predict", data=iter([bytes(60_000), bytes(40_001)]), headers={"Content-Type": "image/png"}
        )
        answer, sent = chunked_upload(base_url, most=64 * 2**20)
        health = requests.get(f"{base_url}/api/health", timeout=10)

    # Just over the limit, the body reaches the service, which explains its refusal.
    assert just_over.status_code == 413
    assert just_over.headers["Content-Type"] == "application/problem+json"
    assert "upload limit of 100,000 bytes" in just_over.json()["detail"]
    # Far over, the server refuses it without waiting for (and storing) all of it.
    assert answer.startswith(b"HTTP/1.1 413 "), f"{answer[:100]!r} after {sent:,} bytes sent"
    assert health.status_code == 200


@pytest.mark.slow
def test_run_py_behind_a_proxy_counts_quotas_by_the_forwarded_address(tmp_path, seven):
    with run_py(tmp_path / "instance", TRUSTED_PROXIES="1", QUOTA_PREDICTIONS_PER_HOUR="1") as base_url:
        statuses = [
            requests.post(
                f"{base_url}/api/predict", json={"image": b64(seven)}, headers={"X-Forwarded-For": address}
            ).status_code
            for address in ("192.0.2.1", "192.0.2.2", "192.0.2.2")
        ]

    # The server passes the proxy's headers on; the service trusts them as TRUSTED_PROXIES says.
    assert statuses == [201, 201, 429]

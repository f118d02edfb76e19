"""Production as it is run: nginx (deploy/nginx.conf, Debian's nginx) in front of gunicorn on PostgreSQL
and Redis, started by serve.py. Slow clients do not reach gunicorn's workers; nginx refuses what is too
large or malformed with problem documents; every answer, nginx's and gunicorn's own included, carries the
security headers."""

import json
import os
import re
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import requests

import serve
from benchmarks.clients import send_raw, slow_clients
from benchmarks.corpus import hostile_requests
from benchmarks.uploads import b64, written
from src.config import ENVIRONMENT
from src.security import HEADERS
from tests.api.conftest import POSTGRES_URL, REDIS_URL, schema_url
from tests.conftest import model_path, unavailable

# Starts nginx and gunicorn.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """nginx in front of four gunicorn workers, on a PostgreSQL schema and a Redis prefix of their own;
    yields the base URL. Exports are cut off at once (EXPORT_TIMEOUT=0), to see how a cut reaches clients."""
    if not os.access(serve.nginx_executable(), os.X_OK):
        unavailable("Debian's nginx is not installed (apt-get install nginx)")
    schema, prefix = f"test_{uuid.uuid4().hex[:12]}", f"test-{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as error:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_URL}: {error}")
    admin.execute(f"CREATE SCHEMA {schema}")
    folder = tmp_path_factory.mktemp("stack")
    inherited = {name: value for name, value in os.environ.items() if name not in {*ENVIRONMENT, "FLASK_DEBUG"}}
    environ = {
        **inherited,
        "INSTANCE_PATH": str(folder / "instance"),
        "MODEL_PATH": str(model_path()),
        "MODEL_DIR": str(folder / "models"),
        "DATABASE_URL": schema_url(schema),
        "CACHE_REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": f"{prefix}:",
        "RATELIMIT_KEY_PREFIX": prefix,
        "RATELIMIT_DEFAULT": "10000 per minute",
        "WEB_CONCURRENCY": "4",
        "EXPORT_TIMEOUT": "0",
    }
    log = (folder / "stack.log").open("w")
    # Under /tmp, not pytest's own folder: nginx's workers run as nobody when the tests run as root, and
    # must reach their temporary files.
    nginx_prefix = tempfile.TemporaryDirectory(prefix="digits-nginx-")
    Path(nginx_prefix.name).chmod(0o755)
    try:
        with serve.production_stack(
            environ, port=serve.free_port(), prefix=Path(nginx_prefix.name), output=log
        ) as running:
            yield running[0]
    finally:
        log.close()
        nginx_prefix.cleanup()
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


def test_fifty_slow_clients_delay_neither_the_health_check_nor_a_prediction(stack, seven):
    with slow_clients(stack, 50):
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            health = requests.get(f"{stack}/api/health", timeout=30)
            predicted = requests.post(f"{stack}/api/predict", json={"image": b64(seven), "save": False}, timeout=30)
            timings.append(time.perf_counter() - started)

    assert (health.status_code, predicted.status_code) == (200, 200)
    assert predicted.json()["number"] == "7"
    # Each pair takes tens of milliseconds; with gunicorn exposed, four of the fifty held every worker.
    assert max(timings) < 1.0, timings


def test_nginx_serves_the_page_its_files_and_the_api_with_each_security_header_once(stack, seven):
    page = requests.get(f"{stack}/", timeout=30)
    script = requests.get(f"{stack}/static/js/app.js", timeout=30)
    missing = requests.get(f"{stack}/static/nothing.js", timeout=30)
    predicted = requests.post(f"{stack}/api/predict", files={"image": ("7.png", seven, "image/png")}, timeout=30)

    assert (page.status_code, script.status_code, missing.status_code, predicted.status_code) == (200, 200, 404, 201)
    assert script.content == (Path(serve.ROOT) / "src" / "static" / "js" / "app.js").read_bytes()
    for response in (page, script, missing, predicted):
        for name, value in HEADERS.items():
            assert response.raw.headers.getlist(name) == [value], (response.url, name)


@pytest.mark.parametrize(
    "what, request_bytes, status", hostile_requests(), ids=[case[0] for case in hostile_requests()]
)
def test_nginx_answers_malformed_or_oversized_requests_with_problems_and_the_security_headers(
    stack, what, request_bytes, status
):
    answer_status, headers, body = send_raw(stack, request_bytes)

    assert answer_status == status, body[:300]
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == status
    assert {name: headers.get(name.lower()) for name in HEADERS} == HEADERS


REFUSED_REQUEST_LINES = [
    ("a URL with a malformed escape", b"GET /api/%zz HTTP/1.1\r\nHost: localhost\r\n", 400),
    ("a path above the root", b"GET /../x HTTP/1.1\r\nHost: localhost\r\n", 400),
    ("a method in lower case", b"get / HTTP/1.1\r\nHost: localhost\r\n", 400),
    ("a word after the version", b"GET /api/stats HTTP/1.1 extra\r\nHost: localhost\r\n", 400),
    ("a URL of 9,000 bytes", b"GET /api/stats?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: localhost\r\n", 414),
    ("a header of 9,000 bytes", b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 9000 + b"\r\n", 400),
    # One byte over what nginx passes on to gunicorn (test_gunicorn_serves_every_request_head_nginx_passes).
    ("a request line of 8,191 bytes", b"GET /api/health?q=" + b"x" * 8164 + b" HTTP/1.1\r\nHost: localhost\r\n", 414),
    ("a header line of 8,191 bytes", b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 8184 + b"\r\n", 400),
]


@pytest.mark.parametrize(
    "what, request_head, status", REFUSED_REQUEST_LINES, ids=[case[0] for case in REFUSED_REQUEST_LINES]
)
def test_nginx_answers_requests_it_cannot_parse_with_problems(stack, what, request_head, status):
    answer_status, headers, body = send_raw(stack, request_head + b"Connection: close\r\n\r\n")

    assert answer_status == status, body[:300]
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == status
    assert {name: headers.get(name.lower()) for name in HEADERS} == HEADERS


def request_line(length: int) -> bytes:
    """A request line for /api/health of exactly `length` bytes, without its CRLF."""
    return b"GET /api/health?q=" + b"x" * (length - len("GET /api/health?q= HTTP/1.1")) + b" HTTP/1.1\r\n"


def header_line(length: int) -> bytes:
    """A header line of exactly `length` bytes, without its CRLF."""
    return b"X-Big: " + b"a" * (length - len("X-Big: ")) + b"\r\n"


# The largest request heads nginx passes on (deploy/nginx.conf: a line fits one 8 KB buffer with its CRLF).
ACCEPTED_REQUEST_HEADS = [
    ("a request line of 8,190 bytes", request_line(8190) + b"Host: localhost\r\n"),
    ("a header line of 8,190 bytes", b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n" + header_line(8190)),
    (
        "900 headers",
        b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n" + b"".join(b"X-H%d: y\r\n" % i for i in range(900)),
    ),
]


@pytest.mark.parametrize("what, request_head", ACCEPTED_REQUEST_HEADS, ids=[case[0] for case in ACCEPTED_REQUEST_HEADS])
def test_gunicorn_serves_every_request_head_nginx_passes(stack, what, request_head):
    # gunicorn's own limits were lower (a line of 4 KB, 100 headers, a header line of 8,189 bytes): it answered
    # such requests itself, with an HTML page instead of the service's answer or a problem document.
    status, headers, body = send_raw(stack, request_head + b"Connection: close\r\n\r\n")

    assert status == 200, body[:300]
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["status"] == "ok"
    assert {name: headers.get(name.lower()) for name in HEADERS} == HEADERS


def test_an_export_cut_off_reaches_the_client_cut_off_through_nginx(stack, seven):
    writer = requests.Session()
    for digit in "0123456789":
        writer.post(f"{stack}/api/predict", json={"image": b64(written(digit))}, timeout=30)

    export = writer.get(f"{stack}/api/predictions/export?format=csv", stream=True, timeout=30)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        b"".join(export.iter_content(65536))

    assert export.status_code == 200


def dockerfile_config() -> str:
    """deploy/nginx.conf as the Dockerfile's proxy stage fills it in, with its sed expressions."""
    dockerfile = (serve.ROOT / "Dockerfile").read_text()
    text = serve.TEMPLATE.read_text()
    for placeholder, value in re.findall(r"-e 's\|(\$\{\w+\})\|([^|]*)\|g?'", dockerfile):
        text = text.replace(placeholder, value)
    return text


@pytest.mark.parametrize("where", ["serve.py", "Dockerfile"])
def test_the_nginx_configuration_is_filled_in_and_valid_wherever_it_is_used(tmp_path, where):
    if not os.access(serve.nginx_executable(), os.X_OK):
        unavailable("Debian's nginx is not installed (apt-get install nginx)")
    if where == "serve.py":
        text = serve.nginx_config(
            listen="127.0.0.1:8080", upstream="127.0.0.1:8000", static_root=tmp_path, max_body=10485760
        )
    else:
        # The container's upstream is a name only its network resolves.
        text = dockerfile_config().replace("server web:8000;", "server 127.0.0.1:8000;")
    (tmp_path / "tmp").mkdir()
    (tmp_path / "nginx.conf").write_text(text)

    check = subprocess.run(
        [serve.nginx_executable(), "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", "stderr"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert "${" not in text
    assert check.returncode == 0, check.stderr

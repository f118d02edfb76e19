"""Serve as in production, on this machine: nginx (Debian's) in front of gunicorn, on the machine's
PostgreSQL and Redis. `python serve.py [--host HOST] [--port PORT]` (what `make serve` does).

gunicorn runs as `gunicorn.conf.py` says, on a loopback port of its own; nginx runs with the repository's
configuration (deploy/nginx.conf) under a prefix directory of its own, as whatever user starts it, and
is the only one listening on --port. DATABASE_URL and CACHE_REDIS_URL default to the machine's own
PostgreSQL (database `test`) and Redis; every other setting comes from the environment as usual.
Ctrl-C stops both; if either stops, so does the other.
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TEMPLATE = ROOT / "deploy" / "nginx.conf"
LOCAL_SERVICES = {"DATABASE_URL": "postgresql://127.0.0.1:5432/test", "CACHE_REDIS_URL": "redis://127.0.0.1:6379/0"}
DEFAULT_MAX_BODY = 10 * 1024 * 1024


def nginx_executable() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_config(*, listen: str, upstream: str, static_root: Path, max_body: int) -> str:
    """deploy/nginx.conf with its placeholders filled in."""
    values = {"LISTEN": listen, "UPSTREAM": upstream, "STATIC_ROOT": str(static_root), "MAX_BODY": str(max_body)}
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    return text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answering(url: str, processes: list[subprocess.Popen], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[0]} exited with {process.returncode} while starting")
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except urllib.error.HTTPError:
            return  # it answers; whether the service is healthy is another matter
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing answered at {url} within {seconds:g} s") from None
            time.sleep(0.1)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def production_stack(
    environ: dict, *, host: str = "127.0.0.1", port: int, prefix: Path, output=None
) -> Iterator[tuple[str, subprocess.Popen, subprocess.Popen]]:
    """gunicorn and nginx in front of it, listening on host:port, nginx's files under `prefix`; yields
    the base URL and the two processes once nginx passes requests to gunicorn."""
    upstream = f"127.0.0.1:{free_port()}"
    max_body = int(environ.get("MAX_CONTENT_LENGTH") or DEFAULT_MAX_BODY)
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    config = prefix / "nginx.conf"
    config.write_text(
        nginx_config(listen=f"{host}:{port}", upstream=upstream, static_root=ROOT / "src" / "static", max_body=max_body)
    )
    # The client's address comes from nginx, the only proxy.
    gunicorn_environ = {**environ, "BIND": upstream, "TRUSTED_PROXIES": "1"}
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn"], cwd=ROOT, env=gunicorn_environ, stdout=output, stderr=subprocess.STDOUT
    )
    nginx = None
    try:
        wait_until_answering(f"http://{upstream}/api/health", [gunicorn])
        nginx = subprocess.Popen(
            [nginx_executable(), "-p", str(prefix), "-c", str(config), "-e", "stderr", "-g", "daemon off;"],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://{host}:{port}"
        wait_until_answering(f"{base_url}/api/health", [gunicorn, nginx])
        yield base_url, gunicorn, nginx
    finally:
        if nginx is not None:
            stop(nginx)
        stop(gunicorn)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="nginx in front of gunicorn, on this machine's PostgreSQL and Redis.")
    parser.add_argument("--host", default="127.0.0.1", help="where nginx listens (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="default 8080")
    args = parser.parse_args(argv)
    environ = {**LOCAL_SERVICES, **{name: value for name, value in os.environ.items() if value != ""}}
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    with tempfile.TemporaryDirectory(prefix="digits-nginx-") as prefix:
        os.chmod(prefix, 0o755)  # nginx's workers run as nobody when it is started as root
        with production_stack(environ, host=args.host, port=args.port, prefix=Path(prefix)) as (
            base_url,
            gunicorn,
            nginx,
        ):
            print(f"Serving on {base_url} (nginx in front of gunicorn); Ctrl-C stops both.", flush=True)
            try:
                while not stopping and gunicorn.poll() is None and nginx.poll() is None:
                    time.sleep(0.5)
            except KeyboardInterrupt:
                pass
            failed = not stopping and (gunicorn.poll() is not None or nginx.poll() is not None)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

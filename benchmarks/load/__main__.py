"""`python -m benchmarks.load`: see the package's docstring."""

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

from benchmarks.load import __doc__ as DOCUMENTATION
from src.ml import compute_on_one_thread, mnist

from .cpu import cpu_seconds, cpu_used
from .fuzz import scenario_fuzz
from .kill import scenario_kill
from .outages import scenario_postgres, scenario_redis
from .report import mark
from .stack import deployment_of_its_own
from .throughput import scenario_load
from .traffic import USERS_PER_CLIENT, Requests, canvases

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = {
    "load": scenario_load,
    "kill": scenario_kill,
    "postgres": scenario_postgres,
    "redis": scenario_redis,
    "fuzz": scenario_fuzz,
}


def client_count(text: str) -> int:
    """Each client's users have the addresses 127.1.<client>.<user>: at most 256 clients."""
    count = int(text)
    if not 1 <= count <= 256:
        raise argparse.ArgumentTypeError(f"from 1 to 256, not {count}")
    return count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=DOCUMENTATION.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="length of each run (default 60)")
    parser.add_argument("--clients", type=client_count, default=8, help="concurrent clients, 1 to 256 (default 8)")
    parser.add_argument("--scenario", choices=["all", *SCENARIOS], default="all")
    parser.add_argument(
        "--outage", type=float, default=10, help="seconds PostgreSQL or Redis stays unreachable (default 10)"
    )
    parser.add_argument(
        "--fuzz-examples", type=int, default=200, help="schemathesis examples an operation and phase (default 200)"
    )
    parser.add_argument("--decoder-examples", type=int, default=3000, help="hypothesis inputs (default 3000)")
    parser.add_argument("--mnist-dir", type=Path, default=mnist.configured_dir())
    args = parser.parse_args(argv)

    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    # The clients are threads of this process: one whose answer has come should not wait the default
    # 5 ms for the interpreter lock while another builds its next request.
    sys.setswitchinterval(0.0002)
    # The engine is timed in this process as a worker runs it.
    compute_on_one_thread()
    started = time.perf_counter()
    pool = canvases(args.mnist_dir)
    requests = Requests(pool)
    gc.freeze()
    print(
        f"{len(pool):,} MNIST test digits drawn on transparent canvases (median "
        f"{statistics.median(map(len, pool)) / 1024:.1f} KiB PNG), each request's image unique; "
        f"POST /api/predict as JSON with a data URL, each client for {USERS_PER_CLIENT} users in turn, each from an "
        "address of its own on a kept-alive connection"
    )
    print(
        "nginx in front of gunicorn (gunicorn.conf.py) on PostgreSQL and Redis, rate limits and hourly quota on "
        f"as deployed (the fuzzer's one address unlimited); {os.cpu_count()} cores"
    )
    before = cpu_seconds()
    time.sleep(2)
    idle = cpu_used(before, cpu_seconds(), {})
    print(
        f"  before the runs, other processes used {idle['other processes'] / 2:.2f} cores "
        "(a busy machine lowers every figure)"
    )
    outcomes = {}
    with deployment_of_its_own() as deployment:
        for name in names:
            outcomes[name] = SCENARIOS[name](deployment, requests, args)
    verdicts = " ".join(f"{name}: {mark(ok)}" for name, ok in outcomes.items())
    print(f"\n{verdicts}   ({time.perf_counter() - started:.0f} s)")
    sys.exit(0 if all(outcomes.values()) else 1)


main()

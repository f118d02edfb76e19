"""The `load` scenario: 4 workers against 1, the tail of the latencies, and the CPU a stored prediction costs
the service against what the engine alone costs, all measured in turns in one run."""

import os
import statistics
import time
from collections.abc import Callable

from benchmarks.service import time_engine
from src.ml import DEFAULT_MODEL_PATH, load_model

from .report import audit, mark, print_audit, print_cores, print_figures, print_figures_header
from .stack import Deployment, stack
from .traffic import Requests, Run, figures, load, warm_up

TARGETS = {"workers": 1.6, "tail": 2.5, "cpu": 2.0}
TURNS = 6
ENGINE_CANVASES = 50
"""Canvases the engine reads alone in each turn."""


def engine_cpu(model, canvases: list[bytes]) -> list[float]:
    """CPU seconds the engine takes for each canvas, in this process, on one thread as a worker runs it."""
    return time_engine(model, canvases, clock=time.process_time)


def per_prediction(runs: list[Run], amount: Callable[[Run], float]) -> float:
    """What each run's `amount` adds up to, per prediction the runs stored."""
    return sum(amount(run) for run in runs) / max(sum(run.created for run in runs), 1)


def per_prediction_ms(runs: list[Run], group: str) -> float:
    return 1000 * per_prediction(runs, lambda run: run.cpu[group])


def preempted(runs: list[Run]) -> float:
    """Times a worker lost its core per stored prediction: each time, another program's code and data take the
    core's caches, and the worker pays to bring its own back (docs/capacity.md)."""
    return per_prediction(runs, lambda run: run.preempted)


def scenario_load(deployment: Deployment, requests: Requests, args) -> bool:
    one_turn, four_turn = args.seconds / TURNS / 2, args.seconds / TURNS
    print(
        f"\nLoad: {args.clients} clients against 4 workers for {args.seconds:g} s and against 1 worker for "
        f"{args.seconds / 2:g} s, both running, in {TURNS} turns of {four_turn:g} s and {one_turn:g} s, "
        f"the engine alone on {ENGINE_CANVASES} canvases in this process before each"
    )
    model = load_model(DEFAULT_MODEL_PATH)
    engine = []
    # This shared machine's speed drifts by a sixth within seconds: taking turns puts everything measured
    # under the same conditions, where one run after the other compares a fast minute with a slow one.
    turns: dict[str, list[Run]] = {"1 worker": [], "4 workers": []}
    with stack(deployment, 1, "1worker") as one, stack(deployment, 4, "4workers") as four:
        warm = warm_up(one, requests, args.clients).answers + warm_up(four, requests, args.clients).answers
        engine_cpu(model, requests.pool[:20])
        for turn in range(TURNS):
            engine += engine_cpu(model, requests.pool[turn * ENGINE_CANVASES : (turn + 1) * ENGINE_CANVASES])
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
        cpu = {group: sum(run.cpu[group] for run in runs) for group in runs[0].cpu}
        print_cores(name, cpu, sum(run.seconds for run in runs))

    per_turn = {
        name: [figures(run.answers, run.seconds).requests_per_s for run in runs] for name, runs in turns.items()
    }
    by_turn = [four / one for one, four in zip(per_turn["1 worker"], per_turn["4 workers"])]
    print("  throughput 4 workers / 1 worker, turn by turn: " + " ".join(f"{ratio:.2f}x" for ratio in by_turn))
    workers = results["4 workers"].requests_per_s / results["1 worker"].requests_per_s
    print(
        f"  throughput 4 workers / 1 worker: {workers:.2f}x   target >= {TARGETS['workers']}x   "
        f"{mark(workers >= TARGETS['workers'])}"
    )
    tail = results["4 workers"].p99_ms / results["4 workers"].p50_ms
    print(f"  p99 / p50 with 4 workers: {tail:.2f}x   target <= {TARGETS['tail']}x   {mark(tail <= TARGETS['tail'])}")

    engine_ms = 1000 * statistics.mean(engine)
    four_runs = turns["4 workers"]
    service_ms = per_prediction_ms(four_runs, "gunicorn")
    cpu = service_ms / engine_ms
    print(
        f"  CPU per stored prediction, 4 workers: gunicorn {service_ms:.2f} ms, nginx "
        f"{per_prediction_ms(four_runs, 'nginx'):.2f} ms, "
        f"PostgreSQL {per_prediction_ms(four_runs, 'PostgreSQL'):.2f} ms, "
        f"Redis {per_prediction_ms(four_runs, 'Redis'):.2f} ms; 1 worker: gunicorn "
        f"{per_prediction_ms(turns['1 worker'], 'gunicorn'):.2f} ms"
    )
    print(
        f"  the scheduler took the core from a worker {preempted(four_runs):.1f} times a stored prediction with "
        f"4 workers on {os.cpu_count()} cores, {preempted(turns['1 worker']):.1f} with 1"
    )
    print(f"  the engine alone, CPU per canvas (mean of {len(engine)}): {engine_ms:.2f} ms")
    print(
        f"  gunicorn's CPU per stored prediction / the engine's per canvas: {cpu:.2f}x   "
        f"target <= {TARGETS['cpu']}x   {mark(cpu <= TARGETS['cpu'])}"
    )
    # Both stacks store into the same table.
    stored = audit(deployment, warm + [answer for runs in turns.values() for run in runs for answer in run.answers])
    print_audit("both services", stored)
    no_errors = all(result.errors == 0 for result in results.values())
    return (
        workers >= TARGETS["workers"]
        and tail <= TARGETS["tail"]
        and cpu <= TARGETS["cpu"]
        and stored.intact
        and no_errors
    )

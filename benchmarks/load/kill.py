"""The `kill` scenario: a worker SIGKILLed under load is replaced, and costs at most the request it held."""

import os
import signal
import time

from .report import audit, print_audit, print_cores, print_figures, print_figures_header
from .stack import Deployment, stack
from .traffic import Requests, figures, load, warm_up


def scenario_kill(deployment: Deployment, requests: Requests, args) -> bool:
    print(
        f"\nA worker SIGKILLed: 4 workers, {args.clients} clients for {args.seconds:g} s, "
        f"the kill at {args.seconds / 3:.0f} s"
    )
    events = {}
    with stack(deployment, 4, "kill") as running:
        warm = warm_up(running, requests, args.clients)
        before = running.workers()

        def kill(started: float) -> None:
            time.sleep(args.seconds / 3)
            victim = min(before)
            os.kill(victim, signal.SIGKILL)
            events["kill"] = time.perf_counter() - started
            while True:
                now = running.workers()
                if len(now) == 4 and victim not in now and now - before:
                    events["replaced"] = time.perf_counter() - started
                    return
                if time.perf_counter() - started > args.seconds:
                    return
                time.sleep(0.01)

        run = load(running, requests, args.clients, args.seconds, kill)
        booted = running.log_count("Booting worker")
    result = figures(run.answers, run.seconds)
    failures = [answer for answer in run.answers if answer.failed]
    print_figures_header()
    print_figures("4 workers, one killed", result)
    print_cores("the whole run", run.cpu, run.seconds)
    replaced = events.get("replaced")
    print(
        f"  replaced after {1000 * (replaced - events['kill']):.0f} ms (workers booted in all: {booted})"
        if replaced
        else "  the killed worker was NOT replaced"
    )
    kinds = sorted({answer.error or str(answer.status) for answer in failures})
    print(f"  failed requests: {len(failures)} {kinds}; a sync worker has one request in flight")
    result_audit = audit(deployment, warm.answers + run.answers)
    print_audit("rows", result_audit)
    return bool(replaced) and len(failures) <= 1 and result_audit.intact

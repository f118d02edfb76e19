"""The `postgres` and `redis` scenarios: the service reaches one of them through a proxy (benchmarks.faults)
that is taken down under load and brought back, as a server that stops and starts again looks to its
clients; the machine's own PostgreSQL and Redis are never stopped. The proxy runs in a process of its own,
so that the load's client threads do not delay what it forwards."""

import time
from contextlib import closing

from benchmarks.faults import OutageProcess

from .report import audit, mark, print_audit, print_cores, print_figures, print_figures_header
from .stack import ADMIN_TOKEN, POSTGRES_PORT, REDIS_PORT, Deployment, stack
from .traffic import Answer, Requests, Run, figures, get, load, percentile, warm_up

UNAVAILABLE_S = 2.0
"""The longest a request may wait for its 503 while PostgreSQL is unreachable."""


def outage(
    deployment: Deployment, requests: Requests, args, title: str, name: str, port: int
) -> tuple[Run, list[Answer], dict, str]:
    """4 workers under load, reaching `title` (`name`, on `port`) through a proxy of their own; the proxy
    down a third of the way through, up again --outage s later. Returns the run, the warm-up's answers,
    when each happened (with /api/health 1 s into the outage), and the service's log."""
    outage_heading(title, args)
    events = {}
    with closing(OutageProcess(port)) as proxy, stack(deployment, 4, name, **{f"{name}_port": proxy.port}) as running:
        warm = warm_up(running, requests, args.clients)

        def down_and_up(started: float) -> None:
            time.sleep(args.seconds / 3)
            proxy.down()
            events["down"] = time.perf_counter() - started
            try:
                time.sleep(1)
                events["health"] = get(running.port, "/api/health", ADMIN_TOKEN)
                time.sleep(max(0.0, min(args.outage, args.seconds / 2) - 1))
            finally:
                proxy.up()
                events["up"] = time.perf_counter() - started

        run = load(running, requests, args.clients, args.seconds, down_and_up)
        log = running.log.read_text()
    return run, warm.answers, events, log


def outage_heading(name: str, args) -> None:
    print(
        f"\n{name} unreachable: 4 workers, {args.clients} clients for {args.seconds:g} s; the proxy to {name} "
        f"down at {args.seconds / 3:.0f} s for {min(args.outage, args.seconds / 2):g} s"
    )


def print_phases(run: Run, events: dict, name: str) -> dict[str, list[Answer]]:
    edges = [0, events["down"], events["up"], run.seconds]
    phases = {}
    print_figures_header()
    for phase, begin, end in zip(["before", f"{name} unreachable", "after"], edges, edges[1:]):
        phases[phase] = run.measured(begin, end)
        print_figures(f"{phase} ({end - begin:.1f} s)", figures(phases[phase], end - begin))
    print_cores("the whole run", run.cpu, run.seconds)
    return phases


def scenario_postgres(deployment: Deployment, requests: Requests, args) -> bool:
    run, warm, events, log = outage(deployment, requests, args, "PostgreSQL", "postgres", POSTGRES_PORT)
    phases = print_phases(run, events, "PostgreSQL")
    # Those answered before the proxy was up again: one started just before may reach PostgreSQL after.
    during = [answer for answer in phases["PostgreSQL unreachable"] if answer.started + answer.seconds < events["up"]]
    unavailable = [answer for answer in during if answer.status == 503]
    read = [answer for answer in during if answer.status != 422]
    problems = all(answer.problem for answer in unavailable)
    others = [answer for answer in run.answers if answer.failed and answer.status != 503]
    after = [answer for answer in run.measured(events["up"]) if answer.status == 201]
    recovery = after[0].started - events["up"] if after else None
    slowest = max((answer.seconds for answer in unavailable), default=float("nan"))
    print(
        f"  while unreachable: {len(unavailable)} of {len(read)} answers to canvases read as digits 503 "
        f"(all problem+json: {problems}), "
        f"p99 {1000 * percentile([a.seconds for a in unavailable], 99):.1f} ms, slowest {1000 * slowest:.0f} ms   "
        f"target < {UNAVAILABLE_S:g} s   {mark(slowest < UNAVAILABLE_S)}"
    )
    status, health = events.get("health", (0, None))
    print(f"  /api/health while unreachable: {status}, database: {health and health.get('database', {}).get('error')}")
    print(f"  failures other than 503: {len(others)} {sorted({a.error or str(a.status) for a in others})}")
    print(f"  first 201 after the proxy was up again: {f'{recovery:.2f} s' if recovery is not None else 'NEVER'}")
    result_audit = audit(deployment, warm + run.answers)
    print_audit("rows", result_audit)
    return (
        len(unavailable) == len(read) > 0
        and problems
        and slowest < UNAVAILABLE_S
        and status == 503
        and not others
        and recovery is not None
        and result_audit.intact
    )


def scenario_redis(deployment: Deployment, requests: Requests, args) -> bool:
    run, warm, events, log = outage(deployment, requests, args, "Redis", "redis", REDIS_PORT)
    print_phases(run, events, "Redis")
    status, health = events.get("health", (0, None))
    print(
        f"  /api/health while unreachable: {status} {health and health.get('status')}, "
        f"cache: {health and health.get('cache', {}).get('error')}"
    )
    logged = {
        "cache down": "The cache is down",
        "cache back": "The cache is back",
        "rate limits in memory": "falling back to in-memory storage",
        "rate limits back in Redis": "Rate limit storage recovered",
        "tracebacks": "Traceback",
    }
    counts = {label: log.count(text) for label, text in logged.items()}
    print("  log lines (4 workers, each says it once): " + ", ".join(f"{name} {n}" for name, n in counts.items()))
    errors = sum(answer.failed for answer in run.answers)
    print(f"  failed requests: {errors}")
    result_audit = audit(deployment, warm + run.answers)
    print_audit("rows", result_audit)
    return (
        errors == 0
        and status == 200
        and 1 <= counts["cache down"] <= 4
        and counts["tracebacks"] == 0
        and result_audit.intact
    )

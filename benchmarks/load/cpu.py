"""Where the CPU went during a run: the stack's processes, PostgreSQL, Redis, this process, and the rest."""

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _name_and_seconds(stat: str) -> tuple[str, float]:
    """A process's name and CPU seconds (user and system), from its /proc/<pid>/stat."""
    name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
    return name, (int(fields[11]) + int(fields[12])) / TICK


def process_cpu(pid: int) -> float:
    """One process's CPU seconds so far."""
    return _name_and_seconds(Path(f"/proc/{pid}/stat").read_text())[1]


def preemptions(pids: set[int]) -> dict[int, int]:
    """How many times the scheduler has taken the core from each process so far while it could still run (its
    involuntary context switches); a process that has ended is left out."""
    counts = {}
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        counts[pid] = int(status.split("nonvoluntary_ctxt_switches:", 1)[1].split()[0])
    return counts


def cpu_seconds() -> dict[int, tuple[str, float]]:
    """Every process's name and CPU seconds so far."""
    seconds = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            seconds[int(entry.name)] = _name_and_seconds(stat)
    return seconds


def cpu_used(before: dict, after: dict, stack: dict[str, set[int]]) -> dict[str, float]:
    """CPU seconds by group between two readings of `cpu_seconds`; `stack` gives the measured program's own
    processes, by name. A process that ended in between is not counted: none of the service's does in a run, but
    for a killed worker, whose request is lost anyway."""
    used = dict.fromkeys([*stack, "PostgreSQL", "Redis", "this process", "other processes"], 0.0)
    for pid, (name, total) in after.items():
        group = next((program for program, pids in stack.items() if pid in pids), None)
        if group is None:
            if pid == os.getpid():
                group = "this process"
            elif name == "postgres":
                group = "PostgreSQL"
            elif name.startswith("redis-server"):
                group = "Redis"
            else:
                group = "other processes"
        used[group] += total - before.get(pid, (name, 0.0))[1]
    return used


def other_cores(before: dict, after: dict, seconds: float) -> float:
    """The cores that processes other than this one, PostgreSQL and Redis used between two readings of
    `cpu_seconds` taken `seconds` apart: what slows every figure of a run on a shared machine."""
    return cpu_used(before, after, {})["other processes"] / seconds

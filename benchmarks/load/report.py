"""The rows stored against the answers given, and the figures printed."""

from dataclasses import dataclass

import psycopg

from .stack import Deployment
from .traffic import Answer, Figures


def mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


@dataclass
class Audit:
    """The stored rows against the answers: lost, doubled, and stored without a 201."""

    rows: int
    created: int
    lost: int
    doubled: int
    unacknowledged: int
    unacknowledged_from_failures: int

    @property
    def intact(self) -> bool:
        return self.lost == self.doubled == 0


def audit(deployment: Deployment, answers: list[Answer]) -> Audit:
    """Read straight from PostgreSQL, never through a scenario's proxy."""
    with psycopg.connect(deployment.database_url(), connect_timeout=5) as connection:
        rows = connection.execute("SELECT public_id, sha256 FROM predictions").fetchall()
    stored = dict(rows)
    acknowledged = {answer.prediction_id: answer.sha256 for answer in answers if answer.status == 201}
    failed = {answer.sha256 for answer in answers if answer.status != 201}
    unacknowledged = [sha256 for prediction_id, sha256 in rows if prediction_id not in acknowledged]
    return Audit(
        rows=len(rows),
        created=len(acknowledged),
        lost=sum(stored.get(prediction_id) != sha256 for prediction_id, sha256 in acknowledged.items()),
        doubled=len(rows) - len({sha256 for _, sha256 in rows}),
        unacknowledged=len(unacknowledged),
        unacknowledged_from_failures=sum(sha256 in failed for sha256 in unacknowledged),
    )


def print_audit(name: str, result: Audit) -> None:
    print(
        f"  {name}: rows {result.rows} = 201 answers {result.created}; lost {result.lost}, doubled {result.doubled}, "
        f"stored without a 201 {result.unacknowledged} (all from failed requests: "
        f"{result.unacknowledged == result.unacknowledged_from_failures})   {mark(result.intact)}"
    )


def print_figures_header() -> None:
    print(f"  {'':30}{'201/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'201s':>8}{'422s':>7}{'errors':>8}")


def print_figures(name: str, result: Figures) -> None:
    print(
        f"  {name:30}{result.requests_per_s:9.1f}{result.p50_ms:9.1f}{result.p99_ms:9.1f}"
        f"{result.created:8d}{result.no_digit:7d}{result.errors:8d}"
    )


def print_cores(name: str, cpu: dict[str, float], seconds: float) -> None:
    print(f"  cores in use, {name}: " + ", ".join(f"{group} {used / seconds:.2f}" for group, used in cpu.items()))

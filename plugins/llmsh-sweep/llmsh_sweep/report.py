"""`sweep report`: the sweep's runs side by side, from their kernel records."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmsh_sweep.grid import fmt_lr
from llmsh_sweep.store import Sweep, SweepJob

if TYPE_CHECKING:
    from llmsh.kernel import Process

TAIL = 5  # the final loss is the mean of the last TAIL steps (one step's loss is noisy)


@dataclass(frozen=True)
class Row:
    job: SweepJob
    state: str
    steps: float | None
    total: float | None
    first_loss: float | None
    final_loss: float | None

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.job.pid, "lr": self.job.lr, "rank": self.job.rank,
                "out": self.job.out, "state": self.state, "steps": self.steps,
                "total_steps": self.total, "first_loss": self.first_loss,
                "final_loss": self.final_loss}  # fmt: skip


def losses(metrics: dict[str, Any]) -> list[float]:
    """The loss curve of a fine-tune job (`loss_history` points are [step, loss])."""
    history = metrics.get("loss_history") or []
    values = [float(point[1]) for point in history if isinstance(point, (list, tuple))]
    if not values and isinstance(metrics.get("loss"), (int, float)):
        values = [float(metrics["loss"])]
    return [v for v in values if math.isfinite(v)]


def mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def row(job: SweepJob, proc: Process | None) -> Row:
    if proc is None:
        return Row(job, "unknown", None, None, None, None)
    curve = losses(proc.metrics)
    tail = max(1, min(TAIL, len(curve) // 2))  # short runs: first and last halves
    return Row(job, proc.state.value, proc.progress.done, proc.progress.total,
               mean(curve[:tail]), mean(curve[-tail:]))  # fmt: skip


def best(rows: list[Row]) -> Row | None:
    """The finished run with the lowest final loss."""
    done = [r for r in rows if r.state == "done" and r.final_loss is not None]
    return min(done, key=lambda r: r.final_loss or 0.0) if done else None


def table_rows(rows: list[Row]) -> list[list[str]]:
    winner = best(rows)
    out = []
    for r in rows:
        steps = f"{r.steps:g}/{r.total:g}" if r.steps is not None and r.total else "-"
        out.append([
            str(r.job.pid), r.state, fmt_lr(r.job.lr), str(r.job.rank), steps,
            _loss(r.first_loss), _loss(r.final_loss), "*" if r is winner else "", r.job.out,
        ])  # fmt: skip
    return out


def summary_line(sweep: Sweep, rows: list[Row]) -> str:
    states: dict[str, int] = {}
    for r in rows:
        states[r.state] = states.get(r.state, 0) + 1
    counts = ", ".join(f"{n} {state}" for state, n in states.items())
    line = f"sweep {sweep.id}: {sweep.model} on {sweep.data} ({counts})"
    winner = best(rows)
    if winner is not None:
        line += (f"; best: lr {fmt_lr(winner.job.lr)}, rank {winner.job.rank} "
                 f"(final loss {_loss(winner.final_loss)}) -> model {winner.job.out}")  # fmt: skip
    return line


def _loss(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"

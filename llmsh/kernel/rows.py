"""The job store's tables, and a process record as a row of `jobs` and back."""

from __future__ import annotations

import json
from typing import Any

from .records import JobState, Process, Progress

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    pid INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    argv TEXT NOT NULL,
    args TEXT NOT NULL,
    state TEXT NOT NULL,
    priority INTEGER NOT NULL,
    device_request TEXT NOT NULL,
    device TEXT,
    mem_estimate INTEGER NOT NULL,
    mem_measured INTEGER,
    progress_done REAL NOT NULL,
    progress_total REAL,
    progress_unit TEXT NOT NULL,
    progress_rate REAL,
    metrics TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    ended REAL,
    exit_status INTEGER,
    reason TEXT NOT NULL,
    session TEXT NOT NULL,
    parent INTEGER,
    kernel_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
CREATE TABLE IF NOT EXISTS transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pid INTEGER NOT NULL,
    old TEXT,
    new TEXT NOT NULL,
    at REAL NOT NULL,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS transitions_pid ON transitions(pid);
CREATE TABLE IF NOT EXISTS kernels (
    id TEXT PRIMARY KEY,
    os_pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    proc_started REAL NOT NULL,
    started REAL NOT NULL
);
"""


COLUMNS = (
    "pid, kind, argv, args, state, priority, device_request, device, mem_estimate, "
    "mem_measured, progress_done, progress_total, progress_unit, progress_rate, metrics, "
    "created, started, ended, exit_status, reason, session, parent, kernel_id"
)
INSERT_JOB = f"INSERT OR REPLACE INTO jobs({COLUMNS}) VALUES ({','.join('?' * 23)})"
INSERT_TRANSITION = "INSERT INTO transitions(pid, old, new, at, reason) VALUES (?,?,?,?,?)"
STATE_VALUE: dict[JobState, str] = {s: s.value for s in JobState}  # faster than .value


def to_row(p: Process) -> tuple[Any, ...]:
    g = p.progress
    # Most jobs have no argv, args or metrics: skip json.dumps for those.
    return (
        p.pid,
        p.kind,
        json.dumps(list(p.argv)) if p.argv else "[]",
        json.dumps(p.args) if p.args else "{}",
        STATE_VALUE[p.state],
        p.priority,
        p.device_request,
        p.device,
        p.mem_estimate,
        p.mem_measured,
        g.done,
        g.total,
        g.unit,
        g.rate,
        json.dumps(p.metrics) if p.metrics else "{}",
        p.created,
        p.started,
        p.ended,
        p.exit_status,
        p.reason,
        p.session,
        p.parent,
        p.kernel_id,
    )


def from_row(r: tuple[Any, ...]) -> Process:
    return Process(
        pid=r[0],
        kind=r[1],
        argv=tuple(json.loads(r[2])),
        args=json.loads(r[3]),
        state=JobState(r[4]),
        priority=r[5],
        device_request=r[6],
        device=r[7],
        mem_estimate=r[8],
        mem_measured=r[9],
        progress=Progress(r[10], r[11], r[12], r[13]),
        metrics=json.loads(r[14]),
        created=r[15],
        started=r[16],
        ended=r[17],
        exit_status=r[18],
        reason=r[19],
        session=r[20],
        parent=r[21],
        kernel_id=r[22],
    )

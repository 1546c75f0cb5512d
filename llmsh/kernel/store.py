"""The SQLite job store: every process record and state transition survives a crash.

Writes go through one writer thread that batches whatever is pending into a single
transaction, so the event loop never waits on disk and thousands of jobs per second
cost a few commits. WAL mode plus a busy timeout (and a retry around it) lets several
kernels share one store without "database is locked" reaching a user.
"""

from __future__ import annotations

import functools
import json
import os
import queue
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import psutil

from .records import FINISHED, JobState, Process, Progress

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

# Pids are reserved from the store in blocks that grow as a kernel uses them, so a
# short-lived shell wastes few numbers and a busy kernel rarely takes the write lock.
PID_BLOCK_MIN, PID_BLOCK_MAX = 8, 4096
T = TypeVar("T")


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def retry_locked(fn: Callable[[], T], attempts: int = 50) -> T:
    """Run fn, retrying while another process holds the write lock."""
    for attempt in range(attempts):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            time.sleep(min(0.5, 0.01 * (attempt + 1)))
    return fn()


COLUMNS = (
    "pid, kind, argv, args, state, priority, device_request, device, mem_estimate, "
    "mem_measured, progress_done, progress_total, progress_unit, progress_rate, metrics, "
    "created, started, ended, exit_status, reason, session, parent, kernel_id"
)
INSERT_JOB = f"INSERT OR REPLACE INTO jobs({COLUMNS}) VALUES ({','.join('?' * 23)})"
_EMPTY = "{}"


def _dumps(value: Any) -> str:
    return json.dumps(value) if value else (_EMPTY if isinstance(value, dict) else "[]")


def to_row(p: Process) -> tuple[Any, ...]:
    g = p.progress
    return (
        p.pid,
        p.kind,
        _dumps(list(p.argv)),
        _dumps(p.args),
        p.state.value,
        p.priority,
        p.device_request,
        p.device,
        p.mem_estimate,
        p.mem_measured,
        g.done,
        g.total,
        g.unit,
        g.rate,
        _dumps(p.metrics),
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


def _proc_started(os_pid: int) -> float:
    try:
        return float(psutil.Process(os_pid).create_time())
    except (psutil.Error, OSError):
        return -1.0


class JobStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.output_dir = path.parent / "jobs"
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self._read = connect(path)
        retry_locked(lambda: self._read.executescript(SCHEMA))
        self._next_pid = 0
        self._pid_limit = 0
        self._pid_block = PID_BLOCK_MIN
        self._pending: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_loop, name="llmsh-store", daemon=True)
        self._closed = False
        self._writer.start()

    # -- pids ------------------------------------------------------------------------

    def allocate_pid(self) -> int:
        """Pids come from blocks reserved in the store, so concurrent kernels never share one."""
        if self._next_pid >= self._pid_limit:
            self._next_pid = retry_locked(self._reserve_block)
            self._pid_limit = self._next_pid + self._pid_block
            self._pid_block = min(self._pid_block * 2, PID_BLOCK_MAX)
        pid = self._next_pid
        self._next_pid += 1
        return pid

    def _reserve_block(self) -> int:
        conn = self._read
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT value FROM meta WHERE key='next_pid'").fetchone()
            start = int(row[0]) if row else 1
            conn.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES('next_pid', ?)",
                (str(start + self._pid_block),),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return start

    # -- kernels and crash recovery --------------------------------------------------

    def register_kernel(self, kernel_id: str) -> None:
        os_pid = os.getpid()
        retry_locked(
            lambda: self._read.execute(
                "INSERT OR REPLACE INTO kernels VALUES (?, ?, ?, ?, ?)",
                (kernel_id, os_pid, socket.gethostname(), _proc_started(os_pid), time.time()),
            )
        )

    def unregister_kernel(self, kernel_id: str) -> None:
        retry_locked(lambda: self._read.execute("DELETE FROM kernels WHERE id=?", (kernel_id,)))

    def _live_kernels(self) -> set[str]:
        live = set()
        host = socket.gethostname()
        for kid, os_pid, khost, started, _ in self._read.execute("SELECT * FROM kernels"):
            if khost != host:
                live.add(kid)  # cannot check another host's processes: assume alive
            elif abs(_proc_started(int(os_pid)) - float(started)) < 1.0:
                live.add(kid)
        return live

    def recover(self, reason: str) -> list[Process]:
        """Mark unfinished jobs of kernels that are no longer alive as interrupted."""

        def run() -> list[Process]:
            conn = self._read
            conn.execute("BEGIN IMMEDIATE")
            try:
                live = self._live_kernels()
                finished = tuple(s.value for s in FINISHED)
                rows = conn.execute(
                    f"SELECT {COLUMNS} FROM jobs "
                    f"WHERE state NOT IN ({','.join('?' * len(finished))})",
                    finished,
                ).fetchall()
                now = time.time()
                recovered = []
                for row in rows:
                    proc = from_row(row)
                    if proc.kernel_id in live:
                        continue
                    why = f"{reason} while the job was {proc.state.value}"
                    new = proc.evolve(
                        state=JobState.INTERRUPTED, ended=now, reason=why, exit_status=None
                    )
                    conn.execute(INSERT_JOB, to_row(new))
                    conn.execute(
                        "INSERT INTO transitions(pid, old, new, at, reason) VALUES (?,?,?,?,?)",
                        (new.pid, proc.state.value, new.state.value, now, why),
                    )
                    recovered.append(new)
                conn.execute(
                    f"DELETE FROM kernels WHERE id NOT IN ({','.join('?' * len(live)) or 'NULL'})",
                    tuple(live),
                )
                conn.execute("COMMIT")
                return recovered
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        return retry_locked(run)

    # -- writes (batched, off the event loop) ----------------------------------------

    def save(
        self, proc: Process, transition: bool = False, old: JobState | None = None, reason: str = ""
    ) -> None:
        """Queue a record; with `transition`, also the state change (old -> proc.state)."""
        # Rows are built in the writer, once per job per batch: saves coalesce first.
        self._pending.put((proc, transition, old, reason, time.time()))

    def flush(self, timeout: float = 30.0) -> None:
        """Block until everything queued so far is on disk."""
        done = threading.Event()
        self._pending.put(done)
        done.wait(timeout)

    def _write_loop(self) -> None:
        conn = connect(self.path)
        while True:
            item = self._pending.get()
            batch = [item]
            while True:
                try:
                    batch.append(self._pending.get_nowait())
                except queue.Empty:
                    break
            stop = any(x is None for x in batch)
            records = [x for x in batch if isinstance(x, tuple)]
            if records:
                retry_locked(functools.partial(self._write_batch, conn, records))
            for x in batch:
                if isinstance(x, threading.Event):
                    x.set()
            if stop:
                conn.close()
                return

    @staticmethod
    def _write_batch(conn: sqlite3.Connection, records: list[Any]) -> None:
        latest: dict[int, Process] = {}
        transitions = []
        for proc, transition, old, reason, at in records:
            latest[proc.pid] = proc
            if transition:
                transitions.append(
                    (proc.pid, old.value if old else None, proc.state.value, at, reason)
                )
        rows = [to_row(p) for p in latest.values()]
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(INSERT_JOB, rows)
            conn.executemany(
                "INSERT INTO transitions(pid, old, new, at, reason) VALUES (?,?,?,?,?)", transitions
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # -- reads -----------------------------------------------------------------------

    def load(self, pid: int) -> Process | None:
        row = self._read.execute(f"SELECT {COLUMNS} FROM jobs WHERE pid=?", (pid,)).fetchone()
        return from_row(row) if row else None

    def load_all(self, exclude: Iterable[int] = (), limit: int | None = None) -> list[Process]:
        skip = set(exclude)
        sql = f"SELECT {COLUMNS} FROM jobs ORDER BY pid DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit) + len(skip)}"
        rows = self._read.execute(sql).fetchall()
        out = [from_row(r) for r in rows if r[0] not in skip]
        out.reverse()
        return out[-limit:] if limit is not None else out

    def transitions(self, pid: int) -> list[tuple[str | None, str, float, str]]:
        rows = self._read.execute(
            "SELECT old, new, at, reason FROM transitions WHERE pid=? ORDER BY id", (pid,)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]

    def output_path(self, pid: int) -> Path:
        return self.output_dir / f"{pid}.log"

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._pending.put(None)
        self._writer.join(timeout=30)
        self._read.close()

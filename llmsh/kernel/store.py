"""The SQLite job store: every process record and state transition survives a crash.

Saves are buffered on the event loop, coalesced (a job that is queued, started and
finished within one batch is written once, with all three transitions), and sent in
batches to a writer process (writer.py) that commits each batch in one transaction,
so the loop never waits on disk and pays no GIL for SQLite. `flush()` waits until the
store holds everything saved before it; `durable()` is the same wait for the event
loop, shared by every caller of one batch (group commit, commits.py): the kernel
acknowledges a request only after it. WAL mode plus a busy timeout (and a retry around it) lets
several kernels share one store without "database is locked" reaching a user.

Durability: WAL with synchronous=NORMAL. A commit is in the WAL file (the OS's page
cache) before it is acknowledged, so it survives the death of any process, the
kernel's and the writer's; only a power cut or an OS crash can undo the last
commits, never corrupt the store (SQLite's promise for this mode). FULL would fsync
every commit: about 1 ms each on the development machine against 43 us, paid once
per group, but on every lone submit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psutil

from .commits import WRITER_EXITED, Waiters, refusal, refusing
from .errors import KernelError
from .ownership import KernelLock, lock_path, take_if_dead
from .records import FINISHED, JobState, Process, Progress
from .writer import StoreFailing, Writer, WriterGone, connect, retry_locked

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
# A batch goes to the writer this long after its first save, or at once when this many
# saves are waiting: short enough that a crash loses little, long enough to coalesce.
SEND_DELAY, SEND_AT = 0.005, 2048


COLUMNS = (
    "pid, kind, argv, args, state, priority, device_request, device, mem_estimate, "
    "mem_measured, progress_done, progress_total, progress_unit, progress_rate, metrics, "
    "created, started, ended, exit_status, reason, session, parent, kernel_id"
)
INSERT_JOB = f"INSERT OR REPLACE INTO jobs({COLUMNS}) VALUES ({','.join('?' * 23)})"
INSERT_TRANSITION = "INSERT INTO transitions(pid, old, new, at, reason) VALUES (?,?,?,?,?)"
_VALUE: dict[JobState, str] = {s: s.value for s in JobState}  # faster than .value


def to_row(p: Process) -> tuple[Any, ...]:
    g = p.progress
    # Most jobs have no argv, args or metrics: skip json.dumps for those.
    return (
        p.pid,
        p.kind,
        json.dumps(list(p.argv)) if p.argv else "[]",
        json.dumps(p.args) if p.args else "{}",
        _VALUE[p.state],
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


def _proc_started(os_pid: int) -> float:
    try:
        return float(psutil.Process(os_pid).create_time())
    except (psutil.Error, OSError):
        return -1.0


class JobStore:
    """The store as one kernel sees it; with `kernel_id`, that kernel's lock is taken."""

    def __init__(self, path: Path, kernel_id: str | None = None) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.output_dir = path.parent / "jobs"
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self._read = connect(path)
        with refusing():
            retry_locked(lambda: self._read.executescript(SCHEMA))
        self._lock: KernelLock | None = None
        if kernel_id is not None:
            self._lock = KernelLock(lock_path(path, kernel_id))
            self._lock.acquire()
        self._next_pid = 0
        self._pid_limit = 0
        self._pid_block = PID_BLOCK_MIN
        # Saves waiting for the next batch: the latest record per pid, and every transition.
        self._latest: dict[int, Process] = {}
        self._transitions: list[tuple[int, str | None, str, float, str]] = []
        self._writer = Writer(path, None if self._lock is None else self._lock.fd)
        self._closed = False
        self._waiters = Waiters(self._writer, self.send)  # group commit: see commits.py
        with contextlib.suppress(RuntimeError):  # no loop: the first durable() watches
            self._waiters.watch(asyncio.get_running_loop())

    @property
    def failing(self) -> str | None:
        """Why the disk refuses writes now ("disk full"), None while it takes them."""
        return self._writer.failing

    def check_writable(self) -> None:
        """Raise the refusal for new work if nothing saved now could be committed."""
        if self._writer.failing is not None:
            raise refusal(self._writer.failing)
        if self._writer.exited:
            raise KernelError(WRITER_EXITED)

    # -- pids ------------------------------------------------------------------------

    def allocate_pid(self) -> int:
        """Pids come from blocks reserved in the store, so concurrent kernels never share one."""
        if self._next_pid >= self._pid_limit:
            with refusing():
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
            if conn.in_transaction:  # a COMMIT refused by a full disk may have rolled back
                conn.execute("ROLLBACK")
            raise
        return start

    # -- kernels and crash recovery --------------------------------------------------

    def register_kernel(self, kernel_id: str) -> None:
        os_pid = os.getpid()
        with refusing():
            retry_locked(
                lambda: self._read.execute(
                    "INSERT OR REPLACE INTO kernels VALUES (?, ?, ?, ?, ?)",
                    (kernel_id, os_pid, socket.gethostname(), _proc_started(os_pid), time.time()),
                )
            )

    def unregister_kernel(self, kernel_id: str) -> None:
        # A row left behind (a full disk) is harmless: the lock says this kernel is gone.
        with contextlib.suppress(sqlite3.Error):
            retry_locked(lambda: self._read.execute("DELETE FROM kernels WHERE id=?", (kernel_id,)))

    def _live_kernels(self, taken: dict[str, int]) -> set[str]:
        """The registered kernels still alive; the locks of dead ones go into `taken`."""
        live = set()
        host = socket.gethostname()
        for kid, os_pid, khost, started, _ in self._read.execute("SELECT * FROM kernels"):
            if khost != host:
                live.add(kid)  # cannot check another host's processes: assume alive
                continue
            try:
                fd = take_if_dead(lock_path(self.path, kid), int(os_pid))
            except FileNotFoundError:  # registered by an llmsh without kernel locks
                if abs(_proc_started(int(os_pid)) - float(started)) < 1.0:
                    live.add(kid)
                continue
            if fd is None:
                live.add(kid)
            else:
                taken[kid] = fd
        return live

    def recover(self, reason: str) -> list[Process]:
        """Mark unfinished jobs of kernels that are no longer alive as interrupted.

        A kernel is alive while it holds its lock (see ownership.py); this one takes
        the locks of dead kernels while it recovers their jobs, then removes them.
        """
        taken: dict[str, int] = {}

        def run() -> list[Process]:
            conn = self._read
            conn.execute("BEGIN IMMEDIATE")
            try:
                live = self._live_kernels(taken)
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
                        INSERT_TRANSITION, (new.pid, proc.state.value, new.state.value, now, why)
                    )
                    recovered.append(new)
                conn.execute(
                    f"DELETE FROM kernels WHERE id NOT IN ({','.join('?' * len(live)) or 'NULL'})",
                    tuple(live),
                )
                conn.execute("COMMIT")
                return recovered
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                for kid, fd in taken.items():
                    if not conn.in_transaction:  # committed: nothing is left to recover
                        with contextlib.suppress(OSError):
                            lock_path(self.path, kid).unlink()
                    os.close(fd)
                taken.clear()

        with refusing():
            return retry_locked(run)

    # -- writes (batched, committed by the writer process) -----------------------------

    def save(
        self, proc: Process, transition: bool = False, old: JobState | None = None, reason: str = ""
    ) -> None:
        """Queue a record; with `transition`, also the state change (old -> proc.state).

        Saves and sends happen on the thread that owns the store (the event loop's),
        so the buffers need no lock; only `sync` may be called from elsewhere.
        """
        opening = not self._latest  # the first save of a batch sets its timer
        self._latest[proc.pid] = proc
        if transition:
            self._transitions.append(
                (proc.pid, _VALUE[old] if old else None, _VALUE[proc.state], time.time(), reason)
            )
        if len(self._transitions) + len(self._latest) >= SEND_AT:
            self.send()
        elif opening:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (a script using the store directly): send now
                self.send()
            else:
                # A timer that fires after its batch went out early sends the next one
                # a little sooner: harmless, and no handle to keep or cancel.
                loop.call_later(SEND_DELAY, self.send)

    def send(self) -> None:
        """Hand everything saved so far to the writer as one batch (in save order)."""
        if self._latest and not self._closed:
            rows = [to_row(p) for p in self._latest.values()]
            batch = ((INSERT_JOB, rows), (INSERT_TRANSITION, self._transitions))
            self._latest, self._transitions = {}, []
            self._waiters.sent(self._writer.write(batch))

    async def durable(self) -> None:
        """Return once everything saved so far is committed (the event loop's thread).

        Waiters of one batch are settled together; a batch someone waits for goes to
        the writer at the end of this loop turn rather than after SEND_DELAY, and what
        is saved while the writer commits gathers into the next commit. Raises
        StoreUnwritable while the disk refuses writes (what was saved stays queued and
        is committed once it takes them), KernelError if the writer has exited.
        """
        if self._closed:
            raise KernelError("the job store is closed")
        future = self._waiters.for_open() if self._latest else self._waiters.for_sent()
        if future is not None:
            await future

    def sync(self, timeout: float = 30.0) -> None:
        """Block until everything sent so far is in the store (any thread)."""
        try:
            if not self._writer.sync(timeout):
                raise KernelError(f"the job store did not catch up within {timeout:g} s")
        except WriterGone:
            raise KernelError(WRITER_EXITED) from None
        except StoreFailing as exc:
            raise refusal(str(exc)) from None

    def flush(self, timeout: float = 30.0) -> None:
        """Block until everything saved so far is in the store (the owner's thread)."""
        self.send()
        self.sync(timeout)

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
        self.send()
        self._closed = True
        self._waiters.unwatch()
        self._writer.close()
        self._read.close()
        if self._lock is not None:  # last: the writer has exited, nothing more can land
            self._lock.release()

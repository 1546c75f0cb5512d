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
import time
from collections.abc import Iterable
from pathlib import Path

from . import ownership
from .commits import WRITER_EXITED, Waiters, refusal, refusing
from .errors import KernelError
from .ownership import KernelLock, lock_path
from .records import JobState, Process
from .rows import COLUMNS, INSERT_JOB, INSERT_TRANSITION, SCHEMA, STATE_VALUE, from_row, to_row
from .writer import connect, retry_locked
from .writer_handle import StoreFailing, Writer, WriterGone

# Pids are reserved from the store in blocks that grow as a kernel uses them, so a
# short-lived shell wastes few numbers and a busy kernel rarely takes the write lock.
PID_BLOCK_MIN, PID_BLOCK_MAX = 8, 4096
# A batch goes to the writer this long after its first save, or at once when this many
# saves are waiting: short enough that a crash loses little, long enough to coalesce.
SEND_DELAY, SEND_AT = 0.005, 2048


class JobStore:
    """The store as one kernel sees it; with `kernel_id`, that kernel's lock is taken."""

    def __init__(self, path: Path, kernel_id: str | None = None) -> None:
        self.path = path
        from .. import paths

        paths.private_file(paths.private_dir(path.parent) / path.name)  # -wal/-shm inherit it
        self.output_dir = paths.private_dir(path.parent / "jobs")
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

    # -- kernels and crash recovery (see ownership.py) -------------------------------

    def register_kernel(self, kernel_id: str) -> None:
        ownership.register(self._read, kernel_id)

    def unregister_kernel(self, kernel_id: str) -> None:
        ownership.unregister(self._read, kernel_id)

    def recover(self, reason: str) -> list[Process]:
        """Mark unfinished jobs of kernels that are no longer alive as interrupted."""
        return ownership.recover(self._read, self.path, reason)

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
                (
                    proc.pid,
                    STATE_VALUE[old] if old else None,
                    STATE_VALUE[proc.state],
                    time.time(),
                    reason,
                )
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
        # Whoever still waits for a commit learns how it ended: committed, or refused
        # because the writer is gone. Unsettled, a kill racing the close waited forever.
        self._waiters.settle()
        self._read.close()
        if self._lock is not None:  # last: the writer has exited, nothing more can land
            self._lock.release()

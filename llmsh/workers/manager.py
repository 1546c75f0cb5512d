"""A runtime's model workers: started on demand, kept while used, closed when idle.

One manager per `ProcessExecutor`, built with the runtime (`llmsh.runtime`) and
passed down from there; it captures the environment its workers start with. A worker starts on the first job for its
(model, device) and stays while it runs jobs, holds a pinned model (`load`), or
has been idle for less than `keep_alive` (the pool's keep-alive, so a burst of
jobs pays for one start and one load). It is closed earlier when an `unload`
leaves it empty, or when a new worker on its device needs the memory its idle
model holds: across workers, idle ones are evicted least recently used first, as
the pool evicts idle models within one process. `close` (the runtime's) ends
every worker, and so does the interpreter's exit if nobody closed the manager; if
the kernel dies instead, its workers die with it (see `main`).
"""

from __future__ import annotations

import atexit
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from llmsh.models.pool import DEFAULT_KEEP_ALIVE
from llmsh.workers.process import WorkerProcess
from llmsh.workers.routing import WorkerKey, log_path

REAP_INTERVAL = 5.0
CLOSE_WAIT = 3.0  # seconds a closing worker has to exit before it is killed
UNPIN_TIMEOUT = 30.0


def device_free_bytes(device: str) -> int | None:
    """Free memory on `device` as the kernel process can see it; None when it cannot."""
    if device == "cpu":
        import psutil

        return int(psutil.virtual_memory().available)
    if device.startswith("cuda:") and device[5:].isdigit():
        try:
            import pynvml

            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(int(device[5:]))
            return int(pynvml.nvmlDeviceGetMemoryInfo(handle).free)
        except Exception:  # no driver, no pynvml: do not evict on a guess
            return None
    return None


class Spawner:
    """Starts workers from one thread that lives as long as the process.

    Linux's PR_SET_PDEATHSIG fires when the *thread* that started the child ends,
    not its process: a worker started from a pool thread would be killed as soon as
    that thread retired.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        threading.Thread(target=self._loop, name="llmsh-worker-spawner", daemon=True).start()

    def submit(self, fn: Callable[[], None]) -> None:
        self._queue.put(fn)

    def _loop(self) -> None:
        while True:
            self._queue.get()()


class WorkerManager:
    def __init__(
        self,
        log_dir: Path,
        env: dict[str, str] | None = None,
        keep_alive: float = DEFAULT_KEEP_ALIVE,
        reap_interval: float = REAP_INTERVAL,
        free_bytes: Callable[[str], int | None] = device_free_bytes,
    ) -> None:
        """`env`: what every worker starts with (default: this process's, now)."""
        self.log_dir = log_dir
        self.env = dict(os.environ) if env is None else dict(env)
        self.keep_alive = keep_alive
        self._reap_interval = reap_interval
        self._free = free_bytes
        self._lock = threading.Lock()
        self._workers: dict[WorkerKey, WorkerProcess] = {}
        self._spawner = Spawner()
        self._reaper: threading.Thread | None = None
        self._stop = threading.Event()  # the running reaper's; a new one gets a new event
        self._at_exit = False

    def worker_for(self, key: WorkerKey, need: int = 0) -> WorkerProcess:
        """The worker for `key`, started if there is none, reserved for one job.

        `need` is the job's memory estimate: a new worker that would not fit makes idle
        workers on its device close first. Wait for `ready` before `start`.
        """
        with self._lock:
            worker = self._workers.get(key)
            if worker is not None and worker.alive:
                worker.reserve()
                return worker
            victims = self._victims(key, need)
            worker = WorkerProcess(key, log_path(self.log_dir, key), self._gone, self.env)
            worker.reserve()
            self._workers[key] = worker
            if not self._at_exit:  # a kernel that never closes still ends its workers
                atexit.register(self.close)
                self._at_exit = True
        for victim in victims:
            victim.close()
        self._spawner.submit(worker.spawn)
        self._start_reaper()
        return worker

    def workers(self) -> list[WorkerProcess]:
        with self._lock:
            return [w for w in self._workers.values() if not w.exited]

    def resident(self) -> list[dict[str, Any]]:
        """Every worker's pool rows, idle times brought up to now, with the worker's pid."""
        now, rows = time.time(), []
        for worker in self.workers():
            for row in worker.rows:
                row = {**row, "worker_pid": worker.pid}
                if not row.get("refs") and not row.get("loading"):
                    idle = float(row.get("idle_seconds") or 0.0) + max(0.0, now - worker.rows_at)
                    row["idle_seconds"] = round(idle, 1)
                rows.append(row)
        return sorted(rows, key=lambda r: (str(r.get("device")), str(r.get("name"))))

    def unpin(self, model: str, timeout: float = UNPIN_TIMEOUT) -> list[str]:
        """End `load` pins of `model` in every worker; returns the devices it left.

        A worker left with no model and no job is closed at once: unloading a model
        hands its memory, and the worker's, back to the system.
        """
        asked = [(w, w.unpin(model)) for w in self.workers() if w.alive and w.pid]
        released: list[str] = []
        for worker, found in asked:
            try:
                done = found.result(timeout)
            except FutureTimeout:
                continue
            released += done.released
            if done.released and not done.rows_left and not worker.busy:
                self._retire(worker)
        return released

    def close(self) -> None:
        """Close every worker and wait for them (the kernel process is exiting, tests)."""
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
            self._stop.set()
            self._reaper = None
            if self._at_exit:
                atexit.unregister(self.close)
                self._at_exit = False
        for worker in workers:
            worker.close()
        deadline = time.monotonic() + CLOSE_WAIT
        for worker in workers:
            if not worker.wait(max(0.0, deadline - time.monotonic())):
                worker.kill()
                worker.wait(CLOSE_WAIT)

    # -- keeping and closing -----------------------------------------------------------

    def _victims(self, key: WorkerKey, need: int) -> list[WorkerProcess]:
        """Idle workers to close before `key` starts (under the lock)."""
        idle = [w for w in self._workers.values() if w.alive and w.ready.done() and not w.busy]
        victims: list[WorkerProcess] = []
        free = self._free(key.device) if need > 0 else None
        if free is not None and free < need:
            same = [w for w in idle if w.key.device == key.device]
            for worker in sorted((w for w in same if not w.pinned), key=lambda w: w.idle_since):
                if free >= need:
                    break
                victims.append(worker)
                free += sum(int(row.get("nbytes") or 0) for row in worker.rows)
        for victim in victims:
            del self._workers[victim.key]
        return victims

    def _retire(self, worker: WorkerProcess) -> None:
        with self._lock:
            if self._workers.get(worker.key) is not worker or worker.busy:
                return
            del self._workers[worker.key]
        worker.close()

    def _gone(self, worker: WorkerProcess) -> None:
        with self._lock:
            if self._workers.get(worker.key) is worker:
                del self._workers[worker.key]

    def reap(self) -> list[WorkerProcess]:
        """Close workers idle for `keep_alive` that hold no pinned model."""
        now = time.monotonic()
        with self._lock:
            expired = [
                w for w in self._workers.values()
                if w.alive and w.ready.done() and not w.busy and not w.pinned
                and now - w.idle_since >= self.keep_alive
            ]  # fmt: skip
            for worker in expired:
                del self._workers[worker.key]
        for worker in expired:
            worker.close()
        return expired

    def _start_reaper(self) -> None:
        with self._lock:
            if self._reaper is not None:
                return
            self._stop = threading.Event()
            self._reaper = threading.Thread(target=self._reap_loop, args=(self._stop,),
                                            name="llmsh-worker-reaper", daemon=True)  # fmt: skip
            self._reaper.start()

    def _reap_loop(self, stop: threading.Event) -> None:
        while not stop.wait(self._reap_interval):
            self.reap()

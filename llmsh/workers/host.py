"""The worker's side: run the kernel's jobs in threads, obey its control messages.

One `WorkerHost` per worker process. Its main thread only reads the pipe, so a
kill or pause reaches a job's `JobProxy` while the job computes; each job runs in
a thread of its own through `inline.run_here`, against the process's one `ModelPool`
(every backend's models), so jobs on the same model share its weights and the engine's
decode loop exactly as they do with the inline executor. The pool's rows (torch and
llama.cpp alike) go back to the kernel when they change (`ResidentReporter`), and an
`Unpin` ends the pins of every backend's entry of the model.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from llmsh.workers.channel import Channel, ChannelClosed
from llmsh.workers.inline import local_resident, local_unpin, run_here
from llmsh.workers.messages import (
    Control,
    ControlJob,
    JobEnd,
    Resident,
    Shutdown,
    StartJob,
    Unpin,
    UnpinDone,
)
from llmsh.workers.outbox import Outbox
from llmsh.workers.proxy import JobProxy

RESIDENT_INTERVAL = 1.0  # how often the pool is looked at for `free` and `top`
STOP_GRACE = 2.0  # seconds jobs get to leave on Shutdown before the process exits


def execute(msg: StartJob, ctl: JobProxy) -> JobEnd:
    """Run one job to its end, as the inline executor would (nothing escapes)."""
    return JobEnd(msg.pid, run_here(msg.work, ctl))


class ResidentReporter:
    """Sends the pool's rows when they change, so the kernel answers `free` from memory."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._lock = threading.Lock()
        self._last: list[tuple[Any, ...]] | None = None
        thread = threading.Thread(target=self._loop, name="llmsh-resident", daemon=True)
        thread.start()

    def report(self) -> int:
        """Send the rows if they changed (idle time aside); returns how many there are."""
        with self._lock:
            rows = local_resident()
            keys = ("name", "device", "nbytes", "refs", "pinned", "loading")
            signature = [tuple(row.get(k) for k in keys) for row in rows]
            if signature != self._last:
                self._last = signature
                self._outbox.ordered(Resident(rows, time.time()))
            return len(rows)

    def _loop(self) -> None:
        while True:  # the pool's reaper unloads models on its own: notice it
            time.sleep(RESIDENT_INTERVAL)
            self.report()


class WorkerHost:
    def __init__(self, channel: Channel, outbox: Outbox | None = None) -> None:
        self._channel = channel
        self.outbox = outbox or Outbox(channel)
        self.resident = ResidentReporter(self.outbox)
        self.jobs: dict[int, JobProxy] = {}
        self._threads: dict[int, threading.Thread] = {}
        self._lock = threading.Lock()

    def serve(self) -> None:
        """Read messages until the kernel says Shutdown or its end of the pipe closes."""
        while True:
            try:
                msg = self._channel.recv()
            except ChannelClosed:  # the kernel is gone: nobody is left to report to
                self.outbox.closed = True
                self.stop_jobs()
                return
            if isinstance(msg, Shutdown):
                self.stop_jobs()
                return
            self.handle(msg)

    def handle(self, msg: Any) -> None:
        if isinstance(msg, StartJob):
            self.start(msg)
        elif isinstance(msg, ControlJob):
            self.control(msg)
        elif isinstance(msg, Unpin):  # unloading runs gc: keep reading meanwhile
            threading.Thread(target=self._unpin, args=(msg,), daemon=True).start()

    def start(self, msg: StartJob) -> None:
        proxy = JobProxy(msg.pid, msg.device, msg.priority, self.outbox, msg.paused)
        thread = threading.Thread(
            target=self._run, args=(msg, proxy), name=f"llmsh-job-{msg.pid}", daemon=True
        )
        with self._lock:
            self.jobs[msg.pid] = proxy
            self._threads[msg.pid] = thread
        thread.start()

    def control(self, msg: ControlJob) -> None:
        proxy = self.jobs.get(msg.pid)
        if proxy is None:  # it has just ended; its JobEnd is on the way
            return
        if msg.action is Control.KILL:
            proxy.kill()
        elif msg.action is Control.PAUSE:
            proxy.pause()
        elif msg.action is Control.RESUME:
            proxy.resume()
        elif msg.action is Control.RENICE:
            proxy.renice(msg.value)

    def _run(self, msg: StartJob, proxy: JobProxy) -> None:
        end = execute(msg, proxy)
        with self._lock:
            self.jobs.pop(msg.pid, None)
            self._threads.pop(msg.pid, None)
        self.resident.report()  # before the end: `free` right after the job is current
        self.outbox.ordered(end)

    def _unpin(self, msg: Unpin) -> None:
        released = local_unpin(msg.model)
        left = self.resident.report()
        self.outbox.ordered(UnpinDone(msg.request, released, left))

    def stop_jobs(self, grace: float = STOP_GRACE) -> None:
        """Kill every job and give their threads `grace` seconds to leave."""
        with self._lock:
            proxies, threads = list(self.jobs.values()), list(self._threads.values())
        for proxy in proxies:
            proxy.kill()
        deadline = time.monotonic() + grace
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

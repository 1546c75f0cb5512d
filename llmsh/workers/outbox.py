"""The worker's sender: job reports coalesced into batches, at most one per `interval`.

A generating job writes and reports progress once per token. Sending each call as
a message would cost a pickle and a system call per token and flood the kernel's
reader, so calls land in a per-job `JobUpdate` and one thread sends whatever has
gathered, then waits `interval` before the next batch (a 10 ms default: text still
streams smoothly, and kill or a job's end waits at most that long).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from llmsh.workers.channel import Channel, ChannelClosed
from llmsh.workers.messages import (
    Batch,
    JobEnd,
    JobUpdate,
    ProgressCall,
    Resident,
    UnpinDone,
)

DEFAULT_INTERVAL = 0.01


class Outbox:
    def __init__(
        self, channel: Channel, interval: float = DEFAULT_INTERVAL, start: bool = True
    ) -> None:
        """`start=False` sends only on `flush()` (tests see exactly what one batch holds)."""
        self._channel = channel
        self._interval = interval
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()  # the thread and flush() send batches in order
        self._updates: dict[int, JobUpdate] = {}
        self._ordered: list[Resident | UnpinDone | JobEnd] = []
        self._wake = threading.Event()
        self.closed = False  # the kernel is gone: reports are dropped
        if start:
            threading.Thread(target=self._loop, name="llmsh-outbox", daemon=True).start()

    # -- called by job threads (JobProxy) --------------------------------------------

    def text(self, pid: int, text: str) -> None:
        with self._lock:
            self._update(pid).text.append(text)
        self._poke()

    def progress(self, pid: int, call: ProgressCall) -> None:
        with self._lock:
            self._update(pid).add_progress(call)
        self._poke()

    def memory(self, pid: int, nbytes: int) -> None:
        with self._lock:
            self._update(pid).memory = nbytes
        self._poke()

    def annotate(self, pid: int, values: dict[str, Any]) -> None:
        with self._lock:
            self._update(pid).annotate.update(values)
        self._poke()

    def running(self, pid: int) -> None:
        with self._lock:
            self._update(pid).running = True
        self._poke()

    def ordered(self, message: Resident | UnpinDone | JobEnd) -> None:
        """A message sent after every update gathered so far, in the order given."""
        with self._lock:
            self._ordered.append(message)
        self._poke()

    # -- sending ---------------------------------------------------------------------

    def flush(self) -> None:
        """Send what has gathered now (before the worker exits)."""
        with self._send_lock:
            self._send()

    def _update(self, pid: int) -> JobUpdate:
        update = self._updates.get(pid)
        if update is None:
            update = self._updates[pid] = JobUpdate(pid)
        return update

    def _poke(self) -> None:
        if not self._wake.is_set():  # the common case per token: already awake
            self._wake.set()

    def _loop(self) -> None:
        while not self.closed:
            self._wake.wait()
            self._wake.clear()  # before taking: a report made while sending wakes us again
            with self._send_lock:
                self._send()
            time.sleep(self._interval)

    def _send(self) -> None:
        with self._lock:
            updates, self._updates = self._updates, {}
            ordered, self._ordered = self._ordered, []
        if (not updates and not ordered) or self.closed:
            return
        try:
            self._channel.send(Batch(list(updates.values()), ordered))
        except ChannelClosed:
            self.closed = True

"""Group commit: who waits for which batch of the store to commit, and the answer.

Each batch the store hands its writer gets a number; a caller of `JobStore.durable()`
waits on a future of its own (one waiter's cancellation must not touch the others),
filed under the batch that holds its changes. The event loop reads the writer's
reports as they come (no thread: a reader thread fought the loop for the GIL) and
settles every waiter of the batches committed so far at once. While the disk
refuses writes, or once the writer is gone, waiters are refused instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterator

from .errors import KernelError, StoreUnwritable
from .writer import unwritable
from .writer_handle import Writer

WRITER_EXITED = "the job store's writer exited (see its error above)"


# A batch with this many waiters goes at once: its commit overlaps the next batch's work.
SEND_WAITERS = 128


def refusal(why: str) -> StoreUnwritable:
    if why == "disk full":
        return StoreUnwritable("the job store's disk is full: free some space, then try again")
    return StoreUnwritable(f"the job store cannot be written ({why}): try again once it can")


@contextlib.contextmanager
def refusing() -> Iterator[None]:
    """Writes on the kernel's own connection: a disk that refuses them is a refusal."""
    try:
        yield
    except sqlite3.Error as exc:
        why = unwritable(exc)
        if why is None:
            raise
        raise refusal(why) from None


class Waiters:
    """The futures of `durable()` callers, by batch; `send` hands the open batch over."""

    def __init__(self, writer: Writer, send: Callable[[], None]) -> None:
        self._writer = writer
        self._send = send
        self._open: list[asyncio.Future[None]] | None = None  # for the batch not yet sent
        self._waiting: dict[int, list[asyncio.Future[None]]] = {}  # sent batches, in order
        self._loop: asyncio.AbstractEventLoop | None = None

    def watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Take the writer's reports on this event loop as they come."""
        if self._loop is None and not self._writer.exited:
            self._loop = loop
            loop.add_reader(self._writer.ack_fd, self._on_reports)

    def unwatch(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed():
            loop.remove_reader(self._writer.ack_fd)

    def _on_reports(self) -> None:
        self._writer.drain()
        self.settle()
        if self._writer.exited:
            self.unwatch()  # end of input stays readable: stop listening

    def for_open(self) -> asyncio.Future[None]:
        """A future for the batch being saved: it goes at the end of this loop turn."""
        loop = self._loop or asyncio.get_running_loop()
        self.watch(loop)
        future = loop.create_future()
        if self._open is None:
            self._open = []
            loop.call_soon(self._send)
        self._open.append(future)
        if len(self._open) >= SEND_WAITERS:
            self._send()  # the writer starts on these while the loop goes on
        return future

    def for_sent(self) -> asyncio.Future[None] | None:
        """A future for the last batch sent; None if it is committed already."""
        writer = self._writer
        if writer.committed >= writer.sent:
            return None
        loop = self._loop or asyncio.get_running_loop()
        self.watch(loop)
        future = loop.create_future()
        self._waiting.setdefault(writer.sent, []).append(future)
        self.settle()  # the report may have come before the future was there
        return future

    def sent(self, number: int) -> None:
        """The open batch went to the writer as batch `number`."""
        if self._open is not None:
            self._waiting[number] = self._open
            self._open = None
            if self._writer.failing is not None or self._writer.exited:
                self.settle()  # no report is coming for it: refuse it now

    def settle(self) -> None:
        """Resolve the futures of committed batches; refuse the rest if none can commit."""
        writer = self._writer
        while self._waiting:
            number = next(iter(self._waiting))
            if number > writer.committed:
                break
            for future in self._waiting.pop(number):
                if not future.done():
                    future.set_result(None)
        if self._waiting and (writer.failing is not None or writer.exited):
            exc: KernelError = (
                refusal(writer.failing)
                if writer.failing is not None
                else KernelError(WRITER_EXITED)
            )
            for futures in self._waiting.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)
            self._waiting.clear()

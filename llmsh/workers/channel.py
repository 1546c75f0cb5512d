"""One end of the pipe between the kernel and a worker: whole messages, any thread sends.

`multiprocessing.connection.Connection` frames and pickles each message; a lock
keeps two threads' messages from interleaving. Only one thread may receive. The
pipe is a private socket pair between a parent and its own child, so unpickling
what comes out of it trusts no one new.
"""

from __future__ import annotations

import threading
from multiprocessing.connection import Connection, Pipe
from typing import Any


class ChannelClosed(Exception):
    """The other end is gone (EOF, or a write to a closed pipe)."""


class Channel:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._send_lock = threading.Lock()

    @classmethod
    def from_fd(cls, fd: int) -> Channel:
        """The child's end, from the file descriptor it was given."""
        return cls(Connection(fd))

    def send(self, message: Any) -> None:
        try:
            with self._send_lock:
                self._conn.send(message)
        except (OSError, ValueError) as exc:  # ValueError: already closed here
            raise ChannelClosed(str(exc)) from None

    def recv(self) -> Any:
        try:
            return self._conn.recv()
        except (EOFError, OSError, ValueError) as exc:
            raise ChannelClosed(str(exc) or "end of file") from None

    def close(self) -> None:
        self._conn.close()


def channel_pair() -> tuple[Channel, Connection]:
    """(the parent's channel, the child's raw end: pass its fileno to the child, then close)."""
    parent, child = Pipe(duplex=True)
    return Channel(parent), child

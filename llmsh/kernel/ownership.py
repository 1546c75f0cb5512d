"""Which kernel owns which jobs: a lock file per kernel, held (flock) for its whole life.

A kernel's jobs are its own while it holds `kernels/<id>.lock` beside the store. The
kernel takes the lock before it registers, and the lock goes with the last open
descriptor when the process dies, even while nobody has reaped it (a zombie), which
a pid check cannot tell from a live process. The store's writer process shares the
descriptor, so the lock is free only once no write of that kernel can still land:
a kernel that gets a registered kernel's lock owns its unfinished jobs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

import psutil

LOCK_DIR = "kernels"
# A dead kernel's lock is free once its writer has seen the pipe close (milliseconds);
# a kernel whose process is gone or a zombie is given this long to get there.
DEAD_PATIENCE = 5.0


def lock_path(store: Path, kernel_id: str) -> Path:
    return store.parent / LOCK_DIR / f"{kernel_id}.lock"


class KernelLock:
    """The running kernel's own lock (exclusive flock) on `path`, holding its pid."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def fd(self) -> int:
        assert self._fd is not None, "the lock is not held"
        return self._fd

    def acquire(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a fresh id: nobody else has it
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        """Remove the file, then drop the lock (a stopped kernel leaves nothing to recover)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            os.close(self._fd)
            self._fd = None


def _gone(os_pid: int) -> bool:
    try:
        status: str = psutil.Process(os_pid).status()
        return bool(status == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


def take_if_dead(path: Path, os_pid: int) -> int | None:
    """The lock of a kernel that is dead (an fd holding it), or None while it lives.

    A kernel whose process is gone or a zombie gets DEAD_PATIENCE for its writer to
    let go; one whose process runs is alive as long as it holds the lock. Raises
    FileNotFoundError for a kernel without a lock file (one of an older llmsh).
    """
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    deadline: float | None = None
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            pass
        if deadline is None:
            deadline = time.monotonic() + DEAD_PATIENCE if _gone(os_pid) else 0.0
        if time.monotonic() >= deadline:
            os.close(fd)
            return None
        time.sleep(0.02)

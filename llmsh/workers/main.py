"""A model worker's entry point: ``python -m llmsh.workers.main FD KERNEL_PID``.

FD is this process's end of the pipe to the kernel. Nothing heavy is imported
here: torch and the model arrive with the first job. The worker must never outlive
its kernel, by any path: it asks Linux for SIGKILL when the kernel dies
(PR_SET_PDEATHSIG), exits on EOF of its pipe where that is not available, and
ignores the terminal's Ctrl-C, which is meant for the shell (kill arrives as a
message, and the worker runs in a session of its own besides).
"""

from __future__ import annotations

import ctypes
import faulthandler
import os
import signal
import sys

from llmsh.workers.channel import Channel
from llmsh.workers.host import WorkerHost
from llmsh.workers.messages import Ready

PR_SET_PDEATHSIG = 1


def die_with_kernel(kernel_pid: int) -> None:
    """SIGKILL when the kernel dies; exit now if it already has (it died before prctl)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass  # EOF on the pipe still ends the worker
    if os.getppid() != kernel_pid:
        os._exit(0)


def main(argv: list[str] | None = None) -> None:
    fd, kernel_pid = (int(a) for a in (argv or sys.argv[1:])[:2])
    die_with_kernel(kernel_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as in the kernel's threads
    # stderr is the worker's log; a segfault writes each thread's Python stack there.
    faulthandler.enable()
    os.dup2(2, 1)  # a library's stray print must not reach the user's terminal
    channel = Channel.from_fd(fd)
    channel.send(Ready(os.getpid()))
    host = WorkerHost(channel)
    host.serve()
    host.outbox.flush()
    # Job threads that ignored kill, torch's thread pools: none may hold the exit up.
    os._exit(0)


if __name__ == "__main__":
    main()

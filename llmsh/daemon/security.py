"""Who may talk to the daemon, and where it listens.

The Unix socket is bound under a umask of 0177, so it is born mode 0600 (no window in
which another user could connect), inside a directory created 0700. Each connection's
peer user is read with SO_PEERCRED and checked by `peer_allowed`. A lock file next to
the socket (`flock`, released by the kernel even on SIGKILL) keeps two daemons from
serving one socket and records the daemon's pid.

A TCP listener's token is a secret, so it never travels on a command line (where every
user's `ps` shows it): it is read from a file only its owner can read (`read_token_file`)
or from the environment.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import struct
from pathlib import Path

from .. import paths
from ..kernel import KernelError
from ..listeners import TOKEN_ENV, TOKEN_ON_ARGV, parse_hostport, read_token_file

__all__ = [
    "TOKEN_ENV",
    "TOKEN_ON_ARGV",
    "DaemonRunning",
    "PidLock",
    "bind_unix",
    "default_socket",
    "parse_hostport",
    "peer_allowed",
    "peer_credentials",
    "read_token_file",
    "socket_owner",
]

SOCKET_NAME = "kernel.sock"
TCP_PREFIX = "tcp://"
_UNIX_PATH_MAX = 107


class DaemonRunning(KernelError):
    """Another daemon already serves this socket."""


def default_socket() -> Path:
    """$LLMSH_KERNEL when it names a socket path, else the runtime dir's kernel.sock."""
    env = os.environ.get("LLMSH_KERNEL", "").strip()
    if env and not env.startswith(TCP_PREFIX):
        return Path(env).expanduser()
    return paths.runtime_dir() / SOCKET_NAME


def socket_owner(path: str | os.PathLike[str]) -> int | None:
    """The uid owning the socket at `path` (to name it in a refusal), or None."""
    with contextlib.suppress(OSError):
        return os.stat(path).st_uid
    return None


def peer_allowed(peer_uid: int, own_uid: int) -> bool:
    """Only the daemon's own user may connect (and root, who can read its memory anyway)."""
    return peer_uid == own_uid or peer_uid == 0


def peer_credentials(sock: socket.socket) -> tuple[int, int, int] | None:
    """(pid, uid, gid) of a Unix socket's peer, or None where SO_PEERCRED is unsupported."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    except OSError:
        return None
    pid, uid, gid = struct.unpack("3i", raw)
    return pid, uid, gid


def bind_unix(path: Path) -> socket.socket:
    """A listening-ready Unix socket at `path`, mode 0600 from birth."""
    if len(os.fsencode(path)) > _UNIX_PATH_MAX:
        raise KernelError(
            f"socket path too long for a Unix socket ({len(str(path))} bytes): {path}"
        )
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    except OSError:
        sock.close()
        raise
    finally:
        os.umask(old)
    os.chmod(path, 0o600)  # in case the filesystem ignored the umask
    sock.setblocking(False)
    return sock


class PidLock:
    """An exclusive lock on `<socket>.lock`, holding the daemon's pid while it runs."""

    def __init__(self, socket_path: Path) -> None:
        self.path = socket_path.with_name(socket_path.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            other = self.read_pid()
            who = f" (pid {other})" if other else ""
            raise DaemonRunning(
                f"a kernel daemon{who} already serves {self.path.with_suffix('')}"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def read_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int(self.path.read_text().strip() or 0) or None
        return None

    def held_by_other(self) -> bool:
        """Whether some process holds the lock (a daemon is alive), without taking it."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)
        return False

    def release(self) -> None:
        # The file stays: unlinking a lock file others may have opened would let two
        # daemons lock different inodes. Emptying it marks "no daemon".
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None

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
import stat
import struct
from pathlib import Path

from .. import paths
from ..kernel import KernelError

SOCKET_NAME = "kernel.sock"
TOKEN_ENV = "LLMSH_TOKEN"  # one token for every TCP listener (JSON lines, HTTP)
TOKEN_ON_ARGV = (
    "--token would show the token to every user (ps); put it in a file only you can "
    f"read (chmod 600 FILE) and pass --token-file FILE, or set ${TOKEN_ENV}"
)
_MAX_TOKEN_FILE = 4096
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


def parse_hostport(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """`HOST:PORT`, `:PORT` or `PORT` (loopback unless a host is given); ValueError if bad."""
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        host, port = "", text.strip()
    host = host.strip("[]") or default_host
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"invalid address {text!r}: expected HOST:PORT") from None
    if not 0 <= number <= 65535:
        raise ValueError(f"invalid port {number}: must be 0..65535")
    return host, number


def read_token_file(path: str | os.PathLike[str]) -> str:
    """The token in `path`, which must be a regular file of this user that no one else
    may read; KernelError with the fix otherwise."""
    name = os.fspath(path)
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise KernelError(f"cannot read the token file {name}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KernelError(f"the token file {name} is not a regular file")
        if info.st_uid != os.getuid():
            raise KernelError(
                f"the token file {name} belongs to uid {info.st_uid}, not to you "
                f"(uid {os.getuid()}): make your own (chmod 600)"
            )
        if info.st_mode & 0o077:
            raise KernelError(
                f"the token file {name} is open to other users "
                f"(mode {stat.S_IMODE(info.st_mode):04o}): run chmod 600 {name}"
            )
        data = os.read(fd, _MAX_TOKEN_FILE + 1)
    finally:
        os.close(fd)
    if len(data) > _MAX_TOKEN_FILE:
        raise KernelError(f"the token file {name} is too large (a token is one line)")
    token = data.decode("utf-8", errors="replace").strip()
    if not token or "\n" in token:
        raise KernelError(f"the token file {name} must hold the token on one line")
    return token


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

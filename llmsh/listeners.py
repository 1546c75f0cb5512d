"""What every network listener of llmsh checks the same way: `HOST:PORT` addresses and
the token a client must present, read from a private file (never from argv).

Apart from the daemon so that the HTTP API, which the daemon starts, need not import it.
"""

from __future__ import annotations

import os
import stat

from llmsh.errors import KernelError

TOKEN_ENV = "LLMSH_TOKEN"  # one token for every TCP listener (JSON lines, HTTP)
TOKEN_ON_ARGV = (
    "--token would show the token to every user (ps); put it in a file only you can "
    f"read (chmod 600 FILE) and pass --token-file FILE, or set ${TOKEN_ENV}"
)
_MAX_TOKEN_FILE = 4096


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

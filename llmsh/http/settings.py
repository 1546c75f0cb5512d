"""What the HTTP listener needs to start: address, token, limits. No web stack here.

A listener on anything but loopback must have a token: without one it refuses to
start. The token comes from a file (mode 0600, like an SSH key: a group- or
world-readable token file is refused) or from $LLMSH_TOKEN, never from a command line.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths
from ..errors import KernelError

TOKEN_ENV = "LLMSH_TOKEN"
DEFAULT_MAX_BODY = 4 << 20  # bytes: a long chat history fits, a runaway upload does not


class HttpConfigError(KernelError):
    """The HTTP listener cannot start as configured (one-line reason)."""


@dataclass(frozen=True)
class HttpSettings:
    host: str = "127.0.0.1"
    """Address to bind; loopback unless a token protects the listener."""
    port: int = 8080
    """TCP port; 0 picks a free one."""
    token: str | None = field(default=None, repr=False)
    """Bearer token clients must present; required off loopback."""
    max_body: int = DEFAULT_MAX_BODY
    """Largest request body in bytes (413 beyond it)."""
    cors_origins: tuple[str, ...] = ()
    """Origins allowed by CORS; none (CORS off) unless configured."""

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise HttpConfigError(f"invalid HTTP port {self.port}: must be 0..65535")
        if self.max_body < 1:
            raise HttpConfigError("http max_body must be at least 1 byte")
        if not self.token and not is_loopback(self.host):
            raise HttpConfigError(
                f"refusing to serve HTTP on {self.host} without a token: "
                f"give --token-file FILE (mode 0600) or ${TOKEN_ENV}"
            )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name that may resolve anywhere


def read_token_file(path: Path) -> str:
    """The token in `path`, checked as the daemon's own token file is (a regular file of
    this user, no one else may read it)."""
    from ..errors import KernelError
    from ..listeners import read_token_file as read_private_token

    try:
        return read_private_token(path)
    except KernelError as exc:
        raise HttpConfigError(str(exc)) from None


def resolve_settings(listen: str | None, token_file: str | None) -> HttpSettings | None:
    """Settings from the command line over ``[http]`` in config.toml; None: no HTTP."""
    from ..listeners import parse_hostport

    table = paths.config_section("http")
    listen = listen or _str(table, "listen")
    if not listen:
        return None
    host, port = parse_hostport(listen)
    token_file = token_file or _str(table, "token_file")
    token = (
        read_token_file(Path(token_file).expanduser())
        if token_file
        else os.environ.get(TOKEN_ENV) or None
    )
    max_body = table.get("max_body", DEFAULT_MAX_BODY)
    origins = table.get("cors_origins", [])
    if not isinstance(max_body, int) or not isinstance(origins, list):
        raise HttpConfigError("[http] max_body must be an integer and cors_origins a list")
    return HttpSettings(host, port, token, max_body, tuple(str(o) for o in origins))


def _str(table: dict[str, object], key: str) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise HttpConfigError(f"[http] {key} must be a string")
    return value

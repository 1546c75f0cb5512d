"""The kernel daemon: one kernel served to many shells and monitors over a socket.

`serve`/`Daemon` run it (`llmsh kernel serve`), `connect` returns a `RemoteKernel`
with the embedded kernel's API, and `protocol` documents the wire format. Importing
this package starts nothing and pulls no UI or model libraries.
"""

from .channel import DaemonUnavailable
from .client import RemoteKernel, connect, default_address
from .protocol import VERSION, ProtocolError
from .security import DaemonRunning, default_socket, peer_allowed, peer_credentials
from .server import Daemon, serve

__all__ = [
    "VERSION",
    "Daemon",
    "DaemonRunning",
    "DaemonUnavailable",
    "ProtocolError",
    "RemoteKernel",
    "connect",
    "default_address",
    "default_socket",
    "peer_allowed",
    "peer_credentials",
    "serve",
]

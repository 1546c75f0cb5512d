"""What a TCP peer may do before and after it proves it holds the token.

Before `hello`, a TCP connection costs the daemon a file descriptor and a task while
it has proved nothing, so there are few of them: at most `max_unauthenticated` in all
and `max_unauthenticated_per_address` from one address, each closed after
`hello_timeout` seconds. Extra ones are closed at once. After `hello`, a TCP client
still may not run `system` jobs (a shell command as the daemon's user) unless the
config says `[daemon] tcp_system_jobs = true`: the token may have travelled further
than the Unix socket's owner check ever lets anyone.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..kernel import KernelError

log = logging.getLogger("llmsh.daemon")

# Job kinds that run arbitrary commands as the daemon's user.
COMMAND_KINDS = frozenset({"system"})


class PermissionDenied(KernelError):
    """The client may not do this (another user, or a TCP client asking for a command)."""


@dataclass(frozen=True)
class DaemonLimits:
    hello_timeout: float = 10.0  # seconds a TCP peer has to say hello
    max_unauthenticated: int = 256  # TCP connections waiting for hello, in all
    max_unauthenticated_per_address: int = 64  # the same, from one address
    tcp_system_jobs: bool = False  # may TCP clients submit `system` jobs?

    def __post_init__(self) -> None:
        if not self.hello_timeout > 0:
            raise _bad("hello_timeout", "a number of seconds > 0")
        for name in ("max_unauthenticated", "max_unauthenticated_per_address"):
            if getattr(self, name) < 1:
                raise _bad(name, "an integer >= 1")

    @classmethod
    def from_config(cls, table: Mapping[str, object]) -> DaemonLimits:
        """The limits in config.toml's ``[daemon]`` table (other keys are left alone)."""
        base = cls()
        hello = table.get("hello_timeout", base.hello_timeout)
        if isinstance(hello, bool) or not isinstance(hello, (int, float)):
            raise _bad("hello_timeout", "a number of seconds")
        counts: list[int] = []
        for name in ("max_unauthenticated", "max_unauthenticated_per_address"):
            value = table.get(name, getattr(base, name))
            if isinstance(value, bool) or not isinstance(value, int):
                raise _bad(name, "an integer")
            counts.append(value)
        system = table.get("tcp_system_jobs", base.tcp_system_jobs)
        if not isinstance(system, bool):
            raise _bad("tcp_system_jobs", "true or false")
        return cls(float(hello), counts[0], counts[1], system)


def _bad(name: str, expected: str) -> KernelError:
    return KernelError(f"config.toml: [daemon] {name} must be {expected}")


class PreAuthGate:
    """Counts TCP connections that have not said hello, per address and in total."""

    def __init__(self, limits: DaemonLimits) -> None:
        self.limits = limits
        self.waiting: collections.Counter[str] = collections.Counter()
        self.total = 0
        self.refused = 0
        self._refusing = False

    def admit(self, address: str) -> Callable[[], None] | None:
        """A release function for an admitted connection, or None to close it at once."""
        if (
            self.total >= self.limits.max_unauthenticated
            or self.waiting[address] >= self.limits.max_unauthenticated_per_address
        ):
            self.refused += 1
            if not self._refusing:  # one line per burst, not one per connection
                self._refusing = True
                log.warning(
                    "refusing TCP connections: %d wait for hello (%d from %s); limits %d, %d "
                    "per address",
                    self.total,
                    self.waiting[address],
                    address,
                    self.limits.max_unauthenticated,
                    self.limits.max_unauthenticated_per_address,
                )
            return None
        if self._refusing:
            self._refusing = False
            log.info("accepting TCP connections again (%d refused so far)", self.refused)
        self.waiting[address] += 1
        self.total += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.total -= 1
                self.waiting[address] -= 1
                if self.waiting[address] <= 0:
                    del self.waiting[address]

        return release

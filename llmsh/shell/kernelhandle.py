"""The kernel the shell talks to, started on first use.

`llmsh -c 'echo hi'` never needs the job store, so the embedded kernel (or the
connection to a daemon) is made only when a command first asks for it. The
object returned has the kernel's public async API either way.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from llmsh.commands.spec import CommandError

if TYPE_CHECKING:
    import asyncio

    from llmsh.kernel import Kernel


class KernelHandle:
    def __init__(self, connect: str | None = None, kernel: Any = None) -> None:
        """``connect``: a daemon socket path ("" for the default one); ``kernel``:
        an already started kernel to use (tests)."""
        self.connect = connect
        self._kernel: Kernel | None = kernel
        self._owned = kernel is None
        self._lock: asyncio.Lock | None = None

    @property
    def remote(self) -> bool:
        """Jobs live in a daemon: they outlive this shell."""
        return self.connect is not None

    @property
    def started(self) -> bool:
        return self._kernel is not None

    @property
    def current(self) -> Kernel | None:
        return self._kernel

    async def get(self) -> Kernel:
        if self._kernel is None:
            if self._lock is None:
                import asyncio

                self._lock = asyncio.Lock()
            async with self._lock:
                if self._kernel is None:
                    self._kernel = await self._make()
        return self._kernel

    async def _make(self) -> Kernel:
        if self.connect is not None:
            try:
                from llmsh.daemon.client import connect
            except ImportError:
                raise CommandError(
                    "cannot connect: the kernel daemon is not available yet"
                ) from None
            client: Any = await connect(self.connect or None)  # a RemoteKernel: same API
            return client  # type: ignore[no-any-return]
        from llmsh.runtime import make_kernel

        kernel = make_kernel()
        await kernel.start()
        return kernel

    async def close(self) -> None:
        kernel, self._kernel = self._kernel, None
        if kernel is not None and self._owned:
            await kernel.close()


def connect_target(flag: str | None) -> str | None:
    """The daemon to use: ``--connect [PATH]`` first, then ``$LLMSH_KERNEL``."""
    if flag is not None:
        return flag
    return os.environ.get("LLMSH_KERNEL") or None

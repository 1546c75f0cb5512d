"""The kernel the shell talks to, started on first use.

`llmsh -c 'echo hi'` never needs the job store, so the embedded kernel (or the
connection to a daemon) is made only when a command first asks for it. The
object returned has the kernel's public async API either way.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

    from llmsh.kernel.api import KernelAPI


class KernelHandle:
    def __init__(self, connect: str | None = None, kernel: KernelAPI | None = None) -> None:
        """``connect``: a daemon socket path ("" for the default one); ``kernel``:
        an already started kernel to use (tests)."""
        self.connect = connect
        self._kernel: KernelAPI | None = kernel
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
    def current(self) -> KernelAPI | None:
        return self._kernel

    async def get(self) -> KernelAPI:
        if self._kernel is None:
            if self._lock is None:
                import asyncio

                self._lock = asyncio.Lock()
            async with self._lock:
                if self._kernel is None:
                    self._kernel = await self._make()
        return self._kernel

    async def _make(self) -> KernelAPI:
        if self.connect is not None:
            from llmsh.daemon.client import connect

            return await connect(self.connect or None)
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

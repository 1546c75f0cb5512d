"""What a command may ask of the shell it runs in: a narrow contract, not the whole `Shell`.

Commands sit below the shell in the layers, so they reach it only through this
Protocol (`llmsh.shell.session.Shell` implements it); the intent parser and `top`,
which sit above the commands, are reached through it too (`translate`, `propose`,
`monitor`), so that no command imports the shell, the intent parser or the monitor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from llmsh.commands.registry import Registry
    from llmsh.kernel.api import KernelAPI
    from llmsh.nl_intent.api import Proposal
    from llmsh.shell.history import HistoryStore
    from llmsh.shell.jobtable import JobTable
    from llmsh.shell.state import ShellState


class ShellServices(Protocol):
    interactive: bool
    session_id: str
    state: ShellState
    jobs: JobTable
    registry: Registry
    history: HistoryStore | None

    @property
    def kernel_started(self) -> bool: ...

    async def kernel(self) -> KernelAPI: ...

    async def run_source(
        self, text: str, filename: str | None = None, positional: list[str] | None = None
    ) -> int: ...

    async def read_line(self, prompt: str) -> str | None: ...

    async def confirm(self, question: str) -> bool: ...

    async def translate(self, text: str) -> Proposal:
        """English -> a proposed command (the intent parser, off the event loop)."""
        ...

    async def propose(self, text: str, proposal: Proposal) -> int:
        """Offer a proposal to the user and run it if they agree; the exit status."""
        ...

    async def monitor(self) -> None:
        """Run `top` full screen until the user leaves it."""
        ...

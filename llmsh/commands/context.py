"""What a running command gets besides its arguments: streams, the kernel, the shell."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from llmsh.commands.services import ShellServices
    from llmsh.kernel.api import KernelAPI
    from llmsh.shell.jobtable import SessionJob


def color_allowed(stream: TextIO) -> bool:
    """Rich output only on a terminal, and never with NO_COLOR set (no-color.org)."""
    if "NO_COLOR" in os.environ:
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass
class Context:
    """One command's run: its input and output streams and the shell around it.

    ``out`` may be the terminal, a pipe buffer or a redirected file;
    ``to_terminal`` says it is the shell's own standard output. ``job`` is the
    session job this command runs in (foreground or background); job commands
    register the kernel pids they start on it.
    """

    shell: ShellServices
    name: str
    out: TextIO
    err: TextIO
    stdin: str | None = None
    job: SessionJob | None = None
    to_terminal: bool = True
    where: str = ""  # "FILE:LINE: " when running a script

    async def kernel(self) -> KernelAPI:
        return await self.shell.kernel()

    def write(self, text: str) -> None:
        self.out.write(text)

    def line(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def error(self, message: str, status: int = 1) -> int:
        """Print ``llmsh: [FILE:LINE: ]NAME: message`` on standard error."""
        self.err.write(f"llmsh: {self.where}{self.name}: {message}\n")
        self.err.flush()
        return status

    def warn(self, message: str) -> None:
        self.error(message)

    @property
    def styled(self) -> bool:
        return color_allowed(self.out)

    @property
    def streaming(self) -> bool:
        """Whether job output should be written now: always into pipes and files,
        onto the terminal only while the job is in the foreground."""
        return not self.to_terminal or self.job is None or self.job.foreground

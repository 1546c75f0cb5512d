"""The streams of one command after its redirections (`>`, `>>`, `2>`, `<`, `2>&1`)."""

from __future__ import annotations

from typing import TextIO

from llmsh.shell.expand import ExpandedRedirect


class Streams:
    """Standard output, error and input of one command; files it opened are closed
    by `close`. ``to_terminal`` stays True while output goes to the shell's own
    standard output."""

    def __init__(
        self, stdout: TextIO, stderr: TextIO, out: TextIO | None, stdin: str | None
    ) -> None:
        self.out: TextIO = stdout if out is None else out
        self.err: TextIO = stderr
        self.stdin = stdin
        self.to_terminal = out is None
        self._stdout = stdout
        self._opened: list[TextIO] = []

    def apply(self, redirects: list[ExpandedRedirect]) -> None:
        """Raises OSError for files that cannot be opened, ValueError for bad fds."""
        for redirect in redirects:
            if redirect.op == ">&":
                self._duplicate(redirect.fd, int(redirect.target))
            elif redirect.op == "<":
                if redirect.fd != 0:
                    raise ValueError(f"bad file descriptor {redirect.fd} for '<'")
                with open(str(redirect.target), encoding="utf-8", errors="replace") as f:
                    self.stdin = f.read()
            else:
                if redirect.fd not in (1, 2):
                    raise ValueError(f"bad file descriptor {redirect.fd}")
                path = str(redirect.target)
                stream: TextIO
                if redirect.op == ">>":
                    stream = open(path, "a", encoding="utf-8")
                else:
                    stream = open(path, "w", encoding="utf-8")
                self._opened.append(stream)
                if redirect.fd == 1:
                    self.out = stream
                    self.to_terminal = False
                else:
                    self.err = stream

    def _duplicate(self, fd: int, target: int) -> None:
        if (fd, target) == (2, 1):
            self.err = self.out
        elif (fd, target) == (1, 2):
            self.out = self.err
            self.to_terminal = all(self.err is not f for f in self._opened)
        elif fd != target or fd not in (1, 2):
            raise ValueError(f"bad file descriptor in {fd}>&{target}")

    def close(self) -> None:
        for stream in self._opened:
            try:
                stream.close()
            except OSError:
                pass
        self._opened.clear()

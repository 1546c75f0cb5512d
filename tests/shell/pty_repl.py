"""The real-terminal REPL for pexpect tests: start `python -m llmsh` in a pty, run lines."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect

PROMPT = r"llmsh( \[\d+\])?>"


def spawn_repl(home: Path) -> pexpect.spawn:
    """A REPL with its own LLMSH_HOME, at its first prompt."""
    env = dict(os.environ, LLMSH_HOME=str(home), TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(sys.executable, ["-m", "llmsh"], env=env, encoding="utf-8",
                          timeout=30, dimensions=(40, 160))  # fmt: skip
    child.expect(PROMPT)
    return child


def run(child: pexpect.spawn, line: str, *expect: str) -> None:
    """Type a line, expect each pattern in turn, then the next prompt."""
    child.sendline(line)
    for pattern in expect:
        child.expect(pattern)
    child.expect(PROMPT)

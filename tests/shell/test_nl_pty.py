"""English at the prompt, end to end in a real pseudo-terminal with the real intent model.

The REPL sends a line that reads like English to the intent parser (MiniLM + the
committed LoRA weights), offers the command on one line and waits for one key:
Enter runs a harmless command; a destructive one runs only after ``y``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.shell.pty_repl import PROMPT, run, spawn_repl

pytestmark = [pytest.mark.real_model, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[2]
STORE_HOME = Path(os.environ.get("LLMSH_TEST_STORE_HOME", REPO / ".cache" / "test-home"))
FIRST_TRANSLATION_S = 120  # the first English line loads torch and the model


def words(*parts: str) -> str:
    """A pattern for words on one line of a rich table (colour codes between them)."""
    gap = r"(?:[ \t]|\x1b\[[0-9;?]*[A-Za-z])+"
    return gap.join(re.escape(part) for part in parts)


def offer(command: str, destructive: bool = False) -> str:
    """The proposal line as a pattern (the same words `proposal.offer_text` writes)."""
    if destructive:
        keys = "(destructive) [y] run  [e] edit  [x] explain  [n/Esc] cancel"
    else:
        keys = "[Enter] run  [e] edit  [x] explain  [Esc] cancel"
    return re.escape(f"-> {command}   {keys}")


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[pexpect.spawn]:
    """A REPL in its own LLMSH_HOME whose model store holds the test store's minilm."""
    minilm = STORE_HOME / "models" / "minilm"
    if not (minilm / "model.safetensors").is_file():
        pytest.skip(f"minilm not pulled into {STORE_HOME} (make test-models)")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "minilm").symlink_to(minilm)
    child = spawn_repl(tmp_path)
    yield child
    if child.isalive():
        child.terminate(force=True)


def test_enter_runs_a_harmless_proposal(shell: pexpect.spawn) -> None:
    shell.sendline("show me what's running on the gpu")
    shell.expect(offer("ps --device cuda"), timeout=FIRST_TRANSLATION_S)
    shell.send("\r")
    shell.expect(words("PID", "STATE", "PRI", "DEVICE", "MEM"))  # the process table: ps ran
    shell.expect(PROMPT)
    run(shell, "echo status=$?", "status=0")
    run(shell, "history", r"\d+\s+ps --device cuda")  # history keeps the canonical line


def test_a_destructive_proposal_needs_y(shell: pexpect.spawn) -> None:
    run(shell, "sleep 120 &", r"\[1\] \d+")
    shell.sendline("kill job 1")
    shell.expect(offer("kill %1", destructive=True), timeout=FIRST_TRANSLATION_S)
    shell.send("\r")  # Enter alone is no yes ...
    assert shell.expect([PROMPT, pexpect.TIMEOUT], timeout=2) == 1
    shell.send("n")  # ... and n cancels: the job lives on
    shell.expect(PROMPT)
    run(shell, "jobs", r"\[1\]\+?\s+\d+\s+running\s+sleep 120")  # plain text, no table

    shell.sendline("kill job 1")
    shell.expect(offer("kill %1", destructive=True))
    shell.send("y")
    shell.expect(PROMPT)
    run(shell, "ps --all", words("killed") + ".*" + words("sleep", "120"))

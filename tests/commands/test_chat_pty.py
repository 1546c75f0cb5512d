"""chat in a real terminal with the real smollm2: Ctrl-C stops the reply, not the chat."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.shell.pty_repl import PROMPT, spawn_repl

pytestmark = [pytest.mark.real_model, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[2]
STORE_HOME = Path(os.environ.get("LLMSH_TEST_STORE_HOME", REPO / ".cache" / "test-home"))


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[pexpect.spawn]:
    models = STORE_HOME / "models"
    if not (models / "smollm2" / "manifest.json").is_file():
        pytest.skip(f"smollm2 not pulled into {STORE_HOME} (make test-models)")
    (tmp_path / "models").mkdir()
    for name in ("smollm2", ".gguf"):
        if (models / name).exists():
            (tmp_path / "models" / name).symlink_to(models / name)
    child = spawn_repl(tmp_path)
    yield child
    if child.isalive():
        child.terminate(force=True)


def test_ctrl_c_stops_the_reply_and_keeps_the_conversation(shell: pexpect.spawn) -> None:
    shell.sendline("chat")
    shell.expect("smollm2>")
    shell.sendline("/?")
    shell.expect("/set max-tokens N")
    shell.expect("smollm2>")
    shell.sendline("/set max-tokens 600")
    shell.expect("Set max tokens to 600.")
    shell.sendline("Write a very long story about a dragon who loves graphics cards.")
    shell.expect(r"\x1b\[\?2004l")  # prompt_toolkit let go of the terminal: the line is sent
    shell.expect(r"[A-Za-z]{4}", timeout=180)  # the reply has begun (the model loads first)
    time.sleep(1.0)
    shell.sendcontrol("c")
    shell.expect(r"\(reply stopped; the conversation goes on\)", timeout=30)
    shell.expect("smollm2>")  # still in the chat
    shell.sendline("/bye")
    shell.expect(PROMPT)

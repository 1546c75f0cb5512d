"""End to end in a real pseudo-terminal (pexpect): `&`, jobs, Ctrl-C, Ctrl-Z, bg, Ctrl-D."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from tests.shell.pty_repl import PROMPT, run, spawn_repl

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[pexpect.spawn]:
    child = spawn_repl(tmp_path)
    yield child
    if child.isalive():
        child.terminate(force=True)


def signal_job(child: pexpect.spawn, key: str, expect: str) -> None:
    """Press Ctrl-<key> until `expect` shows (the job may take a moment to start)."""
    for _ in range(10):
        time.sleep(0.5)
        child.sendcontrol(key)
        if child.expect([expect, pexpect.TIMEOUT], timeout=3) == 0:
            return
    raise AssertionError(f"Ctrl-{key.upper()} never gave {expect!r}")


def test_background_jobs_ctrl_c_ctrl_z_bg_and_ctrl_d(shell: pexpect.spawn) -> None:
    run(shell, "sleep 5 &", r"\[1\] \d+")
    run(shell, "jobs", r"\[1\]\+\s+\d+\s+running\s+sleep 5")

    shell.sendline("sleep 30")
    shell.expect("\r\n")  # the accepted line; what follows comes from the job
    signal_job(shell, "c", PROMPT)
    run(shell, "echo status=$?", "status=130")
    run(shell, "ps --all", r"killed.*sleep 30")

    shell.sendline("sleep 20")
    shell.expect("\r\n")
    signal_job(shell, "z", r"\[2\]\+ Stopped  sleep 20")
    shell.expect(PROMPT)
    run(shell, "jobs", r"\[2\]\+\s+\d+\s+paused\s+sleep 20")
    run(shell, "bg", r"\[2\]\+ sleep 20 &")
    run(shell, "jobs", r"\[2\]\+\s+\d+\s+running\s+sleep 20")

    shell.sendcontrol("d")
    shell.expect("there are running jobs")
    shell.expect(PROMPT)
    shell.sendcontrol("d")
    shell.expect(pexpect.EOF)
    shell.close()
    assert shell.exitstatus == 0


def test_finished_jobs_are_announced_and_exit_status(shell: pexpect.spawn) -> None:
    run(shell, "sleep 0.2 &", r"\[1\] \d+")
    time.sleep(0.6)
    run(shell, "", r"\[1\]\+ Done  sleep 0.2")
    shell.sendline("exit 4")
    shell.expect(pexpect.EOF)
    shell.close()
    assert shell.exitstatus == 4


def test_stray_interrupt_at_the_prompt_does_not_end_the_shell(shell: pexpect.spawn) -> None:
    shell.kill(2)  # SIGINT while no job runs
    time.sleep(0.3)
    run(shell, "echo alive", "alive")
    shell.sendcontrol("c")  # Ctrl-C at the prompt clears the line
    run(shell, "echo still", "still")

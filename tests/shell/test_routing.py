"""Routing at the prompt (issue 14, item 9): a line that parses as commands runs as
commands, proposals that end jobs need an explicit `y`, and `exit` warns about running
jobs as Ctrl-D does (in a real pseudo-terminal too)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from llmsh.commands.destructive import ends_or_removes
from llmsh.commands.registry import default_registry
from llmsh.nl_intent.api import Proposal
from llmsh.nl_intent.signatures import signatures_from
from llmsh.shell import proposal as proposal_mod
from llmsh.shell.language import is_language
from llmsh.shell.proposal import Choice, propose
from tests.shell.pty_repl import PROMPT, run, spawn_repl
from tests.shell.test_interpreter import make_shell

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize(
    "line",
    ["jobs; ps --all", "ps --all; jobs", "kill 3; kill 4", "jobs ; ps --all", "models; jobs"],
)
def test_a_line_of_commands_runs_as_commands(line: str) -> None:
    assert not is_language(line, default_registry())


@pytest.mark.parametrize(
    "line", ["kill the job 42", "jobs; show me what's running", "stop every job on the gpu"]
)
def test_english_with_command_words_is_still_english(line: str) -> None:
    assert is_language(line, default_registry())


@pytest.mark.parametrize(
    "line", ["ps --state bogus", 'generate "x" -n abc', "renice ultra %1", "kill %1 now please"]
)
def test_a_command_with_a_flag_or_job_reference_gets_its_usage_error(line: str) -> None:
    """Issue 21: typed interactively these became English guesses ('did you mean: false')."""
    assert not is_language(line, default_registry())


async def test_the_usage_error_is_what_the_user_sees() -> None:
    from tests.shell.test_interpreter import sh

    r = await sh(make_shell(), "renice ultra %1")
    assert r.status == 2 and "renice:" in r.err and "usage: renice" in r.err


@pytest.mark.parametrize(
    ("command", "destructive"),
    [
        ("exit", True),
        ("exit 3", True),
        ("kill %1", True),
        ("models rm mymodel", True),
        ("unload smollm2", True),
        ("!rm -rf build", True),
        ("ps; exit", True),
        ("X=1; kill 4", True),
        ("ps --all", False),
        ("models list", False),
        ("models", False),
        ("generate hello", False),
        ("echo 'unclosed", True),  # unreadable: ask
    ],
)
def test_proposals_that_end_jobs_are_destructive(command: str, destructive: bool) -> None:
    assert ends_or_removes(default_registry(), command) is destructive


def test_the_intent_parser_marks_exit_destructive() -> None:
    sigs = signatures_from(default_registry().vocabulary())
    assert sigs["exit"].destructive and sigs["kill"].destructive
    assert not sigs["ps"].destructive


async def test_an_exit_proposal_is_never_run_on_one_enter(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, bool]] = []

    async def fake_ask(command: str, destructive: bool) -> Choice:
        asked.append((command, destructive))
        return Choice.CANCEL

    monkeypatch.setattr(proposal_mod, "ask", fake_ask)
    # As an intent parser with a stale vocabulary would say it: not marked destructive.
    stale: Any = Proposal("shut down the kernel", "exit", 0.99, "exit", destructive=False)
    shell = make_shell(interactive=True)
    assert await propose(shell, "shut down the kernel", stale) == 1
    assert asked == [("exit", True)]


@pytest.fixture
def repl(tmp_path: Path) -> Iterator[pexpect.spawn]:
    child = spawn_repl(tmp_path)
    yield child
    if child.isalive():
        child.terminate(force=True)


def test_exit_with_running_jobs_warns_first(repl: pexpect.spawn) -> None:
    run(repl, "sleep 30 &", r"\[1\] \d+")
    repl.sendline("exit 5")
    repl.expect(r"there are running jobs \(%1\); type exit again to exit and stop them")
    repl.expect(PROMPT)
    run(repl, "echo still here", "still here")  # another line: the next exit warns again
    repl.sendline("exit 5")
    repl.expect("there are running jobs")
    repl.expect(PROMPT)
    repl.sendline("exit 5")
    repl.expect(pexpect.EOF)
    repl.close()
    assert repl.exitstatus == 5


def test_jobs_then_ps_in_a_real_terminal(repl: pexpect.spawn) -> None:
    run(repl, "sleep 30 &", r"\[1\] \d+")
    # ps colours its rows: its "normal" priority column shows it ran (jobs has none)
    run(repl, "jobs; ps --all", r"\[1\]\+\s+\d+\s+running\s+sleep 30", "normal")
    repl.sendline("exit")
    repl.expect("there are running jobs")
    repl.expect(PROMPT)
    repl.sendcontrol("d")  # Ctrl-D after an exit warning still warns once
    repl.expect("press Ctrl-D again")
    repl.expect(PROMPT)
    repl.sendcontrol("d")
    repl.expect(pexpect.EOF)

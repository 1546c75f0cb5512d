"""The REPL without a terminal: completion, highlighting, keys, history (prompt_toolkit pipes)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.input.base import PipeInput
from prompt_toolkit.output import DummyOutput

from llmsh.commands import Command, Registry
from llmsh.shell.completion import CompletionCache, ShellCompleter, current_command
from llmsh.shell.highlight import styles_of
from llmsh.shell.history import HistoryStore
from llmsh.shell.repl import make_session, prompt_message, run_repl
from llmsh.shell.session import Shell
from tests.shell.test_interpreter import make_shell, sh

pytestmark = pytest.mark.timeout(60)


def complete(shell: Shell, text: str, cache: CompletionCache | None = None) -> list[str]:
    completer = ShellCompleter(shell, cache or CompletionCache(models_at=1e18))
    return [c.text.rstrip(" ") for c in completer.get_completions(Document(text), CompleteEvent())]


def test_current_command_split() -> None:
    line = current_command("ps --all; kill %1 4")
    assert (line.words, line.partial) == (["kill", "%1"], "4")
    line = current_command("echo x | generate 'hello wor")
    assert (line.words, line.partial) == (["generate"], "hello wor")
    assert current_command("echo hi > ou").after_redirect
    assert current_command("X=1 gen").words == []


def test_completes_commands_flags_and_values() -> None:
    shell = make_shell()
    assert "generate" in complete(shell, "gen") and "ps" in complete(shell, "")
    assert complete(shell, "ps --st") == ["--state"]
    assert complete(shell, "ps --all --") == ["--state", "--device", "--json"]
    assert complete(shell, "ps --state ") == ["queued", "loading", "running", "paused", "done",
                                              "failed", "killed", "interrupted"]  # fmt: skip
    assert complete(shell, "ps --state r") == ["running"]
    assert complete(shell, "renice ") == ["high", "normal", "low"]
    assert complete(shell, "generate hi --device c") == ["cpu", "cuda"]
    assert complete(shell, "models ") == ["list", "pull", "show", "add", "rm"]
    assert complete(shell, "explain gen") == ["generate"]
    assert "ps" in complete(shell, "help p")


def test_completes_job_references_and_pids() -> None:
    shell = make_shell()
    cache = CompletionCache(pids=[(41, "sleep 5"), (42, "!ls")], models_at=1e18)
    assert complete(shell, "kill 4", cache) == ["41", "42"]
    from llmsh.shell.jobtable import SessionJob

    shell.jobs.add(SessionJob("sleep 9"))
    assert complete(shell, "fg %", cache) == ["%1"]
    assert complete(shell, "kill ", cache)[0] == "%1"


def test_completes_model_names_from_the_catalogue() -> None:
    shell = make_shell()
    assert {"smollm2", "minilm"} <= set(complete(shell, "models pull ", CompletionCache()))
    assert complete(shell, "generate hi --model smo", CompletionCache()) == ["smollm2"]


def test_completes_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data file.txt").write_text("")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    shell = make_shell()
    assert complete(shell, "source da") == ["'data file.txt'"]
    assert complete(shell, "echo hi > su") == ["sub"]
    assert complete(shell, "cd ") == ["sub"]


def test_completes_aliases_and_runtime_commands() -> None:
    async def run(ctx: object, args: object) -> int:
        return 0

    registry = Registry()
    registry.register(Command("plugged", "from a plugin", run))  # type: ignore[arg-type]
    shell = make_shell(registry=registry)
    shell.state.aliases["pl"] = "plugged now"
    assert complete(shell, "pl") == ["plugged", "pl"]


def styled(text: str) -> dict[str, str]:
    known = {"ps", "echo", "generate"}.__contains__
    styles = styles_of(text, known)
    words: dict[str, str] = {}
    for index, ch in enumerate(text):
        words.setdefault(styles[index], "")
        words[styles[index]] += ch
    return words


def test_highlighting() -> None:
    words = styled("gnerate --model 'x y' \"$HOME\" && ps -a # note")
    assert words["unknown"] == "gnerate"
    assert words["flag"] == "--model-a"
    assert "'x y'" in words["string"]
    assert words["variable"] == "$HOME"
    assert words["operator"] == "&&"
    assert words["command"] == "ps"
    assert words["comment"] == "# note"
    assert styled('echo "unclosed')["string"] == '"unclosed'
    assert styled("X=1 !ls > out")["system"] == "!ls"
    assert styled("X=1 !ls > out")["path"] == "out"


def test_prompt_shows_running_jobs_and_is_configurable() -> None:
    shell = make_shell()
    assert prompt_message(shell) == [("class:prompt", "llmsh> ")]
    from llmsh.shell.jobtable import SessionJob

    shell.jobs.add(SessionJob("sleep 1"))
    assert prompt_message(shell)[0][1] == "llmsh [1]> "
    shell.state.vars["LLMSH_PROMPT"] = "{cwd} {running} $ "
    assert prompt_message(shell)[0][1].endswith(" 1 $ ")


@pytest.fixture
def pipe() -> Iterator[PipeInput]:
    with create_pipe_input() as inp:
        yield inp


async def test_enter_continues_unclosed_quotes_and_backslash(pipe: PipeInput) -> None:
    session = make_session(make_shell(), InMemoryHistory(), input=pipe, output=DummyOutput())
    pipe.send_text('echo "abc\rdef"\r')
    assert await session.prompt_async("> ") == 'echo "abc\ndef"'
    pipe.send_text("echo a \\\rb &&\rtrue\r")
    assert await session.prompt_async("> ") == "echo a \\\nb &&\ntrue"


async def test_ctrl_r_searches_history(pipe: PipeInput) -> None:
    history = InMemoryHistory(["generate 'old prompt'", "ps --all"])
    session = make_session(make_shell(), history, input=pipe, output=DummyOutput())
    pipe.send_text("\x12gen\r\r")
    assert await session.prompt_async("> ") == "generate 'old prompt'"


async def test_auto_suggest_from_history() -> None:
    history = InMemoryHistory(["echo hello world"])
    async for _ in history.load():
        pass
    buffer = Buffer(history=history)
    suggestion = AutoSuggestFromHistory().get_suggestion(buffer, Document("echo h"))
    assert suggestion is not None and suggestion.text == "ello world"


async def test_repl_runs_lines_and_exits_with_status(pipe: PipeInput) -> None:
    shell = make_shell(interactive=True)
    pipe.send_text("X=4\recho hi $X\rgnerate\rexit 3\r")
    status = await run_repl(shell=shell, input=pipe, output=DummyOutput())
    assert status == 3
    assert shell.stdout.getvalue() == "hi 4\n"  # type: ignore[attr-defined]
    assert "did you mean 'generate'" in shell.stderr.getvalue()  # type: ignore[attr-defined]
    assert shell.history is not None
    assert [text for _, text in shell.history.entries()] == ["X=4", "echo hi $X", "gnerate",
                                                             "exit 3"]  # fmt: skip


async def test_ctrl_d_warns_about_running_jobs_then_exits(pipe: PipeInput) -> None:
    shell = make_shell(interactive=True)
    pipe.send_text("sleep 30 &\r")
    task = asyncio.ensure_future(run_repl(shell=shell, input=pipe, output=DummyOutput()))
    while not shell.jobs.live():
        await asyncio.sleep(0.01)
    pipe.send_text("\x04")
    while "press Ctrl-D again" not in shell.stderr.getvalue():  # type: ignore[attr-defined]
        await asyncio.sleep(0.01)
    pipe.send_text("\x04")
    assert await asyncio.wait_for(task, 20) == 0


async def test_interactive_line_reader(pipe: PipeInput) -> None:
    shell = make_shell(interactive=True)
    pipe.send_text("echo ok\rexit\r")
    await run_repl(shell=shell, input=pipe, output=DummyOutput())
    assert shell.line_reader is not None


def test_history_is_shared_by_concurrent_sessions(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    code = (
        "import sys; from llmsh.shell.history import HistoryStore; "
        "s = HistoryStore(sys.argv[1], sys.argv[2]); "
        "[s.add(f'cmd {sys.argv[2]} {i}') for i in range(100)]"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db), str(n)]) for n in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    store = HistoryStore(db)
    assert len(store.entries(10000)) == 400
    assert len(store.recent()) == 400
    store.add("cmd 0 0")
    assert store.recent()[0] == "cmd 0 0" and len(store.recent()) == 400


async def test_shell_helper_runs_without_a_prompt() -> None:
    assert (await sh(make_shell(), "echo plain")).out == "plain\n"

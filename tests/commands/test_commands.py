"""Commands against a real kernel: tables, --json, logs, devices, explain, model commands."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from llmsh.kernel import JobKind, Kernel, KernelConfig, KindRegistry
from llmsh.kernel.builtin_kinds import BUILTIN_KINDS
from llmsh.kernel.context import JobContext
from llmsh.shell.session import Shell
from tests.shell.test_interpreter import make_shell, sh

pytestmark = pytest.mark.timeout(60)
SEEN: list[dict[str, Any]] = []


async def fake_generate(ctx: JobContext) -> int:
    SEEN.append(dict(ctx.args))
    for word in ("tok1 ", "tok2 ", "tok3\n"):
        await ctx.checkpoint()
        ctx.write(word)
    return 0


def kinds(*extra: JobKind) -> KindRegistry:
    registry = KindRegistry()
    for kind in BUILTIN_KINDS:
        registry.register(kind)
    for kind in extra:
        registry.register(kind)
    return registry


@pytest.fixture
async def bare(tmp_path: Path) -> AsyncIterator[Shell]:
    """A shell on a kernel with no model job kinds."""
    kernel = Kernel(KernelConfig(state_dir=tmp_path / "bare", nvml=None), kinds=kinds())
    await kernel.start()
    yield make_shell(kernel)
    await kernel.close()


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[Shell]:
    """A shell on a kernel whose `generate` and `chat` kinds are scripted fakes."""
    kernel = Kernel(KernelConfig(state_dir=tmp_path / "fake", nvml=None),
                    kinds=kinds(JobKind("generate", fake_generate),
                                JobKind("chat", fake_generate)))  # fmt: skip
    await kernel.start()
    yield make_shell(kernel)
    await kernel.close()


async def test_ps_plain_json_and_filters(bare: Shell) -> None:
    await sh(bare, "sleep 0; sleep 30 &")
    r = await sh(bare, "ps")
    header, *rows = r.out.splitlines()
    assert header.split() == ["PID", "STATE", "PRI", "DEVICE", "MEM", "PROG", "TIME", "COMMAND"]
    assert len(rows) == 1 and rows[0].split()[1] == "running" and rows[0].endswith("sleep 30")
    procs = json.loads((await sh(bare, "ps --all --json")).out)
    assert [p["state"] for p in procs] == ["done", "running"]
    assert len(json.loads((await sh(bare, "ps --state done --json")).out)) == 1
    assert json.loads((await sh(bare, "ps --device cuda --json")).out) == []
    assert len(json.loads((await sh(bare, "ps --device cpu --json")).out)) == 1
    await sh(bare, "kill %1")


async def test_jobs_json(bare: Shell) -> None:
    await sh(bare, "sleep 30 &")
    (job,) = json.loads((await sh(bare, "jobs --json")).out)
    assert job["job"] == 1 and job["state"] == "running" and job["command"] == "sleep 30"
    await sh(bare, "kill %1")


async def test_logs_and_follow(bare: Shell) -> None:
    r = await sh(bare, "!echo logged; logs $!")
    assert r.out == "logged\n"
    await sh(bare, "!sh -c 'echo one; sleep 0.3; echo two' &")
    r = await sh(bare, "logs %1 --follow")
    assert r.out == "one\ntwo\n"


async def test_system_job_output_is_not_streamed_in_the_background(bare: Shell) -> None:
    r = await sh(bare, "!echo quiet & wait")
    assert r.out == ""
    assert (await sh(bare, "logs %1")).status == 1  # reaped by wait: no such job %1


async def test_devices_and_free(bare: Shell) -> None:
    (cpu,) = json.loads((await sh(bare, "devices --json")).out)
    assert cpu["id"] == "cpu" and cpu["mem_total"] > 0
    r = await sh(bare, "devices")
    assert r.out.splitlines()[1].startswith("cpu")
    r = await sh(bare, "free")
    assert r.out.splitlines()[1].startswith("RAM")
    assert json.loads((await sh(bare, "free --json")).out)["devices"][0]["device"] == "RAM"


async def test_explain_says_what_would_happen(bare: Shell) -> None:
    r = await sh(bare, "explain sleep 5 --bogus")
    assert r.status == 2 and "usage: sleep SECONDS" in r.err
    r = await sh(bare, "explain sleep 5")
    assert "job kind:   sleep" in r.out and "would start now on cpu" in r.out
    r = await sh(bare, "explain !ls -l")
    assert "job kind:   system" in r.out
    r = await sh(bare, "explain kill 3")
    assert "starts no job" in r.out and "destructive" in r.out
    assert (await sh(bare, "ps --json")).out == "[]\n"


async def test_model_commands_are_not_available_without_model_kinds(bare: Shell) -> None:
    for line in ("generate hi", "embed hi", "classify x --labels a,b", "load smollm2",
                 "unload smollm2", "finetune smollm2 --data d.txt", "eval m --data d.txt",
                 "chat"):  # fmt: skip
        r = await sh(bare, line)
        name = line.split()[0]
        assert r.status == 1, line
        assert r.err == f"llmsh: {name}: not available yet (model support is not installed)\n"


async def test_generate_streams_and_passes_its_arguments(fake: Shell) -> None:
    SEEN.clear()
    r = await sh(fake, "generate 'a prompt' --max-tokens 3 --temperature 0")
    assert (r.status, r.out) == (0, "tok1 tok2 tok3\n")
    assert SEEN == [{"prompt": "a prompt", "model": "smollm2", "max_tokens": 3,
                     "temperature": 0.0}]  # fmt: skip
    r = await sh(fake, "echo piped | generate --model other > /dev/null")
    assert SEEN[-1]["prompt"] == "piped" and SEEN[-1]["model"] == "other"


async def test_chat_with_piped_input_is_one_turn(fake: Shell) -> None:
    SEEN.clear()
    r = await sh(fake, "echo hello | chat")
    assert r.out == "tok1 tok2 tok3\n"
    assert SEEN[0]["messages"] == [{"role": "user", "content": "hello\n"}]


async def test_top_calls_the_tui(bare: Shell, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []

    async def run_top(kernel: object) -> int:
        calls.append(kernel)
        return 0

    monkeypatch.setitem(sys.modules, "llmsh.tui", types.SimpleNamespace(run_top=run_top))
    assert (await sh(bare, "top")).status == 0
    assert calls == [await bare.kernel()]
    monkeypatch.setitem(sys.modules, "llmsh.tui", types.SimpleNamespace())
    r = await sh(bare, "top")
    assert r.status == 1 and "not available yet" in r.err


def proposal(command: str | None, destructive: bool = False) -> Any:
    alternative = types.SimpleNamespace(command="ps --all")
    return types.SimpleNamespace(
        command=command, destructive=destructive, reason="unsure", alternatives=[alternative],
        to_json=lambda: {"command": command, "confidence": 0.9},
    )  # fmt: skip


async def test_nl_translates_then_runs(bare: Shell, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"show jobs": proposal("echo translated"), "kill all": proposal("kill %1", True),
               "gibberish": proposal(None)}  # fmt: skip
    fake_nl = types.SimpleNamespace(translate=answers.__getitem__)
    monkeypatch.setitem(sys.modules, "llmsh.nl_intent", fake_nl)
    assert (await sh(bare, "nl --dry-run show jobs")).out == "echo translated\n"
    data = json.loads((await sh(bare, "nl --json show jobs")).out)
    assert data == {"text": "show jobs", "command": "echo translated", "confidence": 0.9}
    r = await sh(bare, "nl show jobs")
    assert r.out == "translated\n" and "nl: echo translated" in r.err
    r = await sh(bare, "nl kill all")
    assert r.status == 1 and "without confirmation" in r.err
    answers["stop it all"] = proposal("exit")  # not flagged: the shell reads the line itself
    r = await sh(bare, "nl stop it all")
    assert r.status == 1 and "not running 'exit' without confirmation" in r.err
    r = await sh(bare, "nl gibberish")
    assert r.status == 1 and "did you mean: ps --all" in r.err


async def test_models_store_commands(bare: Shell) -> None:
    r = await sh(bare, "models")
    assert r.status == 0 and "no models in the store yet" in r.err
    assert (await sh(bare, "models --json")).out == "[]\n"
    r = await sh(bare, "models show nosuch")
    assert r.status == 1 and "nosuch" in r.err
    r = await sh(bare, "models rm nosuch")
    assert r.status == 1


def test_shell_without_kernel_fixture_uses_lazy_handle() -> None:
    shell = make_shell()
    assert not shell.kernel_started


async def test_version_and_clear(bare: Shell) -> None:
    from llmsh import __version__

    r = await sh(bare, "version")
    assert (r.status, r.out) == (0, f"llmsh {__version__}\n")
    r = await sh(bare, "clear")  # into a pipe: nothing to clear, nothing written
    assert (r.status, r.out) == (0, "")


def test_llmsh_version_flag() -> None:
    import subprocess

    from llmsh import __version__

    done = subprocess.run(
        [sys.executable, "-m", "llmsh", "--version"], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout) == (0, f"llmsh {__version__}\n")


async def test_help_finetune_says_the_data_format_and_the_defaults(bare: Shell) -> None:
    out = (await sh(bare, "help finetune")).out
    assert '{"prompt": ..., "completion": ...}' in out and '{"text": ...}' in out
    assert "--epochs 1, --lr 5e-4, --rank 8" in out and "MODEL-ft-PID" in out

"""A throwaway plugin adds a command, a job kind and language examples: help,
completion, ps and `plugins` see them, and it is gone after the test."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from llmsh.commands.registry import default_registry
from llmsh.kernel import KernelConfig
from llmsh.plugins import get_plugins
from llmsh.runtime import make_kernel
from llmsh.shell.completion import CompletionCache, ShellCompleter
from llmsh.shell.session import Shell
from tests.plugins.conftest import reset_singletons, write_plugin
from tests.shell.test_interpreter import make_shell, sh

pytestmark = pytest.mark.timeout(60)

THROWAWAY = '''
"""Says hello, slowly, as a kernel job."""
import time

from llmsh.commands.jobrun import make_spec, run_built_job
from llmsh.commands.spec import Arg, Command, Flag, ValueType

__version__ = "0.3"


def greet_job(ctx, args):
    return make_spec(ctx, "greeting", args, name=args["name"], seconds=args["seconds"] or 0)


def register_commands(register):
    register(Command(
        "greet", "say hello as a job", run_built_job,
        args=(Arg("name", ValueType.NAME, metavar="NAME"),),
        flags=(Flag("seconds", ValueType.FLOAT, metavar="S", help="take this long"),),
        job=greet_job, job_kind="greeting", category="fun", examples=("greet ada",),
    ))


def run_greeting(args, ctl):
    deadline = time.monotonic() + float(args["seconds"])
    while time.monotonic() < deadline:
        ctl.check()
        time.sleep(0.01)
    ctl.write(f"hello {args['name']}\\n")
    return 0


def register_job_kinds(register):
    from llmsh.kernel import JobKind, threaded

    register(JobKind("greeting", threaded(run_greeting), description="says hello"))


def register_nl_examples(register):
    register("greet", ["say hello to {name:person}", "greet {name:person}",
                       "wave at {name:person}", "hi {name:person}", "welcome {name:person}"],
             {"person": ["ada", "alan", "grace"]})
'''


@pytest.fixture
async def shell(fresh: None, llmsh_home: Path, tmp_path: Path) -> AsyncIterator[Shell]:
    write_plugin(llmsh_home, "throwaway", THROWAWAY)
    kernel = make_kernel(KernelConfig(state_dir=tmp_path / "state", nvml=None))
    await kernel.start()
    yield make_shell(kernel)
    await kernel.close()


def completions(shell: Shell, text: str) -> list[str]:
    completer = ShellCompleter(shell, CompletionCache(models_at=1e18))
    return [c.text.rstrip() for c in completer.get_completions(Document(text), CompleteEvent())]


async def test_help_and_completion_see_the_plugin_command(shell: Shell) -> None:
    overview = await sh(shell, "help")
    assert "Fun:" in overview.out and "  greet " in overview.out
    usage = await sh(shell, "help greet")
    assert usage.out.startswith("usage: greet NAME [--seconds S]")
    assert completions(shell, "gre") == ["greet"]
    assert completions(shell, "greet ada --s") == ["--seconds"]


async def test_its_job_kind_runs_in_the_kernel_and_shows_in_ps(shell: Shell) -> None:
    assert (await sh(shell, "greet ada")).out == "hello ada\n"
    await sh(shell, "greet grace --seconds 30 &")
    procs = json.loads((await sh(shell, "ps --json")).out)
    assert [(p["kind"], p["state"], p["argv"]) for p in procs] == [
        ("greeting", "running", ["greet", "grace", "--seconds", "30"])
    ]
    table = (await sh(shell, "ps")).out
    assert "greet grace --seconds 30" in table
    assert (await sh(shell, "kill %1")).status == 0
    await sh(shell, "wait")
    (proc,) = json.loads((await sh(shell, "ps --state killed --json")).out)
    assert proc["kind"] == "greeting"


async def test_plugins_lists_what_it_registered(shell: Shell) -> None:
    await sh(shell, "greet ada")  # the kernel collected the job kinds
    info = {p["name"]: p for p in json.loads((await sh(shell, "plugins --json")).out)["plugins"]}
    mine = info["throwaway"]
    assert mine["source"].endswith("plugins/throwaway.py") and mine["version"] == "0.3"
    assert mine["registered"] == {
        "commands": ["greet"], "job_kinds": ["greeting"], "nl_examples": ["greet"],
    }  # fmt: skip
    assert mine["builtin"] is False and mine["error"] is None
    assert info["commands"]["builtin"] and "ps" in info["commands"]["registered"]["commands"]
    assert "sleep" in info["kinds"]["registered"]["job_kinds"]
    assert "ps" in info["language"]["registered"]["nl_examples"]
    table = (await sh(shell, "plugins")).out
    header, *rows = table.splitlines()
    assert header.split() == ["NAME", "SOURCE", "VERSION", "REGISTERED"]
    (row,) = [r for r in rows if r.startswith("throwaway ")]
    assert "commands: greet; job kinds: greeting; NL examples: greet" in row


async def test_its_examples_reach_the_intent_parser(shell: Shell) -> None:
    from llmsh.nl_intent.examples import ExampleBook

    book = ExampleBook()
    get_plugins().collect("register_nl_examples", book.add, which="third-party")
    assert [t.text for t in book.templates["greet"]][:2] == ["say hello to {name:person}",
                                                            "greet {name:person}"]  # fmt: skip
    assert "person" in book.lexicons


async def test_the_plugin_is_gone_after_its_test(fresh: None) -> None:
    assert default_registry().get("greet") is None
    kernel_kinds = make_kernel(KernelConfig(nvml=None)).kinds
    assert "greeting" not in kernel_kinds and "sleep" in kernel_kinds
    assert "throwaway" not in get_plugins().infos


async def test_a_package_plugin_and_a_config_path_load(
    fresh: None, llmsh_home: Path, tmp_path: Path
) -> None:
    package = llmsh_home / "plugins" / "packaged"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from .cmds import register_commands\n")
    (package / "cmds.py").write_text(
        "from llmsh.commands.spec import Command\n"
        "async def run(ctx, args):\n    ctx.line('from a package')\n    return 0\n"
        "def register_commands(register):\n"
        "    register(Command('packaged', 'a package plugin', run, examples=('packaged',)))\n"
    )
    elsewhere = tmp_path / "elsewhere.py"
    elsewhere.write_text(
        "from llmsh.commands.spec import Command\n"
        "async def run(ctx, args):\n    ctx.line('from the config')\n    return 0\n"
        "def register_commands(register):\n"
        "    register(Command('elsewhere', 'listed in config', run, examples=('elsewhere',)))\n"
    )
    (llmsh_home / "config.toml").write_text(f'[plugins]\npaths = ["{elsewhere}"]\n')
    shell = make_shell()
    assert (await sh(shell, "packaged; elsewhere")).out == "from a package\nfrom the config\n"


MY_JOBS = """
from llmsh.commands.spec import Command

async def run(ctx, args):
    ctx.line("my jobs")
    return 0

def register_commands(register):
    register(Command("jobs", "my own jobs", run, examples=("jobs",)))
"""


async def test_config_override_lets_a_plugin_replace_a_builtin(
    fresh: None, llmsh_home: Path
) -> None:
    write_plugin(llmsh_home, "myjobs", MY_JOBS)
    shell = make_shell()
    assert (await sh(shell, "jobs")).out == ""  # built-ins first: no plugin loaded yet
    shell.registry.names()
    assert (await sh(shell, "jobs")).out == ""  # the clash kept the built-in
    assert "clashes with a built-in" in get_plugins().warnings[0]
    reset_singletons()
    (llmsh_home / "config.toml").write_text('[plugins]\noverride = ["jobs"]\n')
    shell = make_shell()
    shell.registry.names()
    assert (await sh(shell, "jobs")).out == "my jobs\n"

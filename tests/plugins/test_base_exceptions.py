"""A plugin raising SystemExit (or any BaseException) in a hook is one warning line and
skipped; it never ends the shell (issue 14, item 11). Ctrl-C still interrupts."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmsh.hookspecs import HOOKS
from llmsh.plugins import Plugins
from tests.plugins.conftest import run_llmsh, write_plugin

pytestmark = pytest.mark.timeout(120)

RAISERS = {
    "sysexit": "raise SystemExit(4)",
    "exitcall": "import sys; sys.exit('bye')",
    "custom": "class Odd(BaseException): pass\n    raise Odd('not an Exception')",
    "genexit": "raise GeneratorExit",
}


def plugins_in(folder: Path) -> Plugins:
    return Plugins(plugins_dir=folder, builtins={}, entry_points=False, warn=lambda m: None)


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize("how", sorted(RAISERS))
def test_every_hook_kind_survives_base_exceptions(tmp_path: Path, hook: str, how: str) -> None:
    write_plugin(tmp_path, "bad", f"def {hook}(register):\n    register('early')\n"
                                  f"    {RAISERS[how]}\n")  # fmt: skip
    write_plugin(tmp_path, "good", f"def {hook}(register):\n    register('fine')\n")
    plugins = plugins_in(tmp_path / "plugins")
    got: list[str] = []
    plugins.collect(hook, got.append, which="third-party")
    assert got == ["fine"]  # the bad one's early registration is dropped with it
    (warning,) = plugins.warnings
    assert "'bad'" in warning and f"failed in {hook} and was skipped" in warning
    assert "\n" not in warning
    assert plugins.infos["bad"].error and not plugins.infos["good"].error


def test_a_module_raising_systemexit_on_import_is_skipped(tmp_path: Path) -> None:
    write_plugin(tmp_path, "atimport", "raise SystemExit(4)\n")
    plugins = plugins_in(tmp_path / "plugins")
    plugins.collect("register_commands", lambda c: None, which="third-party")
    assert plugins.infos["atimport"].error == "SystemExit: 4"


def test_a_describe_that_raises_systemexit_is_a_warning(tmp_path: Path) -> None:
    write_plugin(tmp_path, "sneaky", """
        class Sneaky:
            @property
            def name(self):
                raise SystemExit(9)

        def register_commands(register):
            register(Sneaky())
    """)  # fmt: skip
    plugins = plugins_in(tmp_path / "plugins")
    plugins.collect("register_commands", lambda c: None, which="third-party")
    assert any("SystemExit: 9" in w for w in plugins.warnings)


def test_keyboard_interrupt_still_interrupts(tmp_path: Path) -> None:
    write_plugin(
        tmp_path, "ctrlc", "def register_commands(register):\n    raise KeyboardInterrupt\n"
    )
    plugins = plugins_in(tmp_path / "plugins")
    with pytest.raises(KeyboardInterrupt):
        plugins.collect("register_commands", lambda c: None, which="third-party")


def test_the_shell_starts_and_says_one_line_each(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_plugin(home, "quitter", "def register_commands(register):\n    raise SystemExit(4)\n")
    write_plugin(home, "oddkind", """
        class Odd(BaseException):
            pass

        def register_job_kinds(register):
            raise Odd("from a job-kind hook")
    """)  # fmt: skip
    result = run_llmsh(home, "-c", "echo ok; sleep 0; echo after")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["ok", "after"]
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert "Traceback" not in result.stderr
    (quitter,) = [line for line in lines if "'quitter'" in line]
    assert "register_commands" in quitter and "SystemExit: 4" in quitter
    (odd,) = [line for line in lines if "'oddkind'" in line]
    assert "register_job_kinds" in odd and "Odd: from a job-kind hook" in odd


def test_a_plugin_command_calling_sys_exit_ends_only_itself(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_plugin(home, "quitcmd", """
        import sys
        from llmsh.commands.spec import Command

        async def run(ctx, args):
            sys.exit(4)

        def register_commands(register):
            register(Command("quit4", "exits the process", run, examples=("quit4",)))
    """)  # fmt: skip
    result = run_llmsh(home, "-c", "quit4; echo after $?")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "after 1\n"
    assert result.stderr.splitlines() == [
        "llmsh: quit4: internal error: SystemExit: 4 (run llmsh --debug for the traceback)"
    ]

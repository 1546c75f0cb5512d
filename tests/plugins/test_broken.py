"""Broken plugins never stop llmsh: each is named in one line and the built-ins run.
`--safe` and an empty LLMSH_LOAD_PLUGINS import no third-party plugin at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.plugins.conftest import run_llmsh, write_plugin

pytestmark = pytest.mark.timeout(120)

SYNTAX_ERROR = "def register_commands(register)\n    pass\n"
RAISES_IN_HOOK = """
def register_job_kinds(register):
    raise RuntimeError("no GPU driver for my kind")
"""
CLASHES = """
from llmsh.commands.spec import Command

async def run(ctx, args):
    ctx.line("not the real ps")
    return 0

def register_commands(register):
    register(Command("ps", "a fake ps", run, examples=("ps",)))
"""
SPY = """
def register_commands(register):
    pass
"""


@pytest.fixture
def broken_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    write_plugin(home, "syntaxerr", SYNTAX_ERROR)
    write_plugin(home, "hookfail", RAISES_IN_HOOK)
    write_plugin(home, "clash", CLASHES)
    return home


def test_llmsh_starts_names_each_broken_plugin_and_runs_builtins(broken_home: Path) -> None:
    result = run_llmsh(broken_home, "-c", "echo ok; ps")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0] == "ok" and out[1].split()[:2] == ["PID", "STATE"]
    assert "not the real ps" not in result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 3, result.stderr
    (syntax,) = [line for line in lines if "'syntaxerr'" in line]
    assert "failed to load" in syntax and "SyntaxError" in syntax
    (hook,) = [line for line in lines if "'hookfail'" in line]
    assert "register_job_kinds" in hook and "no GPU driver for my kind" in hook
    (clash,) = [line for line in lines if "'clash'" in line]
    assert "'ps' clashes with a built-in" in clash
    assert all(line.startswith("llmsh: plugin ") for line in lines)


def test_plugins_command_shows_the_broken_ones(broken_home: Path) -> None:
    result = run_llmsh(broken_home, "-c", "plugins --json")
    assert result.returncode == 0, result.stderr
    found = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert found["syntaxerr"]["error"].startswith("SyntaxError")
    assert found["hookfail"]["error"] == "RuntimeError: no GPU driver for my kind"
    assert found["clash"]["error"] is None and found["clash"]["registered"] == {}
    warnings = json.loads(result.stdout)["warnings"]
    assert len(warnings) == 3 and any("clashes" in w for w in warnings)
    table = run_llmsh(broken_home, "-c", "plugins").stdout
    assert "failed: SyntaxError" in table and "Warnings:" in table


MODULES = """
import json, sys
from llmsh.cli import run
status = run({argv!r})
third = sorted(m for m in sys.modules
               if m.startswith(("llmsh_plugin_", "llmsh_summarize", "llmsh_sweep")))
print(json.dumps({{"status": status, "third_party": third}}))
"""


@pytest.mark.parametrize("how", ["--safe", "LLMSH_LOAD_PLUGINS="])
def test_safe_mode_imports_no_third_party_plugin(broken_home: Path, how: str) -> None:
    write_plugin(broken_home, "spy", SPY)
    argv = (["--safe"] if how == "--safe" else []) + ["-c", "plugins; help > /dev/null; ps"]
    env = {"LLMSH_LOAD_PLUGINS": ""} if how != "--safe" else {}
    result = run_llmsh(broken_home, env=env, code=MODULES.format(argv=argv))
    assert result.stderr == ""
    report = json.loads(result.stdout.splitlines()[-1])
    assert report == {"status": 0, "third_party": []}
    assert "Third-party plugins are not loaded" in result.stdout
    assert "spy" not in result.stdout and "clash" not in result.stdout


def test_without_safe_the_same_probe_sees_them(broken_home: Path) -> None:
    write_plugin(broken_home, "spy", SPY)
    result = run_llmsh(broken_home, code=MODULES.format(argv=["-c", "plugins > /dev/null"]))
    third = json.loads(result.stdout.splitlines()[-1])["third_party"]
    assert "llmsh_plugin_spy" in third and "llmsh_plugin_clash" in third


def test_a_broken_plugin_never_replaces_a_loaded_one_of_the_same_name(tmp_path: Path) -> None:
    from llmsh.plugins import Plugins

    root = tmp_path / "plugins"
    (root / "dup").mkdir(parents=True)
    (root / "dup" / "__init__.py").write_text(
        "def register_commands(register):\n    register('x')\n"
    )
    (root / "dup.py").write_text(SYNTAX_ERROR)  # sorted after the package: loads second
    warnings: list[str] = []
    plugins = Plugins(plugins_dir=root, builtins={}, entry_points=False, warn=warnings.append)
    found: list[str] = []
    plugins.collect("register_commands", found.append)
    assert found == ["x"] and plugins.infos["dup"].error == ""
    broken = plugins.infos[f"dup ({root / 'dup.py'})"]
    assert broken.name == "dup" and broken.error.startswith("SyntaxError")
    assert len(warnings) == 1 and "'dup'" in warnings[0]

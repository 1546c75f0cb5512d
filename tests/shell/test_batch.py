"""Batch use: the scripts under tests/scripts, `-c`, stdin, shebang, exit statuses.

Each ``tests/scripts/NAME.llmsh`` runs as ``llmsh NAME.llmsh ARGS`` in a fresh
LLMSH_HOME; its standard output must equal ``NAME.expected`` (and its standard
error ``NAME.stderr`` when that file exists). Header comments set the expected
exit status (``# expect-status: N``) and the arguments (``# args: ...``; by
default one argument, a scratch directory).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).parent.parent / "scripts"
LLMSH = [sys.executable, "-m", "llmsh"]


def llmsh(
    *args: str, cwd: Path | None = None, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.run([*LLMSH, *args], cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=timeout, env=env)  # fmt: skip


def header(script: Path, key: str) -> str | None:
    for line in script.read_text().splitlines():
        if line.startswith(f"# {key}:"):
            return line.split(":", 1)[1].strip()
    return None


@pytest.mark.parametrize("script", sorted(SCRIPTS.glob("*.llmsh")), ids=lambda p: p.stem)
def test_script(script: Path, tmp_path: Path) -> None:
    args = header(script, "args")
    argv = shlex.split(args) if args is not None else [str(tmp_path)]
    result = llmsh(script.name, *argv, cwd=SCRIPTS)
    assert result.stdout == script.with_suffix(".expected").read_text(), result.stderr
    stderr = script.with_suffix(".stderr")
    if stderr.exists():
        assert result.stderr == stderr.read_text()
    assert result.returncode == int(header(script, "expect-status") or 0), result.stderr


def test_every_script_has_expected_output() -> None:
    scripts = sorted(SCRIPTS.glob("*.llmsh"))
    assert len(scripts) >= 10
    for script in scripts:
        assert script.with_suffix(".expected").exists(), script.name


def test_dash_c_runs_a_string_with_arguments() -> None:
    result = llmsh("-c", 'echo "$# $1"; false', "a b", "c")
    assert result.stdout == "2 a b\n"
    assert result.returncode == 1


def test_commands_on_stdin_run_as_a_script() -> None:
    result = llmsh(stdin="X=5\necho $X\nexit 3\necho no\n")
    assert (result.stdout, result.returncode) == ("5\n", 3)


def test_shebang_script_runs_directly(tmp_path: Path) -> None:
    script = tmp_path / "hello.llmsh"
    script.write_text("#!/usr/bin/env llmsh\necho shebang $1\n")
    script.chmod(0o755)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    result = subprocess.run([str(script), "ok"], capture_output=True, text=True, env=env,
                            timeout=60)  # fmt: skip
    assert result.stdout == "shebang ok\n"


def test_script_waits_for_its_background_jobs(tmp_path: Path) -> None:
    code = f"!sh -c 'sleep 0.3; echo late > {tmp_path}/late.txt' &\necho started\n"
    result = llmsh("-c", code)
    assert result.stdout == "started\n"
    assert (tmp_path / "late.txt").read_text() == "late\n"


def test_exit_does_not_wait_for_background_jobs(tmp_path: Path) -> None:
    result = llmsh("-c", f"!sh -c 'sleep 5; touch {tmp_path}/x' &\nexit 0", timeout=30)
    assert result.returncode == 0
    assert not (tmp_path / "x").exists()


def test_missing_script_file() -> None:
    result = llmsh("no-such-file.llmsh")
    assert result.returncode == 127
    assert "no-such-file.llmsh" in result.stderr


def test_no_traceback_for_user_mistakes() -> None:
    result = llmsh("-c", "kill 999999; renice 99 1; ps --state nope; gnerate x")
    assert "Traceback" not in result.stderr
    assert "llmsh: kill: no such job: 999999" in result.stderr
    assert "unknown command 'gnerate' (did you mean 'generate'?)" in result.stderr


def test_model_commands_answer_not_available_until_the_model_layer_lands() -> None:
    result = llmsh("-c", "generate hello")
    if "not available yet" in result.stderr:
        assert result.stderr.startswith("llmsh: generate: not available yet")
        assert result.returncode == 1


def test_cli_usage_errors() -> None:
    assert llmsh("--bogus").returncode == 2
    assert llmsh("-c").returncode == 2
    assert "usage: llmsh" in llmsh("--help").stdout


def test_subcommands_route_to_registry_commands() -> None:
    result = llmsh("models", "pull", "--no-such-flag")
    assert result.returncode == 2
    assert "usage: models pull" in result.stderr
    result = llmsh("nl", "--json")
    assert result.returncode in (1, 2)


def test_kernel_subcommand_goes_to_the_daemon_cli() -> None:
    result = llmsh("kernel", "--help")
    assert "Traceback" not in result.stderr


def test_connect_without_a_daemon_is_a_clean_error(tmp_path: Path) -> None:
    result = llmsh("--connect", str(tmp_path / "none.sock"), "-c", "echo first; ps")
    assert result.stdout == "first\n"
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("llmsh: ps: ")


def test_safe_mode_is_accepted() -> None:
    assert llmsh("--safe", "-c", "echo ok").stdout == "ok\n"

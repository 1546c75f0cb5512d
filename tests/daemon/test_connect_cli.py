"""Issue 14 item 12: `llmsh --connect tcp://HOST:PORT` is an address, and a mistyped one
(a space before the port) is a one-line error, never a script path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmsh.cli import CliError, parse_cli

from .conftest import DaemonProcess
from .test_cli import kernel_cmd


def llmsh(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, NO_COLOR="1")
    full.pop("LLMSH_KERNEL", None)
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "llmsh", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=full,
    )


def test_a_tcp_address_is_not_a_script() -> None:
    opts = parse_cli(["--connect", "tcp://127.0.0.1:7070", "-c", "ps"])
    assert (opts.connect, opts.command, opts.file) == ("tcp://127.0.0.1:7070", "ps", None)
    assert parse_cli(["--connect=tcp://[::1]:1", "top"]).connect == "tcp://[::1]:1"
    assert parse_cli(["--connect", "tcp://7070"]).connect == "tcp://7070"


@pytest.mark.parametrize(
    "argv",
    [
        ["--connect", "tcp://127.0.0.1", "7070"],  # a space instead of the colon
        ["--connect", "tcp://127.0.0.1:", "7070"],  # a space after it
        ["--connect", "tcp://127.0.0.1 7070"],  # one quoted word with a space
        ["--connect=tcp://host:http"],
        ["--connect", "tcp://host:99999"],
        ["--connect", "tcp://"],
    ],
)
def test_a_mistyped_tcp_address_is_a_usage_error(argv: list[str]) -> None:
    with pytest.raises(CliError, match=r"write the address as tcp://HOST:PORT \(no spaces\)"):
        parse_cli(argv)


def test_the_mistake_from_the_command_line(tmp_path: Path) -> None:
    result = llmsh("--connect", "tcp://127.0.0.1", "7070", "-c", "ps")
    assert result.returncode == 2 and result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first == (
        "llmsh: --connect tcp://127.0.0.1: write the address as tcp://HOST:PORT (no spaces)"
    )
    assert "7070" not in result.stderr.replace("tcp://127.0.0.1", "")  # not run as a file
    env = {"LLMSH_KERNEL": "tcp://127.0.0.1", "LLMSH_HOME": str(tmp_path)}
    from_env = llmsh("-c", "ps", env=env)
    assert from_env.returncode == 1 and "Traceback" not in from_env.stderr
    assert "bad kernel daemon address 'tcp://127.0.0.1': write tcp://HOST:PORT" in (from_env.stderr)


def test_a_shell_over_tcp(short_dir: Path, daemon_process: DaemonProcess) -> None:
    token = short_dir / "token"
    token.write_text("tcp-secret\n")
    token.chmod(0o600)
    daemon_process.start("--listen", "127.0.0.1:0", "--token-file", str(token))
    status = kernel_cmd(short_dir, "status", "--socket", str(daemon_process.socket))
    listen = next(line for line in status.stdout.splitlines() if "tcp " in line).split()[-1]
    env = {"LLMSH_TOKEN": "tcp-secret", "LLMSH_HOME": str(short_dir)}
    result = llmsh("--connect", f"tcp://{listen}", "-c", "sleep 0; !echo hi", env=env)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().endswith(
        "permission denied: TCP clients may not run system jobs (the daemon's config.toml "
        "can allow it: [daemon] tcp_system_jobs = true)"
    )
    assert "hi" not in result.stdout

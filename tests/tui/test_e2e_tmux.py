"""`python -m llmsh.tui` in a real terminal under tmux: header, a running job, q quits."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

ROOT = Path(__file__).resolve().parents[2]


def tmux(server: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", "-L", server, *args], capture_output=True, text=True, timeout=10)


def screen(server: str) -> str:
    return tmux(server, "capture-pane", "-p", "-t", "top").stdout


def wait_for(server: str, found: object, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = screen(server)
        if found(text):  # type: ignore[operator]
            return text
        time.sleep(0.2)
    raise AssertionError(f"not found on screen:\n{text}")


def test_top_in_tmux_shows_header_and_running_job_then_quits(tmp_path: Path) -> None:
    server = f"llmsh-test-{os.getpid()}"
    command = f"{sys.executable} -m llmsh.tui --demo 3 --no-gpu --state-dir {tmp_path}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
    subprocess.run(
        [
            "tmux",
            "-L",
            server,
            "new-session",
            "-d",
            "-s",
            "top",
            "-x",
            "150",
            "-y",
            "45",
            "-c",
            str(ROOT),
            command,
        ],
        check=True,
        env=env,
        timeout=10,
    )
    try:
        text = wait_for(server, lambda t: "Jobs:" in t and "sleep 60" in t)
        assert "Mem[" in text and "PID" in text and "COMMAND" in text
        row = next(line for line in text.splitlines() if "sleep 60" in line)
        assert "running" in row and "demo" in row
        queued = next(line for line in text.splitlines() if "sleep 180" in line)
        assert "queued #1" in queued
        tmux(server, "send-keys", "-t", "top", "q")
        deadline = time.monotonic() + 15
        while tmux(server, "has-session", "-t", "top").returncode == 0:
            assert time.monotonic() < deadline, "top did not exit on q"
            time.sleep(0.2)
    finally:
        tmux(server, "kill-server")


def test_llmsh_top_attaches_to_a_daemon_from_another_terminal(tmp_path: Path) -> None:
    """The way people use it: a daemon, a job started from one shell, `llmsh top` in another."""
    llmsh = str(Path(sys.executable).with_name("llmsh"))
    sock = tmp_path / "k.sock"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
    env["LLMSH_HOME"] = str(tmp_path / "home")
    subprocess.run(
        [llmsh, "kernel", "serve", "--socket", str(sock)], check=True, env=env, timeout=60
    )
    server = f"llmsh-test-d{os.getpid()}"
    try:
        started = subprocess.run(
            [llmsh, "--connect", str(sock), "-c", "sleep 120 &"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert started.returncode == 0, started.stderr
        subprocess.run(
            [
                "tmux",
                "-L",
                server,
                "new-session",
                "-d",
                "-s",
                "top",
                "-x",
                "150",
                "-y",
                "45",
                f"LLMSH_HOME={env['LLMSH_HOME']} {llmsh} top --socket {sock}",
            ],
            check=True,
            env=env,
            timeout=10,
        )
        text = wait_for(server, lambda t: "sleep 120" in t)
        row = next(line for line in text.splitlines() if "sleep 120" in line)
        assert "running" in row
        assert "Mem[" in text and "no kernel is running" not in text
        tmux(server, "send-keys", "-t", "top", "q")
        deadline = time.monotonic() + 15
        while tmux(server, "has-session", "-t", "top").returncode == 0:
            assert time.monotonic() < deadline, "top did not exit on q"
            time.sleep(0.2)
    finally:
        tmux(server, "kill-server")
        subprocess.run(
            [llmsh, "kernel", "stop", "--socket", str(sock), "--timeout", "0"],
            env=env,
            capture_output=True,
            timeout=60,
        )

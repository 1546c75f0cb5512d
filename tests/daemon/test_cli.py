"""`llmsh kernel serve|status|stop` as a user runs them (the daemonising path included)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from llmsh.daemon import cli
from llmsh.daemon.security import PidLock


def kernel_cmd(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LLMSH_HOME=str(home))
    env.pop("LLMSH_KERNEL", None)
    return subprocess.run(
        [sys.executable, "-m", "llmsh.daemon", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def home(short_dir: Path) -> Iterator[Path]:
    yield short_dir
    pid = PidLock(short_dir / "kernel.sock").read_pid()  # never leave a daemon behind
    if pid:
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).send_signal(signal.SIGKILL)


def test_serve_status_stop(home: Path) -> None:
    started = kernel_cmd(home, "serve")  # daemonises; returns once it serves
    assert started.returncode == 0, started.stderr
    assert "kernel daemon started" in started.stdout
    sock = home / "kernel.sock"  # $LLMSH_HOME is the runtime dir
    assert sock.exists() and (sock.stat().st_mode & 0o777) == 0o600
    pid = PidLock(sock).read_pid()
    assert pid and psutil.pid_exists(pid)

    again = kernel_cmd(home, "serve")
    assert again.returncode == 1 and "already serves" in again.stderr

    status = kernel_cmd(home, "status")
    assert status.returncode == 0, status.stderr
    assert f"pid {pid}" in status.stdout and "jobs: 0 running" in status.stdout
    info = json.loads(kernel_cmd(home, "status", "--json").stdout)
    assert info["pid"] == pid and info["clients"] == 1

    stopped = kernel_cmd(home, "stop", "--timeout", "1")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not sock.exists()
    assert not PidLock(sock).held_by_other()
    assert (home / "daemon.log").exists()

    gone = kernel_cmd(home, "status")
    assert gone.returncode == 1 and "no kernel daemon is running" in gone.stderr
    assert kernel_cmd(home, "stop").returncode == 1


def test_listen_needs_a_token(
    capsys: pytest.CaptureFixture[str], short_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LLMSH_TOKEN", raising=False)
    code = cli.main(["serve", "--socket", str(short_dir / "k.sock"), "--listen", ":0"])
    assert code == 1
    assert "--listen needs a token" in capsys.readouterr().err

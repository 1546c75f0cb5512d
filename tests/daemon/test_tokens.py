"""Issue 14 item 3: a TCP token never on a command line; TCP clients run no commands."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from llmsh.daemon import Daemon, RemoteKernel, cli, connect
from llmsh.daemon.limits import DaemonLimits, PermissionDenied
from llmsh.daemon.security import TOKEN_ENV, read_token_file
from llmsh.kernel import JobState, KernelError

from .conftest import DaemonProcess, make_kernel, tcp_daemon_on
from .test_cli import kernel_cmd
from .test_clients import sleep, system

TOKEN = "s3cret-token"


def _token_file(folder: Path, mode: int = 0o600, text: str = TOKEN + "\n") -> Path:
    path = folder / "token"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_a_private_token_file_is_read(short_dir: Path) -> None:
    assert read_token_file(_token_file(short_dir)) == TOKEN


@pytest.mark.parametrize(
    ("mode", "text", "message"),
    [
        (0o644, TOKEN, r"open to other users \(mode 0644\): run chmod 600"),
        (0o640, TOKEN, r"open to other users \(mode 0640\): run chmod 600"),
        (0o600, "", "must hold the token on one line"),
        (0o600, "one\ntwo\n", "must hold the token on one line"),
        (0o600, "x" * 5000, "too large"),
    ],
)
def test_a_bad_token_file_is_refused_with_the_fix(
    short_dir: Path, mode: int, text: str, message: str
) -> None:
    with pytest.raises(KernelError, match=message):
        read_token_file(_token_file(short_dir, mode, text))


def test_a_token_file_that_is_a_link_or_missing_or_not_a_file(short_dir: Path) -> None:
    target = _token_file(short_dir)
    link = short_dir / "link"
    link.symlink_to(target)
    with pytest.raises(KernelError, match="cannot read the token file"):
        read_token_file(link)  # a link could point at a file someone else controls
    with pytest.raises(KernelError, match="No such file"):
        read_token_file(short_dir / "missing")
    with pytest.raises(KernelError, match="not a regular file"):
        read_token_file(short_dir)


def test_a_token_file_of_another_user_is_refused(short_dir: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to give the file away")
    path = _token_file(short_dir)
    os.chown(path, 65534, 65534)
    with pytest.raises(KernelError, match="belongs to uid 65534, not to you"):
        read_token_file(path)


@pytest.mark.parametrize("command", ["serve", "status", "stop"])
@pytest.mark.parametrize("form", [["--token", "abc"], ["--token=abc"]])
def test_token_on_the_command_line_is_refused(
    command: str,
    form: list[str],
    short_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [command, "--socket", str(short_dir / "k.sock"), *form]
    if command == "serve":
        argv += ["--listen", "127.0.0.1:0", "--foreground"]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0  # one line
    assert "--token would show the token to every user (ps)" in err
    assert f"--token-file FILE, or set ${TOKEN_ENV}" in err
    assert not (short_dir / "k.sock").exists()  # nothing was started


def test_serve_refuses_a_loose_token_file(
    short_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = _token_file(short_dir, 0o644)
    argv = ["serve", "--socket", str(short_dir / "k.sock"), "--listen", "127.0.0.1:0"]
    assert cli.main([*argv, "--token-file", str(token), "--foreground"]) == 1
    assert f"run chmod 600 {token}" in capsys.readouterr().err
    assert not (short_dir / "k.sock").exists()


def test_status_over_tcp_with_a_token_file(short_dir: Path, daemon_process: DaemonProcess) -> None:
    token = _token_file(short_dir)
    proc = daemon_process.start("--listen", "127.0.0.1:0", "--token-file", str(token))
    assert TOKEN not in " ".join(map(str, proc.args))  # what `ps` shows
    local = kernel_cmd(short_dir, "status", "--json", "--socket", str(daemon_process.socket))
    listen = json.loads(local.stdout)["listen"]
    ok = kernel_cmd(short_dir, "status", "--socket", f"tcp://{listen}", "--token-file", str(token))
    assert ok.returncode == 0, ok.stderr
    assert "kernel daemon: pid" in ok.stdout
    bad = kernel_cmd(short_dir, "status", "--socket", f"tcp://{listen}")
    assert bad.returncode == 1 and "wrong or missing token" in bad.stderr


# -- TCP clients and command jobs -------------------------------------------------------


@pytest.fixture
async def tcp_daemon(short_dir: Path) -> AsyncIterator[Daemon]:
    async with tcp_daemon_on(short_dir, TOKEN) as served:
        yield served


async def _tcp(daemon: Daemon) -> RemoteKernel:
    assert daemon.tcp_address is not None
    host, port = daemon.tcp_address
    return await connect(f"tcp://{host}:{port}", token=TOKEN)


async def test_tcp_clients_may_not_run_system_jobs(tcp_daemon: Daemon) -> None:
    remote = await _tcp(tcp_daemon)
    local = await connect(tcp_daemon.socket_path)
    try:
        with pytest.raises(PermissionDenied, match="TCP clients may not run system jobs"):
            await remote.submit(system("echo owned"))
        assert await tcp_daemon.kernel.list(include_finished=True) == []
        job = await remote.submit(sleep(0))  # other kinds are fine
        assert (await remote.wait([job.pid], 10))[0].state is JobState.DONE
        # The socket's owner may; a TCP client may not restart that job either.
        mine = await local.submit(system("echo mine"))
        assert (await local.wait([mine.pid], 10))[0].state is JobState.DONE
        with pytest.raises(PermissionDenied, match="tcp_system_jobs = true"):
            await remote.restart(mine.pid)
        assert (await remote.explain(system("true"))).kind == "system"  # no run: allowed
    finally:
        await remote.close()
        await local.close()


async def test_config_can_allow_tcp_system_jobs(short_dir: Path) -> None:
    served = Daemon(
        make_kernel(short_dir / "state"),
        short_dir / "k.sock",
        listen=("127.0.0.1", 0),
        token=TOKEN,
        limits=DaemonLimits.from_config({"tcp_system_jobs": True}),
    )
    await served.start()
    remote = await _tcp(served)
    try:
        job = await remote.submit(system("echo allowed"))
        assert (await remote.wait([job.pid], 10))[0].state is JobState.DONE
        assert "allowed" in await remote.output(job.pid)
    finally:
        await remote.close()
        await served.stop(0)


def test_limits_from_config() -> None:
    assert DaemonLimits.from_config({}) == DaemonLimits()
    assert DaemonLimits.from_config({"executor": "ray"}) == DaemonLimits()  # others' keys
    limits = DaemonLimits.from_config(
        {"hello_timeout": 2, "max_unauthenticated": 9, "max_unauthenticated_per_address": 3}
    )
    assert (limits.hello_timeout, limits.max_unauthenticated) == (2.0, 9)
    assert limits.max_unauthenticated_per_address == 3 and not limits.tcp_system_jobs
    for table, message in [
        ({"tcp_system_jobs": "yes"}, "tcp_system_jobs must be true or false"),
        ({"tcp_system_jobs": 1}, "tcp_system_jobs must be true or false"),
        ({"hello_timeout": "10"}, "hello_timeout must be a number"),
        ({"hello_timeout": 0}, "hello_timeout must be a number of seconds > 0"),
        ({"max_unauthenticated": True}, "max_unauthenticated must be an integer"),
        ({"max_unauthenticated_per_address": 0}, "must be an integer >= 1"),
    ]:
        with pytest.raises(KernelError, match=message):
            DaemonLimits.from_config(table)


def test_serve_reports_a_bad_daemon_config(
    short_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LLMSH_HOME", str(short_dir))
    (short_dir / "config.toml").write_text("[daemon]\ntcp_system_jobs = 'yes'\n")
    assert cli.main(["serve", "--socket", str(short_dir / "k.sock"), "--foreground"]) == 1
    err = capsys.readouterr().err
    assert "config.toml: [daemon] tcp_system_jobs must be true or false" in err
    assert not (short_dir / "k.sock").exists()

"""Issue 14 items 3, 4 and 12 with a real second OS user: it reads none of the daemon's
state and is refused by the socket with a message naming the owner.

Needs root (to create the user with `useradd` and to drop to it); skipped otherwise.
The checks run in a child forked from this test process that drops to the new user
after everything it needs is imported: the venv's interpreter lives under /root, which
the other user may not enter.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmsh.daemon import DaemonUnavailable, connect
from llmsh.kernel import JobState
from llmsh.shell.history import HistoryStore

from .test_cli import kernel_cmd
from .test_clients import system

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None,
    reason="needs root and useradd to create a second user",
)


@pytest.fixture
def other_user() -> Iterator[pwd.struct_passwd]:
    name = f"llmsh-t{os.getpid()}"
    subprocess.run(
        ["useradd", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name],
        check=True,
        capture_output=True,
    )
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


def as_user(user: pwd.struct_passwd, probe: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`probe()` run by `user` in a forked child; its JSON-able result."""
    read_fd, write_fd = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        code = 0
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            result = probe()
        except BaseException as exc:
            result, code = {"child failed": repr(exc)}, 1
        os.write(write_fd, json.dumps(result).encode())
        os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as answer:
        data = answer.read()
    _, status = os.waitpid(child, 0)
    result: dict[str, Any] = json.loads(data)
    assert os.waitstatus_to_exitcode(status) == 0, result
    return result


def _try_read(path: Path) -> str:
    try:
        if path.is_dir():
            os.listdir(path)
        else:
            path.read_bytes()
    except OSError as exc:
        return type(exc).__name__
    return "read it"


def _try_connect(sock: Path) -> str:
    async def attempt() -> str:
        try:
            kernel = await connect(sock, timeout=10)
        except DaemonUnavailable as exc:
            return str(exc)
        await kernel.close()
        return "connected"

    return asyncio.run(attempt())


def test_another_user_reads_nothing_and_is_refused(
    short_dir: Path, other_user: pwd.struct_passwd
) -> None:
    home = short_dir
    sock = home / "kernel.sock"
    started = kernel_cmd(home, "serve")
    assert started.returncode == 0, started.stderr
    try:

        async def a_job() -> int:
            kernel = await connect(sock)
            proc = await kernel.submit(system("echo the daemon user secret"))
            assert (await kernel.wait([proc.pid], 30))[0].state is JobState.DONE
            await kernel.close()
            return proc.pid

        pid = asyncio.run(a_job())  # also imports all the child needs before it drops
        history = HistoryStore(home / "history.db")
        history.add("export API_KEY=typed-secret")
        history.close()
        assert _try_connect(sock) == "connected"
        # Let the other user through the directories (search only), so that the files'
        # own modes are what is tested, not just their 0700 directory.
        for folder in (home, home / "jobs"):
            folder.chmod(0o711)
        private = [
            home,
            home / "jobs",
            home / "jobs.db",
            home / "jobs.db-wal",
            home / f"jobs/{pid}.log",
            home / "history.db",
            home / "daemon.log",
        ]
        assert all(path.exists() for path in private)

        def probe() -> dict[str, Any]:
            found = {str(path): _try_read(path) for path in private}
            found["connect"] = _try_connect(sock)
            return found

        seen = as_user(other_user, probe)
        refused = seen.pop("connect")
        assert seen == {str(path): "PermissionError" for path in private}
        assert refused == (
            f"the kernel daemon at {sock} belongs to uid 0: only its own user may connect"
        )
        # A socket someone made reachable: the daemon itself checks the peer's uid and
        # says why before it hangs up (it used to be ECONNRESET).
        sock.chmod(0o666)
        answer = as_user(other_user, lambda: {"connect": _try_connect(sock)})["connect"]
        assert f"permission denied: the kernel daemon at {sock} belongs to uid 0" in answer
        assert (
            f"uid {other_user.pw_uid}: not this daemon's user" in (home / "daemon.log").read_text()
        )
    finally:
        stopped = kernel_cmd(home, "stop", "--timeout", "0")
    assert stopped.returncode == 0, stopped.stderr

"""Issue 14 item 4: what llmsh writes is its user's alone (dirs 0700, files 0600), whatever
the umask, and state found open to others is tightened with a notice."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmsh import paths
from llmsh.daemon import connect
from llmsh.kernel import JobState
from llmsh.shell.history import HistoryStore

from .test_clients import sleep, system


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The worst umask a user can have: everything created would be world-writable."""
    old = os.umask(0)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def open_to_others(root: Path) -> list[str]:
    """Every path under `root` (itself included) that group or others may use."""
    found = [] if not _mode(root) & 0o077 else [f"{root} {_mode(root):04o}"]
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            if not stat.S_ISLNK(os.lstat(path).st_mode) and _mode(path) & 0o077:
                found.append(f"{path} {_mode(path):04o}")
    return found


def test_private_dir_and_file_under_an_open_umask(
    short_dir: Path, open_umask: None, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = paths.private_dir(short_dir / "a" / "b")
    assert _mode(folder) == 0o700
    file = paths.private_file(folder / "f.db")
    assert _mode(file) == 0o600 and file.read_bytes() == b""
    with open(folder / "out.log", "a", opener=paths.private_opener) as out:
        out.write("x")
    assert _mode(folder / "out.log") == 0o600
    assert capsys.readouterr().err == ""  # nothing was loose: no notice


def test_loose_modes_are_tightened_once_with_a_notice(
    short_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, file = short_dir / "state", short_dir / "state" / "jobs.db"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    file.write_text("keep me")
    file.chmod(0o644)
    paths.private_dir(folder)
    paths.private_file(file)
    assert (_mode(folder), _mode(file)) == (0o700, 0o600)
    assert file.read_text() == "keep me"  # tightened, not truncated
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"llmsh: {folder} was open to other users (mode 0755): tightened to 0700",
        f"llmsh: {file} was open to other users (mode 0644): tightened to 0600",
    ]
    paths.private_dir(folder)
    paths.private_file(file)
    assert capsys.readouterr().err == ""  # once


def test_private_tree_keeps_links_and_owner_bits(short_dir: Path) -> None:
    model = short_dir / "model"
    (model / "sub").mkdir(parents=True)
    (model / "sub").chmod(0o755)
    (model / "w.bin").write_bytes(b"w")
    (model / "w.bin").chmod(0o664)
    (model / "run.sh").write_text("#!/bin/sh\n")
    (model / "run.sh").chmod(0o755)
    outside = short_dir / "outside"
    outside.write_text("not the store's")
    outside.chmod(0o644)
    (model / "link").symlink_to(outside)
    paths.private_tree(model)
    assert _mode(model / "sub") == 0o700
    assert (_mode(model / "w.bin"), _mode(model / "run.sh")) == (0o600, 0o700)
    assert _mode(outside) == 0o644  # a link's target is not the store's to change


def test_history_is_private(short_dir: Path, open_umask: None) -> None:
    history = HistoryStore(short_dir / "state" / "history.db", session="s")
    history.add("echo secret")
    assert history.recent() == ["echo secret"]
    history.close()
    assert (short_dir / "state" / "history.db").exists()
    assert open_to_others(short_dir) == []


def _llmsh_kernel(home: Path, *args: str, xdg: bool = False) -> subprocess.CompletedProcess[str]:
    """`llmsh kernel ARGS` with $LLMSH_HOME=home, or the XDG layout under `home`."""
    env = dict(os.environ, LLMSH_HOME=str(home))
    env.pop("LLMSH_KERNEL", None)
    if xdg:
        del env["LLMSH_HOME"]
        for var in ("XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR"):
            env[var] = str(home / var.split("_")[1].lower())  # state, data, config, runtime
    return subprocess.run(
        [sys.executable, "-m", "llmsh.daemon", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        umask=0,  # the daemon must not depend on a careful umask
    )


def test_every_file_the_daemon_makes_is_private(short_dir: Path) -> None:
    home = short_dir / "home"
    started = _llmsh_kernel(home, "serve")
    assert started.returncode == 0, started.stderr
    try:

        async def jobs() -> None:
            kernel = await connect(home / "kernel.sock")
            done = [
                await kernel.submit(system("echo private output; echo more >&2")),
                await kernel.submit(sleep(0)),
                await kernel.submit(system("exit 3")),
            ]
            finished = await kernel.wait([p.pid for p in done], 30)
            assert [p.state for p in finished][:2] == [JobState.DONE, JobState.DONE]
            assert "private output" in await kernel.output(done[0].pid)
            await kernel.close()

        asyncio.run(jobs())
    finally:
        stopped = _llmsh_kernel(home, "stop", "--timeout", "1")
    assert stopped.returncode == 0, stopped.stderr
    made = {p.name for p in home.rglob("*")}
    assert {"jobs.db", "jobs", "daemon.log", "kernel.sock.lock"} <= made
    assert any(name.endswith(".log") and name[0].isdigit() for name in made)  # jobs/N.log
    assert open_to_others(home) == []


def test_loose_state_is_tightened_when_the_daemon_starts(short_dir: Path) -> None:
    """The issue's case: the default XDG layout left 0755 folders and 0644 files."""
    state = short_dir / "state" / "llmsh"
    (state / "jobs").mkdir(parents=True)
    for folder in (short_dir / "state", state, state / "jobs"):
        folder.chmod(0o755)
    for name in ("jobs.db", "daemon.log"):
        (state / name).write_text("")
        (state / name).chmod(0o644)
    started = _llmsh_kernel(short_dir, "serve", xdg=True)
    try:
        assert started.returncode == 0, started.stderr
        notice = f"{state} was open to other users (mode 0755): tightened to 0700"
        assert notice in started.stderr
        assert f"{state / 'daemon.log'} was open to other users (mode 0644)" in started.stderr
        # The kernel starts in the daemon, whose stderr is its log.
        log = (state / "daemon.log").read_text()
        assert f"{state / 'jobs'} was open to other users (mode 0755)" in log
        assert f"{state / 'jobs.db'} was open to other users (mode 0644)" in log
        assert (short_dir / "runtime" / "llmsh" / "kernel.sock").exists()
    finally:
        _llmsh_kernel(short_dir, "stop", "--timeout", "1", xdg=True)
    assert open_to_others(state) == []
    assert _mode(short_dir / "state") == 0o755  # ~/.local/state is not llmsh's


def test_a_home_the_user_named_keeps_its_mode(short_dir: Path) -> None:
    home = short_dir / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    started = _llmsh_kernel(home, "serve")
    try:
        assert started.returncode == 0, started.stderr
        assert "open to other users" not in started.stderr
    finally:
        _llmsh_kernel(home, "stop", "--timeout", "1")
    assert _mode(home) == 0o755  # $LLMSH_HOME: the user's choice, as with --log-file
    home.chmod(0o700)
    assert open_to_others(home) == []  # all llmsh made in it is private

"""Entry points: no Textual at import, argument parsing, and `top` with no kernel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Static

from llmsh.tui import cli
from llmsh.tui.app import TopApp
from llmsh.tui.source import DetachedSource

from .conftest import SIZE


def test_importing_the_package_loads_no_textual() -> None:
    code = "import sys, llmsh.tui; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_arguments() -> None:
    args = cli.parse_args(["-d", "2", "--socket", "/tmp/x.sock"])
    assert args.interval == 2.0 and args.socket == "/tmp/x.sock" and args.demo is None
    assert cli.parse_args(["--demo", "3", "--no-gpu"]).demo == 3
    with pytest.raises(SystemExit):
        cli.parse_args(["-d", "0"])


async def test_connect_daemon_is_none_when_nothing_listens(tmp_path: Path) -> None:
    client, why = await cli.connect_daemon(f"{tmp_path}/no.sock")
    assert client is None and "no kernel daemon is running" in why and "no socket" in why


def test_connect_daemon_names_a_permission_problem(tmp_path: Path) -> None:
    """A socket this user may not open is 'permission denied', not 'no kernel'.

    As root (CI), a forked child drops to `nobody` after the imports and tries a socket
    in a root-only folder; otherwise the folder is made unsearchable for this user."""
    import asyncio
    import socket

    path = tmp_path / "k.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen()
    read_end, write_end = os.pipe()
    tmp_path.chmod(0o700 if os.geteuid() == 0 else 0o000)
    try:
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the child
            try:
                if os.geteuid() == 0:
                    os.setgid(65534)
                    os.setuid(65534)
                client, why = asyncio.run(cli.connect_daemon(str(path)))
                os.write(write_end, f"{client is None}|{why}".encode())
            finally:
                os._exit(0)
        os.close(write_end)
        os.waitpid(child, 0)
        with os.fdopen(read_end, "rb") as answer:
            none, _, why = answer.read().decode().partition("|")
    finally:
        tmp_path.chmod(0o700)
        server.close()
    assert none == "True" and why.startswith("permission denied"), why


async def test_no_kernel_shows_devices_and_says_so() -> None:
    app = TopApp(DetachedSource(), interval=3600)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        message = app.query_one("#no-kernel", Static)
        assert message.display and "no kernel is running" in str(message.render())
        assert not app.top.table.display
        assert any(d.kind == "cpu" for d in app.top.devices)
        await pilot.press("k", "p", "l", "a")  # nothing to act on: no error
        await pilot.press("q")
    assert not app.is_running


async def test_a_failing_source_is_reported_once_and_top_keeps_running() -> None:
    from .conftest import fake_app, until

    app, kernel = fake_app(interval=0.05)

    async def broken() -> list[object]:
        raise ConnectionError("the daemon went away")

    async with app.run_test(size=SIZE) as pilot:
        kernel.devices = broken  # type: ignore[method-assign]
        await until(pilot, lambda: any("went away" in n.message for n in app._notifications))
        await pilot.pause(0.3)
        assert sum("went away" in n.message for n in app._notifications) == 1
        assert app.is_running
        await pilot.press("ctrl+c")
    assert not app.is_running


def test_widgets_do_not_import_the_kernel() -> None:
    """Widgets render view rows; only the data layer (source, views, model) reads the kernel."""
    import ast
    from pathlib import Path

    import llmsh.tui.widgets

    for path in Path(llmsh.tui.widgets.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("llmsh.kernel"), path.name
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("llmsh.kernel") for a in node.names), path.name

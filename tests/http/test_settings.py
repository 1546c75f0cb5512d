"""Starting the listener: loopback by default, a token off loopback, private token files,
`llmsh kernel serve --http` in a real process, and no web stack unless asked for."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from llmsh.http.settings import HttpConfigError, HttpSettings, read_token_file, resolve_settings
from tests.http.fakes import FAKE_CHAT, FAKE_EMBED, fake_store


def test_other_addresses_need_a_token() -> None:
    assert HttpSettings("127.0.0.1").token is None
    assert HttpSettings("::1").host == "::1"
    with pytest.raises(HttpConfigError, match="without a token"):
        HttpSettings("0.0.0.0")
    assert HttpSettings("0.0.0.0", token="t").host == "0.0.0.0"


def test_token_file_must_be_private(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("abc123\n")
    token.chmod(0o644)
    with pytest.raises(HttpConfigError, match="chmod 600"):
        read_token_file(token)
    token.chmod(0o600)
    assert read_token_file(token) == "abc123"
    token.write_text("\n")
    with pytest.raises(HttpConfigError, match="on one line"):
        read_token_file(token)
    with pytest.raises(HttpConfigError, match="cannot read"):
        read_token_file(tmp_path / "missing")


def test_config_toml_http_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMSH_HOME", str(tmp_path))
    monkeypatch.delenv("LLMSH_TOKEN", raising=False)
    assert resolve_settings(None, None) is None  # no [http]: no listener
    (tmp_path / "config.toml").write_text('[http]\nlisten = "127.0.0.1:9911"\nmax_body = 100\n')
    settings = resolve_settings(None, None)
    assert settings is not None and (settings.host, settings.port) == ("127.0.0.1", 9911)
    assert settings.max_body == 100
    monkeypatch.setenv("LLMSH_TOKEN", "from-env")
    over = resolve_settings("0.0.0.0:1234", None)  # the command line wins
    assert over is not None and over.port == 1234 and over.token == "from-env"


def serve(home: Path, *extra: str) -> subprocess.Popen[str]:
    env = dict(os.environ, LLMSH_HOME=str(home), PYTHONUNBUFFERED="1")
    env.pop("LLMSH_TOKEN", None)
    cmd = [sys.executable, "-m", "llmsh.daemon", "serve", "--foreground"]
    cmd += ["--socket", str(home / "k.sock"), *extra]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_kernel_serve_http_in_a_real_process(tmp_path: Path) -> None:
    home = Path("/tmp") / f"llmsh-hs-{os.getpid()}"  # short: a socket lives here
    fake_store(home)
    proc = serve(home, "--http", "127.0.0.1:0")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"HTTP API on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        url = match.group(1)
        assert httpx.get(url + "/health").json() == {"status": "ok"}
        ids = [m["id"] for m in httpx.get(url + "/v1/models").json()["data"]]
        assert ids == [FAKE_CHAT, FAKE_EMBED]
        metrics = httpx.get(url + "/metrics").text
        assert "llmsh_queue_length 0" in metrics
        assert 'llmsh_http_requests_total{path="/v1/models",status="200"} 1' in metrics
        status = subprocess.run(
            [sys.executable, "-m", "llmsh.daemon", "status", "--json", "--socket",
             str(home / "k.sock")], capture_output=True, text=True, timeout=60,
            env=dict(os.environ, LLMSH_HOME=str(home)),
        )  # fmt: skip
        assert json.loads(status.stdout)["http"] == url
    finally:
        proc.terminate()
        proc.wait(30)
        subprocess.run(["rm", "-rf", str(home)], check=False)


def test_refuses_to_start_off_loopback_without_a_token(tmp_path: Path) -> None:
    home = Path("/tmp") / f"llmsh-hr-{os.getpid()}"
    home.mkdir()
    try:
        proc = serve(home, "--http", "0.0.0.0:0")
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 1
        assert err.strip().splitlines() == [
            "llmsh kernel: refusing to serve HTTP on 0.0.0.0 without a token: "
            "give --token-file FILE (mode 0600) or $LLMSH_TOKEN"
        ]
    finally:
        subprocess.run(["rm", "-rf", str(home)], check=False)


def test_a_busy_port_is_a_one_line_error() -> None:
    home = Path("/tmp") / f"llmsh-hb-{os.getpid()}"
    home.mkdir()
    taken = socket.create_server(("127.0.0.1", 0))
    try:
        port = taken.getsockname()[1]
        proc = serve(home, "--http", f"127.0.0.1:{port}")
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 1
        assert err.strip().splitlines() == [
            f"llmsh kernel: cannot listen for HTTP on 127.0.0.1:{port}: Address already in use"
        ]
    finally:
        taken.close()
        subprocess.run(["rm", "-rf", str(home)], check=False)


def test_no_web_stack_unless_http_is_served() -> None:
    code = (
        "import sys, json, llmsh.daemon.cli, llmsh.http.settings\n"
        "from llmsh.cli import run\n"
        "run(['-c', 'echo hi'])\n"
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout  # fmt: skip
    loaded = set(json.loads(out.splitlines()[-1]))
    assert not loaded & {"starlette", "uvicorn", "httpx", "openai", "anyio"}

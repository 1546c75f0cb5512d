"""Hypothesis against a live daemon (`llmsh kernel serve`, a real process on a Unix
socket): random bytes, random JSON and random requests. Every one gets exactly one
well-formed reply that is a result or a refusal (never an `internal error`), the daemon
keeps serving other clients, and its log holds no traceback."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmsh.daemon.protocol import OPS

from .test_cli import kernel_cmd

# Never `stop` (it would end the test), never `wait` (it may block on a random pid);
# `submit` only for kinds that run nothing: see `requests`.
FUZZED_OPS = sorted(OPS - {"stop", "wait"})
ARG_NAMES = [
    "pid", "pids", "sub", "spec", "timeout", "states", "types", "priority", "reason",
    "session", "include_finished", "device", "id", "token", "client",
]  # fmt: skip
SAFE_KINDS = ["noop", "sleep", "nope", ""]

integers = st.one_of(
    st.integers(-10, 10),
    st.integers(-(1 << 64), 1 << 64),
    st.sampled_from([(1 << 63) - 1, 1 << 63, -(1 << 63), -(1 << 63) - 1, 10**20, 10**300]),
)
scalars = st.one_of(
    st.none(), st.booleans(), integers, st.floats(allow_nan=False), st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    spec = draw(st.dictionaries(st.sampled_from(["argv", "args", "device", "priority",
                                                 "session", "parent"]), json_values))  # fmt: skip
    spec["kind"] = draw(st.sampled_from(SAFE_KINDS))
    if spec["kind"] == "sleep":  # a sleep that ends: the daemon stops at the end anyway
        args = spec.get("args")
        spec["args"] = args if isinstance(args, dict) else {}
        spec["args"]["seconds"] = draw(st.one_of(json_values, st.floats(0, 0.01)))
    return spec


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    op = draw(st.one_of(st.sampled_from(FUZZED_OPS), st.text(max_size=12)))
    args: Any = draw(st.dictionaries(st.sampled_from(ARG_NAMES), json_values, max_size=4))
    if op in ("submit", "explain"):
        args["spec"] = draw(specs())
    elif op == "stop" or op == "wait":
        op = "list"
    if draw(st.booleans()):
        args = draw(json_values)  # args of the wrong shape
    message: dict[str, Any] = {"v": 1, "id": draw(integers), "op": op, "args": args}
    for key in draw(st.lists(st.sampled_from(["v", "id", "op", "args"]), max_size=1)):
        message[key] = draw(json_values)  # one part of the envelope replaced
    if message.get("op") in ("stop", "wait"):
        message["op"] = "list"
    return json.dumps(message).encode()


lines = st.one_of(
    st.binary(max_size=200).map(lambda b: b.replace(b"\n", b"")),
    json_values.map(lambda v: json.dumps(v).encode()),
    requests(),
)


class Live:
    """A daemon started like a user does, and one greeted raw connection to it."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(30)
        self.sock.connect(str(home / "kernel.sock"))
        self.file = self.sock.makefile("rb")
        self.send(b'{"v":1,"id":0,"op":"hello","args":{"client":"fuzz"}}')
        assert self.reply()["ok"]

    def send(self, line: bytes) -> None:
        self.sock.sendall(line + b"\n")

    def reply(self) -> dict[str, Any]:
        """The next reply, skipping pushed events and scheduler state."""
        while True:
            line = self.file.readline()
            assert line, "the daemon hung up on the fuzzing client"
            message: dict[str, Any] = json.loads(line)
            if "ok" in message:
                return message


@pytest.fixture
def live(short_dir: Path) -> Iterator[Live]:
    started = kernel_cmd(short_dir, "serve")
    assert started.returncode == 0, started.stderr
    try:
        yield Live(short_dir)
    finally:
        kernel_cmd(short_dir, "stop", "--timeout", "0")


def well_formed(reply: dict[str, Any]) -> None:
    assert reply["v"] == 1 and isinstance(reply["ok"], bool), reply
    assert reply["id"] is None or isinstance(reply["id"], int), reply
    if reply["ok"]:
        assert "result" in reply, reply
    else:
        assert isinstance(reply["error"], str) and reply["error"], reply
        assert isinstance(reply["type"], str), reply
        assert "\n" not in reply["error"], reply
        assert "internal error" not in reply["error"], reply


def test_the_daemon_answers_whatever_it_is_sent(live: Live) -> None:
    count = 0

    @settings(
        max_examples=400,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(line=lines)
    def one(line: bytes) -> None:
        nonlocal count
        live.send(line)
        well_formed(live.reply())
        count += 1

    one()
    assert count >= 400
    # Still serving: this client and a new one.
    live.send(b'{"v":1,"id":1,"op":"list","args":{"include_finished":true}}')
    assert live.reply()["ok"]
    other = Live(live.home)
    other.send(b'{"v":1,"id":9,"op":"status"}')
    assert other.reply()["result"]["pid"] > 0
    log = (live.home / "daemon.log").read_text()
    assert "Traceback" not in log and "internal error" not in log


def test_out_of_range_integers_are_refused_not_overflowed(live: Live) -> None:
    """Integers beyond 64 bits are refused where a request is read, wherever they sit in it,
    with the request's id (never an `internal error: OverflowError` from deeper down)."""
    nested = '{"spec":{"kind":"sleep","args":{"seconds":100000000000000000000000000000}}}'
    for op, args in [
        ("kill", '{"pid":99999999999999999999}'),
        ("kill", '{"pid":-9223372036854775809}'),
        ("submit", nested),
    ]:
        live.send(b'{"v":1,"id":5,"op":"%s","args":%s}' % (op.encode(), args.encode()))
        reply = live.reply()
        assert reply["id"] == 5 and reply["ok"] is False
        assert reply["error"].startswith("integer out of range: ")
        assert reply["type"] == "ProtocolError"
    live.send(b'{"v":1,"id":6,"op":"kill","args":{"pid":9223372036854775807}}')
    assert live.reply()["type"] == "NoSuchJob"  # the largest int64 is a fine pid to ask for
    live.send(b'{"v":1,"id":7,"op":"wait","args":{"pids":[],"timeout":NaN}}')
    assert live.reply()["error"] == "message is not valid JSON"

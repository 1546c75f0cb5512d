"""The wire format: request parsing, error round trips, framing limits."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmsh.daemon.protocol import (
    MAX_MESSAGE,
    LineReader,
    MessageTooLarge,
    ProtocolError,
    Request,
    encode,
    error_from_reply,
    error_reply,
    ok_reply,
    parse_request,
)
from llmsh.daemon.wire import event_from_json, event_to_json, spec_from_json, spec_to_json
from llmsh.kernel import (
    Event,
    EventType,
    InvalidRequest,
    JobSpec,
    JobState,
    KernelError,
    NoSuchJob,
    PlacementError,
    Process,
    QueueFull,
)
from llmsh.kernel.errors import UnknownKind


def test_parse_a_request() -> None:
    line = b'{"v":1,"id":7,"op":"kill","args":{"pid":12}}'
    assert parse_request(line) == Request(7, "kill", {"pid": 12})
    assert parse_request(b'{"v":1,"id":0,"op":"list"}').args == {}


@pytest.mark.parametrize(
    ("line", "message", "rid"),
    [
        (b"", "empty message", None),
        (b"\xff\xfe", "not UTF-8", None),
        (b"{nope", "not valid JSON", None),
        (b"[" * 50_000, "not valid JSON", None),
        (b"[1, 2]", "must be a JSON object", None),
        (b'{"v":2,"id":3,"op":"list"}', "unsupported protocol version 2", 3),
        (b'{"id":3,"op":"list"}', "unsupported protocol version None", 3),
        (b'{"v":1,"id":-1,"op":"list"}', "request id", None),
        (b'{"v":1,"id":true,"op":"list"}', "request id", None),
        (b'{"v":1,"id":4,"op":5}', "op must be a string", 4),
        (b'{"v":1,"id":4,"op":"rm"}', "unknown op 'rm'", 4),
        (b'{"v":1,"id":4,"op":"list","args":[]}', "args must be a JSON object", 4),
    ],
)
def test_malformed_requests(line: bytes, message: str, rid: int | None) -> None:
    with pytest.raises(ProtocolError, match=message) as caught:
        parse_request(line)
    assert caught.value.id == rid


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_any_bytes_parse_or_refuse(line: bytes) -> None:
    try:
        request = parse_request(line)
    except ProtocolError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(request.id, int) and isinstance(request.args, dict)


@pytest.mark.parametrize(
    "exc",
    [
        NoSuchJob(42),
        PlacementError("needs 9 GiB but cpu has 4 GiB"),
        QueueFull("the queue is full"),
        InvalidRequest("bad"),
        UnknownKind("unknown job kind 'x'"),
        KernelError("cannot pause job 3: it has already finished (done)"),
        ProtocolError("say hello first"),
    ],
)
def test_kernel_errors_cross_the_wire(exc: KernelError) -> None:
    reply = json.loads(encode(error_reply(5, exc)))
    again = error_from_reply(reply)
    assert type(again) is type(exc) and str(again) == str(exc)
    if isinstance(exc, NoSuchJob):
        assert isinstance(again, NoSuchJob) and again.pid == 42


def test_other_errors_become_one_line() -> None:
    assert isinstance(
        error_from_reply(error_reply(1, asyncio.TimeoutError())), asyncio.TimeoutError
    )
    reply = error_reply(1, ValueError("boom\ntraceback"))
    assert reply["error"] == "internal error: ValueError: boom"
    assert type(error_from_reply(reply)) is KernelError
    assert ok_reply(3, [1]) == {"v": 1, "id": 3, "ok": True, "result": [1]}


def test_records_round_trip() -> None:
    spec = JobSpec("sleep", ("sleep", "1"), {"seconds": 1}, "cpu", 5, "s1", 3)
    assert spec_from_json(json.loads(json.dumps(spec_to_json(spec)))) == spec
    proc = Process(1, "sleep", ("sleep",), {}, JobState.RUNNING, 0, "auto")
    event = Event(EventType.STATE, 1, proc, "", 9)
    assert event_from_json(json.loads(json.dumps(event_to_json(event)))) == event
    with pytest.raises(InvalidRequest, match="'argv' must be a list of strings"):
        spec_from_json({"kind": "sleep", "argv": [1]})
    with pytest.raises(InvalidRequest, match="'priority' must be an integer"):
        spec_from_json({"kind": "sleep", "priority": True})
    with pytest.raises(InvalidRequest, match="'parent' is out of range"):
        spec_from_json({"kind": "sleep", "parent": 1 << 70})


async def test_line_reader_skips_oversized_lines() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b"first\n" + b"x" * (MAX_MESSAGE + 5) + b"\nsecond\n")
    reader.feed_data(b"y" * (3 * MAX_MESSAGE))
    reader.feed_data(b"\nlast")
    reader.feed_eof()
    lines = LineReader(reader, MAX_MESSAGE)
    assert await lines.read() == b"first"
    with pytest.raises(MessageTooLarge):
        await lines.read()
    assert await lines.read() == b"second"
    with pytest.raises(MessageTooLarge):
        await lines.read()
    assert await lines.read() == b"last"
    assert await lines.read() is None


def test_importing_the_client_pulls_no_ui_or_models() -> None:
    code = (
        "import sys, llmsh.daemon, llmsh.daemon.cli; "
        "bad = {'torch', 'textual', 'prompt_toolkit', 'rich', 'transformers'} & set(sys.modules); "
        "sys.exit(', '.join(sorted(bad)) or None)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_handled_op_is_in_the_protocol_and_every_op_is_handled() -> None:
    from llmsh.daemon.connection import INLINE_OPS
    from llmsh.daemon.handlers import HANDLERS
    from llmsh.daemon.protocol import OPS

    assert set(HANDLERS) | INLINE_OPS | {"status"} == set(OPS)


async def test_restart_resident_and_kind_names_over_the_socket(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from llmsh.daemon.client import connect
    from llmsh.daemon.server import Daemon
    from llmsh.kernel import JobSpec, JobState, Kernel, KernelConfig

    kernel = Kernel(
        KernelConfig(state_dir=tmp_path / "state", nvml=None),
        resources={"models": lambda: [{"name": "m", "device": "cpu", "nbytes": 1}]},
    )
    await kernel.start()
    daemon = Daemon(kernel, tmp_path / "k.sock")
    await daemon.start()
    client = await connect(str(tmp_path / "k.sock"))
    try:
        assert "sleep" in await client.kind_names()
        assert await client.resident() == [
            {"name": "m", "device": "cpu", "nbytes": 1, "source": "models"}
        ]
        proc = await client.submit(JobSpec("sleep", ("sleep", "30"), {"seconds": 30}))
        await client.kill(proc.pid)
        again = await client.restart(proc.pid)
        assert again.parent == proc.pid and again.state is JobState.RUNNING
        await client.kill(again.pid)
    finally:
        await client.close()
        await daemon.stop(0)

"""1,000 random and malformed messages: each answered, the daemon serves others throughout."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import string
from collections.abc import Callable

import pytest

from llmsh.daemon import Daemon, connect
from llmsh.daemon.protocol import MAX_MESSAGE, OPS
from llmsh.kernel import JobState

from .test_clients import sleep

MESSAGES = 1000
BATCH = 25


def _req(rng: random.Random, op: str, args: object) -> bytes:
    return json.dumps({"v": 1, "id": rng.randrange(1 << 20), "op": op, "args": args}).encode()


def _garbage(rng: random.Random) -> bytes:
    return (
        bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))).replace(b"\n", b"") or b"\0"
    )


def _bad_json(rng: random.Random) -> bytes:
    good = _req(rng, "list", {})
    return rng.choice([good[: rng.randrange(1, len(good))], b"{'v': 1}", b"[" * 60_000, b"nul"])


def _not_an_object(rng: random.Random) -> bytes:
    return json.dumps(rng.choice([1, -2.5, "list", None, True, [1, {"v": 1}]])).encode()


def _bad_envelope(rng: random.Random) -> bytes:
    bad = rng.choice(
        [
            {"v": rng.choice([0, 2, "1", None, 1.5]), "id": 1, "op": "list"},
            {"v": 1, "id": rng.choice(["x", -1, 1.5, True, None, [1]]), "op": "list"},
            {"v": 1, "id": 2, "op": rng.choice([5, None, ["list"], {}])},
            {"v": 1, "id": 3, "op": "list", "args": rng.choice([[1], "x", 5, None])},
        ]
    )
    return json.dumps(bad).encode()


def _unknown_op(rng: random.Random) -> bytes:
    while (op := "".join(rng.choices(string.ascii_lowercase + "_", k=rng.randrange(1, 12)))) in OPS:
        pass
    return _req(rng, op, {})


def _bad_args(rng: random.Random) -> bytes:
    # Only refusals: never a stop, a valid system command or anything that blocks.
    op, args = rng.choice(
        [
            ("kill", {"pid": "x"}),
            ("kill", {}),
            ("get", {"pid": -1}),
            ("get", {"pid": 10**30}),
            ("pause", {"pid": 424242}),
            ("renice", {"pid": 1, "priority": "high"}),
            ("wait", {"pids": "x"}),
            ("wait", {"pids": [1, "a"]}),
            ("wait", {"pids": [], "timeout": -1}),
            ("wait", {"pids": [], "timeout": float("nan")}),
            ("list", {"states": ["bogus"]}),
            ("list", {"include_finished": "yes"}),
            ("submit", {"spec": "sleep"}),
            ("submit", {"spec": {"kind": 5}}),
            ("submit", {"spec": {"kind": "sleep", "args": {"seconds": "abc"}}}),
            ("submit", {"spec": {"kind": "nope"}}),
            ("submit", {"spec": {"kind": "sleep", "args": {"seconds": 1}, "device": "tpu"}}),
            ("explain", {"spec": {"kind": "sleep", "argv": "x"}}),
            ("subscribe", {"sub": "x"}),
            ("subscribe", {"sub": 1, "types": ["nope"]}),
            ("unsubscribe", {"sub": 12345}),
            ("cancel", {"id": 99999}),
            ("output", {"pid": 777777}),
            ("stop", {"timeout": "soon"}),
        ]
    )
    return _req(rng, op, args)


def _huge(rng: random.Random) -> bytes:
    return b'{"v":1,"id":1,"op":"list","args":{"x":"' + b"a" * (MAX_MESSAGE + 10) + b'"}}'


KINDS: list[Callable[[random.Random], bytes]] = [
    _garbage,
    _bad_json,
    _not_an_object,
    _bad_envelope,
    _unknown_op,
    _bad_args,
]


def messages(rng: random.Random) -> list[bytes]:
    out = [rng.choice(KINDS)(rng) for _ in range(MESSAGES)]
    for index in range(100, MESSAGES, 200):
        out[index] = _huge(rng)
    return out


async def test_a_thousand_malformed_messages(
    daemon: Daemon, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(8)
    good = await connect(daemon.socket_path, session="good")
    reader, writer = await asyncio.open_unix_connection(daemon.socket_path, limit=1 << 24)
    replies = 0

    async def read_replies(count: int) -> None:
        nonlocal replies
        while count:
            line = await asyncio.wait_for(reader.readline(), 10)
            assert line, "the daemon hung up on the fuzzing client"
            message = json.loads(line)
            if "ok" in message:  # skip pushed scheduler state
                assert message["ok"] is False or message["result"] is not None
                count -= 1
                replies += 1

    caplog.set_level(logging.WARNING, "llmsh.daemon")
    sent = messages(rng)
    for start in range(0, MESSAGES, BATCH):
        batch = sent[start : start + BATCH]
        if start == 500:  # the second half after hello; the first is all out of order
            writer.write(_req(rng, "hello", {}) + b"\n" + _req(rng, "hello", {}) + b"\n")
            await read_replies(2)  # the first accepted, the second refused
            replies -= 2
        writer.write(b"".join(line + b"\n" for line in batch))
        await writer.drain()
        job = await good.submit(sleep(0))  # a well-behaved client, served throughout
        assert [p.state for p in await good.wait([job.pid], 10)] == [JobState.DONE]
        assert job.pid in [p.pid for p in await good.list(include_finished=True)]
        await read_replies(len(batch))
    assert replies == MESSAGES
    assert sum("refused a message" in r.message for r in caplog.records) >= 600
    writer.write(_req(rng, "list", {}) + b"\n")  # the fuzzing client itself is still served
    await read_replies(1)
    writer.close()
    await good.close()

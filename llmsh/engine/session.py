"""The job's side of generation: submit to the shared engine, stream what comes back.

Runs in the job's worker thread. Between tokens it calls `ctl.check()`, so pause
blocks there and kill raises `JobKilled`; while waiting for a token it notices a
kill within `poll_seconds`. Leaving for any reason (done, killed, stop string,
error) cancels the sequence, and the engine frees its cache at the next step.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable
from dataclasses import replace
from typing import Any

from llmsh.engine.registry import ModelRuntime
from llmsh.engine.request import GenRequest
from llmsh.engine.stream import TextStream
from llmsh.kernel.control import JobControl
from llmsh.models.errors import ModelError
from llmsh.models.sampling import SamplingParams


def stop_strings(value: Any) -> tuple[str, ...]:
    """A job's `stop` argument: one string or a list of them."""
    if value is None or value == "":
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(s, str) for s in items):
        raise ModelError("stop must be a string or a list of strings")
    return tuple(s for s in items if s)


def generate_tokens(
    runtime: ModelRuntime, prompt: list[int], params: SamplingParams, ctl: JobControl
) -> Generator[int, None, None]:
    """Token ids of the reply as the engine produces them (end tokens not included)."""
    room = runtime.context_length - len(prompt)
    if room < 1:
        raise ModelError(f"prompt of {len(prompt)} tokens does not fit the model's context")
    if params.max_tokens > room:
        params = replace(params, max_tokens=room)
    request = GenRequest(
        prompt=list(prompt),
        params=params,
        stop_ids=runtime.stop_ids,
        # Read live by the engine's slot policy: they follow renice and pause.
        priority=lambda: ctl.priority,
        paused=lambda: ctl.paused,
        label=f"pid {ctl.pid}",
    )
    poll = runtime.engine.config.poll_seconds

    def on_wait() -> None:
        if ctl.killed:  # a flag read per poll; check() raises JobKilled
            ctl.check()

    seq = runtime.engine.submit(request)
    try:
        while True:
            ctl.check()  # pause blocks here; kill raises JobKilled
            token = seq.next(poll, on_wait)
            if token is None:
                return
            yield token
    finally:
        seq.cancel()


def stream_text(
    runtime: ModelRuntime,
    prompt: list[int],
    params: SamplingParams,
    ctl: JobControl,
    stop: Iterable[str] = (),
) -> str:
    """Generate, writing text to the job as it comes and tokens/s to its progress."""
    stream = TextStream(runtime.tokenizer, stop)
    start = time.perf_counter()
    first: float | None = None
    count = 0
    tokens = generate_tokens(runtime, prompt, params, ctl)
    try:
        for token in tokens:
            count += 1
            elapsed = time.perf_counter() - start
            first = elapsed if first is None else first
            delta = stream.push(token)
            if delta:
                ctl.write(delta)
            ctl.progress(count, params.max_tokens, "tok", rate=count / elapsed if elapsed else None)
            if stream.stopped:
                break
    finally:
        tokens.close()
    tail = stream.flush()
    if tail:
        ctl.write(tail)
    elapsed = time.perf_counter() - start
    extra = {"prompt_tokens": len(prompt)}
    if first is not None:
        extra["first_token_ms"] = round(first * 1000)
    ctl.progress(count, count, "tok", rate=count / elapsed if elapsed else 0.0, **extra)
    ctl.write("\n")
    return stream.text

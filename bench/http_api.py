"""The OpenAI-compatible HTTP API against the kernel API it wraps; prints JSON lines.

A real daemon (`llmsh kernel serve --http 127.0.0.1:0`, model workers in processes) on
the test store's smollm2, measured in one run with the load average:

1. overhead: one streamed chat through HTTP (SSE, read as it comes) vs the same job
   through the kernel API over the daemon's socket, interleaved, median of --repeats
   pairs (goal <= 5%).
2. concurrency: 16 streaming HTTP clients at once, aggregate tokens/s vs one client's
   (the kernel batches them on one model: goal >= 3x), and the same 16 jobs submitted
   through the kernel API (what batching gives without HTTP).
3. hang-up: seconds from a streaming client closing its connection to its job `killed`.

    python bench/http_api.py [--tokens 32] [--clients 16] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from llmsh.commands.jobrun import JobStream
from llmsh.daemon import RemoteKernel, connect
from llmsh.kernel import JobSpec

REPO = Path(__file__).resolve().parents[1]
MODEL = "smollm2"
TOPICS = ["the sea", "a robot", "mountains", "a city at night", "an old library", "the moon",
          "a forest", "a train", "a lighthouse", "a desert", "a storm", "a garden",
          "a bridge", "a violin", "a volcano", "a river"]  # fmt: skip


def emit(**row: Any) -> None:
    row = {"bench": "http_api", **row, "load": [round(x, 2) for x in os.getloadavg()]}
    row["machine"] = f"{platform.machine()} {os.cpu_count()} cores"
    print(json.dumps(row), flush=True)


def chat_body(topic: str, tokens: int, seed: int = 0) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": f"Write a long poem about {topic}."}],
        "max_tokens": tokens,
        "temperature": 0,
        "seed": seed,
    }


async def http_stream(http: httpx.AsyncClient, body: dict[str, Any]) -> tuple[float, int]:
    """(seconds, completion tokens) of one streamed chat, read chunk by chunk."""
    start = time.perf_counter()
    payload = {**body, "stream": True, "stream_options": {"include_usage": True}}
    tokens = 0
    async with http.stream("POST", "/v1/chat/completions", json=payload) as resp:
        resp.raise_for_status()
        async for line in resp.aiter_lines():
            if line.startswith("data: {") and '"usage"' in line:
                tokens = json.loads(line[6:])["usage"]["completion_tokens"]
    return time.perf_counter() - start, tokens


async def kernel_stream(kernel: RemoteKernel, body: dict[str, Any]) -> tuple[float, int]:
    """The same job submitted through the kernel API, its output followed as it comes."""
    args = {k: v for k, v in body.items() if k != "model"} | {"model": MODEL}
    start = time.perf_counter()
    async with JobStream(kernel, JobSpec("chat", args=args, session="bench"), ()) as job:
        async for _ in job.events():
            pass
        proc = job.proc
    assert proc.state.value == "done", proc.reason
    return time.perf_counter() - start, int(proc.progress.done)


async def overhead(http: httpx.AsyncClient, kernel: RemoteKernel, tokens: int, repeats: int
                   ) -> None:  # fmt: skip
    body = chat_body("the sea", tokens)
    await http_stream(http, body)  # warm: the model loads in its worker
    pairs = []
    for i in range(repeats):  # interleaved, each going first in turn
        if i % 2:
            via_http, n_http = await http_stream(http, body)
            via_kernel, n_kernel = await kernel_stream(kernel, body)
        else:
            via_kernel, n_kernel = await kernel_stream(kernel, body)
            via_http, n_http = await http_stream(http, body)
        pairs.append((via_http, via_kernel))
    http_s = statistics.median(p[0] for p in pairs)
    kernel_s = statistics.median(p[1] for p in pairs)
    emit(
        test="one streamed chat: HTTP vs kernel API", tokens=n_http, kernel_tokens=n_kernel,
        http_s=round(http_s, 3), kernel_s=round(kernel_s, 3),
        overhead_pct=round((http_s / kernel_s - 1) * 100, 1), goal_pct=5, repeats=repeats,
        pairs=[[round(a, 3), round(b, 3)] for a, b in pairs],
    )  # fmt: skip


async def concurrency(
    http: httpx.AsyncClient, kernel: RemoteKernel, tokens: int, clients: int
) -> None:
    one_s, one_tokens = await http_stream(http, chat_body(TOPICS[0], tokens))
    start = time.perf_counter()
    results = await asyncio.gather(
        *(http_stream(http, chat_body(TOPICS[i % len(TOPICS)], tokens)) for i in range(clients))
    )
    elapsed = time.perf_counter() - start
    total = sum(n for _, n in results)
    single = one_tokens / one_s
    # The same jobs through the kernel API: what batching gives without HTTP.
    start = time.perf_counter()
    direct = await asyncio.gather(
        *(kernel_stream(kernel, chat_body(TOPICS[i % len(TOPICS)], tokens)) for i in range(clients))
    )
    direct_s = time.perf_counter() - start
    emit(
        test=f"{clients} streaming HTTP clients vs one", clients=clients, tokens_each=tokens,
        one_client_tok_s=round(single, 2), aggregate_tok_s=round(total / elapsed, 2),
        speedup=round(total / elapsed / single, 2), goal_speedup=3, wall_s=round(elapsed, 2),
        kernel_api_aggregate_tok_s=round(sum(n for _, n in direct) / direct_s, 2),
    )  # fmt: skip


async def hang_up(http: httpx.AsyncClient, kernel: RemoteKernel) -> None:
    payload = {**chat_body("a storm", 512), "stream": True}
    async with http.stream("POST", "/v1/chat/completions", json=payload) as resp:
        pid = int(resp.headers["x-llmsh-pid"])
        async for line in resp.aiter_lines():
            if '"content":"' in line and '"content":""' not in line:
                break
        closed = time.time()
    [proc] = await kernel.wait([pid], timeout=60)
    emit(
        test="client hang-up to job killed", state=proc.state.value,
        seconds=round((proc.ended or 0) - closed, 3), goal_s=1,
    )  # fmt: skip


def start_daemon(home: Path, slots: int) -> tuple[subprocess.Popen[bytes], str]:
    store = os.environ.get("LLMSH_TEST_STORE_HOME") or str(REPO / ".cache" / "test-home")
    (home / "models").symlink_to(Path(store) / "models")  # the models, not their job store
    env = dict(os.environ, LLMSH_HOME=str(home), PYTHONUNBUFFERED="1")
    env.setdefault("LLMSH_ENGINE_THREADS", "2")
    env.setdefault("OMP_NUM_THREADS", "2")
    # `llmsh kernel serve`, with CPU slots for every client (the default is 2 at once).
    code = (
        "import sys; from llmsh.daemon.cli import main; from llmsh.runtime import make_kernel;"
        "from llmsh.kernel import KernelConfig;"
        f"sys.exit(main(sys.argv[1:], lambda: make_kernel(KernelConfig(cpu_slots={slots}))))"
    )
    cmd = [sys.executable, "-c", code, "serve", "--foreground",
           "--socket", str(home / "kernel.sock"), "--http", "127.0.0.1:0"]  # fmt: skip
    daemon = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert daemon.stdout is not None
    line = daemon.stdout.readline().decode()
    match = re.search(r"HTTP API on (\S+)", line)
    if not match:
        daemon.kill()
        raise SystemExit(f"the daemon did not start: {line!r}")
    return daemon, match.group(1)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    opts = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="llmsh-bh-", dir="/tmp"))
    daemon, url = start_daemon(home, opts.clients)
    try:
        kernel = await connect(home / "kernel.sock", session="bench")
        limits = httpx.Limits(max_connections=opts.clients + 4)
        async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as http:
            await overhead(http, kernel, opts.tokens, opts.repeats)
            await concurrency(http, kernel, opts.tokens, opts.clients)
            await hang_up(http, kernel)
        await kernel.close()
    finally:
        daemon.terminate()
        daemon.wait(60)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())

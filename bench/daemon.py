"""The kernel daemon over its Unix socket, in a process of its own; prints one JSON line.

- get_latency_ms: p50 and p99 of 2,000 sequential `get` round trips from one client.
- jobs_per_s: no-op jobs submitted and completed per second by 4 clients at once.
- events_per_s: state events delivered per second to 16 subscribed clients while a
  17th client submits 2,000 no-op jobs (3 state events each, so 96,000 deliveries).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from llmsh.daemon import RemoteKernel, connect
from llmsh.kernel import EventType, JobSpec, Subscription

CLIENTS, JOBS_EACH, FANOUT, FANOUT_JOBS = 4, 2500, 16, 2000


async def get_latency(kernel: RemoteKernel) -> dict[str, float]:
    pid = (await kernel.submit(JobSpec("noop"))).pid
    samples = []
    for _ in range(2000):
        start = time.perf_counter()
        await kernel.get(pid)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {"p50": round(samples[1000], 3), "p99": round(samples[1980], 3)}


async def throughput(sock: Path) -> float:
    clients = [await connect(sock) for _ in range(CLIENTS)]

    async def run(kernel: RemoteKernel) -> None:
        pids = [(await kernel.submit(JobSpec("noop"))).pid for _ in range(JOBS_EACH)]
        await kernel.wait(pids)

    start = time.perf_counter()
    await asyncio.gather(*(run(c) for c in clients))
    elapsed = time.perf_counter() - start
    for c in clients:
        await c.close()
    return CLIENTS * JOBS_EACH / elapsed


async def fanout(sock: Path) -> float:
    watchers = [await connect(sock) for _ in range(FANOUT)]
    subs = [w.subscribe(types=[EventType.STATE]) for w in watchers]
    for w in watchers:
        await w.list()  # subscriptions in place
    producer = await connect(sock)

    async def drain(sub: Subscription) -> None:
        for _ in range(3 * FANOUT_JOBS):
            assert await sub.get(60) is not None

    start = time.perf_counter()
    readers = asyncio.gather(*(drain(s) for s in subs))
    for _ in range(FANOUT_JOBS):
        await producer.submit(JobSpec("noop"))
    await readers
    elapsed = time.perf_counter() - start
    for k in [*watchers, producer]:
        await k.close()
    return 3 * FANOUT_JOBS * FANOUT / elapsed


async def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="llmsh-bench-", dir="/tmp"))
    sock = home / "kernel.sock"
    env = dict(os.environ, LLMSH_HOME=str(home))
    cmd = [sys.executable, "-m", "llmsh.daemon", "serve", "--foreground", "--socket", str(sock)]
    daemon = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert daemon.stdout is not None and b"started" in daemon.stdout.readline()
    try:
        kernel = await connect(sock)
        result = {
            "bench": "daemon",
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "get_latency_ms": await get_latency(kernel),
            "jobs_per_s": round(await throughput(sock)),
            "events_per_s": round(await fanout(sock)),
        }
        await kernel.stop(timeout=0)
    finally:
        daemon.kill()
        daemon.wait()
        shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())

"""Kernel throughput: no-op jobs submitted and completed per second through the public API,
and the latency of listing a 10,000-job table. Prints one JSON line."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from llmsh.kernel import JobSpec, Kernel, KernelConfig

JOBS = 20_000
RUNS = 3  # the machine is shared: report every run, their median and the best


async def throughput(state_dir: Path) -> tuple[float, float]:
    """Jobs per second submitted and completed, and the same once all are committed."""
    config = KernelConfig(state_dir=state_dir, nvml=None, max_queue=JOBS + 1)
    async with Kernel(config) as kernel:
        await kernel.submit(JobSpec("noop"))  # warm up the store
        await kernel.flush()
        start = time.perf_counter()
        procs = [await kernel.submit(JobSpec("noop")) for _ in range(JOBS)]
        await kernel.wait([p.pid for p in procs])
        elapsed = time.perf_counter() - start
        await kernel.flush()  # every record and transition is in SQLite
        durable = time.perf_counter() - start
    return JOBS / elapsed, JOBS / durable


async def list_latency(state_dir: Path) -> float:
    """Median time to list a table of 10,000 live jobs (queued behind one slot)."""
    config = KernelConfig(state_dir=state_dir, nvml=None, max_queue=20_000, cpu_slots=1)
    async with Kernel(config) as kernel:
        for _ in range(10_000):
            await kernel.submit(JobSpec("sleep", ("sleep", "60"), {"seconds": 60}))
        samples = []
        for _ in range(20):
            start = time.perf_counter()
            table = await kernel.list()
            samples.append(time.perf_counter() - start)
        assert len(table) == 10_000
        return statistics.median(samples)


def main() -> None:
    load_before = os.getloadavg()
    runs = []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as a:
            runs.append(asyncio.run(throughput(Path(a))))
    with tempfile.TemporaryDirectory() as b:
        latency = asyncio.run(list_latency(Path(b)))
    rates = [r for r, _ in runs]
    print(
        json.dumps(
            {
                "bench": "kernel_throughput",
                "noop_jobs_per_s": round(statistics.median(rates)),
                "noop_jobs_per_s_best": round(max(rates)),
                "noop_jobs_per_s_runs": [round(r) for r in rates],
                "durable_jobs_per_s": round(statistics.median(d for _, d in runs)),
                "goal_jobs_per_s": 20_000,
                "list_10k_ms": round(latency * 1000, 2),
                "goal_list_ms": 50,
                "loadavg_1m": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
                "machine": f"{platform.machine()} {os.cpu_count()} cores",
            }
        )
    )


if __name__ == "__main__":
    main()

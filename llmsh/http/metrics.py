"""`GET /metrics`: the kernel's state in Prometheus text format (version 0.0.4).

Names follow Prometheus' conventions (``llmsh_`` prefix, ``_bytes`` units); the
gauges are those llama.cpp's server and vLLM expose: queue length, jobs by kind
and state, generation throughput, device memory.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable

from ..kernel import JobState
from ..kernel.api import KernelAPI
from ..kernel.devices import NA

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LIVE = [JobState.QUEUED, JobState.LOADING, JobState.RUNNING, JobState.PAUSED]


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(name: str, kind: str, text: str, rows: Iterable[tuple[str, float]]) -> list[str]:
    lines = [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{labels} {value:g}" for labels, value in rows]
    return lines


async def render(kernel: KernelAPI, requests: dict[tuple[str, int], int]) -> str:
    procs = await kernel.list(states=_LIVE)
    counts = collections.Counter((p.kind, p.state.value) for p in procs)
    tok_rate = sum(
        p.progress.rate or 0.0
        for p in procs
        if p.state is JobState.RUNNING and p.progress.unit == "tok"
    )
    lines = _family(
        "llmsh_queue_length", "gauge", "Jobs waiting in the kernel's queue.",
        [("", len(kernel.queue_order()))],
    )  # fmt: skip
    lines += _family(
        "llmsh_jobs", "gauge", "Live jobs by kind and state.",
        [(f'{{kind="{_label(k)}",state="{s}"}}', n) for (k, s), n in sorted(counts.items())],
    )  # fmt: skip
    lines += _family(
        "llmsh_generation_tokens_per_second", "gauge",
        "Tokens per second summed over running generation jobs.", [("", tok_rate)],
    )  # fmt: skip
    devices = await kernel.devices()
    for field, text in (("mem_used", "used"), ("mem_total", "total")):
        rows = [
            (f'{{device="{_label(d.id)}"}}', float(getattr(d, field)))
            for d in devices
            if getattr(d, field) is not NA
        ]
        lines += _family(
            f"llmsh_device_memory_{text}_bytes", "gauge", f"Device memory {text}.", rows
        )
    lines += _family(
        "llmsh_http_requests_total", "counter", "HTTP requests answered, by path and status.",
        [(f'{{path="{_label(p)}",status="{s}"}}', n) for (p, s), n in sorted(requests.items())],
    )  # fmt: skip
    return "\n".join(lines) + "\n"

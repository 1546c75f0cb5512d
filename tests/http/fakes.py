"""Job kinds that stand in for models in the fast HTTP tests.

`chat` and `generate` write "tok0 tok1 ..." (one word per token, then the newline a
real generation job ends with); a prompt containing HOLD keeps writing slowly until
the job is killed. `embed` writes 3-dimensional vectors where the real job would.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from llmsh.kernel.context import JobContext
from llmsh.kernel.kinds import JobKind, KindRegistry
from llmsh.models.manifest import Manifest, ModelFormat, ModelKind, write_manifest

HOLD = "HOLD"
FAKE_CHAT = "fake-chat"
FAKE_EMBED = "fake-embed"


def _prompt(args: dict[str, Any]) -> str:
    if "messages" in args:
        return " ".join(m["content"] for m in args["messages"])
    return str(args.get("prompt", ""))


async def run_generation(ctx: JobContext) -> int:
    args = dict(ctx.args)
    prompt = _prompt(args)
    hold = HOLD in prompt
    limit = int(args.get("max_tokens", 16))
    count = 0
    while hold or count < limit:
        await ctx.checkpoint()
        ctx.write(("" if count == 0 else " ") + f"tok{count}")
        count += 1
        ctx.progress(count, limit, "tok", rate=100.0)
        await asyncio.sleep(0.05 if hold else 0)
    ctx.progress(count, count, "tok", rate=100.0, prompt_tokens=len(prompt.split()))
    ctx.write("\n")
    return 0


async def run_embed(ctx: JobContext) -> int:
    texts = list(ctx.args["texts"])
    with open(ctx.args["out"], "w", encoding="utf-8") as fh:
        for i, text in enumerate(texts):
            vector = [float(len(text)), float(i), 0.5]
            fh.write(json.dumps({"text": text, "embedding": vector}) + "\n")
    ctx.write("dimension: 3\n")
    return 0


def fake_kinds() -> KindRegistry:
    kinds = KindRegistry()
    kinds.register(JobKind("chat", run_generation))
    kinds.register(JobKind("generate", run_generation))
    kinds.register(JobKind("embed", run_embed))
    return kinds


def fake_store(home: Path) -> None:
    """Manifests (no weights: the fake kinds need none) for one model of each kind."""
    for name, kind in ((FAKE_CHAT, ModelKind.GENERATE), (FAKE_EMBED, ModelKind.EMBED)):
        folder = home / "models" / name
        folder.mkdir(parents=True)
        write_manifest(folder, Manifest(name, kind, ModelFormat.SAFETENSORS, "local:fake"))

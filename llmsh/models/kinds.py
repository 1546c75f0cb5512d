"""Model jobs as kernel job kinds: generate, chat, embed, classify, finetune, eval,
pull, load and unload.

All model jobs of one process share one `ModelPool`, so jobs on the same model and
device share its weights. The job functions run in worker threads; torch is
imported there, on first use, never when the kinds are registered.
"""

from __future__ import annotations

import threading
from typing import Any

from llmsh.kernel.context import JobContext
from llmsh.kernel.control import JobControl
from llmsh.kernel.kinds import JobKind, Runner
from llmsh.kernel.records import JobSpec
from llmsh.models.jobs import DEFAULT_MODELS
from llmsh.models.pool import ModelPool

_POOL: ModelPool | None = None
_POOL_LOCK = threading.Lock()
REAP_INTERVAL = 5.0


def shared_pool() -> ModelPool:
    """The process's model pool, with its keep-alive reaper running."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ModelPool()
            _POOL.start_reaper(REAP_INTERVAL)
        return _POOL


def _estimate(kind: str) -> Any:
    def estimate(spec: JobSpec) -> int:
        from llmsh.models.estimate import estimate_job

        return estimate_job(kind, spec.args).total

    return estimate


def _resume_args(args: dict[str, Any], parent: int | None) -> dict[str, Any]:
    """A fine-tune restarted from an interrupted one continues from its last checkpoint."""
    if parent is None or args.get("resume_from"):
        return args
    from llmsh.models.finetune import FinetuneArgs
    from llmsh.models.store import ModelStore

    run = FinetuneArgs.from_args(args, parent).out
    store = ModelStore()
    if any(store.checkpoints(run).glob("*")):
        return {**args, "resume_from": run}
    return {**args, "out": run}


def _runner(kind: str) -> Runner:
    async def run(ctx: JobContext) -> int:
        args = dict(ctx.args)
        if kind == "finetune":
            args = _resume_args(args, ctx.spec.parent)
        return await ctx.run_blocking(_call, kind, args, ctx)

    run.__name__ = f"run_{kind}"
    return run


def _call(kind: str, args: dict[str, Any], ctl: JobControl) -> int:
    from llmsh.models.jobs import job_function

    return job_function(kind)(args, ctl, shared_pool())


def _run_load(args: dict[str, Any], ctl: JobControl) -> int:
    row = shared_pool().pin(str(args["model"]), ctl.device)
    ctl.set_memory(row.nbytes)
    ctl.write(f"{row.name} loaded on {row.device} ({row.nbytes / 2**20:.0f} MiB), kept resident\n")
    return 0


def _run_unload(args: dict[str, Any], ctl: JobControl) -> int:
    from llmsh.models.errors import ModelError

    released = shared_pool().unpin(str(args["model"]))
    if not released:
        raise ModelError(f"model {args['model']!r} is not loaded")
    ctl.write(f"{args['model']} released on {', '.join(released)}\n")
    return 0


def _threaded(fn: Any) -> Runner:
    async def run(ctx: JobContext) -> int:
        result: int = await ctx.run_blocking(fn, dict(ctx.args), ctx)
        return result

    run.__name__ = getattr(fn, "__name__", "run")
    return run


def _require_model(args: dict[str, Any]) -> None:
    if not str(args.get("model") or "").strip():
        raise ValueError("a model name is required")


def model_job_kinds() -> list[JobKind]:
    gpu = ("cpu", "cuda")
    kinds = [
        JobKind(
            kind,
            _runner(kind),
            estimate=_estimate(kind),
            devices=gpu,
            loads_model=True,
            description=f"{kind} with a model (default {DEFAULT_MODELS[kind]})",
        )
        for kind in ("generate", "chat", "embed", "classify", "finetune", "eval")
    ]
    kinds.append(
        JobKind(
            "pull", _runner("pull"), description="fetch a catalogue model", validate=_require_model
        )
    )
    kinds.append(
        JobKind(
            "load",
            _threaded(_run_load),
            estimate=_estimate("generate"),
            devices=gpu,
            loads_model=True,
            validate=_require_model,
            description="load a model and keep it resident",
        )
    )
    kinds.append(
        JobKind(
            "unload",
            _threaded(_run_unload),
            validate=_require_model,
            description="release a resident model",
        )
    )
    return kinds


def resident_models() -> list[dict[str, Any]]:
    """What the shared pool holds, without creating it (no pool: nothing resident)."""
    if _POOL is None:
        return []
    return [
        {
            "name": r.name,
            "device": r.device,
            "nbytes": r.nbytes,
            "refs": r.refs,
            "pinned": r.pinned,
            "idle_seconds": round(r.idle_seconds, 1),
            "loading": r.loading,
        }
        for r in _POOL.snapshot()
    ]

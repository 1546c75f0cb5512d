"""Model jobs as kernel job kinds: generate, chat, embed, classify, finetune, eval,
pull, load and unload.

Where the model work runs is the kernel's executor (`llmsh.kernel.executor`): the
``process`` executor (the default) sends each job to the model worker process for
its model and device (`llmsh.workers`), so a segfault in torch or llama.cpp fails
that worker's jobs, not the kernel; the ``inline`` one runs it in a thread of the
kernel process. Either way all jobs of one process share one `ModelPool`
(`shared_pool()`: the worker's own, or the kernel's), so jobs on the same model
and device share its weights and decode loop. torch is imported where the job
runs, on first use, never when the kinds are registered. `pull` needs no device
and no pool: it stays in a kernel thread whatever the executor.
"""

from __future__ import annotations

import threading
from importlib import import_module
from typing import Any

from llmsh.kernel.context import JobContext
from llmsh.kernel.control import JobControl
from llmsh.kernel.ending import Ending
from llmsh.kernel.executor import Work
from llmsh.kernel.kinds import Estimator, JobKind, Runner
from llmsh.kernel.records import JobSpec
from llmsh.models.jobs import DEFAULT_MODELS, default_model
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


def existing_pool() -> ModelPool | None:
    """The process's pool if a job has made one (reports and unload must not create it)."""
    return _POOL


def _estimate(kind: str) -> Estimator:
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


def resolve_target(target: str) -> Any:
    """The job function named "module:function" (a plugin's model job)."""
    module, _, attr = target.partition(":")
    return getattr(import_module(module), attr)


def model_call(
    kind: str, args: dict[str, Any], ctl: JobControl, pool: ModelPool, parent: int | None = None
) -> int:
    """Run model job `kind` against `pool`: the same code in a kernel thread or a worker."""
    from llmsh.models.jobs import job_function

    if kind == "finetune":
        args = _resume_args(args, parent)
    if kind == "load":
        return run_load(args, ctl, pool)
    return job_function(kind)(args, ctl, pool)


# The first imports of transformers (a lazy module) and of peft (which imports much of
# transformers) fail when two threads make them at once: "cannot import name
# 'AutoModel' from 'transformers'". A fresh worker's first jobs often start together.
_IMPORT_LOCK = threading.Lock()


def _warm_imports(kind: str) -> None:
    if kind == "pull":  # no torch unless a GGUF needs converting
        return
    import transformers

    for name in ("AutoModel", "AutoModelForCausalLM", "AutoTokenizer"):
        getattr(transformers, name)  # resolve the lazy attributes once
    import llmsh.models.loader  # noqa: F401
    from llmsh.models.jobs import JOBS, job_function

    if kind in JOBS:
        job_function(kind)
    if kind == "finetune":
        import peft  # noqa: F401


def run_model_job(
    kind: str,
    args: dict[str, Any],
    ctl: JobControl,
    pool: ModelPool,
    parent: int | None = None,
    target: str | None = None,
) -> int:
    """Run a model job (`target`, else the kind `kind`) with `pool`, imports taken in turn."""
    with _IMPORT_LOCK:
        _warm_imports(kind)
        fn = resolve_target(target) if target else None
    if fn is not None:
        status: int = fn(args, ctl, pool)
        return status
    return model_call(kind, args, ctl, pool, parent)


def _call(
    kind: str, args: dict[str, Any], ctl: JobControl, parent: int | None, target: str | None
) -> int:
    return run_model_job(kind, args, ctl, shared_pool(), parent, target)


def model_runner(
    kind: str,
    target: str | None = None,
    default: str | None = None,
    estimate: Estimator | None = None,
) -> Runner:
    """The runner of a job that uses a model: on the kernel's executor.

    `target` ("module:function", called as ``function(args, ctl, pool)``) is for
    plugins' model jobs; without it the job is the built-in model kind `kind`. The
    model is args["model"] or `default`; `estimate` (the kind's own) lets a new
    model worker make room among idle ones.
    """

    async def run(ctx: JobContext) -> Ending:
        args = dict(ctx.args)
        model = str(args.get("model") or default or default_model(kind))
        try:
            need = int(estimate(ctx.spec)) if estimate is not None else 0
        except Exception:  # the kernel accepted the job: an estimate is only a hint here
            need = 0
        return await ctx.execute(Work(kind, model, args, target, need, ctx.spec.parent))

    run.__name__ = f"run_{kind}"
    return run


def _threaded(kind: str) -> Runner:
    async def run(ctx: JobContext) -> int:
        return await ctx.run_blocking(_call, kind, dict(ctx.args), ctx, ctx.spec.parent, None)

    run.__name__ = f"run_{kind}"
    return run


def run_load(args: dict[str, Any], ctl: JobControl, pool: ModelPool) -> int:
    row = pool.pin(str(args["model"]), ctl.device)
    ctl.set_memory(row.nbytes)
    ctl.write(f"{row.name} loaded on {row.device} ({row.nbytes / 2**20:.0f} MiB), kept resident\n")
    return 0


async def run_unload(ctx: JobContext) -> int:
    from llmsh.models.errors import ModelError

    model = str(ctx.args["model"])
    released = await ctx.run_blocking(ctx.executor.unpin, model)
    if not released:
        raise ModelError(f"model {model!r} is not loaded")
    ctx.write(f"{model} released on {', '.join(released)}\n")
    return 0


def _require_model(args: dict[str, Any]) -> None:
    if not str(args.get("model") or "").strip():
        raise ValueError("a model name is required")


def model_job_kinds() -> list[JobKind]:
    gpu = ("cpu", "cuda")
    kinds = [
        JobKind(
            kind,
            model_runner(kind, estimate=_estimate(kind)),
            estimate=_estimate(kind),
            devices=gpu,
            loads_model=True,
            description=f"{kind} with a model (default {DEFAULT_MODELS[kind]})",
        )
        for kind in ("generate", "chat", "embed", "classify", "finetune", "eval")
    ]
    kinds.append(
        JobKind(
            "pull",
            _threaded("pull"),
            description="fetch a catalogue model",
            validate=_require_model,
        )
    )
    kinds.append(
        JobKind(
            "load",
            model_runner("load", estimate=_estimate("generate")),
            estimate=_estimate("generate"),
            devices=gpu,
            loads_model=True,
            validate=_require_model,
            description="load a model and keep it resident",
        )
    )
    kinds.append(
        JobKind(
            "unload", run_unload, validate=_require_model, description="release a resident model"
        )
    )
    return kinds


def local_resident_models() -> list[dict[str, Any]]:
    """What this process's pool holds, without creating it (no pool: nothing resident)."""
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

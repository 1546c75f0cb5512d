"""Model jobs as kernel job kinds: generate, chat, embed, classify, finetune, eval,
pull, load and unload.

Where the model work runs is the kernel's executor (`llmsh.kernel.executor`): the
``process`` executor (the default) sends each job to the model worker process for
its model and device (`llmsh.workers`), so a segfault in torch or llama.cpp fails
that worker's jobs, not the kernel; the ``inline`` one runs it in a thread of the
kernel process. Either way all jobs of one process share one `ModelPool`
(`shared_pool()`: the worker's own, or the kernel's) holding every backend's models,
so jobs on the same model and device share its weights and decode loop, and `free`,
`load` and `unload` see torch and llama.cpp models alike. Backend, shape and memory
estimate are resolved once at submit, in a thread (`JobKind.resolve`,
`models.resolve`), and carried in the job's args; a job reserves the model's weights
only when they are not resident yet (the kernel passes what its executor holds to
`JobKind.resident_estimate`), and reports as its own memory only what it adds. torch
is imported where the job runs, on first use, never when the kinds are registered.
`pull` needs no device and no pool: it stays in a kernel thread whatever the executor.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from importlib import import_module
from typing import Any

from llmsh.kernel.context import JobContext
from llmsh.kernel.control import JobControl
from llmsh.kernel.ending import Ending
from llmsh.kernel.executor import Work
from llmsh.kernel.kinds import Estimator, JobKind, ResidentEstimator, Runner
from llmsh.kernel.records import JobSpec
from llmsh.models.jobs import DEFAULT_MODELS, default_model
from llmsh.models.pool import ModelPool
from llmsh.models.resolve import ARG, ResolvedModel, device_type, resolve_model

_POOL: ModelPool | None = None
_POOL_LOCK = threading.Lock()
REAP_INTERVAL = 5.0


def shared_pool() -> ModelPool:
    """The process's model pool, with its keep-alive reaper running.

    The one access point to it: every backend's models live there (the kinds are
    registered by a plugin hook that has no runtime object to hang the pool on)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ModelPool()
            _POOL.start_reaper(REAP_INTERVAL)
        return _POOL


def existing_pool() -> ModelPool | None:
    """The process's pool if a job has made one (reports and unload must not create it)."""
    return _POOL


def _resolver(kind: str) -> Callable[[JobSpec], JobSpec]:
    """`JobKind.resolve`: run once per job at submit, in a thread (it reads files)."""

    def resolve(spec: JobSpec) -> JobSpec:
        found = resolve_model(kind, spec.args, spec.device or "auto")
        return replace(spec, args={**spec.args, ARG: found.to_json()})

    return resolve


def _is_resident(res: ResolvedModel, request: str, rows: Iterable[dict[str, Any]]) -> bool:
    """Whether the model is loaded already (kernel pool or a worker) on a device the job
    may run on, with the backend it would run there: then the job adds only its extra."""
    types = {device_type(request)} if request not in ("", "auto") else {"cpu", "cuda"}
    for row in rows:
        dtype = device_type(str(row.get("device")))
        if row.get("name") == res.model and dtype in types:
            if res.backends.get(dtype) == row.get("backend", "torch"):
                return True
    return False


def _estimate_with(kind: str) -> ResidentEstimator:
    """Bytes to reserve: the job's own extra, plus the weights unless `resident` (what the
    kernel's executor holds now) has them: a resident model's weights are reserved once,
    not by every job on it."""

    def estimate(spec: JobSpec, resident: list[dict[str, Any]]) -> int:
        data = spec.args.get(ARG)
        if not isinstance(data, dict):  # a caller that skipped `resolve`: resolve here
            data = resolve_model(kind, spec.args, spec.device or "auto").to_json()
        res = ResolvedModel.from_json(data)
        loaded = _is_resident(res, spec.device or "auto", resident)
        return res.extra + (0 if loaded else res.resident)

    return estimate


def _estimate(kind: str) -> Estimator:
    """The same without the kernel's view: this process's own pool is what is resident."""
    with_rows = _estimate_with(kind)
    return lambda spec: with_rows(spec, local_resident_models())


def _need(args: dict[str, Any]) -> int:
    """The worker's room to make: what the submit-time resolution says loading takes."""
    data = args.get(ARG)
    if not isinstance(data, dict):
        return 0
    res = ResolvedModel.from_json(data)
    return res.resident + res.extra


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
        need = _need(args)
        if not need and estimate is not None:  # a plugin kind without a resolution
            try:
                need = int(estimate(ctx.spec))
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
    """Load what generation will use: the backend resolved at submit, as generate's."""
    from llmsh.models.resolve import resolved
    from llmsh.models.runtime import job_device

    res = resolved("load", args)
    device = job_device(args, ctl)
    backend = res.backend_for(device)
    row = pool.pin(res.model, "cpu" if backend == "llama.cpp" else device, backend, res.resident)
    ctl.set_memory(row.nbytes)
    ctl.write(f"{row.name} loaded on {row.device} with {row.backend} "
              f"({row.nbytes / 2**20:.0f} MiB), kept resident\n")  # fmt: skip
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
            resolve=_resolver(kind),
            resident_estimate=_estimate_with(kind),
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
            model_runner("load", estimate=_estimate("load")),
            estimate=_estimate("load"),
            resolve=_resolver("load"),
            resident_estimate=_estimate_with("load"),
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
    return [r.as_row() for r in _POOL.snapshot()]

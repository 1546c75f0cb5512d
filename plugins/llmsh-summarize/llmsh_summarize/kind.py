"""The `summarize` job kind: a model job, so it runs where the kernel runs model jobs
(the model worker for its model and device, or a kernel thread; see `llmsh.workers`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmsh.kernel import JobKind, JobSpec

ESTIMATE_CHUNK = 2048  # prompt tokens assumed for the memory estimate without --chunk-tokens


def validate(args: dict[str, Any]) -> None:
    if not isinstance(args.get("path"), str) or not args["path"]:
        raise ValueError("summarize needs the path of a text file")
    if int(args.get("max_words") or 100) < 1:
        raise ValueError("max_words must be at least 1")
    if args.get("chunk_tokens") is not None and int(args["chunk_tokens"]) < 32:
        raise ValueError("chunk_tokens must be at least 32")


def estimate(spec: JobSpec) -> int:
    from llmsh.models.estimate import estimate_job

    tokens = int(spec.args.get("chunk_tokens") or ESTIMATE_CHUNK)
    as_generate = {"model": spec.args.get("model"), "prompt": "x" * 3 * tokens,
                   "max_tokens": 2 * int(spec.args.get("max_words") or 100)}  # fmt: skip
    return estimate_job("generate", as_generate).total


def summarize_kind() -> JobKind:
    from llmsh.kernel import JobKind
    from llmsh.models.kinds import model_runner

    # Named, not passed: a model worker imports the job function itself. The default
    # model is job.DEFAULT_MODEL, written out because importing `job` imports torch.
    target = "llmsh_summarize.job:run_summarize"
    return JobKind(
        "summarize",
        model_runner("summarize", target, default="smollm2", estimate=estimate),
        estimate=estimate,
        devices=("cpu", "cuda"),
        loads_model=True,
        validate=validate,
        description="summarize a text file (chunked map-reduce over a generation model)",
    )

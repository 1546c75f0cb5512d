"""Model jobs: load, unload, generate, embed, classify, finetune, eval.

Each is a kernel job of the same kind name. Its JobSpec ``args`` use the flag
names with underscores (``prompt``, ``model``, ``max_tokens``, ``temperature``,
``text``, ``out``, ``labels``, ``data``, ``epochs``, ``lr``, ``rank``); paths
are made absolute. Until the model layer registers these kinds with the
kernel, the commands answer "not available yet".
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from llmsh.commands.context import Context
from llmsh.commands.jobrun import make_spec, run_built_job
from llmsh.commands.registry import Register
from llmsh.commands.spec import Arg, Args, Command, Flag
from llmsh.commands.spec import ValueType as T

GENERATE_DEFAULT = "smollm2"
EMBED_DEFAULT = "minilm"

MODEL = Flag("model", T.MODEL, short="m", metavar="M", help="model name (default: configured)")
DEVICE = Flag("device", T.DEVICE, short="d", metavar="D", help="auto, cpu, cuda or cuda:N")
PRIORITY = Flag("priority", T.PRIORITY, short="p", metavar="P", help="high, normal, low, -20..19")
DATA = Flag("data", T.FILE, metavar="FILE", required=True, help="training or evaluation data")


def default_model(ctx: Context, args: Args, generation: bool) -> str:
    if args.get("model"):
        return str(args["model"])
    name = "LLMSH_MODEL" if generation else "LLMSH_EMBED_MODEL"
    return ctx.shell.state.variables.get(name) or (
        GENERATE_DEFAULT if generation else EMBED_DEFAULT)  # fmt: skip


def file_arg(ctx: Context, path: str | None) -> str | None:
    """An absolute path; ``-`` saves standard input to a temporary file."""
    if path is None:
        return None
    if path == "-":
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write(ctx.stdin or "")
        return f.name
    return os.path.abspath(os.path.expanduser(path))


def load_job(ctx: Context, args: Args) -> Any:
    return make_spec(ctx, "load", args, model=args["model"])


def unload_job(ctx: Context, args: Args) -> Any:
    return make_spec(ctx, "unload", args, model=args["model"])


def generate_job(ctx: Context, args: Args) -> Any:
    return make_spec(ctx, "generate", args, prompt=args["prompt"],
                     model=default_model(ctx, args, True), max_tokens=args["max_tokens"],
                     temperature=args["temperature"])  # fmt: skip


def embed_job(ctx: Context, args: Args) -> Any:
    return make_spec(
        ctx,
        "embed",
        args,
        text=args["text"],
        model=default_model(ctx, args, False),
        out=file_arg(ctx, args["out"]),
    )


def classify_job(ctx: Context, args: Args) -> Any:
    return make_spec(ctx, "classify", args, text=args["text"], labels=list(args["labels"]),
                     model=default_model(ctx, args, False))  # fmt: skip


def finetune_job(ctx: Context, args: Args) -> Any:
    return make_spec(
        ctx,
        "finetune",
        args,
        model=args["model"],
        data=file_arg(ctx, args["data"]),
        epochs=args["epochs"],
        lr=args["lr"],
        rank=args["rank"],
        out=args["out"],
    )


def eval_job(ctx: Context, args: Args) -> Any:
    return make_spec(ctx, "eval", args, model=args["model"], data=file_arg(ctx, args["data"]))


def generation_defaults() -> str:
    """`help generate` / `help chat`: the default model's sampling defaults, and how to
    change them (read when help is shown: they depend on the store and config.toml)."""
    try:
        from llmsh.models.sampling_defaults import describe
    except ImportError:
        return "Sampling defaults: the model layer is not installed."
    return (
        f"Sampling {describe(GENERATE_DEFAULT)}.\nChange them per job (--temperature,"
        f" --max-tokens) or per model in config.toml\n([models.NAME] temperature = 0.7,"
        " top_p = 0.9, max_tokens = 256)."
    )


def register_commands(register: Register) -> None:
    job = run_built_job
    register(
        Command(
            "load",
            "keep a model resident",
            job,
            category="models",
            args=(Arg("model", T.MODEL, metavar="MODEL"),),
            flags=(dataclasses.replace(DEVICE, metavar="DEVICE"),),
            job=load_job,
            job_kind="load",
            examples=("load smollm2 --device cpu",),
        )
    )
    register(
        Command(
            "unload",
            "release a resident model",
            job,
            category="models",
            args=(Arg("model", T.MODEL, metavar="MODEL"),),
            destructive=True,  # it may pull a model from under the jobs using it
            job=unload_job,
            job_kind="unload",
            examples=("unload smollm2",),
        )
    )
    register(
        Command(
            "generate",
            "text generation job, streamed",
            job,
            live_help=generation_defaults,
            category="models",
            args=(Arg("prompt", T.TEXT, metavar="PROMPT", help="the prompt; - reads stdin"),),
            flags=(
                MODEL,
                Flag("max-tokens", T.INT, short="n", metavar="N", help="tokens to add"),
                Flag("temperature", T.FLOAT, short="t", metavar="T", help="0 is greedy"),
                DEVICE,
                PRIORITY,
            ),
            job=generate_job,
            job_kind="generate",
            examples=(
                "generate 'Write a haiku about GPUs'",
                "generate 'Summarise:' --max-tokens 64 --device cpu &",
            ),
        )
    )
    register(
        Command(
            "embed",
            "embedding job",
            job,
            category="models",
            args=(Arg("text", T.TEXT),),
            flags=(MODEL, Flag("out", T.FILE, short="o", metavar="FILE", help="write the vector")),
            job=embed_job,
            job_kind="embed",
            examples=("embed 'hello world' --out vec.json",),
        )
    )
    register(
        Command(
            "classify",
            "zero-shot classification job",
            job,
            category="models",
            args=(Arg("text", T.TEXT),),
            flags=(
                Flag(
                    "labels",
                    T.LABELS,
                    short="l",
                    metavar="A,B,...",
                    required=True,
                    help="candidate labels",
                ),
                MODEL,
            ),
            job=classify_job,
            job_kind="classify",
            examples=("classify 'the GPU is on fire' --labels urgent,normal",),
            description=(
                "Prints each label with its probability (they sum to 1), the most likely"
                " first.\nHow it decides: the text and 'This text is LABEL.' for each"
                " label are\nembedded with the model (minilm by default); the cosine"
                " similarities become\nprobabilities by a softmax at temperature 0.05."
            ),
        )
    )
    register(
        Command(
            "finetune",
            "LoRA fine-tuning job; the result is registered as model NAME",
            job,
            category="models",
            args=(Arg("model", T.MODEL, metavar="MODEL"),),
            flags=(
                DATA,
                Flag("epochs", T.INT, metavar="N"),
                Flag("lr", T.FLOAT, metavar="X"),
                Flag("rank", T.INT, metavar="R"),
                Flag("out", T.NAME, metavar="NAME"),
                DEVICE,
                PRIORITY,
            ),
            job=finetune_job,
            job_kind="finetune",
            examples=("finetune smollm2 --data notes.jsonl --epochs 1 --out smollm2-notes &",),
            description=(
                "Data: a JSON lines file, one example per line, either"
                ' {"prompt": ..., "completion": ...}\n(the loss covers the completion) or'
                ' {"text": ...}.\nDefaults: --epochs 1, --lr 5e-4, --rank 8 (LoRA alpha ='
                " 2 x rank), examples cut at 256 tokens,\na checkpoint every 10 steps (after"
                " a crash, `resume ID` continues from it), and the\nresult registered as"
                " MODEL-ft-PID unless --out names it."
            ),
        )
    )
    register(
        Command(
            "eval",
            "evaluation job (perplexity)",
            job,
            category="models",
            args=(Arg("model", T.MODEL, metavar="MODEL"),),
            flags=(DATA,),
            job=eval_job,
            job_kind="eval",
            examples=("eval smollm2-notes --data test.txt",),
        )
    )

"""The `summarize` command: one kernel job of kind `summarize` over a text file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from llmsh.commands.context import Context
from llmsh.commands.jobrun import make_spec, run_job
from llmsh.commands.modelcmds import DEVICE, MODEL, PRIORITY, default_model, file_arg
from llmsh.commands.spec import Arg, Args, Command, CommandError, Flag, UsageError
from llmsh.commands.spec import ValueType as T

if TYPE_CHECKING:
    from llmsh.kernel import JobSpec

DEFAULT_WORDS = 100


def summarize_job(ctx: Context, args: Args) -> JobSpec:
    path = file_arg(ctx, args["file"])
    assert path is not None
    if not Path(path).is_file():
        raise CommandError(f"no such file: {args['file']}")
    words = args["max_words"] or DEFAULT_WORDS
    if words < 5:
        raise UsageError(args.command, f"--max-words must be at least 5, got {words}")
    chunk = args["chunk_tokens"]
    if chunk is not None and chunk < 32:
        raise UsageError(args.command, f"--chunk-tokens must be at least 32, got {chunk}")
    return make_spec(ctx, "summarize", args, path=path, model=default_model(ctx, args, True),
                     max_words=words, chunk_tokens=chunk,
                     temperature=args["temperature"])  # fmt: skip


async def summarize(ctx: Context, args: Args) -> int:
    """Run the job in the foreground with a progress bar (one step per chunk)."""
    return await run_job(ctx, summarize_job(ctx, args), progress=True)


def summarize_command() -> Command:
    return Command(
        "summarize",
        "summarize a text file with a generation model (in chunks when it is long)",
        summarize,
        category="models",
        aliases=("summarise",),
        args=(Arg("file", T.FILE, metavar="FILE", help="a text file; - reads stdin"),),
        flags=(
            MODEL,
            Flag(
                "max-words",
                T.INT,
                short="w",
                metavar="N",
                help=f"length of the summary (default {DEFAULT_WORDS})",
            ),
            Flag(
                "chunk-tokens",
                T.INT,
                metavar="N",
                help="tokens per chunk at most (default: what the model's context holds)",
            ),
            Flag("temperature", T.FLOAT, short="t", metavar="T", help="0 is greedy (default)"),
            DEVICE,
            PRIORITY,
        ),  # fmt: skip
        job=summarize_job,
        job_kind="summarize",
        description=(
            "A file longer than the model's context is cut into chunks at paragraph or "
            "sentence ends; each chunk is summarised, then the summaries are summarised "
            "together (map, then reduce). It all runs as one `summarize` job: it shows in "
            "ps, and kill and pause take effect at the next token."
        ),
        examples=(
            "summarize notes.txt",
            "summarize report.md --max-words 50",
            "!cat log.txt | summarize - --model smollm2 &",
        ),
    )

"""Conversations with models: `chat` (multi-turn) and `nl` (natural language to a command).

`nl` uses ``llmsh.nl_intent.translate(text) -> Proposal`` (run in a worker thread: it
loads a model on first use): ``command`` in canonical spelling or None with
``alternatives`` and a ``reason``; ``destructive`` ones run only after a yes.
"""

from __future__ import annotations

import dataclasses
import io
from typing import Any

from llmsh.commands.context import Context
from llmsh.commands.jobrun import make_spec, run_job
from llmsh.commands.modelcmds import MODEL, default_model
from llmsh.commands.registry import Register
from llmsh.commands.spec import Arg, Args, Command, CommandError, Flag, not_available
from llmsh.commands.spec import ValueType as T


class Tee(io.StringIO):
    """Keeps what is written and passes it on (a chat reply shown and remembered)."""

    def __init__(self, target: Any) -> None:
        super().__init__()
        self.target = target

    def write(self, text: str) -> int:
        self.target.write(text)
        return super().write(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return bool(self.target.isatty())


async def chat(ctx: Context, args: Args) -> int:
    kernel = await ctx.kernel()
    if "chat" not in await kernel.kind_names():
        raise not_available()
    model = default_model(ctx, args, True)
    messages: list[dict[str, str]] = []
    status = 0
    while True:
        if ctx.stdin is not None:
            text: str | None = ctx.stdin if not messages else None
        else:
            text = await ctx.shell.read_line(f"{model}> ")
        if text is None or text.strip() in ("/exit", "/quit"):
            return status
        if not text.strip():
            continue
        messages.append({"role": "user", "content": text})
        tee = Tee(ctx.out)
        spec = make_spec(ctx, "chat", args, model=model, messages=list(messages))
        status = await run_job(dataclasses.replace(ctx, out=tee), spec)
        if not tee.getvalue().endswith("\n"):
            ctx.line()
        messages.append({"role": "assistant", "content": tee.getvalue().strip()})


async def nl(ctx: Context, args: Args) -> int:
    """Translate, show the command, then run it (destructive ones only after a yes)."""
    import asyncio

    try:
        from llmsh.nl_intent import translate
    except ImportError:
        raise not_available("the natural-language parser is not installed") from None
    text = " ".join(args["text"])
    try:
        proposal: Any = await asyncio.to_thread(translate, text)
    except (ImportError, RuntimeError, OSError, ValueError) as exc:
        raise CommandError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    if args["json"]:
        from llmsh.commands.render import print_json

        print_json(ctx, {"text": text, **proposal.to_json()})
        return 0 if proposal.command else 1
    command = proposal.command
    if not command:
        others = " | ".join(a.command for a in proposal.alternatives)
        hint = f"; did you mean: {others}" if others else ""
        raise CommandError(f"no confident translation ({proposal.reason or 'unsure'}){hint}")
    if args["dry_run"]:
        ctx.line(command)
        return 0
    if ctx.shell.interactive:  # propose and ask, as for a line typed in English
        from llmsh.shell.proposal import propose

        return await propose(ctx.shell, text, proposal)
    ctx.err.write(f"llmsh: nl: {command}\n")
    if proposal.destructive or _ends_or_removes(ctx, command):
        raise CommandError(f"not running '{command}' without confirmation (it is destructive)")
    return await ctx.shell.run_source(command)


def register_commands(register: Register) -> None:
    register(
        Command(
            "chat",
            "interactive multi-turn chat (/exit ends)",
            chat,
            category="models",
            flags=(MODEL,),
            job_kind="chat",
            examples=("chat", "chat --model smollm2"),
        )
    )
    register(
        Command(
            "nl",
            "translate natural language into a command",
            nl,
            category="models",
            args=(Arg("text", T.TEXT, metavar="TEXT", many=True),),
            flags_first=True,
            flags=(
                Flag("dry-run", short="n", help="print the command, do not run it"),
                Flag("json", help="print the translation as JSON"),
            ),
            examples=("nl show me what is running", "nl --dry-run stop job 3"),
        )
    )


def _ends_or_removes(ctx: Context, command: str) -> bool:
    """The line itself decides too: a translation not flagged destructive may still be."""
    from llmsh.commands.destructive import ends_or_removes

    return ends_or_removes(ctx.shell.registry, command)

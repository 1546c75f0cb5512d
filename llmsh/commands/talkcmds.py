"""Conversations with models: `chat` (multi-turn) and `nl` (natural language to a command).

`nl` asks the shell to translate (`ShellServices.translate`, the intent parser in a worker thread: it
loads a model on first use): ``command`` in canonical spelling or None with
``alternatives`` and a ``reason``; ``destructive`` ones run only after a yes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from typing import Any

from llmsh.commands.chatsession import Action, ChatSession
from llmsh.commands.context import Context
from llmsh.commands.jobrun import make_spec, run_job
from llmsh.commands.markdown_out import LiveMarkdown
from llmsh.commands.modelcmds import MODEL, default_model, generation_defaults
from llmsh.commands.registry import Register
from llmsh.commands.spec import Arg, Args, Command, CommandError, Flag, not_available
from llmsh.commands.spec import ValueType as T
from llmsh.errors import KernelError, one_line


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
    """A conversation: each reply is a `chat` job; slash commands as in `ollama run`."""
    kernel = await ctx.kernel()
    if "chat" not in await kernel.kind_names():
        raise not_available()
    session = ChatSession(default_model(ctx, args, True))
    if ctx.stdin is not None:  # `echo hi | chat`: one message, one reply
        return await _reply(ctx, args, session, ctx.stdin)
    status = 0
    while True:
        line = await ctx.shell.read_line(session.prompt)
        if line is None:
            return status
        step = session.read(line)
        if step.action is Action.EXIT:
            return status
        if step.action is Action.SAY:
            ctx.write(step.text)
        elif step.action is Action.SEND:
            status = await _reply(ctx, args, session, step.text)


async def _reply(ctx: Context, args: Args, session: ChatSession, text: str) -> int:
    """One turn: the reply streams (as Markdown on a terminal); Ctrl-C stops only it."""
    import asyncio

    from llmsh.models.sampling_defaults import sampling_defaults

    session.messages.append({"role": "user", "content": text})
    limit = session.max_tokens
    if limit is None:
        defaults, _ = await asyncio.to_thread(sampling_defaults, session.model)
        limit = int(defaults["max_tokens"])
    spec = make_spec(ctx, "chat", args, model=session.model, messages=session.request(),
                     temperature=session.temperature, max_tokens=limit)  # fmt: skip
    kernel = await ctx.kernel()
    job = ctx.job
    started = len(job.pids) if job is not None else 0

    async def stop_reply() -> None:
        for pid in job.pids[started:] if job is not None else []:
            with contextlib.suppress(KernelError):  # it may have just ended
                await kernel.kill(pid, reason="stopped by Ctrl-C")

    live = LiveMarkdown(ctx.out) if ctx.styled and ctx.streaming else None
    tee = Tee(live if live is not None else ctx.out)
    if job is not None:
        job.on_interrupt = stop_reply
    try:
        status = await run_job(dataclasses.replace(ctx, out=tee), spec)
    finally:
        if job is not None:
            job.on_interrupt = None
        if live is not None:
            live.close()
    reply = tee.getvalue()
    if reply and not reply.endswith("\n"):
        ctx.line()
    session.messages.append({"role": "assistant", "content": reply.strip()})
    if job is not None and job.pids[started:]:
        proc = await kernel.get(job.pids[-1])
        if proc.state.value == "killed":
            ctx.err.write("(reply stopped; the conversation goes on)\n")
            return 0
        if proc.state.value == "done" and proc.progress.done >= limit:
            ctx.err.write(f"(reply cut at the {limit}-token limit: /set max-tokens N for more)\n")
    return status


async def nl(ctx: Context, args: Args) -> int:
    """Translate, show the command, then run it (destructive ones only after a yes)."""
    text = " ".join(args["text"])
    try:
        proposal = await ctx.shell.translate(text)
    except ImportError:
        raise not_available("the natural-language parser is not installed") from None
    except (RuntimeError, OSError, ValueError) as exc:
        raise CommandError(one_line(exc)) from None
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
        return await ctx.shell.propose(text, proposal)
    ctx.err.write(f"llmsh: nl: {command}\n")
    if proposal.destructive or _ends_or_removes(ctx, command):
        raise CommandError(f"not running '{command}' without confirmation (it is destructive)")
    return await ctx.shell.run_source(command)


def register_commands(register: Register) -> None:
    register(
        Command(
            "chat",
            "interactive multi-turn chat (/? lists its commands, /bye ends)",
            chat,
            live_help=generation_defaults,
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

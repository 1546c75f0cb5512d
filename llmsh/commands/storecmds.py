"""`models` and its subcommands: list, pull, show, add, rm (the model store).

The store lives in `llmsh.models`; it is imported only when a subcommand runs
and a missing model layer answers "not available yet". Pulls run in a worker
thread with a progress bar on a terminal; Ctrl-C stops them at the next chunk.
"""

from __future__ import annotations

import sys
from typing import Any

from llmsh.commands import render
from llmsh.commands.context import Context
from llmsh.commands.modelshow import fmt_params, render_show
from llmsh.commands.progress import ProgressBar
from llmsh.commands.registry import Register
from llmsh.commands.render import Column
from llmsh.commands.spec import Arg, Args, Command, CommandError, Flag, not_available
from llmsh.commands.spec import ValueType as T

JSON = Flag("json", help="machine-readable output")


def model_layer() -> Any:
    try:
        import llmsh.models as models
    except ImportError:
        raise not_available() from None
    return models


def is_model_error(exc: BaseException) -> bool:
    errors = sys.modules.get("llmsh.models.errors")
    return errors is not None and isinstance(exc, errors.ModelError)


async def in_thread(fn: Any, *args: Any) -> Any:
    """Run blocking model-store work off the event loop; model errors become messages."""
    import asyncio

    try:
        return await asyncio.to_thread(fn, *args)
    except Exception as exc:
        if is_model_error(exc) or isinstance(exc, (OSError, ValueError)):
            raise CommandError(str(exc)) from None
        raise


async def models_list(ctx: Context, args: Args) -> int:
    store = model_layer().ModelStore()
    manifests = await in_thread(store.list)
    if args["json"]:
        render.print_json(ctx, [m.to_json() for m in manifests])
        return 0
    if not manifests:
        ctx.err.write("no models in the store yet; fetch one with: models pull smollm2\n")
        return 0
    cols = [Column("NAME"), Column("KIND"), Column("FORMAT"), Column("PARAMS", "right"),
            Column("SIZE", "right"), Column("SOURCE")]  # fmt: skip
    rows = [[m.name, m.kind.value, m.format.value + (f" on {m.base}" if m.base else ""),
             fmt_params(m.parameters), render.fmt_bytes(m.size_bytes), m.source]
            for m in manifests]  # fmt: skip
    render.table(ctx, cols, rows)
    return 0


async def models_pull(ctx: Context, args: Args) -> int:
    model_layer()
    status = 0
    for name in args["names"]:
        try:
            await _pull(ctx, name, args["if_missing"])
        except CommandError as exc:
            label = name if len(name) <= 40 else name[:37] + "..."  # the reason may repeat it
            status = ctx.error(f"{label}: {exc.message}", exc.status)
    return status


async def _pull(ctx: Context, name: str, if_missing: bool) -> None:
    import asyncio
    import threading

    from llmsh.models.pull import pull

    bar = ProgressBar.for_stream(ctx.err) if ctx.streaming else None
    stop = threading.Event()

    def progress(phase: str, done: int, total: int | None) -> None:
        if bar is not None:
            size = render.fmt_bytes(done) + (f"/{render.fmt_bytes(total)}" if total else "")
            bar.show(done / total if total else None, f"{name}: {phase} {size}")

    def check() -> None:
        if stop.is_set():
            raise CommandError("interrupted", 130)

    try:
        result = await in_thread(pull, name, progress, None, None, check)
    except asyncio.CancelledError:
        stop.set()  # Ctrl-C: the worker stops at its next chunk
        raise
    finally:
        if bar is not None:
            bar.close()
    manifest = result.manifest
    if result.already and not if_missing:
        ctx.line(f"{manifest.name} is already in the store")
    elif not result.already:
        ctx.line(f"pulled {manifest.name} ({render.fmt_bytes(manifest.size_bytes)})")


def model_details(name: str) -> dict[str, Any]:
    """The store's details plus, for text generators, what would run them on the CPU,
    and the adapters trained on it."""
    from llmsh.models.errors import ModelError

    store = model_layer().ModelStore()
    details: dict[str, Any] = store.show(name)
    if details.get("kind") == "generate":
        from llmsh.engine.registry import choose_backend

        gguf = store.gguf_file(name)
        if gguf is not None:
            details["gguf"] = str(gguf)
        try:
            details["backend"] = f"{choose_backend(name, 'cpu')} (on the CPU)"
        except ModelError as exc:  # a configured backend that cannot run here
            details["backend"] = f"none: {exc}"
    details["adapters"] = store.adapters_of(name)
    return details


async def models_show(ctx: Context, args: Args) -> int:
    details: dict[str, Any] = await in_thread(model_details, args["name"])
    loaded: list[dict[str, Any]] = []
    if ctx.shell.kernel_started:  # a kernel that never started holds no model
        kernel = await ctx.kernel()
        loaded = [r for r in await kernel.resident() if r.get("name") == details["name"]]
    details["loaded"] = loaded
    if args["json"]:
        render.print_json(ctx, details)
        return 0
    ctx.write(render_show(details))
    return 0


async def models_add(ctx: Context, args: Args) -> int:
    model_layer()
    from llmsh.models.importer import add_model

    manifest = await in_thread(add_model, args["name"], args["path"])
    ctx.line(f"added {manifest.name} ({manifest.kind.value}, {manifest.format.value})")
    return 0


async def models_rm(ctx: Context, args: Args) -> int:
    store = model_layer().ModelStore()
    name = args["name"]
    await in_thread(store.get, name)
    if not args["yes"]:
        if not ctx.shell.interactive:
            raise CommandError(f"not removing {name} without confirmation: add --yes")
        if not await ctx.shell.confirm(f"remove model {name} from the store?"):
            ctx.line("kept")
            return 1
    await in_thread(store.remove, name)
    ctx.line(f"removed {name}")
    return 0


NAME = Arg("name", T.MODEL, metavar="NAME")
SUBCOMMANDS = (
    Command("list", "registered models", models_list, flags=(JSON,), parent="models",
            examples=("models", "models list --json")),
    Command("pull", "fetch catalogue models into the model store", models_pull, parent="models",
            args=(Arg("names", T.MODEL, metavar="NAME", many=True),),
            flags=(Flag("if-missing", help="say nothing for models already stored"),),
            examples=("models pull smollm2", "models pull smollm2 minilm --if-missing")),
    Command("show", "details: kind, parameters, size, format, source, where loaded",
            models_show, args=(NAME,), flags=(JSON,), parent="models",
            examples=("models show smollm2",)),
    Command("add", "register a local model directory, .gguf file or LoRA adapter", models_add,
            args=(NAME, Arg("path", T.FILE, metavar="PATH")), parent="models",
            examples=("models add mymodel ./checkpoints/run1",)),
    Command("rm", "remove a model from the store (asks to confirm)", models_rm, parent="models",
            args=(NAME,), flags=(Flag("yes", short="y", help="do not ask"),), destructive=True,
            examples=("models rm mymodel",)),
)  # fmt: skip


async def _unreachable(ctx: Context, args: Args) -> int:
    raise CommandError("missing subcommand")


def register_commands(register: Register) -> None:
    register(
        Command(
            "models",
            "registered models (same as `models list`); pull, show, add, rm",
            _unreachable,
            category="models",
            subcommands=SUBCOMMANDS,
            default_subcommand="list",
        )
    )

"""`plugins`: what is loaded, from where, with versions and what each registered.

Listing loads the third-party plugins (unless `--safe`), registers their commands
in the shell's registry (so clashes are reported) and calls every hook not yet
called in this process into a register that keeps nothing, so each plugin's
commands, job kinds, language examples, model sources, backends and resources
are all known.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmsh.commands import render
from llmsh.commands.context import Context
from llmsh.commands.registry import Register
from llmsh.commands.render import Column
from llmsh.commands.spec import Args, Command, Flag

if TYPE_CHECKING:
    from llmsh.plugins import PluginInfo, Plugins

TITLES = {
    "commands": "commands",
    "job_kinds": "job kinds",
    "nl_examples": "NL examples",
    "model_sources": "model sources",
    "backends": "backends",
    "resources": "resources",
}
SHOWN = 6  # names listed per hook before "+N more"


def _keep_nothing(*args: Any, **kwargs: Any) -> None:
    pass


def survey(plugins: Plugins) -> None:
    """Call every hook not yet collected in this process, into a register that keeps
    nothing, so that `infos` says what each plugin offers."""
    from llmsh.hookspecs import HOOKS

    for hook in HOOKS:
        done = {which for h, which in plugins.collected if h == hook}
        if "all" in done or {"built-in", "third-party"} <= done:
            continue
        missing = [w for w in ("built-in", "third-party") if w not in done]
        for which in ["all"] if len(missing) == 2 else missing:
            plugins.collect(hook, _keep_nothing, which=which)


def loaded_plugins(ctx: Context) -> Plugins:
    """The process's plugins with every hook collected at least once."""
    from llmsh.plugins import get_plugins

    plugins = get_plugins()
    plugins.load_third_party()
    ctx.shell.registry.names()  # plugin commands go through the registry: clashes are kept out
    survey(plugins)
    return plugins


def version_of(info: PluginInfo) -> str:
    if info.version or not info.builtin:
        return info.version
    from llmsh import __version__

    return __version__


def registered_text(info: PluginInfo, full: bool = False) -> str:
    """``commands: a, b; job kinds: c`` (or ``failed: ...`` for a broken plugin)."""
    if info.error:
        return f"failed: {info.error}"
    parts = []
    for key, title in TITLES.items():
        names = list(dict.fromkeys(info.registered.get(key, [])))
        if not names:
            continue
        shown = names if full or len(names) <= SHOWN else names[: SHOWN - 1]
        more = f", +{len(names) - len(shown)} more" if len(shown) < len(names) else ""
        parts.append(f"{title}: {', '.join(shown)}{more}")
    return "; ".join(parts) or "nothing"


def plugin_json(info: PluginInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "source": info.source,
        "builtin": info.builtin,
        "version": version_of(info),
        "registered": {k: list(dict.fromkeys(v)) for k, v in info.registered.items() if v},
        "error": info.error or None,
    }


async def plugins(ctx: Context, args: Args) -> int:
    found = loaded_plugins(ctx)
    infos = sorted(found.infos.values(), key=lambda i: (not i.builtin, i.name))
    if args["json"]:
        render.print_json(ctx, {
            "safe": found.safe,
            "plugins": [plugin_json(i) for i in infos],
            "warnings": list(found.warnings),
        })  # fmt: skip
        return 0
    cols = [Column("NAME"), Column("SOURCE"), Column("VERSION"), Column("REGISTERED")]
    rows = [[i.name, i.source, version_of(i) or "-", registered_text(i, args["verbose"])]
            for i in infos]  # fmt: skip
    render.table(ctx, cols, rows, styles=["red" if i.error else "" for i in infos])
    if found.safe:
        ctx.line("Third-party plugins are not loaded (--safe, or LLMSH_LOAD_PLUGINS is empty).")
    if found.warnings:
        ctx.line("Warnings:")
        for warning in found.warnings:
            ctx.line(f"  {warning}")
    return 0


def register_commands(register: Register) -> None:
    register(
        Command(
            "plugins",
            "loaded plugins: where from, versions, what each registered",
            plugins,
            category="shell",
            flags=(
                Flag("json", help="machine-readable output"),
                Flag("verbose", short="v", help="list every registered name"),
            ),
            examples=("plugins", "plugins --json", "llmsh --safe -c plugins"),
            description=(
                "Plugins come from installed packages (entry-point group `llmsh`) and from "
                "files or packages in $LLMSH_HOME/plugins (and [plugins] paths in the config "
                "file). `llmsh --safe` or an empty LLMSH_LOAD_PLUGINS loads none of them."
            ),
        )
    )

"""Shell built-ins: help, history, alias, echo, true, false, set, source, cd, exit."""

from __future__ import annotations

import os
import re

from llmsh.commands import helptext
from llmsh.commands.context import Context
from llmsh.commands.parsing import did_you_mean
from llmsh.commands.registry import Register
from llmsh.commands.spec import Arg, Args, Command, CommandError, UsageError
from llmsh.commands.spec import ValueType as T
from llmsh.syntax.flow import ShellExit

_ALIAS = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
OPTIONS = {"e": "errexit", "x": "xtrace"}


async def help_(ctx: Context, args: Args) -> int:
    registry = ctx.shell.registry
    words: list[str] = args["command"]
    if not words:
        ctx.write(helptext.overview(registry))
        return 0
    command = registry.get(words[0])
    if command is None:
        hint = did_you_mean(words[0], registry.names())
        raise CommandError(f"no such command '{words[0]}'{hint}")
    for word in words[1:]:
        sub = command.subcommand(word)
        if sub is None:
            raise CommandError(f"'{command.full_name}' has no subcommand '{word}'")
        command = sub
    ctx.write(helptext.describe(command))
    return 0


async def history(ctx: Context, args: Args) -> int:
    store = ctx.shell.history
    if store is None:
        return 0
    entries = store.entries(args["count"] or 1000)
    for number, text in entries:
        ctx.line(f"{number:5d}  {text}")
    return 0


async def alias(ctx: Context, args: Args) -> int:
    from llmsh.syntax.unparse import quote

    aliases = ctx.shell.state.aliases
    words: list[str] = args["argv"]
    if not words:
        for name in sorted(aliases):
            ctx.line(f"alias {name}={quote(aliases[name])}")
        return 0
    status = 0
    for word in words:
        name, eq, value = word.partition("=")
        if not _ALIAS.match(name):
            raise UsageError(args.command, f"invalid alias name '{name}'")
        if eq:
            aliases[name] = value
        elif name in aliases:
            ctx.line(f"alias {name}={quote(aliases[name])}")
        else:
            status = ctx.error(f"{name}: not found")
    return status


async def unalias(ctx: Context, args: Args) -> int:
    status = 0
    for name in args["names"]:
        if ctx.shell.state.aliases.pop(name, None) is None:
            status = ctx.error(f"{name}: not found")
    return status


async def echo(ctx: Context, args: Args) -> int:
    words: list[str] = args["argv"]
    newline = True
    if words and words[0] == "-n":
        newline, words = False, words[1:]
    ctx.write(" ".join(words) + ("\n" if newline else ""))
    return 0


async def true(ctx: Context, args: Args) -> int:
    return 0


async def false(ctx: Context, args: Args) -> int:
    return 1


async def set_(ctx: Context, args: Args) -> int:
    state = ctx.shell.state
    words: list[str] = args["argv"]
    if not words:
        for name in sorted(state.vars):
            from llmsh.syntax.unparse import quote

            ctx.line(f"{name}={quote(state.vars[name])}")
        return 0
    for word in words:
        if len(word) < 2 or word[0] not in "-+" or any(ch not in OPTIONS for ch in word[1:]):
            raise UsageError(args.command, f"unknown option '{word}' (use -e, +e, -x, +x)")
        for letter in word[1:]:
            setattr(state.options, OPTIONS[letter], word[0] == "-")
    return 0


async def source(ctx: Context, args: Args) -> int:
    path = os.path.expanduser(args["file"])
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise CommandError(f"{args['file']}: {exc.strerror}") from None
    return await ctx.shell.run_source(text, filename=args["file"], positional=args["args"])


async def cd(ctx: Context, args: Args) -> int:
    variables = ctx.shell.state.vars
    target = args["dir"]
    if target is None:
        target = os.environ.get("HOME") or os.path.expanduser("~")
    elif target == "-":
        target = variables.get("OLDPWD") or os.getcwd()
        ctx.line(target)
    old = os.getcwd()
    try:
        os.chdir(os.path.expanduser(target))
    except OSError as exc:
        raise CommandError(f"{target}: {exc.strerror}") from None
    variables["OLDPWD"] = old
    variables["PWD"] = os.getcwd()
    return 0


async def exit_(ctx: Context, args: Args) -> int:
    status = args["status"]
    raise ShellExit(ctx.shell.state.last_status if status is None else status & 0xFF)


def register_commands(register: Register) -> None:
    shell = "shell"
    register(
        Command(
            "help",
            "list commands, or show one command's usage, flags and examples",
            help_,
            args=(Arg("command", T.COMMAND, metavar="COMMAND", optional=True, many=True),),
            examples=("help", "help ps", "help models pull"),
        )
    )
    register(
        Command(
            "history",
            "commands typed before (all sessions), numbered",
            history,
            args=(Arg("count", T.INT, metavar="N", optional=True),),
            examples=("history", "history 20"),
        )
    )
    register(
        Command(
            "alias",
            "define or list aliases",
            alias,
            raw=True,
            usage_text="[NAME=VALUE...]",
            examples=("alias gen='generate --max-tokens 32'", "alias"),
        )
    )
    register(
        Command(
            "unalias",
            "remove aliases",
            unalias,
            args=(Arg("names", T.NAME, metavar="NAME", many=True),),
            examples=("unalias gen",),
        )
    )
    register(
        Command(
            "echo",
            "print the arguments (-n: no newline)",
            echo,
            raw=True,
            usage_text="[-n] [TEXT...]",
            examples=("echo hello $USER",),
        )
    )
    register(Command("true", "do nothing, successfully", true, category=shell))
    register(Command("false", "do nothing, unsuccessfully (status 1)", false))
    register(
        Command(
            "set",
            "shell options: -e stop a script at the first failure, -x trace commands",
            set_,
            raw=True,
            usage_text="[-e|+e|-x|+x]",
            examples=("set -e", "set +x"),
        )
    )
    register(
        Command(
            "source",
            "run a file's commands in this shell",
            source,
            aliases=(".",),
            args=(
                Arg("file", T.FILE, metavar="FILE"),
                Arg("args", T.TEXT, metavar="ARGS", optional=True, many=True),
            ),
            examples=("source setup.llmsh",),
        )
    )
    register(
        Command(
            "cd",
            "change the working directory",
            cd,
            args=(Arg("dir", T.DIR, metavar="DIR", optional=True),),
            examples=("cd ~/data", "cd -"),
        )
    )
    register(
        Command(
            "exit",
            "leave the shell (status N, default the last status)",
            exit_,
            args=(Arg("status", T.INT, metavar="N", optional=True),),
            destructive=True,  # it ends the session's running jobs
            examples=("exit", "exit 3"),
        )
    )

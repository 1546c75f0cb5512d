"""`llmsh` on the command line.

    llmsh                          interactive shell (commands piped on stdin run as a script)
    llmsh -c 'CMDS' [ARGS...]      run a string
    llmsh FILE.llmsh [ARGS...]     run a script ($1..$9, $#, $@)
    llmsh top | nl ... | models ...   one llmsh command
    llmsh kernel ...               the kernel daemon's own commands

Options: --debug (tracebacks for internal errors), --safe (load no plugins),
--connect [PATH | tcp://HOST:PORT] (use a kernel daemon; also $LLMSH_KERNEL).

Start-up matters: this module imports no kernel, prompt_toolkit, rich, torch or
textual; each is imported when first needed.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

USAGE = (
    "usage: llmsh [--version] [--debug] [--safe] [--connect [PATH | tcp://HOST:PORT]] "
    "[-c COMMANDS [ARGS...] | FILE [ARGS...] | top | nl ... | models ... | kernel ...]"
)
SUBCOMMANDS = ("top", "nl", "models")
TCP_PREFIX = "tcp://"


@dataclass
class Options:
    debug: bool = False
    safe: bool = False
    connect: str | None = None
    command: str | None = None
    file: str | None = None
    sub: str | None = None
    args: list[str] = field(default_factory=list)
    version: bool = False


class CliError(Exception):
    pass


def parse_cli(argv: list[str]) -> Options:
    opts = Options()
    index = 0
    while index < len(argv):
        word = argv[index]
        index += 1
        if word == "--debug":
            opts.debug = True
        elif word == "--safe":
            opts.safe = True
        elif word.startswith("--connect"):
            opts.connect = word.partition("=")[2]
            if not word.startswith("--connect=") and index < len(argv) and _is_socket_arg(
                    argv[index]):  # fmt: skip
                opts.connect = argv[index]
                index += 1
            _check_tcp(opts.connect)
        elif word == "-c":
            if index >= len(argv):
                raise CliError("-c needs an argument")
            opts.command, opts.args = argv[index], argv[index + 1 :]
            return opts
        elif word in ("-h", "--help"):
            raise CliError("")
        elif word in ("-V", "--version"):
            opts.version = True
            return opts
        elif word == "--":
            if index < len(argv):
                opts.file, opts.args = argv[index], argv[index + 1 :]
            return opts
        elif word.startswith("-") and word != "-":
            raise CliError(f"unknown option '{word}'")
        else:
            if word in SUBCOMMANDS or word == "kernel":
                opts.sub = word
            else:
                opts.file = word
            opts.args = argv[index:]
            return opts
    return opts


def _is_socket_arg(word: str) -> bool:
    """``--connect PATH``: the next word is the daemon's socket, not a script or command."""
    if word.startswith("-") or word in SUBCOMMANDS or word == "kernel":
        return False
    if word.startswith(TCP_PREFIX):
        return True
    return word.endswith(".sock") or (os.path.exists(word) and not os.path.isfile(word))


def _check_tcp(target: str) -> None:
    """``tcp://HOST:PORT`` in one word: ``tcp://HOST PORT`` must not run PORT as a script."""
    if not target.startswith(TCP_PREFIX):
        return
    port = target[len(TCP_PREFIX) :].rpartition(":")[2]
    if not (port.isascii() and port.isdigit() and int(port) <= 65535):
        raise CliError(f"--connect {target}: write the address as tcp://HOST:PORT (no spaces)")


def run(argv: list[str]) -> int:
    try:
        opts = parse_cli(argv)
    except CliError as exc:
        if str(exc):
            sys.stderr.write(f"llmsh: {exc}\n{USAGE}\n")
            return 2
        sys.stdout.write(f"{USAGE}\nType 'help' in the shell for its commands.\n")
        return 0
    if opts.version:
        from llmsh import __version__

        sys.stdout.write(f"llmsh {__version__}\n")
        return 0
    try:
        return _main(opts)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `llmsh script | head`: stop quietly, like a shell would
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as exc:
        if opts.debug:
            raise
        sys.stderr.write(f"llmsh: internal error: {type(exc).__name__}: {exc} "
                         "(run llmsh --debug for the traceback)\n")  # fmt: skip
        return 1


def _main(opts: Options) -> int:
    from llmsh.shell.kernelhandle import connect_target

    connect = connect_target(opts.connect)
    if opts.safe:
        from llmsh.plugins import set_safe

        set_safe(True)
    if opts.sub == "kernel":
        from llmsh.daemon.cli import main as daemon_main

        return int(daemon_main(opts.args))
    delegated = _delegate(opts, connect)
    if delegated is not None:
        return delegated
    text, filename, positional = _script(opts)
    if text is None:
        import asyncio

        from llmsh.shell.repl import run_repl

        return asyncio.run(run_repl(debug=opts.debug, connect=connect))
    from llmsh.shell.batch import run_text

    return run_text(text, filename, positional, debug=opts.debug, connect=connect)


def _delegate(opts: Options, connect: str | None) -> int | None:
    """`llmsh top ...` and `llmsh nl train|eval ...` belong to their own parts' CLIs."""
    if opts.sub == "top":
        from llmsh.tui import main as top_main

        args = list(opts.args)
        if connect and "--socket" not in args:
            args += ["--socket", connect]
        return int(top_main(args))
    if opts.sub == "nl" and opts.args[:1] in (["train"], ["eval"]):
        from llmsh.nl_intent import cli as nl_cli

        main = nl_cli.train_main if opts.args[0] == "train" else nl_cli.eval_main
        return int(main(opts.args[1:]))
    return None


def _script(opts: Options) -> tuple[str | None, str | None, list[str]]:
    """The code to run without a prompt, its file name and arguments; None for the REPL."""
    if opts.command is not None:
        return opts.command, None, opts.args
    if opts.sub is not None:
        from llmsh.syntax.unparse import quote

        return " ".join(quote(word) for word in [opts.sub, *opts.args]), None, []
    if opts.file is not None:
        if opts.file == "-":
            return sys.stdin.read(), "stdin", opts.args
        try:
            with open(opts.file, encoding="utf-8") as f:
                return f.read(), opts.file, opts.args
        except OSError as exc:
            raise SystemExit(_fail(f"{opts.file}: {exc.strerror}", 127)) from None
    if not sys.stdin.isatty():
        return sys.stdin.read(), "stdin", []
    return None, None, []


def _fail(message: str, status: int) -> int:
    sys.stderr.write(f"llmsh: {message}\n")
    return status

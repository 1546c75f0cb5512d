"""`llmsh kernel serve|status|stop`: run, inspect and stop the kernel daemon.

`serve` without `--foreground` daemonises (double fork, new session, working dir `/`,
output to `<state dir>/daemon.log`) and returns once the daemon accepts connections,
or with its start-up error. The shell's command line dispatches `llmsh kernel ...`
here; `python -m llmsh.daemon ...` does the same.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .. import paths
from ..kernel import Kernel, KernelError
from .channel import DaemonUnavailable
from .client import connect, default_address
from .limits import DaemonLimits
from .security import TOKEN_ENV, TOKEN_ON_ARGV, default_socket, parse_hostport, read_token_file
from .server import Daemon, serve

KernelFactory = Callable[[], Kernel]
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmsh kernel", description=__doc__.splitlines()[0], allow_abbrev=False
    )
    sub = parser.add_subparsers(dest="command", required=True)
    srv = sub.add_parser("serve", help="run the kernel as a daemon", allow_abbrev=False)
    srv.add_argument("--socket", help=f"Unix socket path (default {default_socket()})")
    srv.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="also listen on TCP (loopback unless HOST says otherwise); needs --token-file",
    )
    _token_options(srv, f"file holding the token TCP clients must present (or ${TOKEN_ENV})")
    srv.add_argument(
        "--http",
        metavar="HOST:PORT",
        help="also serve the OpenAI-compatible HTTP API (default: [http] listen in config.toml);"
        " its token comes from --token-file or $LLMSH_TOKEN too",
    )
    srv.add_argument("--foreground", action="store_true", help="do not daemonise")
    srv.add_argument(
        "--stop-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds running jobs get to finish on stop (default 10)",
    )
    srv.add_argument("--log-file", help="log file (default <state dir>/daemon.log)")
    for name, text in (
        ("status", "show the daemon's pid, uptime, jobs and clients"),
        ("stop", "stop the daemon gracefully"),
    ):
        cmd = sub.add_parser(name, help=text, allow_abbrev=False)
        cmd.add_argument(
            "--socket",
            help="socket path or tcp://HOST:PORT (default $LLMSH_KERNEL, else the default socket)",
        )
        _token_options(cmd, f"file holding the token of a TCP daemon (or ${TOKEN_ENV})")
        if name == "status":
            cmd.add_argument("--json", action="store_true", help="print JSON")
        else:
            cmd.add_argument(
                "--timeout",
                type=float,
                default=None,
                metavar="S",
                help="seconds running jobs get to finish (default: the daemon's)",
            )
    return parser


def _token_options(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--token-file", metavar="FILE", help=text + "; mode 0600")
    # Accepted only to refuse it with the fix: argv is public (ps, /proc/PID/cmdline).
    parser.add_argument("--token", help=argparse.SUPPRESS)


def _token(opts: argparse.Namespace) -> str | None:
    """The token from --token-file or the environment, never from the command line."""
    if opts.token is not None:
        raise KernelError(TOKEN_ON_ARGV)
    if opts.token_file:
        return read_token_file(Path(opts.token_file).expanduser())
    return os.environ.get(TOKEN_ENV) or None


def main(argv: Sequence[str] | None = None, kernel_factory: KernelFactory | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["kernel"]:
        args = args[1:]
    opts = _parser().parse_args(args)
    try:
        if opts.command == "serve":
            return _serve(opts, kernel_factory or _plugin_kernel)
        if opts.command == "status":
            return asyncio.run(_status(opts))
        return asyncio.run(_stop(opts))
    except (KernelError, ValueError) as exc:
        print(f"llmsh kernel: {exc}", file=sys.stderr)
        return 1


def _plugin_kernel() -> Kernel:
    """The daemon's kernel runs the same job kinds as an embedded one, plugins' too."""
    from llmsh.runtime import make_kernel

    return make_kernel()


# -- serve -----------------------------------------------------------------------------


def _serve(opts: argparse.Namespace, factory: KernelFactory) -> int:
    socket_path = Path(opts.socket).expanduser() if opts.socket else default_socket()
    token = _token(opts)
    listen = parse_hostport(opts.listen) if opts.listen else None
    if listen is not None and not token:
        raise ValueError(
            f"--listen needs a token for clients to present: --token-file FILE (mode 0600) "
            f"or ${TOKEN_ENV}"
        )
    if opts.log_file:
        log_file = Path(opts.log_file).expanduser().absolute()
    else:  # llmsh's own state dir: made private; a log file elsewhere is the user's call
        log_file = paths.private_dir(paths.state_dir()) / "daemon.log"
    limits = DaemonLimits.from_config(paths.config_section("daemon"))
    from ..http.settings import resolve_settings

    http = resolve_settings(opts.http, opts.token_file)

    def run(on_ready: Callable[[Daemon], None]) -> None:
        asyncio.run(
            serve(
                socket_path,
                factory(),
                listen=listen,
                token=token,
                stop_timeout=opts.stop_timeout,
                limits=limits,
                on_ready=on_ready,
                http=http,
            )
        )

    if opts.foreground:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stderr)
        run(lambda d: print(_started(d), flush=True))
        return 0
    return _daemonise(run, log_file)


def _started(daemon: Daemon) -> str:
    extra = f" and {daemon.tcp_address[0]}:{daemon.tcp_address[1]}" if daemon.tcp_address else ""
    extra += f", HTTP API on {daemon.http_url}" if daemon.http_url else ""
    return f"kernel daemon started (pid {os.getpid()}) on {daemon.socket_path}{extra}"


def _daemonise(run: Callable[[Callable[[Daemon], None]], None], log_file: Path) -> int:
    """Double fork; the parent returns when the daemon serves, or with its error."""
    read_fd, write_fd = os.pipe()
    child = os.fork()
    if child:
        os.close(write_fd)
        os.waitpid(child, 0)
        with os.fdopen(read_fd, "rb") as answer:
            message = answer.read().decode(errors="replace").strip()
        ok = message.startswith("kernel daemon started")
        print(
            message or f"llmsh kernel: the daemon exited at start-up (see its log {log_file})",
            file=sys.stdout if ok else sys.stderr,
        )
        return 0 if ok else 1
    os.close(read_fd)
    os.setsid()
    if os.fork():
        os._exit(0)
    code = 0
    pipe: list[int] = [write_fd]  # emptied once the parent has its answer
    try:
        os.chdir("/")
        log_file.parent.mkdir(parents=True, exist_ok=True)
        out = paths.private_opener(str(log_file), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stderr)

        def ready(daemon: Daemon) -> None:
            os.write(write_fd, _started(daemon).encode())
            os.close(pipe.pop())

        run(ready)
    except BaseException as exc:  # the daemon's last words go to the waiting parent
        code = 1
        logging.getLogger("llmsh.daemon").exception("the daemon failed")
        if pipe:
            os.write(pipe.pop(), f"llmsh kernel: {exc}".encode())
    finally:
        os._exit(code)


# -- status and stop -------------------------------------------------------------------


def _address(opts: argparse.Namespace) -> str:
    return (
        str(Path(opts.socket).expanduser())
        if opts.socket and "://" not in opts.socket
        else (opts.socket or default_address())
    )


def _uptime(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return (f"{days}d " if days else "") + f"{hours:02d}:{minutes:02d}:{secs:02d}"


async def _status(opts: argparse.Namespace) -> int:
    try:
        kernel = await connect(_address(opts), token=_token(opts), client="llmsh kernel status")
    except DaemonUnavailable as exc:
        print(f"llmsh kernel: {exc}", file=sys.stderr)
        return 1
    try:
        info: dict[str, Any] = await kernel.status()
    finally:
        await kernel.close()
    if opts.json:
        print(json.dumps(info, indent=2))
        return 0
    jobs = info.get("jobs", {})
    counts = ", ".join(f"{jobs.get(s, 0)} {s}" for s in ("running", "loading", "queued", "paused"))
    print(
        f"kernel daemon: pid {info['pid']}, up {_uptime(info['uptime'])}"
        f"{' (stopping)' if info.get('stopping') else ''}"
    )
    print(f"socket: {info['socket']}" + (f", tcp {info['listen']}" if info.get("listen") else ""))
    if info.get("http"):
        print(f"http: {info['http']}")
    print(f"jobs: {counts}")
    print(f"clients: {info['clients']}")
    return 0


async def _stop(opts: argparse.Namespace) -> int:
    try:
        kernel = await connect(_address(opts), token=_token(opts), client="llmsh kernel stop")
    except DaemonUnavailable as exc:
        print(f"llmsh kernel: {exc}", file=sys.stderr)
        return 1
    try:
        await kernel.stop(opts.timeout, wait=False)
        patience = (opts.timeout if opts.timeout is not None else 60.0) + 30.0
        if not await kernel.channel.wait_closed(patience):
            print("llmsh kernel: the daemon is still stopping", file=sys.stderr)
            return 1
    finally:
        await kernel.close()
    print("kernel daemon stopped")
    return 0

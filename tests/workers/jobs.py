"""Job functions for worker tests, named by "tests.workers.jobs:NAME" so that a model
worker imports them itself (the worker's working directory is the repository's)."""

from __future__ import annotations

import builtins
import ctypes
import time
from typing import Any


def probe(args: dict[str, Any], ctl: Any, pool: Any) -> int:
    """Step until killed, `steps` are done, or priority `until` is seen; writes each
    priority the job's control shows, so a test can see renice arrive."""
    if args.get("raise"):
        raise getattr(builtins, str(args["raise"]))(args.get("message", "boom"))
    seen, step = None, 0
    ctl.set_memory(1 << 20)  # loading -> running
    time.sleep(float(args.get("first_sleep", 0)))  # work before the first check (a load)
    while True:
        ctl.check()
        step += 1
        if ctl.priority != seen:
            seen = ctl.priority
            ctl.write(f"priority {seen}\n")
        ctl.progress(step, None, "step")
        if args.get("until") is not None and seen == args["until"]:
            return 0
        if args.get("steps") and step >= int(args["steps"]):
            return int(args.get("status", 0))
        time.sleep(0.005)


def crash(args: dict[str, Any], ctl: Any, pool: Any) -> int:
    """A segfault in native code, as a bad kernel in torch or llama.cpp would make."""
    ctl.write("about to crash\n")
    ctypes.string_at(0)  # reads address 0: SIGSEGV
    return 0


def echo(args: dict[str, Any], ctl: Any, pool: Any) -> int:
    """Write each of `chunks` as given, with a loss per chunk (a metric with history)."""
    for i, chunk in enumerate(args.get("chunks", [])):
        ctl.check()
        ctl.write(chunk)
        ctl.progress(i + 1, len(args["chunks"]), "chunk", loss=1.0 / (i + 1))
    return 0

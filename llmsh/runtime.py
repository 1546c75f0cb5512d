"""The runtime: what a kernel process builds once and passes down.

`make_runtime` gathers what plugins provide (job kinds, resource reports) and the
executor that runs model work; `make_kernel` builds a kernel from it. The shell's
embedded kernel, the daemon and `llmsh top` all build theirs here, so a plugin's
job kind exists in every mode. Nothing here is a module global: two runtimes in
one process (tests with homes of their own) share no workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

from .plugins import get_plugins

if TYPE_CHECKING:
    from .kernel import Kernel, KernelConfig, KindRegistry
    from .kernel.executor import Executor

Resources = dict[str, Callable[[], list[dict[str, Any]]]]

# Executors by name: "module:factory", the factory called with no arguments. A
# kind written as "module:factory" itself names one outside this table.
EXECUTORS = {
    "process": "llmsh.workers.executor:ProcessExecutor.here",
    "inline": "llmsh.workers.inline:InlineExecutor",
}
DEFAULT_EXECUTOR = "process"


def configure_threads() -> None:
    """Threads that spin while waiting starve each other on a small shared machine:
    torch's OpenMP workers must sleep instead. Effective only before torch loads."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def job_kinds() -> KindRegistry:
    from .kernel import KindRegistry

    kinds = KindRegistry()
    get_plugins().collect("register_job_kinds", kinds.register, describe=lambda k: k.name)
    return kinds


def resources() -> Resources:
    found: Resources = {}

    def register(name: str, snapshot: Callable[[], list[dict[str, Any]]]) -> None:
        if name in found:
            raise ValueError(f"resource {name!r} is already registered")
        found[name] = snapshot

    get_plugins().collect("register_resources", register)
    return found


def executor_kind(config: KernelConfig) -> str:
    """The executor's name: the config's (or its environment variables'), else
    ``[executor] kind`` in config.toml, else "process"."""
    from . import paths

    if config.executor:
        return config.executor
    kind = paths.config_section("executor").get("kind")
    return str(kind) if kind else DEFAULT_EXECUTOR


def make_executor(kind: str) -> Executor:
    """The executor named `kind` (a name in EXECUTORS, or "module:factory")."""
    from .kernel import KernelError

    target = EXECUTORS.get(kind, kind if ":" in kind else "")
    if not target:
        names = ", ".join(sorted(EXECUTORS))
        raise KernelError(
            f"unknown executor {kind!r} ([executor] kind in config.toml or $LLMSH_EXECUTOR; "
            f"known: {names})"
        )
    module, _, path = target.partition(":")
    factory: Any = import_module(module)
    for attr in path.split("."):
        factory = getattr(factory, attr)
    executor: Executor = factory()
    return executor


@dataclass
class Runtime:
    """Built once per kernel process: plugins' kinds and reports, and the executor."""

    kinds: KindRegistry
    resources: Resources
    executor: Executor

    def kernel(self, config: KernelConfig | None = None, owns: bool = False) -> Kernel:
        """A kernel (not yet started) running on this runtime; with `owns`, closing the
        kernel closes the runtime's executor too."""
        from .kernel import Kernel

        return Kernel(config, self.kinds, self.resources, self.executor, owns_executor=owns)

    def close(self) -> None:
        """End the executor's workers (blocking)."""
        self.executor.close()


def make_runtime(config: KernelConfig | None = None) -> Runtime:
    from .kernel import KernelConfig

    configure_threads()
    executor = make_executor(executor_kind(config or KernelConfig()))
    found = resources()
    # The models the executor holds resident, wherever it runs them (`free`, `top`).
    found["models"] = executor.resident
    return Runtime(job_kinds(), found, executor)


def make_kernel(config: KernelConfig | None = None) -> Kernel:
    """A kernel (not yet started) on a runtime of its own, closed with it."""
    return make_runtime(config).kernel(config, owns=True)

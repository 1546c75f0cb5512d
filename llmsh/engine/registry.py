"""Backends by name, the choice of backend for a model, and one engine per model and device.

A backend factory opens a model for generation: ``factory(name, device, pool, config,
need)`` is a context manager yielding a `ModelRuntime` (tokenizer, context length, end
tokens and the shared `Engine`); it takes the loaded model from `pool` (one pool holds
every backend's models, keyed by backend), `need` being the bytes loading it takes
(None: the pool estimates). Built-ins are ``torch`` and ``llama.cpp``;
plugins add theirs with the ``register_backends`` hook (``register(name, factory)``).

Which backend runs a model: the job's ``backend`` argument, else the config file's
``[models.NAME] backend = "..."``, else the model's manifest (``extra.backend``),
else its catalogue entry (``"backend": ...``), else ``$LLMSH_BACKEND``, else ``auto``: llama.cpp for a model pulled as GGUF (its GGUF
kept in the store) on the CPU when `llama_cpp` is installed, torch otherwise.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmsh.engine.config import EngineConfig
from llmsh.models.errors import ModelError
from llmsh.models.manifest import ModelKind

if TYPE_CHECKING:
    from llmsh.engine.engine import Backend, Engine
    from llmsh.models.pool import ModelPool

AUTO, TORCH, LLAMA_CPP = "auto", "torch", "llama.cpp"
_ALIASES = {"llamacpp": LLAMA_CPP, "llama_cpp": LLAMA_CPP, "gguf": LLAMA_CPP, "hf": TORCH}


@dataclass
class ModelRuntime:
    """A model opened for generation by one job."""

    name: str
    backend: str
    kind: ModelKind
    tokenizer: Any
    context_length: int
    stop_ids: frozenset[int]
    engine: Engine


Factory = Callable[
    [str, str, "ModelPool", EngineConfig, "int | None"], AbstractContextManager[ModelRuntime]
]


def _torch_factory(
    name: str, device: str, pool: ModelPool, config: EngineConfig, need: int | None = None
) -> AbstractContextManager[ModelRuntime]:
    from llmsh.engine.torch_backend import open_torch

    return open_torch(name, device, pool, config, need)


def _llama_factory(
    name: str, device: str, pool: ModelPool, config: EngineConfig, need: int | None = None
) -> AbstractContextManager[ModelRuntime]:
    from llmsh.engine.llamacpp import open_llama

    return open_llama(name, device, pool, config, need)


# Process-wide on purpose: the backends are the built-ins plus what the process's plugins
# register (see llmsh.plugins), collected once; the lock because model threads ask too.
_FACTORIES: dict[str, Factory] | None = None
_LOCK = threading.Lock()


def factories() -> dict[str, Factory]:
    """Built-in backends plus those plugins register (collected once)."""
    global _FACTORIES
    with _LOCK:
        if _FACTORIES is None:
            found: dict[str, Factory] = {TORCH: _torch_factory, LLAMA_CPP: _llama_factory}

            def register(name: str, factory: Factory) -> None:
                if name in found:
                    raise ValueError(f"backend {name!r} is already registered")
                found[name] = factory

            from llmsh.plugins import get_plugins

            get_plugins().collect("register_backends", register)
            _FACTORIES = found
        return _FACTORIES


def llama_cpp_installed() -> bool:
    from importlib.util import find_spec

    return find_spec("llama_cpp") is not None


def configured_backend(name: str) -> str:
    """The backend asked for `name` by config.toml, its manifest, its catalogue entry or
    $LLMSH_BACKEND ("auto" when none does). Reads files: resolve it once per job."""
    from llmsh.models.catalogue import load_catalogue
    from llmsh.models.store import ModelStore
    from llmsh.paths import config_section

    manifest = ModelStore().get(name)
    choice = config_section("models", name).get("backend") or manifest.extra.get("backend")
    if not choice and manifest.source.startswith("pypi:"):
        try:
            entry = load_catalogue().get(name)
        except ModelError:
            entry = None
        choice = entry.extra.get("backend") if entry is not None else None
    return str(choice or os.environ.get("LLMSH_BACKEND") or AUTO)


def llama_cpp_reason(name: str, device: str) -> str:
    """Why llama.cpp cannot run `name` on `device` ("" when it can)."""
    from llmsh.models.store import ModelStore

    if not device.startswith("cpu"):
        return f"the llama.cpp backend runs on the CPU only, not {device}"
    if not llama_cpp_installed():
        return "llama-cpp-python is not installed (pip install llama-cpp-python)"
    store = ModelStore()
    if store.get(name).is_adapter:
        return f"{name!r} is a LoRA adapter; llama.cpp runs GGUF models"
    if store.gguf_file(name) is None:
        return f"no GGUF file is kept for {name!r} (pulled as GGUF? try: models pull {name})"
    return ""


def choose_backend(name: str, device: str, requested: str | None = None) -> str:
    """The backend that will run model `name` on `device`."""
    choice = (requested or configured_backend(name)).strip().lower()
    choice = _ALIASES.get(choice, choice)
    if choice == AUTO:
        return LLAMA_CPP if not llama_cpp_reason(name, device) else TORCH
    if choice == LLAMA_CPP:
        reason = llama_cpp_reason(name, device)
        if reason:
            raise ModelError(f"cannot use llama.cpp for {name}: {reason}")
    elif choice not in factories():
        known = ", ".join([AUTO, *factories()])
        raise ModelError(f"unknown backend {choice!r}; known: {known}")
    return choice


class EngineRegistry:
    """One engine per key, shared by the jobs using it, closed when the last one leaves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._engines: dict[tuple[str, ...], Engine] = {}
        self._users: dict[int, int] = {}  # id(engine) -> jobs using it

    @contextmanager
    def use(self, key: tuple[str, ...], make: Callable[[], Backend], config: EngineConfig,
            owner: object = None) -> Iterator[Engine]:  # fmt: skip
        """The engine for `key`; `owner` (e.g. the loaded model) must match or a new one is made."""
        from llmsh.engine.engine import Engine

        with self._lock:
            engine = self._engines.get(key)
            if engine is None or engine.owner is not owner:
                engine = Engine(make(), config, name="/".join(key), owner=owner)
                self._engines[key] = engine
            self._users[id(engine)] = self._users.get(id(engine), 0) + 1
        try:
            yield engine
        finally:
            with self._lock:
                left = self._users.pop(id(engine)) - 1
                if left:
                    self._users[id(engine)] = left
                elif self._engines.get(key) is engine:
                    del self._engines[key]
            if not left:
                engine.close()

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            engines = [(e, self._users.get(id(e), 0)) for e in self._engines.values()]
        return [{**e.snapshot(), "jobs": n} for e, n in engines]


ENGINES = EngineRegistry()


def open_model(
    name: str,
    device: str,
    pool: ModelPool,
    backend: str | None = None,
    config: EngineConfig | None = None,
) -> AbstractContextManager[ModelRuntime]:
    """Open `name` on `device` for one job with the chosen backend (see the module doc)."""
    chosen = choose_backend(name, device, backend)
    return open_resolved(name, device, pool, chosen, config)


def open_resolved(
    name: str,
    device: str,
    pool: ModelPool,
    backend: str,
    config: EngineConfig | None = None,
    need: int | None = None,
) -> AbstractContextManager[ModelRuntime]:
    """Open `name` with `backend` as already chosen at submit (`models.resolve`): nothing
    is decided again. `need` is what loading it takes, if it is not resident."""
    factory = factories().get(backend)
    if factory is None:
        raise ModelError(f"unknown backend {backend!r}; known: {', '.join(factories())}")
    return factory(name, device, pool, config or EngineConfig.from_env(), need)

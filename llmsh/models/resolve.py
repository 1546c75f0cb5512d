"""What a model job runs, decided once when it is submitted.

The backend (per device type, since placement picks the device later), the model's
shape and the memory estimate all read files (manifest, config.toml, config.json,
the catalogue), so the kernel resolves them once, in a thread, at submit
(`JobKind.resolve`) and the job carries the result in ``args["resolved"]``: the
kernel's estimator, the model worker and the job function read it back instead of
deciding again. Job code called directly (tests, plugins) without it resolves then.

The estimate is split in two: `resident` is what the loaded model holds in the pool
(weights and their margin; for llama.cpp also the context's KV cells, allocated at
load), reserved once per resident model; `extra` is what one job adds on top (KV
cache, activations, optimiser state).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from llmsh.models.errors import ModelError
from llmsh.models.jobs import default_model

ARG = "resolved"
TORCH, LLAMA_CPP = "torch", "llama.cpp"  # as `llmsh.engine.registry` names them
GENERATORS = ("generate", "chat", "load")  # kinds whose backend is chosen per model
SHARES_WEIGHTS = ("generate", "chat", "load", "embed", "classify", "eval")  # via the pool


def device_type(device: str) -> str:
    """'cpu' or 'cuda': what the backend choice depends on."""
    return "cpu" if device in ("", "auto", "cpu") else "cuda"


@dataclass(frozen=True)
class ResolvedModel:
    model: str
    backends: dict[str, str]  # device type -> backend that runs the model there
    resident: int  # bytes the loaded model holds, shared by every job on it
    extra: int  # bytes one job adds on top of the resident model
    backend: str = TORCH  # the backend the estimate is for (the likeliest device's)
    errors: dict[str, str] = field(default_factory=dict)  # device type -> why none runs it

    def backend_for(self, device: str) -> str:
        """The backend for the device the job was placed on (a one-line error if none)."""
        kind = device_type(device)
        if kind in self.backends:
            return self.backends[kind]
        raise ModelError(self.errors.get(kind) or f"{self.model} was not resolved for {device}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResolvedModel:
        return cls(
            model=str(data["model"]),
            backends={str(k): str(v) for k, v in dict(data["backends"]).items()},
            resident=int(data["resident"]),
            extra=int(data["extra"]),
            backend=str(data.get("backend") or TORCH),
            errors={str(k): str(v) for k, v in dict(data.get("errors") or {}).items()},
        )


def _device_types(request: str) -> list[str]:
    kind = device_type(request)
    return ["cpu", "cuda"] if request in ("", "auto") else [kind]


def _backends(
    kind: str, name: str, request: str, args: dict[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    types = _device_types(request)
    if kind not in GENERATORS:
        return dict.fromkeys(types, TORCH), {}
    from llmsh.engine.registry import choose_backend, configured_backend

    requested = str(args.get("backend") or "") or configured_backend(name)
    chosen: dict[str, str] = {}
    errors: dict[str, str] = {}
    for dtype in types:
        try:
            chosen[dtype] = choose_backend(name, "cpu" if dtype == "cpu" else "cuda:0", requested)
        except ModelError as exc:
            errors[dtype] = str(exc)
    if not chosen:
        raise ModelError(next(iter(errors.values())))
    return chosen, errors


def resolve_model(kind: str, args: dict[str, Any], device: str = "auto") -> ResolvedModel:
    """Decide backend, shape and memory for a job of `kind` (reads files: not on a loop)."""
    from llmsh.models.estimate import estimate_job, model_shape
    from llmsh.models.store import ModelStore

    name = str(args.get("model") or default_model(kind))
    request = str(device or args.get("device") or "auto")
    backends, errors = _backends(kind, name, request, args)
    store = ModelStore()
    shape = model_shape(name, store)
    backend = backends.get("cpu", next(iter(backends.values())))
    if request not in ("", "auto", "cpu") and device_type(request) in backends:
        backend = backends[device_type(request)]
    est = estimate_job("generate" if kind == "load" else kind, {**args, "model": name},
                       store, shape=shape, backend=backend)  # fmt: skip
    if kind not in SHARES_WEIGHTS:  # fine-tuning loads a trainable copy of its own
        resident = 0
    elif backend == LLAMA_CPP:  # the context's KV cells are allocated with the model
        resident = est.weights + est.kv_cache + est.margin
    else:
        resident = est.weights + est.margin
    extra = 0 if kind == "load" else est.total - resident
    return ResolvedModel(name, backends, resident, extra, backend, errors)


def resolved(kind: str, args: dict[str, Any]) -> ResolvedModel:
    """The job's resolution as submitted, else (job code called directly) resolved now."""
    data = args.get(ARG)
    if isinstance(data, dict):
        return ResolvedModel.from_json(data)
    return resolve_model(kind, args, str(args.get("device") or "auto"))

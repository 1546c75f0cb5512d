"""Load a stored model (and its tokenizer) onto a device, safely.

Weights are validated by `safety` first and transformers is told to read
safetensors only, so nothing is ever unpickled. A LoRA adapter is loaded on a
fresh copy of its base and merged for inference (merged weights run as fast as
the base); for training the adapter stays separate and trainable.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from llmsh.errors import one_line
from llmsh.models.errors import ModelError
from llmsh.models.manifest import Manifest, ModelKind
from llmsh.models.runtime import resolve_device, torch_dtype
from llmsh.models.safety import check_model_dir
from llmsh.models.store import ModelStore


@dataclass
class LoadedModel:
    name: str
    manifest: Manifest
    model: Any  # a torch.nn.Module (PreTrainedModel or PeftModel)
    tokenizer: Any
    device: str
    nbytes: int  # parameters + buffers, as held on the device
    load_seconds: float = 0.0

    @property
    def kind(self) -> ModelKind:
        return self.manifest.kind


def module_bytes(module: Any) -> int:
    tensors = list(module.parameters()) + list(module.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    # No tqdm bars from worker threads: jobs report through JobControl.
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    hf_logging.set_verbosity(logging.ERROR)


def _from_pretrained(manifest: Manifest, folder: str, dtype: str | None) -> tuple[Any, Any]:
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

    cls = AutoModelForCausalLM if manifest.kind is ModelKind.GENERATE else AutoModel
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = cls.from_pretrained(folder, dtype=torch_dtype(dtype), use_safetensors=True)
    except ModelError:
        raise
    except Exception as exc:  # transformers raises many types; the user needs one line
        raise ModelError(f"cannot load model {manifest.name!r}: {one_line(exc, 200)}") from None
    return model, tokenizer


_LOAD_LOCK = threading.Lock()


def load_model(
    name: str,
    device: str = "cpu",
    store: ModelStore | None = None,
    dtype: str | None = None,
    trainable: bool = False,
) -> LoadedModel:
    """Load `name` from the store onto `device` ('auto', 'cpu', 'cuda:N')."""
    start = time.perf_counter()
    store = store or ModelStore()
    device = resolve_device(device)
    manifest = store.get(name)
    folder = store.path(name)
    check_model_dir(folder)  # corrupt/truncated weights or pickles -> one-line ModelError
    _quiet_transformers()
    # from_pretrained builds on process-wide state (the meta device): two loads at once
    # fail with "Cannot copy out of meta tensor". Loads take turns; jobs run in parallel.
    with _LOAD_LOCK:
        if manifest.is_adapter:
            if not manifest.base:
                raise ModelError(f"adapter {name!r} records no base model")
            base_manifest = store.get(manifest.base)
            if base_manifest.is_adapter:
                raise ModelError(f"adapter {name!r} sits on another adapter; not supported")
            check_model_dir(store.path(manifest.base))
            model, tokenizer = _from_pretrained(
                base_manifest, str(store.path(manifest.base)), dtype
            )
            model = _apply_adapter(model, str(folder), name, trainable)
        else:
            model, tokenizer = _from_pretrained(manifest, str(folder), dtype)
        model.to(device)
        if device == "cpu":
            _materialise(model)
    if not trainable:
        model.eval()
        model.requires_grad_(False)
    return LoadedModel(
        name=name,
        manifest=manifest,
        model=model,
        tokenizer=tokenizer,
        device=device,
        nbytes=module_bytes(model),
        load_seconds=time.perf_counter() - start,
    )


def _materialise(model: Any) -> None:
    """Copy memory-mapped weights into process memory.

    transformers maps safetensors files and tensors stay views of the file, so the
    resident size would grow only as pages are touched (an embedding table never
    fully) and a store file truncated under a loaded model would crash the process
    with SIGBUS. One copy (~0.3 s for smollm2) makes the footprint the weights,
    as `estimate` predicts. Tied weights are one Parameter, so they stay tied.
    """
    import torch

    with torch.no_grad():
        for tensor in list(model.parameters()) + list(model.buffers()):
            tensor.data = tensor.data.clone()


def _apply_adapter(model: Any, folder: str, name: str, trainable: bool) -> Any:
    from peft import PeftModel

    try:
        peft_model = PeftModel.from_pretrained(model, folder, is_trainable=trainable)
    except Exception as exc:
        raise ModelError(f"cannot apply adapter {name!r}: {one_line(exc, 200)}") from None
    return peft_model if trainable else peft_model.merge_and_unload()

"""Saving and loading the trained adapter and heads, and finding the base encoder.

One safetensors file (`WEIGHTS`, committed in the package) holds the LoRA
matrices (``lora.<module>.A`` / ``.B``), both heads, and in its metadata the
label lists, the model config and how it was trained. The base encoder
(``minilm``) is not in it: it comes from the model store.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from llmsh.nl_intent.config import IntentModelConfig
from llmsh.nl_intent.model import JointModel, load_encoder

WEIGHTS = Path(__file__).parent / "weights" / "intent.safetensors"
BASE_MODEL = "minilm"
FORMAT = 1


class NLUnavailable(RuntimeError):
    """The intent parser cannot run here (no encoder in the store, no weights)."""


def encoder_dir(store_root: Path | None = None) -> Path:
    """The ``minilm`` folder in the model store (``llmsh.paths.model_store()`` by default)."""
    from llmsh.models.store import ModelStore

    store = ModelStore(store_root)
    if not store.exists(BASE_MODEL):
        raise NLUnavailable(
            f"the intent parser needs the {BASE_MODEL} model: run 'models pull {BASE_MODEL}'"
        )
    return store.path(BASE_MODEL)


@dataclass
class Meta:
    """What the weights file says about itself."""

    intents: list[str]
    tags: list[str]
    config: IntentModelConfig
    train: dict[str, Any]

    def to_json(self) -> str:
        data = {"format": FORMAT, "base": BASE_MODEL, "intents": self.intents, "tags": self.tags,
                "config": asdict(self.config), "train": self.train}  # fmt: skip
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Meta:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise NLUnavailable(f"intent weights have format {data.get('format')}, need {FORMAT}")
        return cls(data["intents"], data["tags"], IntentModelConfig(**data["config"]),
                   data.get("train", {}))  # fmt: skip


def lora_tensors(peft_encoder: nn.Module) -> dict[str, torch.Tensor]:
    """``lora.<module>.A/B`` for every adapted Linear of a peft-wrapped encoder."""
    out: dict[str, torch.Tensor] = {}
    prefix = "base_model.model."
    for name, module in peft_encoder.named_modules():
        lora_a = getattr(module, "lora_A", None)
        if not isinstance(lora_a, nn.ModuleDict) or "default" not in lora_a:
            continue
        path = name[len(prefix) :] if name.startswith(prefix) else name
        # peft's lora_A/lora_B are ModuleDicts of Linear; torch types their items loosely.
        a_linear: Any = lora_a["default"]
        lora_b: Any = module.lora_B
        b_linear: Any = lora_b["default"]
        out[f"lora.{path}.A"] = a_linear.weight.detach().contiguous().clone()
        out[f"lora.{path}.B"] = b_linear.weight.detach().contiguous().clone()
    return out


def save_weights(path: Path, model: JointModel, meta: Meta) -> None:
    from safetensors.torch import save_file

    tensors = lora_tensors(model.encoder)
    for head in ("intent_head", "slot_head"):
        for key, value in getattr(model, head).state_dict().items():
            tensors[f"{head}.{key}"] = value.detach().contiguous().clone()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"llmsh_nl": meta.to_json()})
    tmp.chmod(0o644)
    tmp.replace(path)


def read_weights(path: Path = WEIGHTS) -> tuple[dict[str, torch.Tensor], Meta]:
    from safetensors import safe_open

    if not path.is_file():
        raise NLUnavailable(f"no intent weights at {path}: run 'llmsh nl train'")
    with safe_open(str(path), framework="pt") as f:
        meta = Meta.from_json((f.metadata() or {})["llmsh_nl"])
        tensors = {key: f.get_tensor(key) for key in f.keys()}
    return tensors, meta


def merge_lora(encoder: nn.Module, tensors: dict[str, torch.Tensor], scale: float) -> int:
    """Add ``scale * B @ A`` into each adapted weight; returns how many were merged."""
    merged = 0
    with torch.no_grad():
        for key, lora_a in tensors.items():
            if not (key.startswith("lora.") and key.endswith(".A")):
                continue
            path = key[len("lora.") : -len(".A")]
            module: Any = encoder.get_submodule(path)  # an nn.Linear
            delta = tensors[f"lora.{path}.B"] @ lora_a
            module.weight += scale * delta.to(module.weight.dtype)
            merged += 1
    return merged


def load_model(
    weights: Path = WEIGHTS, encoder: Path | None = None, quantize: bool = True
) -> tuple[JointModel, Meta]:
    """The inference model: encoder with merged LoRA, heads, optionally int8 dynamic."""
    tensors, meta = read_weights(weights)
    base = load_encoder(encoder if encoder is not None else encoder_dir())
    cfg = meta.config
    merge_lora(base, tensors, cfg.lora_alpha / cfg.lora_r)
    model = JointModel(base, len(meta.intents), len(meta.tags), cfg.head_dropout)
    for head in ("intent_head", "slot_head"):
        getattr(model, head).load_state_dict(
            {k.split(".", 1)[1]: v for k, v in tensors.items() if k.startswith(head + ".")}
        )
    model.eval()
    if quantize:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic: Any = torch.ao.quantization.quantize_dynamic  # untyped in torch
            model = quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    return model, meta

"""finetune job: LoRA training of a stored causal LM on a JSON lines file.

Steps, top to bottom: 1. check the arguments and the data; 2. load a private
copy of the base model (training changes its modules) and wrap it with LoRA,
or restore adapter and optimiser from a checkpoint; 3. train, calling
`ctl.check()` between steps and saving a checkpoint every `checkpoint_every`
steps; 4. register the adapter in the store as model `out`, with its loss history.
The example order is a pure function of (seed, step), so a resumed run sees
exactly the examples the killed one would have.
"""

from __future__ import annotations

import math
import random
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from llmsh.kernel.control import JobControl
from llmsh.models.checkpoint import (
    OPTIMIZER,
    STATE,
    TrainerState,
    checkpoint_lock,
    latest_checkpoint,
    load_optimizer,
    read_state,
    save_checkpoint,
)  # fmt: skip
from llmsh.models.data import Example, read_examples
from llmsh.models.errors import ModelError
from llmsh.models.estimate import LORA_TARGETS
from llmsh.models.jobs import default_model
from llmsh.models.loader import load_model
from llmsh.models.manifest import Manifest, ModelFormat, ModelKind
from llmsh.models.pool import ModelPool
from llmsh.models.resolve import resolved
from llmsh.models.runtime import job_device, oom_guard
from llmsh.models.store import ModelStore, dir_size, validate_name

IGNORE = -100  # label id the loss skips (prompt tokens)


@dataclass(frozen=True)
class FinetuneArgs:
    model: str
    data: str
    out: str
    epochs: int = 1
    steps: int = 0  # 0: epochs x examples
    lr: float = 5e-4
    rank: int = 8
    alpha: int = 16
    max_length: int = 256
    checkpoint_every: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        validate_name(self.out)
        if self.rank < 1 or self.epochs < 1 or self.steps < 0 or self.lr <= 0:
            raise ModelError("rank and epochs must be >= 1, steps >= 0 and lr > 0")
        if self.checkpoint_every < 1 or self.max_length < 8:
            raise ModelError("checkpoint_every must be >= 1 and max_length >= 8")

    @classmethod
    def from_args(cls, args: dict[str, Any], pid: int) -> FinetuneArgs:
        model = str(args.get("model") or default_model("finetune"))
        known = {k: args[k] for k in cls.__dataclass_fields__ if args.get(k) is not None}
        known.setdefault("out", f"{model}-ft-{pid}")
        known["model"] = model
        if "data" not in known:
            raise ModelError("finetune needs a data file (--data FILE)")
        try:
            types = {"epochs": int, "steps": int, "lr": float, "rank": int, "alpha": int,
                     "max_length": int, "checkpoint_every": int, "seed": int}  # fmt: skip
            cooked: dict[str, Any] = {
                k: types[k](v) if k in types else str(v) for k, v in known.items()
            }
            if "alpha" not in known:
                cooked["alpha"] = 2 * int(cooked.get("rank", cls.rank))
            return cls(**cooked)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"bad finetune argument: {exc}") from None


def encode(tokenizer: Any, example: Example, max_length: int) -> tuple[list[int], list[int]]:
    """(input ids, labels): the loss covers the completion (or the whole text) only."""
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    if example.text:
        ids = tokenizer(example.text)["input_ids"] + eos
        return ids[:max_length], ids[:max_length]
    if getattr(tokenizer, "chat_template", None):
        prompt = tokenizer.apply_chat_template(
            [{"role": "user", "content": example.prompt}], add_generation_prompt=True, tokenize=True
        )
        prompt = list(prompt["input_ids"] if hasattr(prompt, "keys") else prompt)
    else:
        prompt = tokenizer(example.prompt + "\n")["input_ids"]
    reply = tokenizer(example.completion, add_special_tokens=False)["input_ids"] + eos
    ids = (prompt + reply)[:max_length]
    labels = ([IGNORE] * len(prompt) + reply)[:max_length]
    return ids, labels


def completion_loss(model: Any, ids: list[int], labels: list[int], device: str) -> torch.Tensor:
    """Mean cross-entropy over the labelled tokens.

    Logits are computed only from the position before the first labelled token on
    (`logits_to_keep`): the vocabulary projection of prompt positions would be
    thrown away by the loss anyway, and on a 49k vocabulary it is a sizeable share
    of a CPU training step.
    """
    first = next((i for i, label in enumerate(labels) if label != IGNORE), len(labels))
    first = max(first, 1)
    keep = len(ids) - first + 1
    logits = model(input_ids=torch.tensor([ids], device=device), logits_to_keep=keep).logits
    targets = torch.tensor(labels[first:], device=device)
    return torch.nn.functional.cross_entropy(logits[0, :-1].float(), targets, ignore_index=IGNORE)


def example_at(step: int, count: int, seed: int) -> int:
    """Which example step `step` trains on: a fresh shuffle every epoch."""
    epoch, offset = divmod(step, count)
    order = list(range(count))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return order[offset]


def _prepare(conf: FinetuneArgs, device: str, resume: Path | None) -> tuple[Any, Any, Any]:
    """Model with trainable LoRA layers, its tokenizer and the optimiser."""
    from peft import LoraConfig, PeftModel, get_peft_model

    base = load_model(conf.model, device, trainable=True)
    if base.manifest.is_adapter or base.kind is not ModelKind.GENERATE:
        raise ModelError(f"finetune needs a base text-generation model, not {conf.model!r}")
    if resume is not None:
        model = PeftModel.from_pretrained(base.model, str(resume), is_trainable=True)
    else:
        lora = LoraConfig(r=conf.rank, lora_alpha=conf.alpha, lora_dropout=0.0,
                          target_modules=list(LORA_TARGETS), task_type="CAUSAL_LM")  # fmt: skip
        model = get_peft_model(base.model, lora)
    model.to(device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=conf.lr)
    if resume is not None:
        load_optimizer(optimizer, resume / OPTIMIZER)
    return model, base.tokenizer, optimizer


def _resume_point(store: ModelStore, spec: Any) -> tuple[Path | None, TrainerState | None]:
    """`resume_from` is a run name (the killed job's --out) or a checkpoint folder."""
    if not spec:
        return None, None
    folder = Path(str(spec)).expanduser()
    if folder.is_dir():
        found = folder if (folder / STATE).is_file() else latest_checkpoint(folder)
    elif "/" in str(spec):
        found = None
    else:
        found = latest_checkpoint(store.checkpoints(str(spec)))
    if found is None:
        raise ModelError(f"no checkpoint to resume from at {spec!r}")
    return found, read_state(found)


def run_finetune(args: dict[str, Any], ctl: JobControl, pool: ModelPool) -> int:
    """args: model, data, out, epochs, steps, lr, rank, alpha, max_length, checkpoint_every,
    seed, resume_from (a run name or a checkpoint folder)."""
    store = ModelStore()
    resume, state = _resume_point(store, args.get("resume_from"))
    if state is not None:  # a resumed run keeps its own settings, data and name
        kept = ("steps", "checkpoint_every", "device")
        args = {**state.args, **{k: v for k, v in args.items() if k in kept}}
    conf = FinetuneArgs.from_args(args, ctl.pid)
    if store.exists(conf.out):
        raise ModelError(f"model {conf.out!r} already exists; choose another --out")
    base_manifest = store.get(conf.model)
    examples = read_examples(conf.data)
    total = conf.steps or conf.epochs * len(examples)
    device = job_device(args, ctl)
    need = resolved("finetune", args).extra  # a resumed run's own settings: resolved anew
    pool.make_room(device, need)
    ctl.set_memory(need)
    state = state or TrainerState(run=conf.out, args=asdict(conf))
    ckpt_root = store.checkpoints(conf.out)
    with checkpoint_lock(ckpt_root, ctl.pid), oom_guard(device):
        model, tokenizer, optimizer = _prepare(conf, device, resume)
        encoded = [encode(tokenizer, ex, conf.max_length) for ex in examples]
        for number, (_ids, labels) in enumerate(encoded, 1):
            if all(label == IGNORE for label in labels[1:]):
                raise ModelError(
                    f"example {number}: its prompt fills max_length ({conf.max_length} tokens); "
                    "shorten it or raise max_length"
                )
        start, first = time.perf_counter(), state.step
        while state.step < total:
            ctl.check()  # pause blocks here; kill raises JobKilled (checkpoints stay)
            ids, labels = encoded[example_at(state.step, len(encoded), conf.seed)]
            loss = completion_loss(model, ids, labels, device)
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            state.step += 1
            state.losses.append(round(float(loss.item()), 5))
            rate = (state.step - first) / (time.perf_counter() - start)
            ctl.progress(state.step, total, "step", rate=rate, loss=state.losses[-1],
                         eta=(total - state.step) / rate if rate else None)  # fmt: skip
            if state.step % conf.checkpoint_every == 0 and state.step < total:
                save_checkpoint(ckpt_root, model, optimizer, state)
        _register(store, conf, model, tokenizer, state, base_manifest)
    shutil.rmtree(ckpt_root, ignore_errors=True)
    first_loss, last_loss = _mean(state.losses[:5]), _mean(state.losses[-5:])
    ctl.write(f"trained {state.step} steps: loss {first_loss:.3f} -> {last_loss:.3f}\n")
    ctl.write(f"registered model {conf.out} (LoRA on {conf.model})\n")
    return 0


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _register(store: ModelStore, conf: FinetuneArgs, model: Any, tokenizer: Any,
              state: TrainerState, base: Manifest) -> None:  # fmt: skip
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    def build(tmp: Path) -> Manifest:
        model.save_pretrained(str(tmp), save_embedding_layers=False)
        tokenizer.save_pretrained(str(tmp))
        return Manifest(
            name=conf.out, kind=ModelKind.GENERATE, format=ModelFormat.LORA,
            source=f"finetune:{conf.model}", parameters=trainable, size_bytes=dir_size(tmp),
            base=conf.model, description=f"LoRA on {conf.model}, data {Path(conf.data).name}",
            hf_id=base.hf_id, extra={"training": {**asdict(conf), "losses": state.losses}},
        )  # fmt: skip

    store.install(conf.out, build)

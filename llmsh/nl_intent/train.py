"""Train the intent parser from scratch: ``llmsh nl train`` runs `train`.

Read top to bottom: 1. vocabulary and split, 2. data, 3. model with LoRA,
4. optimiser and schedule, 5. the loop (keeping a moving average of the
weights), 6. save the average. Every batch is fresh generated data from the
training templates, so one pass sees no repeats.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from llmsh.nl_intent.augment import AugmentConfig
from llmsh.nl_intent.config import IntentModelConfig
from llmsh.nl_intent.data import Example


@dataclass
class TrainConfig:
    """How to train (help on each field; checked in ``__post_init__``)."""

    steps: int = field(default=1500, metadata={"help": "optimiser steps"})
    batch_size: int = field(default=32, metadata={"help": "utterances per step"})
    lr: float = field(default=1e-3, metadata={"help": "peak learning rate of the LoRA matrices"})
    head_lr: float = field(default=3e-3, metadata={"help": "peak learning rate of the heads"})
    warmup_steps: int = field(default=60, metadata={"help": "linear warm-up, then cosine"})
    min_lr_ratio: float = field(default=0.05, metadata={"help": "final lr / peak lr"})
    grad_clip: float = field(default=1.0, metadata={"help": "max gradient norm (0: off)"})
    slot_weight: float = field(default=1.0, metadata={"help": "slot loss weight vs intent"})
    label_smoothing: float = field(default=0.0, metadata={"help": "on the intent loss"})
    ema: float = field(
        default=0.995, metadata={"help": "saved weights: moving average, this decay (0: last)"}
    )
    seed: int = field(default=1234, metadata={"help": "seed for data, init and dropout"})
    threads: int = field(
        default=1, metadata={"help": "torch threads; 1 is fastest on a shared 2-core machine"}
    )
    log_every: int = field(default=50, metadata={"help": "print the loss every N steps"})
    out: str = field(default="", metadata={"help": "weights file (default: the package's)"})
    encoder: str = field(default="", metadata={"help": "encoder folder (default: store minilm)"})
    model: IntentModelConfig = field(default_factory=IntentModelConfig)
    augment: AugmentConfig = field(default_factory=lambda: AugmentConfig(ellipsis=0.05))

    def __post_init__(self) -> None:
        if self.steps <= 0 or self.batch_size <= 0:
            raise ValueError("steps and batch_size must be positive")
        if self.lr <= 0 or self.head_lr <= 0 or not 0 <= self.min_lr_ratio <= 1:
            raise ValueError("learning rates must be positive, min_lr_ratio in [0, 1]")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError("ema must be in [0, 1)")


@dataclass
class TrainResult:
    losses: list[float]
    seconds: float
    path: Path


def lr_factor(step: int, config: TrainConfig) -> float:
    """Linear warm-up to 1, then cosine down to ``min_lr_ratio``."""
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return config.min_lr_ratio + (1 - config.min_lr_ratio) * cosine


def batches(examples: list[Example], size: int, seed: int, window: int = 16) -> list[list[Example]]:
    """Batches of ``size``: each window of ``window`` batches sorted by length, then shuffled."""
    rng = random.Random(seed)
    out: list[list[Example]] = []
    span = size * window
    for start in range(0, len(examples), span):
        part = sorted(examples[start : start + span], key=lambda ex: len(ex.text))
        group = [part[i : i + size] for i in range(0, len(part), size)]
        rng.shuffle(group)
        out += group
    return out


def train(config: TrainConfig, log: Callable[[str], None] = print) -> TrainResult:
    import torch
    from peft import LoraConfig, get_peft_model

    from llmsh.nl_intent import data
    from llmsh.nl_intent.examples import example_book
    from llmsh.nl_intent.model import (
        JointModel,
        encode_words,
        load_encoder,
        load_tokenizer,
        tag_targets,
    )
    from llmsh.nl_intent.signatures import signatures
    from llmsh.nl_intent.weights import WEIGHTS, Meta, encoder_dir, save_weights

    started = time.perf_counter()
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    random.seed(config.seed)

    # 1. vocabulary from the registry, templates split by their held-out flags
    sigs = signatures()
    book = example_book()
    intents = data.intents_of(book, sigs)
    train_tpls, held_tpls = data.split_templates(book, intents)
    tags = data.slot_labels(train_tpls + held_tpls, sigs)
    intent_id = {name: i for i, name in enumerate(intents)}
    tag_id = {name: i for i, name in enumerate(tags)}

    # 2. data: fresh examples for every step
    count = config.steps * config.batch_size
    examples = data.generate(train_tpls, sigs, book, count, config.seed, config.augment)
    log(f"{len(intents)} intents, {len(tags)} tags, {len(train_tpls)} training templates "
        f"({len(held_tpls)} held out), {count} examples")  # fmt: skip

    # 3. model: encoder + LoRA (peft) + heads
    enc_path = Path(config.encoder) if config.encoder else encoder_dir()
    tokenizer = load_tokenizer(enc_path, config.model.max_length)
    mc = config.model
    lora = LoraConfig(r=mc.lora_r, lora_alpha=mc.lora_alpha, lora_dropout=mc.lora_dropout,
                      target_modules=list(mc.target_modules), bias="none")  # fmt: skip
    encoder = get_peft_model(load_encoder(enc_path), lora)
    model = JointModel(encoder, len(intents), len(tags), mc.head_dropout)
    model.train()

    # 4. optimiser: LoRA and heads at their own rates
    heads = [*model.intent_head.parameters(), *model.slot_head.parameters()]
    adapters = [p for p in encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": adapters, "lr": config.lr, "peak": config.lr},
                                   {"params": heads, "lr": config.head_lr,
                                    "peak": config.head_lr}], weight_decay=0.0)  # fmt: skip
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=-100)
    intent_loss = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    averaged = [p.detach().clone() for p in adapters + heads]  # what is saved (EMA)

    # 5. the loop (batches of similar length: less padding, faster steps)
    losses: list[float] = []
    for step, chunk in enumerate(batches(examples, config.batch_size, config.seed)):
        pairs = [ex.words_and_tags() for ex in chunk]
        batch = encode_words(tokenizer, [words for words, _ in pairs])
        tag_target = tag_targets(batch, [[tag_id[t] for t in row] for _, row in pairs])
        intent_target = torch.tensor([intent_id[ex.intent] for ex in chunk])

        intent_logits, tag_logits = model(batch.input_ids, batch.attention_mask)
        loss = intent_loss(intent_logits, intent_target) + config.slot_weight * loss_fn(
            tag_logits.reshape(-1, len(tags)), tag_target.reshape(-1)
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip:
            torch.nn.utils.clip_grad_norm_(adapters + heads, config.grad_clip)
        for group in optimizer.param_groups:
            group["lr"] = group["peak"] * lr_factor(step, config)
        optimizer.step()
        with torch.no_grad():  # warm-up of the average: short runs average recent steps
            decay = min(config.ema, (1 + step) / (10 + step))
            for avg, param in zip(averaged, adapters + heads, strict=True):
                avg.lerp_(param.detach(), 1.0 - decay)

        losses.append(loss.item())
        if config.log_every and (step % config.log_every == 0 or step == config.steps - 1):
            recent = losses[-config.log_every :]
            log(f"step {step:5d}  loss {sum(recent) / len(recent):.4f}  "
                f"{time.perf_counter() - started:6.0f}s")  # fmt: skip

    # 6. save the adapter and heads with what they mean
    seconds = time.perf_counter() - started
    out = Path(config.out) if config.out else WEIGHTS
    info = {k: v for k, v in asdict(config).items() if k not in ("model", "out", "encoder")}
    info.update(seconds=round(seconds, 1), final_loss=round(sum(losses[-50:]) / 50, 4)
                if len(losses) >= 50 else losses[-1])  # fmt: skip
    model.eval()
    with torch.no_grad():
        for avg, param in zip(averaged, adapters + heads, strict=True):
            param.copy_(avg)
    save_weights(out, model, Meta(intents, tags, mc, info))
    log(f"saved {out} ({out.stat().st_size / 1e6:.1f} MB) in {seconds:.0f}s")
    return TrainResult(losses, seconds, out)

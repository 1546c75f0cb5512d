"""The model's shape, as a dataclass importable without torch."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class IntentModelConfig:
    """Shape of the adapter and heads (peft `LoraConfig` style: help on each field)."""

    lora_r: int = field(default=16, metadata={"help": "LoRA rank of every adapted matrix"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scale numerator (alpha / r)"})
    lora_dropout: float = field(default=0.0, metadata={"help": "dropout on the LoRA input"})
    target_modules: tuple[str, ...] = field(
        default=("query", "key", "value", "dense"),
        metadata={"help": "encoder Linear layers that get an adapter (by name suffix)"},
    )
    head_dropout: float = field(default=0.1, metadata={"help": "dropout before both heads"})
    max_length: int = field(default=64, metadata={"help": "sub-tokens per utterance, [CLS] in"})

    def __post_init__(self) -> None:
        if self.lora_r <= 0 or self.lora_alpha <= 0:
            raise ValueError("lora_r and lora_alpha must be positive")
        if not 0.0 <= self.lora_dropout < 1.0 or not 0.0 <= self.head_dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")
        if self.max_length < 8:
            raise ValueError("max_length must be at least 8")
        self.target_modules = tuple(self.target_modules)

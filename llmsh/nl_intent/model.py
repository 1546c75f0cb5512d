"""The JointBERT-style model: a BERT encoder with an intent head and a BIO slot head.

The intent head reads the mean of the token states (all-MiniLM-L6-v2 was
trained with mean pooling); the slot head reads each word's first sub-token.
Training wraps the encoder with LoRA through peft; the saved file holds only
the LoRA matrices and the heads (`weights.save_weights`), and loading merges
them into a plain encoder, so inference needs neither peft nor the adapter.

Imports torch at module level: import this module only when a model is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from llmsh.nl_intent.config import IntentModelConfig

__all__ = ["IntentModelConfig", "JointModel", "encode_words", "load_encoder", "load_tokenizer"]

IGNORE = -100


class JointModel(nn.Module):
    """Encoder + intent head (mean pooled) + slot head (per token)."""

    def __init__(self, encoder: nn.Module, n_intents: int, n_tags: int, dropout: float) -> None:
        super().__init__()
        config: Any = encoder.config  # a transformers config: typed loosely by torch
        hidden = int(config.hidden_size)
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.intent_head = nn.Linear(hidden, n_intents)
        self.slot_head = nn.Linear(hidden, n_tags)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        intent_logits = self.intent_head(self.dropout(pooled))
        tag_logits = self.slot_head(self.dropout(states))
        return intent_logits, tag_logits


def load_tokenizer(encoder_dir: Path, max_length: int) -> Any:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(encoder_dir) / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length)
    return tok


def load_encoder(encoder_dir: Path) -> nn.Module:
    """The BERT encoder of a folder with config.json and model.safetensors (no transformers)."""
    from llmsh.nl_intent.encoder import load_bert

    return load_bert(encoder_dir)


@dataclass
class Batch:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    first_token: list[list[int]]
    """For each utterance, the token index of each word's first sub-token (-1: cut off)."""


def encode_words(tokenizer: Any, batch: list[list[str]]) -> Batch:
    """Sub-token ids for pre-split words, padded, with each word's first sub-token."""
    encodings = tokenizer.encode_batch(batch, is_pretokenized=True)
    width = max(len(e.ids) for e in encodings)
    ids = torch.zeros((len(batch), width), dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    firsts: list[list[int]] = []
    for row, (enc, words) in enumerate(zip(encodings, batch, strict=True)):
        ids[row, : len(enc.ids)] = torch.tensor(enc.ids, dtype=torch.long)
        mask[row, : len(enc.ids)] = 1
        first = [-1] * len(words)
        for pos, word in enumerate(enc.word_ids):
            if word is not None and first[word] < 0:
                first[word] = pos
        firsts.append(first)
    return Batch(ids, mask, firsts)


def tag_targets(batch: Batch, tags: list[list[int]]) -> torch.Tensor:
    """Slot targets aligned to sub-tokens: the word's tag on its first sub-token."""
    target = torch.full(batch.input_ids.shape, IGNORE, dtype=torch.long)
    for row, (first, row_tags) in enumerate(zip(batch.first_token, tags, strict=True)):
        for pos, tag in zip(first, row_tags, strict=True):
            if pos >= 0:
                target[row, pos] = tag
    return target

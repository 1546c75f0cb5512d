"""A BERT encoder in plain torch, reading a Hugging Face BERT folder directly.

Same module names and maths as ``transformers.BertModel`` (without the
pooler), so its ``state_dict`` is the checkpoint's and LoRA paths such as
``encoder.layer.0.attention.self.query`` mean the same thing. It exists to
keep `transformers` (seconds to import) out of the shell: loading minilm this
way takes a few hundred milliseconds including the safetensors read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class BertShape:
    """The fields of a BERT ``config.json`` the encoder needs."""

    vocab_size: int
    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1

    @classmethod
    def read(cls, folder: Path) -> BertShape:
        data = json.loads((Path(folder) / "config.json").read_text("utf-8"))
        if data.get("model_type", "bert") != "bert" or data.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"{folder} is not a BERT encoder with gelu activations")
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class Embeddings(nn.Module):
    def __init__(self, c: BertShape) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions)[None]
        x = x + self.token_type_embeddings.weight[0]
        out: torch.Tensor = self.dropout(self.LayerNorm(x))
        return out


class SelfAttention(nn.Module):
    def __init__(self, c: BertShape) -> None:
        super().__init__()
        self.heads = c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)
        self.dropout_p = c.attention_probs_dropout_prob

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = (
            proj(x).view(b, t, self.heads, d // self.heads).transpose(1, 2)
            for proj in (self.query, self.key, self.value)
        )
        drop = self.dropout_p if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
        return y.transpose(1, 2).reshape(b, t, d)


class Residual(nn.Module):
    """``dense`` then dropout, added to the input, then LayerNorm (BERT's *Output blocks)."""

    def __init__(self, n_in: int, c: BertShape) -> None:
        super().__init__()
        self.dense = nn.Linear(n_in, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.LayerNorm(self.dropout(self.dense(x)) + skip)
        return out


class Attention(nn.Module):
    def __init__(self, c: BertShape) -> None:
        super().__init__()
        self.self = SelfAttention(c)
        self.output = Residual(c.hidden_size, c)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.output(self.self(x, mask), x)
        return out


class Intermediate(nn.Module):
    def __init__(self, c: BertShape) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.dense(x))


class Layer(nn.Module):
    def __init__(self, c: BertShape) -> None:
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = Residual(c.intermediate_size, c)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.attention(x, mask)
        out: torch.Tensor = self.output(self.intermediate(x), x)
        return out


class Stack(nn.Module):
    def __init__(self, c: BertShape) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Layer(c) for _ in range(c.num_hidden_layers))


class Bert(nn.Module):
    """``Bert(shape)(input_ids, attention_mask) -> (hidden_states,)``, like BertModel."""

    def __init__(self, shape: BertShape) -> None:
        super().__init__()
        self.config = shape
        self.embeddings = Embeddings(shape)
        self.encoder = Stack(shape)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor]:
        mask = attention_mask[:, None, None, :].bool()
        x = self.embeddings(input_ids)
        for layer in self.encoder.layer:
            x = layer(x, mask)
        return (x,)


def load_bert(folder: Path) -> Bert:
    """The encoder of a BERT folder (``config.json`` + ``model.safetensors``), in eval mode."""
    from safetensors.torch import load_file

    model = Bert(BertShape.read(folder))
    state = load_file(str(Path(folder) / "model.safetensors"))
    state = {k.removeprefix("bert."): v for k, v in state.items()}
    wanted = model.state_dict()
    missing = [k for k in wanted if k not in state]
    if missing:
        raise ValueError(f"{folder}: not a BERT checkpoint (missing {missing[0]})")
    model.load_state_dict({k: state[k] for k in wanted})
    return model.eval()

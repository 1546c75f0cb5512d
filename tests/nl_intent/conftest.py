"""Fixtures for the intent parser: the real encoder from the test store, a tiny random BERT."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

STORE_HOME = Path(os.environ.get("LLMSH_TEST_STORE_HOME", "/work/main/.cache/test-home"))


@pytest.fixture(scope="session")
def real_encoder() -> Path:
    """The minilm folder of the test model store; the test skips when it is not pulled."""
    folder = STORE_HOME / "models" / "minilm"
    if not (folder / "model.safetensors").is_file():
        pytest.skip(f"minilm not pulled into {STORE_HOME} (make test-models)")
    return folder


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide random BERT with a WordPiece vocabulary trained on our data."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel

    from llmsh.nl_intent import data
    from llmsh.nl_intent.examples import example_book
    from llmsh.nl_intent.signatures import signatures

    folder = tmp_path_factory.mktemp("tiny-bert")
    sigs, book = signatures(), example_book()
    train, _ = data.split_templates(book, data.intents_of(book, sigs))
    texts = [ex.text for ex in data.generate(train, sigs, book, 1500, seed=7)]
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(
        texts, trainers.WordPieceTrainer(vocab_size=800, special_tokens=special)
    )
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    tok.save(str(folder / "tokenizer.json"))
    config = BertConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(str(folder))
    return folder

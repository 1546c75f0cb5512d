"""Fixtures: a fresh $LLMSH_HOME per test, a tiny random-weight Llama in its store,
a small training file, and a shell on a kernel built with every plugin's parts
(this plugin found through its installed entry point)."""

from __future__ import annotations

import io
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from llmsh.shell.session import Shell

# Model jobs in kernel threads: each test has its own home, and a model worker
# process per test would cost a torch import each (LLMSH_MODEL_WORKERS=process to try).
os.environ.setdefault("LLMSH_MODEL_WORKERS", "thread")

CORPUS = [
    "The council met on Tuesday to discuss the new library by the river.",
    "A cat is a small animal; a kitten is a young cat.",
    "Trains run on rails and the budget grew because steel cost more.",
] * 4


def build_llama(folder: Path, context: int = 256) -> Path:
    """A two-layer Llama with a 400-token BPE vocabulary and a chat template."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE(unk_token="<|endoftext|>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))  # fmt: skip
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
        pad_token="<|im_end|>", unk_token="<|endoftext|>",
    )  # fmt: skip
    fast.chat_template = (
        "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\n' + m['content'] + "
        "'<|im_end|>\n'}}{% endfor %}{% if add_generation_prompt %}"
        "{{ '<|im_start|>assistant\n' }}{% endif %}"
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=context,
        bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id, tie_word_embeddings=True,
    )  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def reset_singletons() -> None:
    from llmsh.commands import registry
    from llmsh.plugins import reset_plugins

    reset_plugins()
    registry._DEFAULT = None


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Its own $LLMSH_HOME, and plugins loaded afresh from there."""
    monkeypatch.setenv("LLMSH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LLMSH_LOAD_PLUGINS", raising=False)
    reset_singletons()
    yield tmp_path / "home"
    reset_singletons()


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_llama(tmp_path_factory.mktemp("models") / "tiny-llama")


@pytest.fixture
def store(home: Path, tiny_llama: Path) -> Path:
    """The home's model store, holding tiny-llama (256-token context)."""
    from llmsh.models.importer import add_model
    from llmsh.models.store import ModelStore

    add_model("tiny-llama", tiny_llama, ModelStore())
    return home


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """Three prompt/completion pairs: one epoch is three training steps."""
    path = tmp_path / "data.jsonl"
    pairs = [("What is the capital of France?", "Paris."), ("What is a kitten?", "A young cat."),
             ("Where do trains run?", "On rails.")]  # fmt: skip
    path.write_text("".join(json.dumps({"prompt": p, "completion": c}) + "\n" for p, c in pairs))
    return path


@pytest.fixture
def slots() -> int:
    return 2  # the kernel's default: two fine-tunes load and train side by side


@pytest.fixture
async def shell(store: Path, tmp_path: Path, slots: int) -> AsyncIterator[Shell]:
    from llmsh.kernel import KernelConfig
    from llmsh.models import kinds
    from llmsh.runtime import make_kernel

    # One CPU slot: two model loads at once in two job threads fail in the model
    # layer (see test_two_runs_at_once); a sweep's runs then go one after another.
    config = KernelConfig(state_dir=tmp_path / "state", nvml=None, cpu_slots=slots)
    kernel = make_kernel(config)
    await kernel.start()
    yield Shell(stdout=io.StringIO(), stderr=io.StringIO(), kernel=kernel)
    await kernel.close()
    if kinds._POOL is not None:  # the next test's store has other models
        kinds._POOL.clear()


@dataclass
class Result:
    status: int
    out: str
    err: str


Run = Callable[[str], Awaitable[Result]]


@pytest.fixture
def sh(shell: Shell) -> Run:
    """``await sh("summarize notes.txt")``: run a line in the shell, capture its output."""

    async def run(text: str) -> Result:
        shell.stdout, shell.stderr = io.StringIO(), io.StringIO()
        status = await shell.run_source(text)
        assert isinstance(shell.stdout, io.StringIO) and isinstance(shell.stderr, io.StringIO)
        return Result(status, shell.stdout.getvalue(), shell.stderr.getvalue())

    return run

"""Training stays working: a short run on a tiny random BERT, saving and loading its weights."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def trained(tiny_encoder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    from llmsh.nl_intent.train import TrainConfig, train

    out = tmp_path_factory.mktemp("weights") / "intent.safetensors"
    config = TrainConfig(
        steps=40,
        batch_size=16,
        warmup_steps=5,
        lr=5e-3,
        head_lr=1e-2,
        log_every=0,
        encoder=str(tiny_encoder),
        out=str(out),
        seed=1,
    )
    result = train(config, log=lambda _: None)
    return result.path, result.losses


def test_short_training_run_lowers_the_loss(trained: tuple[Path, list]) -> None:
    path, losses = trained
    assert len(losses) == 40 and path.is_file()
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < 0.8 * first, (first, last)


def test_weights_hold_labels_and_only_adapter_and_heads(trained: tuple[Path, list]) -> None:
    from llmsh.nl_intent.signatures import REJECT, signatures
    from llmsh.nl_intent.weights import read_weights

    tensors, meta = read_weights(trained[0])
    assert set(meta.intents) == set(signatures()) | {REJECT}
    assert meta.tags[0] == "O" and "B-device" in meta.tags
    assert all(k.startswith(("lora.", "intent_head.", "slot_head.")) for k in tensors)
    assert not any("embeddings" in k for k in tensors)


def test_merged_model_matches_the_peft_model(tiny_encoder: Path) -> None:
    """Merging B @ A into the weights gives the same outputs as peft's adapter."""
    from peft import LoraConfig, get_peft_model

    from llmsh.nl_intent.model import load_encoder
    from llmsh.nl_intent.weights import lora_tensors, merge_lora

    torch.manual_seed(0)
    peft_model = get_peft_model(load_encoder(tiny_encoder), LoraConfig(
        r=4, lora_alpha=8, target_modules=["query", "value", "dense"]))  # fmt: skip
    tensors = lora_tensors(peft_model)
    for key in tensors:
        if key.endswith(".B"):
            tensors[key] = torch.randn_like(tensors[key]) * 0.1  # B starts at zero
    for name, module in peft_model.named_modules():
        if hasattr(module, "lora_B") and "default" in getattr(module, "lora_B", {}):
            path = name.removeprefix("base_model.model.")
            module.lora_B["default"].weight.data = tensors[f"lora.{path}.B"]
    plain = load_encoder(tiny_encoder)
    assert merge_lora(plain, tensors, 8 / 4) == len(tensors) // 2
    ids = torch.randint(5, 100, (2, 9))
    mask = torch.ones_like(ids)
    peft_model.eval()
    with torch.no_grad():
        want = peft_model(input_ids=ids, attention_mask=mask)[0]
        got = plain(input_ids=ids, attention_mask=mask)[0]
    assert torch.allclose(want, got, atol=1e-5)


def test_translator_runs_on_trained_weights(tiny_encoder: Path, trained: tuple[Path, list]) -> None:
    from llmsh.nl_intent.api import Translator, TranslatorConfig

    translator = Translator(TranslatorConfig(weights=str(trained[0]), encoder=str(tiny_encoder)))
    proposal = translator.translate("show me what's running on the gpu")
    data = proposal.to_json()
    assert set(data) >= {"command", "confidence", "intent", "slots", "alternatives"}
    assert 0.0 <= data["confidence"] <= 1.0
    assert proposal.command is None or proposal.confidence >= translator.config.threshold
    empty = translator.translate("   ")
    assert empty.command is None and empty.intent == "reject"


def test_plain_torch_encoder_matches_transformers(tiny_encoder: Path) -> None:
    from transformers import BertModel

    from llmsh.nl_intent.encoder import load_bert

    ours = load_bert(tiny_encoder)
    theirs = BertModel.from_pretrained(str(tiny_encoder), add_pooling_layer=False).eval()
    ids = torch.randint(5, 100, (3, 11))
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    with torch.no_grad():
        want = theirs(input_ids=ids, attention_mask=mask)[0]
        got = ours(ids, mask)[0]
    assert torch.allclose(want[mask.bool()], got[mask.bool()], atol=1e-5)


def test_inference_needs_neither_transformers_nor_peft(
    tiny_encoder: Path, trained: tuple[Path, list]
) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from llmsh.nl_intent.api import Translator, TranslatorConfig\n"
        f"t = Translator(TranslatorConfig(weights={str(trained[0])!r}, "
        f"encoder={str(tiny_encoder)!r}))\n"
        "t.translate('kill job 2')\n"
        "heavy = [m for m in ('transformers', 'peft') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)

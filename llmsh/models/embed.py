"""embed and classify jobs on a sentence-embedding encoder.

Embeddings follow the sentence-transformers recipe for all-MiniLM-L6-v2: mean of
the token vectors (padding masked out), then L2-normalised, so a dot product is
the cosine similarity. Zero-shot classification embeds "This text is {label}."
for each label and ranks labels by cosine similarity with the text.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import torch

from llmsh.kernel.control import JobControl
from llmsh.models.errors import ModelError
from llmsh.models.jobs import default_model
from llmsh.models.loader import LoadedModel
from llmsh.models.manifest import ModelKind
from llmsh.models.pool import ModelPool
from llmsh.models.resolve import resolved
from llmsh.models.runtime import job_device, oom_guard

BATCH = 32
MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained on at most 256 word pieces
DEFAULT_TEMPLATE = "This text is {label}."


@torch.inference_mode()
def embed_texts(lm: LoadedModel, texts: list[str], ctl: JobControl | None = None) -> torch.Tensor:
    """One normalised embedding per text (rows of a [len(texts), dim] tensor)."""
    if lm.kind is not ModelKind.EMBED:
        raise ModelError(f"model {lm.name!r} is a {lm.kind.value} model; use an embedding model")
    rows = []
    for start in range(0, len(texts), BATCH):
        if ctl is not None:
            ctl.check()
        batch = lm.tokenizer(
            texts[start : start + BATCH], padding=True, truncation=True,
            max_length=MAX_TOKENS, return_tensors="pt",
        ).to(lm.device)  # fmt: skip
        hidden = lm.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        rows.append(torch.nn.functional.normalize(pooled.float(), p=2, dim=1))
        if ctl is not None:
            ctl.progress(min(start + BATCH, len(texts)), len(texts), "text")
    return torch.cat(rows).cpu()


def _texts(args: dict[str, Any]) -> list[str]:
    texts = args.get("texts")
    if texts is None:
        texts = [args.get("text")]
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t for t in texts):
        raise ModelError("embed needs a non-empty text (or a list of texts)")
    return texts


def _labels(args: dict[str, Any]) -> list[str]:
    labels = args.get("labels")
    if isinstance(labels, str):
        labels = labels.split(",")
    labels = [str(x).strip() for x in labels or [] if str(x).strip()]
    if len(labels) < 2:
        raise ModelError("classify needs at least two labels (--labels A,B,...)")
    return labels


def _model_and_device(kind: str, args: dict[str, Any], ctl: JobControl) -> tuple[str, str]:
    return str(args.get("model") or default_model(kind)), job_device(args, ctl)


def run_embed(args: dict[str, Any], ctl: JobControl, pool: ModelPool) -> int:
    """args: text (or texts), model, out (JSON lines file: {"text", "embedding"} per line)."""
    texts = _texts(args)
    name, device = _model_and_device("embed", args, ctl)
    start = time.perf_counter()
    res = resolved("embed", args)
    with oom_guard(device), pool.use(name, device, need=res.resident) as lm:
        ctl.set_memory(res.extra)  # the weights are the pool's, counted once
        vectors = embed_texts(lm, texts, ctl)
    elapsed = time.perf_counter() - start
    ctl.progress(len(texts), len(texts), "text", rate=len(texts) / elapsed if elapsed else None)
    ctl.write(f"dimension: {vectors.shape[1]}\n")
    for text, vec in zip(texts, vectors, strict=True):
        preview = ", ".join(f"{v:+.4f}" for v in vec[:6].tolist())
        short = text if len(text) <= 40 else text[:37] + "..."
        ctl.write(f"{short!r}: [{preview}, ...]\n")
    out = args.get("out")
    if out:
        path = Path(str(out)).expanduser()
        try:
            with path.open("w", encoding="utf-8") as fh:
                for text, vec in zip(texts, vectors, strict=True):
                    fh.write(json.dumps({"text": text, "embedding": vec.tolist()}) + "\n")
        except OSError as exc:
            raise ModelError(f"cannot write {out}: {exc.strerror or exc}") from None
        ctl.write(f"wrote {len(texts)} embedding(s) to {path}\n")
    return 0


def classify_scores(
    lm: LoadedModel, text: str, labels: list[str], template: str = DEFAULT_TEMPLATE,
    ctl: JobControl | None = None,
) -> list[tuple[str, float]]:  # fmt: skip
    """(label, probability) pairs, best first; the probabilities sum to 1.

    Each label is put in `template` and embedded with the text; the cosine similarities
    become probabilities by a softmax at temperature `CLASSIFY_TEMPERATURE`, the way
    CLIP turns similarities into zero-shot probabilities (its learnt scale is 100;
    sentence encoders' similarities spread less, so llmsh uses 1/0.05 = 20)."""
    if "{label}" not in template:
        raise ModelError("the label template must contain {label}")
    vectors = embed_texts(lm, [text] + [template.format(label=label) for label in labels], ctl)
    probs = softmax((vectors[1:] @ vectors[0]).tolist(), CLASSIFY_TEMPERATURE)
    return sorted(zip(labels, probs, strict=True), key=lambda pair: pair[1], reverse=True)


CLASSIFY_TEMPERATURE = 0.05


def softmax(scores: list[float], temperature: float) -> list[float]:
    top = max(scores)
    weights = [math.exp((score - top) / temperature) for score in scores]
    total = sum(weights)
    return [w / total for w in weights]


def run_classify(args: dict[str, Any], ctl: JobControl, pool: ModelPool) -> int:
    """args: text, labels (list or "a,b,c"), model, template (with {label})."""
    text = args.get("text")
    if not isinstance(text, str) or not text:
        raise ModelError("classify needs a text")
    labels = _labels(args)
    name, device = _model_and_device("classify", args, ctl)
    res = resolved("classify", args)
    with oom_guard(device), pool.use(name, device, need=res.resident) as lm:
        ctl.set_memory(res.extra)  # the weights are the pool's, counted once
        ranked = classify_scores(
            lm, text, labels, str(args.get("template") or DEFAULT_TEMPLATE), ctl
        )
    width = max(len(label) for label in labels)
    for label, prob in ranked:
        ctl.write(f"{label:<{width}}  {prob:.3f}\n")
    ctl.progress(1, 1, "text", best_score=ranked[0][1])
    return 0

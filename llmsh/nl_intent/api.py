"""Natural language in, a proposed command out: `translate(text) -> Proposal`.

The model loads on first use and stays cached (`default_translator`). Every
proposal has a confidence: the intent's probability times the tagger's (the
geometric mean of its word tags). Below the threshold, or when the words do
not make a valid line, ``command`` is None and ``alternatives`` lists the best
other readings that do. A reading that would drop values (several numbers for
a one-value flag) gives way to one that holds them all (`keeps_all`). Torch is
imported only when the model loads.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmsh.nl_intent.decode import Decoded, decode, json_slots
from llmsh.nl_intent.signatures import REJECT, Signature, signatures
from llmsh.nl_intent.words import Word, split_words


@dataclass
class TranslatorConfig:
    """How proposals are made (help on each field)."""

    threshold: float = field(default=0.5, metadata={"help": "below it: no confident command"})
    alternatives: int = field(default=3, metadata={"help": "alternatives to list at most"})
    min_alternative: float = field(default=0.02, metadata={"help": "least confidence listed"})
    quantize: bool = field(default=True, metadata={"help": "int8 dynamic quantisation"})
    threads: int = field(default=0, metadata={"help": "torch threads (0: leave as is)"})
    weights: str = field(default="", metadata={"help": "weights file (default: packaged)"})
    encoder: str = field(default="", metadata={"help": "encoder folder (default: store minilm)"})

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0 or not 0.0 <= self.min_alternative <= 1.0:
            raise ValueError("threshold and min_alternative must be in [0, 1]")


@dataclass
class Alternative:
    """Another reading of the words, offered when the first is not confident enough."""

    command: str
    intent: str
    confidence: float
    destructive: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"command": self.command, "intent": self.intent,
                "confidence": round(self.confidence, 4), "destructive": self.destructive}  # fmt: skip


@dataclass
class Proposal:
    """The translation of one utterance."""

    text: str
    command: str | None
    confidence: float
    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    alternatives: list[Alternative] = field(default_factory=list)
    destructive: bool = False
    """Never run without an explicit yes (kill, models rm, unload, ``!``)."""
    reason: str = ""
    """Why there is no command (not confident, not a command, bad values)."""

    def to_json(self) -> dict[str, Any]:
        return {"command": self.command, "confidence": round(self.confidence, 4),
                "intent": self.intent, "slots": self.slots,
                "alternatives": [a.to_json() for a in self.alternatives],
                "destructive": self.destructive}  # fmt: skip


@dataclass
class Prediction:
    """Raw model output for one utterance."""

    words: list[Word]
    intents: list[tuple[str, float]]
    """All intents with probabilities, most likely first."""
    tags: list[str]
    tag_confidence: float
    """How sure the tagger is of the words (the geometric mean of each word's tag)."""


class Translator:
    """A loaded model plus the decoding rules."""

    def __init__(self, config: TranslatorConfig | None = None) -> None:
        from llmsh.nl_intent.model import load_tokenizer
        from llmsh.nl_intent.weights import WEIGHTS, encoder_dir, load_model

        self.config = config or TranslatorConfig()
        if self.config.threads:
            import torch

            torch.set_num_threads(self.config.threads)
        encoder = Path(self.config.encoder) if self.config.encoder else encoder_dir()
        weights = Path(self.config.weights) if self.config.weights else WEIGHTS
        self.model, self.meta = load_model(weights, encoder, self.config.quantize)
        self.tokenizer = load_tokenizer(encoder, self.meta.config.max_length)
        self.sigs: dict[str, Signature] = signatures()

    def predict(self, text: str) -> Prediction:
        import torch

        from llmsh.nl_intent.model import encode_words

        words = split_words(text)
        batch = encode_words(self.tokenizer, [[w.text for w in words]])
        with torch.inference_mode():
            intent_logits, tag_logits = self.model(batch.input_ids, batch.attention_mask)
            intent_probs = intent_logits.softmax(-1)[0].tolist()
            tag_probs = tag_logits.softmax(-1)[0]
        tags: list[str] = []
        log_sum, counted = 0.0, 0
        for pos in batch.first_token[0]:
            if pos < 0:  # cut off: the last slot runs on (a long prompt), else outside
                last = tags[-1] if tags else "O"
                tags.append("O" if last == "O" else "I-" + last.split("-", 1)[1])
                continue
            prob, index = tag_probs[pos].max(-1)
            tags.append(self.meta.tags[int(index)])
            log_sum += math.log(max(float(prob), 1e-9))
            counted += 1
        ranked = sorted(zip(self.meta.intents, intent_probs, strict=True), key=lambda p: -p[1])
        return Prediction(words, ranked, tags, math.exp(log_sum / max(1, counted)))

    def translate(self, text: str) -> Proposal:
        if not text.strip():
            return Proposal(text, None, 0.0, REJECT, reason="nothing to translate")
        return self.propose(text, self.predict(text))

    def propose(self, text: str, pred: Prediction) -> Proposal:
        """The proposal for a prediction: decode the top intents, apply the threshold."""
        cfg = self.config
        top, top_p = pred.intents[0]
        readings: list[tuple[Decoded, float]] = []
        for intent, prob in pred.intents[: cfg.alternatives + 1]:
            sig = self.sigs.get(intent)
            if sig is not None and prob >= cfg.min_alternative:
                readings.append((decode(sig, text, pred.words, pred.tags), prob))
        best = readings[0][0] if readings and readings[0][0].intent == top else None
        if best is not None and best.dropped:
            kept = self.keeps_all(text, pred, best)
            if kept is not None:
                best, top_p = kept
                top = best.intent
        confidence = top_p * pred.tag_confidence
        proposal = Proposal(text, None, confidence, top)
        if best is not None:
            proposal.slots = json_slots(best, self.sigs[top])
        if top == REJECT:
            proposal.reason = "not a command"
        elif best is None or best.command is None:
            proposal.reason = (best.error or "no command") if best else "unknown command"
            proposal.confidence *= 0.5
        elif confidence < cfg.threshold:
            proposal.reason = "no confident command"
        else:
            proposal.command = best.command
            proposal.destructive = self.sigs[top].destructive
        for decoded, prob in readings:
            alt_conf = prob * pred.tag_confidence
            if decoded.command is None or decoded.command == proposal.command:
                continue
            if alt_conf >= cfg.min_alternative and len(proposal.alternatives) < cfg.alternatives:
                destructive = self.sigs[decoded.intent].destructive
                alt = Alternative(decoded.command, decoded.intent, alt_conf, destructive)
                proposal.alternatives.append(alt)
        return proposal

    def keeps_all(
        self, text: str, pred: Prediction, lossy: Decoded
    ) -> tuple[Decoded, float] | None:
        """The likeliest reading whose line holds every number ``lossy`` would drop ("every
        lr in 1e-4,2e-4": ``sweep finetune``, not ``finetune --lr 1e-4``), with its
        probability given that the line must hold them: renormalised over the intents
        whose lines do. A destructive reading never replaces one that is not."""
        harmless = not self.sigs[lossy.intent].destructive
        holders: list[tuple[Decoded, float]] = []
        for intent, prob in pred.intents:
            sig = self.sigs.get(intent)
            if sig is None or intent == lossy.intent or (harmless and sig.destructive):
                continue
            params = [sig.param(slot) for slot in lossy.dropped]
            if not all(p is not None and (p.many or p.type == "LABELS") for p in params):
                continue  # it cannot take a list there either
            decoded = decode(sig, text, pred.words, pred.tags)
            if decoded.command and not decoded.dropped:
                holders.append((decoded, prob))
        if not holders:
            return None
        total = sum(prob for _, prob in holders)
        return holders[0][0], holders[0][1] / total if total > 0 else 1.0


# Process-wide on purpose: the model takes seconds and ~100 MB to load and is read-only
# once loaded, so every caller in the process (the `nl` command, the shell's proposal
# path, any session) shares one instead of loading its own. The lock makes the first
# load happen once when two threads translate at the same time. Code that wants its
# own model (other weights, a threshold) builds a `Translator` and keeps it.
_DEFAULT: Translator | None = None
_LOCK = threading.Lock()


def default_translator() -> Translator:
    """The process-wide translator, loaded on first use."""
    global _DEFAULT  # process-wide: see above
    with _LOCK:
        if _DEFAULT is None:
            _DEFAULT = Translator()
        return _DEFAULT


def translate(text: str) -> Proposal:
    """Translate ``text`` with the packaged model (loaded once, then cached)."""
    return default_translator().translate(text)

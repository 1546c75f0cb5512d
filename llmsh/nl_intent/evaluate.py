"""Scores on the held-out templates: intent accuracy, slot F1, exact command, latency.

Exact command compares what the user would be offered (`Proposal.command`,
after the confidence threshold) with the gold line; for a ``reject`` utterance
the right answer is no command. Slot F1 is over ``(slot, first word, last
word)`` spans, as seqeval counts them.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmsh.nl_intent.data import Example

if TYPE_CHECKING:
    from llmsh.nl_intent.api import Translator

EVAL_SEED = 20260
EVAL_COUNT = 1000


@dataclass
class EvalResult:
    n: int
    intent_accuracy: float
    slot_precision: float
    slot_recall: float
    slot_f1: float
    exact_command: float
    p50_ms: float
    p95_ms: float
    errors: list[dict[str, Any]] = field(default_factory=list)
    confused: Counter[tuple[str, str]] = field(default_factory=Counter)

    def summary(self) -> dict[str, float]:
        return {"n": self.n, "intent_accuracy": round(self.intent_accuracy, 4),
                "slot_f1": round(self.slot_f1, 4), "exact_command": round(self.exact_command, 4),
                "p50_ms": round(self.p50_ms, 2), "p95_ms": round(self.p95_ms, 2)}  # fmt: skip


def held_out_examples(count: int = EVAL_COUNT, seed: int = EVAL_SEED) -> list[Example]:
    """``count`` utterances from the held-out templates only, intents drawn evenly."""
    from llmsh.nl_intent import data
    from llmsh.nl_intent.examples import example_book
    from llmsh.nl_intent.signatures import signatures

    sigs = signatures()
    book = example_book()
    _, held = data.split_templates(book, data.intents_of(book, sigs))
    return data.generate(held, sigs, book, count, seed, weighted=False)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def evaluate(translator: Translator, examples: list[Example], keep_errors: int = 20) -> EvalResult:
    from llmsh.nl_intent.decode import bio_spans

    intent_ok = exact_ok = 0
    tp = n_pred = n_gold = 0
    times: list[float] = []
    errors: list[dict[str, Any]] = []
    confused: Counter[tuple[str, str]] = Counter()
    translator.translate("warm up")
    for ex in examples:
        started = time.perf_counter()
        pred = translator.predict(ex.text)
        proposal = translator.propose(ex.text, pred)
        times.append((time.perf_counter() - started) * 1000)
        _, gold_tags = ex.words_and_tags()
        gold = set(bio_spans(gold_tags))
        guess = set(bio_spans(pred.tags))
        tp += len(gold & guess)
        n_pred += len(guess)
        n_gold += len(gold)
        intent_ok += proposal.intent == ex.intent
        if proposal.intent != ex.intent:
            confused[(ex.intent, proposal.intent)] += 1
        right = proposal.command == ex.command
        exact_ok += right
        if not right and len(errors) < keep_errors:
            errors.append({"text": ex.text, "gold": ex.command, "got": proposal.command,
                           "intent": proposal.intent, "confidence": round(proposal.confidence, 3),
                           "reason": proposal.reason})  # fmt: skip
    n = max(1, len(examples))
    precision = tp / n_pred if n_pred else 1.0
    recall = tp / n_gold if n_gold else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return EvalResult(len(examples), intent_ok / n, precision, recall, f1, exact_ok / n,
                      percentile(times, 0.5), percentile(times, 0.95), errors,
                      confused)  # fmt: skip

"""``llmsh nl train`` and ``llmsh nl eval``: `train_main` and `eval_main` take argv, return a status."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence


def _train_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llmsh nl train", description="rebuild the intent parser's weights from scratch"
    )
    p.add_argument("--steps", type=int, help="optimiser steps (default: TrainConfig)")
    p.add_argument("--batch-size", type=int, help="utterances per step")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's own)")
    p.add_argument("--seed", type=int, help="seed for data and initialisation")
    p.add_argument("--out", help="weights file (default: the package's weights)")
    p.add_argument("--encoder", help="encoder folder (default: minilm in the model store)")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.add_argument("--eval", action="store_true", help="evaluate on the held-out split after")
    return p  # fmt: skip


def train_main(argv: Sequence[str] | None = None) -> int:
    from llmsh.nl_intent.train import TrainConfig, train
    from llmsh.nl_intent.weights import NLUnavailable

    args = _train_parser().parse_args(argv)
    overrides = {
        k: v
        for k, v in {
            "steps": args.steps,
            "batch_size": args.batch_size,
            "threads": args.threads,
            "seed": args.seed,
            "out": args.out,
            "encoder": args.encoder,
        }.items()
        if v is not None
    }
    try:
        config = TrainConfig(**overrides)  # type: ignore[arg-type]
        result = train(config, log=(lambda _: None) if args.quiet else _err)
    except (NLUnavailable, ValueError) as exc:
        _err(f"nl train: {exc}")
        return 1
    print(
        f"trained in {result.seconds:.0f}s ({result.seconds / 60:.1f} min), "
        f"final loss {sum(result.losses[-20:]) / len(result.losses[-20:]):.4f}: {result.path}"
    )
    if args.eval:
        return eval_main(
            ["--weights", str(result.path)] + (["--encoder", args.encoder] if args.encoder else [])
        )
    return 0  # fmt: skip


def _eval_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llmsh nl eval", description="score the intent parser on held-out templates"
    )
    p.add_argument("--count", type=int, default=1000, help="held-out utterances (default 1000)")
    p.add_argument("--seed", type=int, help="seed of the held-out sample")
    p.add_argument("--weights", help="weights file (default: the package's weights)")
    p.add_argument("--encoder", help="encoder folder (default: minilm in the model store)")
    p.add_argument("--threshold", type=float, help="confidence threshold")
    p.add_argument("--threads", type=int, help="torch threads")
    p.add_argument("--no-quantize", action="store_true", help="run in fp32")
    p.add_argument("--errors", type=int, default=0, help="show this many wrong commands")
    p.add_argument("--json", action="store_true", help="one JSON line")
    return p  # fmt: skip


def eval_main(argv: Sequence[str] | None = None) -> int:
    from llmsh.nl_intent.api import Translator, TranslatorConfig
    from llmsh.nl_intent.evaluate import EVAL_SEED, evaluate, held_out_examples
    from llmsh.nl_intent.weights import NLUnavailable

    args = _eval_parser().parse_args(argv)
    config = TranslatorConfig(
        weights=args.weights or "",
        encoder=args.encoder or "",
        quantize=not args.no_quantize,
        threads=args.threads or 0,
    )
    if args.threshold is not None:
        config.threshold = args.threshold
    try:
        translator = Translator(config)
    except NLUnavailable as exc:
        _err(f"nl eval: {exc}")
        return 1
    examples = held_out_examples(args.count, EVAL_SEED if args.seed is None else args.seed)
    result = evaluate(translator, examples, keep_errors=args.errors)
    if args.json:
        print(json.dumps(result.summary()))
        return 0
    print(f"held-out utterances  {result.n} (templates never seen in training)")
    print(f"intent accuracy      {result.intent_accuracy:.2%}")
    print(
        f"slot F1              {result.slot_f1:.2%} "
        f"(precision {result.slot_precision:.2%}, recall {result.slot_recall:.2%})"
    )
    print(f"exact command        {result.exact_command:.2%}")
    print(f"latency              p50 {result.p50_ms:.1f} ms, p95 {result.p95_ms:.1f} ms")
    for (gold, got), n in result.confused.most_common(5 if args.errors else 0):
        print(f"  confused {gold} -> {got}: {n}")
    for err in result.errors:
        print(
            f"  {err['text']!r}\n     want {err['gold']}  got {err['got']} "
            f"({err['intent']} {err['confidence']}; {err['reason']})"
        )
    return 0  # fmt: skip


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":  # pragma: no cover  (python -m llmsh.nl_intent.cli train|eval ...)
    main = train_main if sys.argv[1:2] == ["train"] else eval_main
    sys.exit(main(sys.argv[2:]))

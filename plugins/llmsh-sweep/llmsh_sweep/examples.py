"""Natural-language phrasings of the sweep commands for the intent parser.

Value lists are LABELS values (``1e-4,2e-4``); their lexicons say them the ways
people do ("1e-4 and 2e-4", "4, 8 or 16"). Lexicon names carry the plugin's
prefix so they never replace another's. Templates flagged ``"held_out": True``
are never trained on: they only score the intent parser (``llmsh nl eval``); the
rest train it.
"""

from __future__ import annotations

import random

LRS = ("1e-4", "2e-4", "3e-4", "5e-4", "1e-3", "5e-5", "0.0001", "0.0005")
RANKS = ("4", "8", "16", "32", "64")


def listing(values: tuple[str, ...]) -> object:
    """A lexicon of 2-3 distinct values, joined as a person would write them."""

    def pick(rng: random.Random) -> tuple[str, list[str]]:
        chosen = rng.sample(values, rng.choice((2, 2, 3)))
        style = rng.randrange(4)
        if style == 0:
            phrase = ",".join(chosen)
        elif style == 1:
            phrase = ", ".join(chosen)
        else:
            phrase = ", ".join(chosen[:-1]) + (" and " if style == 2 else " or ") + chosen[-1]
        return phrase, [",".join(chosen)]

    return pick


LEXICONS = {
    "sweep_lrs": listing(LRS),
    "sweep_ranks": listing(RANKS),
    "sweep_id": [(str(n), str(n)) for n in range(1, 16)] + [("one", "1"), ("two", "2"),
                                                             ("three", "3")],
}  # fmt: skip

_LR, _RANK = "{lr:sweep_lrs}", "{rank:sweep_ranks}"
TEMPLATES: dict[str, list[str | dict[str, object]]] = {
    "sweep finetune": [
        f"sweep {{model}} on {{data}} over (learning rates|lrs) {_LR} and ranks {_RANK}",
        f"(run|launch|start) a (hyperparameter|grid|parameter) sweep of {{model}} on {{data}} "
        f"with lr {_LR} and rank {_RANK}",
        f"fine tune {{model}} on {{data}} for every combination of lr {_LR} and rank {_RANK}",
        f"grid search {{model}} on {{data}}: learning rates {_LR}, ranks {_RANK}",
        {
            "held_out": True,
            "text": f"try learning rates {_LR} (with|and) ranks {_RANK} for {{model}} on {{data}}",
        },
        f"sweep finetune {{model}} --data {{data}} --lr {_LR} --rank {_RANK}",
        f"submit a job array fine-tuning {{model}} on {{data}} with lr {_LR} and rank {_RANK} "
        "for {epochs} epochs",
        f"compare lora ranks {_RANK} (on|for) {{model}} (with|using) {{data}}",
        f"sweep the learning rate of {{model}} over {_LR} (on|using) {{data}}",
        {
            "held_out": True,
            "text": f"hyperparameter sweep for {{model}} on {{data}} with lr {_LR}, rank {_RANK} "
            "{wait=and wait for it|and wait until they finish|and wait for the results}",
        },
        f"sweep {{model}} on {{data}} with ranks {_RANK} on {{device}}",
        f"run a sweep of {{model}} on {{data}}, lr {_LR}, rank {_RANK}, {{epochs}} epochs",
        f"which learning rate is best for {{model}} on {{data}}? try {_LR}",
        f"train {{model}} on {{data}} once per rank in {_RANK} {{wait=and wait|then wait}}",
        {
            "held_out": True,
            "text": f"fine-tune {{model}} with every lr in {_LR} on {{data}} at {{priority}}",
        },
    ],
    "sweep report": [
        "(show|give me) the sweep report",
        "how did the (sweep|grid search) go",
        "compare the losses of sweep {sweep:sweep_id}",
        "sweep report {sweep:sweep_id}",
        {"held_out": True, "text": "which run of the last sweep has the lowest loss"},
        "report on sweep (number|#) {sweep:sweep_id}",
        "show the results of the (last|latest) (sweep|grid search|hyperparameter sweep)",
        "final losses of sweep {sweep:sweep_id} {json=as json|in json}",
        "(compare|rank) the runs of the (latest|last) sweep",
        {"held_out": True, "text": "what were the final losses in sweep {sweep:sweep_id}"},
        "sweep results {json=as json}",
        "which learning rate won the sweep",
    ],
    "sweep list": [
        "list (my|the|all) sweeps",
        "which sweeps have I (run|started)",
        "show (past|previous|all) sweeps",
        "sweep list {json=as json|in json}",
        {"held_out": True, "text": "what sweeps are there"},
        "show the sweep history",
        "how many sweeps have I done",
    ],
}

"""The shell must start fast: importing the intent parser pulls in no torch."""

from __future__ import annotations

import subprocess
import sys


def test_import_pulls_no_torch() -> None:
    code = (
        "import sys, llmsh.nl_intent as nl\n"
        "from llmsh.nl_intent import api, cli, decode, data, examples, builtin_examples\n"
        "nl.translate; nl.Proposal\n"
        "heavy = [m for m in ('torch', 'transformers', 'peft') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)

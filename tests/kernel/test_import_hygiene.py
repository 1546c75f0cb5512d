"""The kernel knows nothing about terminals or models: checked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("textual", "prompt_toolkit", "rich", "torch", "transformers")


def test_kernel_imports_no_ui_and_no_torch() -> None:
    code = (
        "import sys, json, llmsh.kernel; "
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out))
    assert "llmsh" in loaded
    assert not loaded & set(FORBIDDEN), loaded & set(FORBIDDEN)

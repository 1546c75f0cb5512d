"""Start-up hygiene: `llmsh -c 'echo hi'` loads no heavy or unneeded module."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = {"torch", "transformers", "textual"}
NOT_NEEDED = {"prompt_toolkit", "rich", "asyncio", "sqlite3", "psutil"}

CODE = """
import json, sys
from llmsh.cli import run
status = run(["-c", "echo hi"])
print(json.dumps({"status": status, "modules": sorted(sys.modules)}))
"""


def loaded_by(code: str) -> tuple[str, set[str]]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout  # fmt: skip
    first, last = out.splitlines()[0], out.splitlines()[-1]
    return first, set(json.loads(last)["modules"])


def test_echo_hi_imports_no_torch_transformers_or_textual() -> None:
    first, modules = loaded_by(CODE)
    assert first == "hi"
    roots = {name.split(".")[0] for name in modules}
    assert not roots & HEAVY, roots & HEAVY


def test_echo_hi_starts_no_kernel_event_loop_or_ui() -> None:
    _, modules = loaded_by(CODE)
    roots = {name.split(".")[0] for name in modules}
    assert not roots & NOT_NEEDED, roots & NOT_NEEDED
    assert "llmsh.kernel" not in modules


def test_registry_and_help_import_no_ui() -> None:
    code = CODE.replace('"echo hi"', '"help > /dev/null; help ps > /dev/null; echo hi"')
    _, modules = loaded_by(code)
    roots = {name.split(".")[0] for name in modules}
    assert not roots & (HEAVY | NOT_NEEDED)

"""Fixtures for plugin tests: throwaway plugins in `$LLMSH_HOME/plugins`, fresh singletons.

The process-wide plugin manager and command registry are reset before and after
each test that uses them, so a throwaway plugin never outlives its test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmsh.commands import registry
from llmsh.plugins import reset_plugins


def reset_singletons() -> None:
    reset_plugins()
    registry._DEFAULT = None


@pytest.fixture
def fresh() -> Iterator[None]:
    """No plugin loaded yet in this process; forgotten again afterwards."""
    reset_singletons()
    yield
    reset_singletons()


def write_plugin(home: Path, name: str, text: str) -> Path:
    folder = home / "plugins"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(text))
    return path


def run_llmsh(home: Path, *args: str, env: dict[str, str] | None = None,
              code: str | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """`llmsh ARGS` (or `python -c CODE`) in a subprocess with LLMSH_HOME=home."""
    base = {k: v for k, v in os.environ.items() if k != "LLMSH_LOAD_PLUGINS"}
    full_env = {**base, "LLMSH_HOME": str(home), "NO_COLOR": "1", **(env or {})}
    argv = [sys.executable, "-c", code] if code else [sys.executable, "-m", "llmsh", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=full_env, timeout=120)

"""Start-up time of the shell; prints one JSON line.

* ``echo_hi_ms``: median wall time of ``llmsh -c 'echo hi'`` (goal <= 250 ms);
* ``prompt_ms``: median time from spawning ``llmsh`` in a pseudo-terminal to its
  prompt being drawn (goal <= 500 ms).

Run with the project's virtual environment: ``.venv/bin/python bench/startup.py``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ECHO_RUNS = 21
PROMPT_RUNS = 7
GOALS = {"echo_hi_ms": 250.0, "prompt_ms": 500.0}


def llmsh_command() -> list[str]:
    script = Path(sys.executable).parent / "llmsh"
    return [str(script)] if script.exists() else [sys.executable, "-m", "llmsh"]


def echo_hi(env: dict[str, str]) -> float:
    start = time.perf_counter()
    out = subprocess.run([*llmsh_command(), "-c", "echo hi"], env=env, capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    elapsed = time.perf_counter() - start
    assert out == "hi\n", out
    return elapsed * 1000


def prompt_ready(env: dict[str, str]) -> float:
    import pexpect

    command = llmsh_command()
    start = time.perf_counter()
    child = pexpect.spawn(command[0], command[1:], env=env, encoding="utf-8", timeout=30)
    child.expect(r"llmsh( \[\d+\])?>")
    elapsed = time.perf_counter() - start
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    return elapsed * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, LLMSH_HOME=home, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
        echo_hi(env)  # warm the file cache
        echo = statistics.median(echo_hi(env) for _ in range(ECHO_RUNS))
        prompt_ready(env)
        prompt = statistics.median(prompt_ready(env) for _ in range(PROMPT_RUNS))
    result = {
        "bench": "startup",
        "echo_hi_ms": round(echo, 1),
        "prompt_ms": round(prompt, 1),
        "goal_echo_hi_ms": GOALS["echo_hi_ms"],
        "goal_prompt_ms": GOALS["prompt_ms"],
        "runs": {"echo_hi": ECHO_RUNS, "prompt": PROMPT_RUNS},
        "cpus": os.cpu_count(),
    }
    result["ok"] = echo <= GOALS["echo_hi_ms"] and prompt <= GOALS["prompt_ms"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Out-of-range and missing values are one clear line, never an internal error
(issue 14, item 12: `kill 99999999999999999999`, `sleep` without seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmsh.commands.spec import ValueType
from llmsh.commands.values import MAX_INT, convert
from llmsh.kernel import JobSpec, Kernel
from llmsh.kernel.errors import InvalidRequest
from tests.shell.test_interpreter import make_shell, sh

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "line",
    [f"kill {HUGE}", f"pause {HUGE}", f"resume {HUGE}", f"restart {HUGE}", f"wait {HUGE}",
     f"logs {HUGE}", f"kill 42 {HUGE}", f"kill %{HUGE}", f"renice high {HUGE}"],
)  # fmt: skip
async def test_huge_pids_are_one_line(kernel: Kernel, line: str) -> None:
    r = await sh(make_shell(kernel), line)
    assert r.status != 0
    assert "internal error" not in r.err and "Overflow" not in r.err
    assert len(r.err.strip().splitlines()) <= 3  # the line, and for a usage error its usage
    assert "no such job" in r.err


def test_value_limits() -> None:
    assert convert(ValueType.ID, str(MAX_INT)).pid == MAX_INT
    with pytest.raises(ValueError, match="out of range"):
        convert(ValueType.ID, str(MAX_INT + 1))
    with pytest.raises(ValueError, match="integer out of range: 9999"):
        convert(ValueType.INT, HUGE)
    assert convert(ValueType.INT, str(-MAX_INT - 1)) == -MAX_INT - 1
    with pytest.raises(ValueError, match=r"invalid integer '1{37}\.\.\.'"):
        convert(ValueType.INT, "1" * 5000 + "x")


async def test_huge_integers_in_flags(kernel: Kernel) -> None:
    r = await sh(make_shell(kernel), f"generate hi --max-tokens {HUGE}")
    assert r.status == 2 and "--max-tokens: integer out of range" in r.err


async def test_sleep_without_seconds_is_a_usage_error(kernel: Kernel) -> None:
    r = await sh(make_shell(kernel), "sleep")
    assert r.status == 2 and "missing SECONDS" in r.err and "usage: sleep" in r.err.lower()
    assert "'seconds'" not in r.err


async def test_a_job_without_its_arguments_names_what_is_missing(kernel: Kernel) -> None:
    with pytest.raises(InvalidRequest, match="sleep: missing argument 'seconds'"):
        await kernel.submit(JobSpec("sleep", ("sleep",), {}))


@pytest.mark.parametrize("line", ["models add {n} {tmp}", "models rm {n} --yes",
                                  "models pull hf:org/{n}", "models show {n}"])  # fmt: skip
async def test_a_300_character_model_name_is_one_short_line(
    line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMSH_HOME", str(tmp_path / "home"))
    r = await sh(make_shell(), line.format(n="m" * 300, tmp=tmp_path))
    assert r.status == 1 and "model name too long (300 characters" in r.err
    assert len(r.err.splitlines()) == 1 and len(r.err) < 200
    assert "Errno" not in r.err

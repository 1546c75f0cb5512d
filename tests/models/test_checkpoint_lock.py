"""Two trainings can never write one checkpoint folder (issue 14, item 8): the folder's
flock is held by the training job, and a second one is refused naming the holder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from llmsh.kernel.control import NullControl
from llmsh.models.checkpoint import checkpoint_lock
from llmsh.models.errors import ModelError
from llmsh.models.jobs import run_job
from llmsh.models.pool import ModelPool
from llmsh.models.store import ModelStore

SECOND = """
import sys
from pathlib import Path
from llmsh.models.checkpoint import checkpoint_lock
from llmsh.models.errors import ModelError
try:
    with checkpoint_lock(Path(sys.argv[1]), 99):
        print("locked")
except ModelError as exc:
    print(exc)
"""


def test_a_second_holder_is_refused_naming_the_first(tmp_path: Path) -> None:
    root = tmp_path / ".checkpoints" / "my-run"
    with checkpoint_lock(root, 41):
        with pytest.raises(ModelError, match="in use by job 41: two trainings") as err:
            with checkpoint_lock(root, 42):
                pass
        assert "\n" not in str(err.value)
        # Another process (another kernel's worker) is refused the same way.
        other = subprocess.run([sys.executable, "-c", SECOND, str(root)],
                               capture_output=True, text=True, timeout=60)  # fmt: skip
        assert "in use by job 41" in other.stdout, other.stderr
    with checkpoint_lock(root, 43):  # released when the first training ended
        pass
    assert (root.parent / "my-run.lock").stat().st_mode & 0o777 == 0o600


def test_the_lock_is_released_when_training_fails(tmp_path: Path) -> None:
    root = tmp_path / "run"
    with pytest.raises(RuntimeError), checkpoint_lock(root, 7):
        raise RuntimeError("out of memory")
    with checkpoint_lock(root, 8):
        pass


def test_a_finetune_refuses_a_folder_another_training_holds(
    store: ModelStore, pool: ModelPool, tmp_path: Path
) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text('{"text": "A cat is a small animal."}\n{"text": "Paris is in France."}\n')
    args = {"model": "tiny-llama", "data": str(data), "steps": 2, "out": "held-run", "rank": 2}
    with checkpoint_lock(store.checkpoints("held-run"), 5):
        with pytest.raises(ModelError, match="checkpoints of run held-run are in use by job 5"):
            run_job("finetune", args, NullControl(), pool)
    assert not store.exists("held-run")
    assert run_job("finetune", args, NullControl(), pool) == 0  # free again: it trains

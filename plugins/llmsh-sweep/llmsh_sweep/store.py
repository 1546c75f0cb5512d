"""Remembered sweeps: a small JSON file in the state directory.

Each sweep records its parameters and the kernel pids of its jobs; the jobs'
states and losses are read from the kernel (its job store keeps finished jobs),
never copied here. Writers take an exclusive lock, so two shells starting sweeps
at once get different ids.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FILE_NAME = "sweeps.json"


@dataclass
class SweepJob:
    pid: int
    lr: float
    rank: int
    out: str


@dataclass
class Sweep:
    id: int
    model: str
    data: str
    created: float = field(default_factory=time.time)
    epochs: int | None = None
    steps: int | None = None
    jobs: list[SweepJob] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Sweep:
        jobs = [SweepJob(int(j["pid"]), float(j["lr"]), int(j["rank"]), str(j["out"]))
                for j in data.get("jobs", [])]  # fmt: skip
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**{**known, "jobs": jobs})


class SweepStore:
    def __init__(self, root: Path | None = None) -> None:
        if root is None:
            from llmsh import paths

            root = paths.state_dir()
        self.file = Path(root) / FILE_NAME

    def all(self) -> list[Sweep]:
        return [Sweep.from_json(item) for item in self._read()]

    def get(self, sweep_id: int | None = None) -> Sweep | None:
        """The sweep with this id, or the latest one."""
        sweeps = self.all()
        if sweep_id is None:
            return sweeps[-1] if sweeps else None
        return next((s for s in sweeps if s.id == sweep_id), None)

    @contextlib.contextmanager
    def new(
        self, model: str, data: str, skip: Callable[[int], bool] = lambda _: False
    ) -> Iterator[Sweep]:
        """A sweep with the next free id, saved at the end of the block if it has jobs
        (also when submitting failed part-way: the submitted jobs are remembered);
        ids for which ``skip`` is true are passed over."""
        with self._locked():
            items = self._read()
            sweep_id = max((int(i["id"]) for i in items), default=0) + 1
            while skip(sweep_id):  # e.g. its model names exist (sweeps.json was removed)
                sweep_id += 1
            sweep = Sweep(sweep_id, model, data)
            try:
                yield sweep
            finally:
                if sweep.jobs:
                    self._write([*items, asdict(sweep)])

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.file.with_suffix(".lock"), "w") as lock:
            try:
                import fcntl
            except ImportError:  # not POSIX: no lock
                yield
                return
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read {self.file}: {exc}") from None
        return list(data.get("sweeps", [])) if isinstance(data, dict) else []

    def _write(self, items: list[dict[str, Any]]) -> None:
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"sweeps": items}, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, self.file)

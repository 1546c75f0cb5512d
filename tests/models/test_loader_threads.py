"""Two model loads at the same moment (two jobs starting together) both succeed."""

from __future__ import annotations

import threading

from llmsh.models.loader import LoadedModel, load_model
from llmsh.models.store import ModelStore


def test_concurrent_loads_in_threads(store: ModelStore) -> None:
    results: list[LoadedModel | BaseException] = []

    def load(name: str, trainable: bool) -> None:
        try:
            results.append(load_model(name, "cpu", store, trainable=trainable))
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            results.append(exc)

    threads = [
        threading.Thread(target=load, args=(name, trainable))
        for name in ("tiny-llama", "tiny-bert")
        for trainable in (False, True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 4
    assert all(isinstance(r, LoadedModel) for r in results), results

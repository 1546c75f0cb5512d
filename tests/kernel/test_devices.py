"""The NVML path against a fake NVML module (no GPU on the development machines)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from llmsh.kernel import NA, Kernel, KernelConfig
from llmsh.kernel.devices import DeviceProbe, DeviceSnapshot, cpu_snapshot, gpu_snapshots

GiB = 1024**3


class FakeNVML:
    """Two GPUs; the second cannot report temperature or power (like many consumer cards)."""

    def __init__(self, count: int = 2) -> None:
        self.count = count

    def nvmlDeviceGetCount(self) -> int:
        return self.count

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
        return i

    def nvmlDeviceGetName(self, h: int) -> bytes:
        return b"NVIDIA Fake 24GB" if h == 0 else b"NVIDIA Fake 80GB"

    def nvmlDeviceGetMemoryInfo(self, h: int) -> Any:
        total = (24 if h == 0 else 80) * GiB
        return SimpleNamespace(total=total, used=2 * GiB, free=total - 2 * GiB)

    def nvmlDeviceGetUtilizationRates(self, h: int) -> Any:
        return SimpleNamespace(gpu=37 if h == 0 else 0, memory=5)

    def nvmlDeviceGetTemperature(self, h: int, sensor: int) -> int:
        if h == 1:
            raise RuntimeError("NVML_ERROR_NOT_SUPPORTED")
        return 61

    def nvmlDeviceGetPowerUsage(self, h: int) -> int:
        if h == 1:
            raise RuntimeError("NVML_ERROR_NOT_SUPPORTED")
        return 123_000

    def nvmlDeviceGetPowerManagementLimit(self, h: int) -> int:
        return 300_000


def test_fake_nvml_gives_gpu_snapshots_with_na_for_unreadable_metrics() -> None:
    g0, g1 = gpu_snapshots(FakeNVML())
    assert (g0.id, g0.name, g0.utilization, g0.temperature, g0.power) == (
        "cuda:0",
        "NVIDIA Fake 24GB",
        37.0,
        61.0,
        123.0,
    )
    assert g0.mem_total == 24 * GiB and g0.mem_free == 22 * GiB
    assert g1.temperature is NA and g1.power is NA and str(g1.temperature) == "N/A"
    assert DeviceSnapshot.from_json(g1.to_json()) == g1


def test_a_broken_driver_means_no_gpus_not_an_error() -> None:
    class Broken:
        def nvmlDeviceGetCount(self) -> int:
            raise RuntimeError("driver not loaded")

    assert gpu_snapshots(Broken()) == []
    assert gpu_snapshots(None) == []
    assert [d.id for d in DeviceProbe(nvml=None).snapshot()] == ["cpu"]


def test_cpu_snapshot_reads_real_memory() -> None:
    cpu = cpu_snapshot()
    assert cpu.kind == "cpu" and cpu.mem_total > 0 and cpu.mem_used > 0
    assert cpu.utilization is NA or 0 <= cpu.utilization <= 100


async def test_kernel_capacities_come_from_the_probe(tmp_path: Path) -> None:
    async with Kernel(KernelConfig(state_dir=tmp_path, nvml=FakeNVML())) as k:
        caps = {c.id: c for c in k.capacities()}
        assert set(caps) == {"cpu", "cuda:0", "cuda:1"}
        assert caps["cuda:1"].mem_budget == int(80 * GiB * 0.92)
        assert caps["cpu"].slots == 2 and caps["cuda:0"].slots == 4
        snaps = await k.devices()
        assert [s.id for s in snaps] == ["cpu", "cuda:0", "cuda:1"]


@pytest.mark.gpu
def test_real_gpu_is_visible() -> None:
    from llmsh.kernel.devices import load_nvml

    nvml = load_nvml()
    if nvml is None:
        pytest.skip("no NVIDIA GPU on this machine")
    assert gpu_snapshots(nvml)

"""Fixed jobs and devices: the data of the snapshot tests, the demo and the benchmark."""

from __future__ import annotations

from typing import Any

from llmsh.kernel import NA, DeviceSnapshot, JobState, Process, Progress
from llmsh.kernel.api import ResidentRow

from .fake import T0, FakeKernel

GiB = 1 << 30
MiB = 1 << 20


def fake_cpu(cores: tuple[float, ...] = (23.0, 61.5, 8.0, 95.0)) -> DeviceSnapshot:
    return DeviceSnapshot(
        id="cpu",
        kind="cpu",
        name="Fake CPU",
        utilization=sum(cores) / len(cores),
        mem_used=9 * GiB + 512 * MiB,
        mem_total=32 * GiB,
        temperature=NA,
        per_core=cores,
        taken_at=T0,
    )


def fake_gpus(count: int = 2) -> list[DeviceSnapshot]:
    gpus = []
    for i in range(count):
        gpus.append(
            DeviceSnapshot(
                id=f"cuda:{i}",
                kind="cuda",
                name="NVIDIA A100-SXM4-40GB",
                utilization=87.0 if i == 0 else 12.0,
                mem_used=(31 if i == 0 else 3) * GiB,
                mem_total=40 * GiB,
                temperature=71.0 if i == 0 else NA,
                power=312.0 if i == 0 else NA,
                power_limit=400.0,
                taken_at=T0,
            )
        )
    return gpus


def _proc(pid: int, kind: str, argv: str, state: JobState, **extra: Any) -> Process:
    base: dict[str, Any] = dict(
        pid=pid,
        kind=kind,
        argv=tuple(argv.split()),
        args={},
        state=state,
        priority=0,
        device_request="auto",
        created=T0 - 3600 + pid,
        session="s1",
        kernel_id="fake",
    )
    base.update(extra)
    return Process(**base)


def sample_jobs(gpus: int = 2) -> list[Process]:
    """A fixed mix: generation, fine-tune with a loss curve, queued, paused, finished."""
    gpu = "cuda:0" if gpus else "cpu"
    loss = [[float(s), 3.2 * 0.985**s + 0.4] for s in range(0, 300, 5)]
    run = JobState.RUNNING
    return [
        _proc(
            101,
            "generate",
            "generate 'write a haiku about GPUs' --max-tokens 512",
            run,
            device=gpu,
            started=T0 - 42,
            mem_measured=540 * MiB,
            progress=Progress(300, 512, "tok", 41.7),
        ),
        _proc(
            102,
            "finetune",
            "finetune smollm2 --data notes.jsonl --epochs 3",
            run,
            device="cuda:1" if gpus > 1 else gpu,
            started=T0 - 1260,
            priority=-5,
            mem_measured=6 * GiB,
            session="s2",
            progress=Progress(300, 900, "step", 0.48),
            metrics={"loss_history": loss},
        ),
        _proc(
            103,
            "embed",
            "embed --model minilm notes.txt",
            JobState.PAUSED,
            device="cpu",
            started=T0 - 300,
            mem_estimate=95 * MiB,
            progress=Progress(1200, 4000, "doc", None),
        ),
        _proc(
            104,
            "generate",
            "generate 'summarise the logs'",
            JobState.QUEUED,
            mem_estimate=540 * MiB,
            priority=10,
        ),
        _proc(
            105,
            "eval",
            "eval smollm2 --data held-out.jsonl",
            JobState.QUEUED,
            mem_estimate=700 * MiB,
        ),
        _proc(
            106,
            "sleep",
            "sleep 30",
            run,
            device="cpu",
            started=T0 - 7,
            progress=Progress(0, 30, "s"),
        ),
        _proc(
            99,
            "generate",
            "generate 'hello'",
            JobState.DONE,
            device="cpu",
            started=T0 - 90,
            ended=T0 - 80,
            exit_status=0,
            progress=Progress(64, 64, "tok", 6.4),
        ),
        _proc(
            98,
            "finetune",
            "finetune minilm --data bad.jsonl",
            JobState.FAILED,
            device=gpu,
            started=T0 - 500,
            ended=T0 - 490,
            exit_status=1,
            reason="out of memory: CUDA out of memory",
        ),
    ]


def sample_kernel(gpus: int = 2) -> FakeKernel:
    outputs = {
        101: "Silicon rivers hum,\nthousands of cores think as one:\n",
        102: "step 295 loss 0.4523\nstep 300 loss 0.4511\n",
    }
    return FakeKernel(
        sample_jobs(gpus), [fake_cpu(), *fake_gpus(gpus)], outputs, resident=sample_models(gpus)
    )


def many_jobs(count: int, running_share: float = 1.0) -> FakeKernel:
    """`count` token-generating jobs, for load benchmarks."""
    running = int(count * running_share)
    jobs = [
        _proc(
            1000 + i,
            "generate",
            f"generate 'prompt number {i}' --max-tokens 4096",
            JobState.RUNNING if i < running else JobState.QUEUED,
            device="cpu",
            started=T0 - i if i < running else None,
            mem_estimate=300 * MiB,
            progress=Progress(float(i % 4096), 4096, "tok", 5.0 + i % 20),
        )
        for i in range(count)
    ]
    return FakeKernel(jobs, [fake_cpu(), *fake_gpus(2)])


def sample_models(gpus: int = 2) -> list[ResidentRow]:
    """Models resident on the sample machine: one per GPU when there are GPUs."""
    if not gpus:
        return [{"name": "minilm", "device": "cpu", "mem": 90 * MiB}]
    return [
        {"name": "smollm2", "device": "cuda:0", "mem": 270 * MiB},
        {"name": "smollm2-notes", "device": "cuda:1", "mem": 290 * MiB},
        {"name": "minilm", "device": "cpu", "mem": 90 * MiB},
    ]

"""The data layer and formatting: kernel snapshots in, view rows and text out."""

from __future__ import annotations

from llmsh.kernel import NA, DeviceSnapshot, JobState, Process, Progress
from llmsh.tui import fmt
from llmsh.tui.model import LINGER_SECONDS, History, JobsModel
from llmsh.tui.rows import cell_text, row_cells
from llmsh.tui.views import device_view, job_view, resident_models
from llmsh.tui.widgets.history import resample, spark_lines

from .fake import T0, FakeKernel
from .samples import fake_cpu, fake_gpus, sample_jobs


def proc(**extra: object) -> Process:
    base: dict[str, object] = dict(
        pid=1,
        kind="generate",
        argv=("generate", "hi"),
        args={},
        state=JobState.RUNNING,
        priority=0,
        device_request="auto",
    )
    base.update(extra)
    return Process(**base)  # type: ignore[arg-type]


def test_job_view_rate_eta_and_memory() -> None:
    p = proc(
        started=T0 - 10, device="cuda:0", mem_estimate=100, progress=Progress(50, 150, "tok", 10.0)
    )
    v = job_view(p, T0, None)
    assert v.device == "cuda:0" and v.elapsed == 10 and v.eta == 10.0
    assert v.mem == 100 and v.mem_estimated and v.tokens_per_s == 10.0
    measured = job_view(p.evolve(mem_measured=64), T0)
    assert measured.mem == 64 and not measured.mem_estimated


def test_job_view_queued_and_finished() -> None:
    queued = job_view(proc(state=JobState.QUEUED), T0, queue_pos=3)
    assert queued.device == "auto" and queued.elapsed is None and queued.queue_pos == 3
    assert cell_text(row_cells(queued)[2]) == "queued #3"
    done = job_view(
        proc(
            state=JobState.DONE, started=T0 - 9, ended=T0 - 4, progress=Progress(1, 1, "tok", 5.0)
        ),
        T0,
    )
    assert done.finished and done.elapsed == 5 and done.eta is None and done.tokens_per_s == 0


def test_loss_history_points_are_read_and_bad_ones_skipped() -> None:
    v = job_view(proc(metrics={"loss_history": [[0, 2.5], [10, 1.5], "junk", [20]]}), T0)
    assert v.loss == ((0.0, 2.5), (10.0, 1.5))


def test_unreadable_metrics_become_none_and_print_na() -> None:
    snap = DeviceSnapshot("cuda:0", "cuda", "GPU", NA, NA, NA, temperature=NA)
    view = device_view(snap)
    assert view.util is None and view.mem_fraction is None and view.temperature is None
    assert fmt.percent(view.util) == "N/A"
    assert "N/A" in fmt.meter("GPU", None, "", 20).plain


def test_resident_models_accepts_objects_and_dicts() -> None:
    class Entry:
        name, device, mem = "smollm2", "cuda:0", 270 << 20

    models = resident_models([Entry(), {"name": "minilm", "device": "cpu", "mem_bytes": 9}])
    assert [(m.name, m.device, m.mem) for m in models] == [
        ("smollm2", "cuda:0", 270 << 20),
        ("minilm", "cpu", 9),
    ]
    assert resident_models([]) == []


def test_model_filters_sorts_and_lets_finished_jobs_linger() -> None:
    model = JobsModel()
    model.replace(sample_jobs())
    assert {v.pid for v in model.visible(T0)} == {101, 102, 103, 104, 105, 106}
    model.filter = "FINETUNE"
    assert [v.pid for v in model.visible(T0)] == [102]
    model.filter = ""
    model.set_sort("rate")  # numbers sort biggest first, like htop
    assert model.visible(T0)[0].pid == 101 and model.reverse
    model.set_sort("rate")
    assert not model.reverse
    model.apply(sample_jobs()[0].evolve(state=JobState.KILLED, ended=T0))
    assert 101 in {v.pid for v in model.visible(T0 + 1)}
    assert 101 not in {v.pid for v in model.visible(T0 + LINGER_SECONDS + 1)}
    model.show_finished = True
    model.replace(sample_jobs())
    assert {98, 99} <= {v.pid for v in model.visible(T0)}


def test_state_sort_puts_running_first_and_queue_in_order() -> None:
    model = JobsModel()
    model.replace(sample_jobs())
    model.set_queue([105, 104])
    model.set_sort("state")
    assert [v.pid for v in model.visible(T0)] == [101, 102, 106, 103, 105, 104]


def test_history_samples_devices_and_tokens() -> None:
    history = History(points=3)
    for _ in range(5):
        history.sample([device_view(fake_cpu()), *map(device_view, fake_gpus(2))], 12.5)
    assert len(history.cpu) == 3 and history.gpu[-1] == 49.5 and history.tokens[-1] == 12.5
    history.sample([], 0.0)
    assert history.cpu[-1] == 0.0


def test_formatting_helpers() -> None:
    assert fmt.size(512) == "512B" and fmt.size(1536) == "1.5K" and fmt.size(540 << 20) == "540M"
    assert fmt.duration(3725) == "1:02:05" and fmt.duration(65) == "1:05"
    assert fmt.rate(41.66, "tok") == "41.7 tok/s" and fmt.rate(None, "tok") == ""
    assert fmt.block_bar(0.5, 4) == "██  " and fmt.block_bar(1.0, 3) == "███"
    assert fmt.amount(301.4) == "301" and fmt.amount(9.4) == "9.40"


def test_sparkline_scale_and_resample() -> None:
    assert spark_lines([0, 50, 100], 4, 1, 100.0) == ["  ▄█"]
    assert spark_lines([100], 2, 2, 100.0) == [" █", " █"]
    assert resample([1, 3], 4) == [1, 1, 3, 3] and resample([1, 3, 5, 7], 2) == [2, 6]


async def test_kernel_source_reads_resident_models_from_the_kernel() -> None:
    from llmsh.tui.source import KernelSource

    rows: list[dict[str, object]] = [{"name": "smollm2", "device": "cpu", "nbytes": 540 << 20}]
    with_models = FakeKernel([], [fake_cpu()], resident=rows)
    models = await KernelSource(with_models).models()
    assert [(m.name, m.device, m.mem) for m in models] == [("smollm2", "cpu", 540 << 20)]
    assert await KernelSource(FakeKernel([], [fake_cpu()])).models() == []

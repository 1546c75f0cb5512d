"""Model worker processes: model jobs run outside the kernel, so a crash loses only them.

A segfault or CUDA error in torch or llama.cpp kills the process it happens in.
In a kernel thread that is the kernel with every job; here it is one worker:
its jobs fail with "model worker crashed (SIGSEGV); the job was lost", the
kernel carries on, and the next job for that model starts a fresh worker.

Routing: one worker per (model, device) (`routing`), as Ollama runs a runner per
model. A crash then takes only the jobs on that model; every job on the same model
and device still lands in one process, where they share the weights in its
`ModelPool` and the engine's continuous batching, which is per model and device
anyway. The price is a Python + torch (and, on a GPU, a CUDA context) per model:
idle workers close after the pool's keep-alive, and when a new worker does not fit
on its device, idle ones there are closed least recently used first (`manager`),
as the pool evicts idle models within one process.

Executors: this package holds both of the kernel's executors
(`llmsh.kernel.executor`): `executor.ProcessExecutor` (model worker processes, the
default) and `inline.InlineExecutor` (threads of the kernel process). Both run a
job the same way, `inline.run_here`: against the process's model pool, its end
decided by `llmsh.kernel.ending`.

Protocol (`messages`): pickled dataclasses over a socket pair. The kernel sends
StartJob, ControlJob (kill, pause, resume, renice: each sent as the job's control
listeners fire), Unpin and Shutdown; the worker answers Ready, then Batches of
coalesced job reports (`outbox`) and ordered messages (JobEnd with the job's
`Ending`, Resident, UnpinDone). In the worker a `JobProxy` is the kernel's own
`ControlCore`, so `check()` per token costs what it does in the kernel.

Life cycle (`process`, `main`): workers start lazily (`python -m
llmsh.workers.main`, never fork: CUDA and threads do not survive it) in a session
of their own, with stderr in `<state dir>/workers/MODEL@DEVICE.log`
(faulthandler writes a crash's Python stacks there). The kernel reaps each one
that exits; a worker exits on EOF of its pipe and gets SIGKILL (PR_SET_PDEATHSIG)
when the kernel dies, so none outlives it.

Configuration: ``[executor] kind = "process" | "inline"`` in config.toml, or
`$LLMSH_EXECUTOR` (`$LLMSH_MODEL_WORKERS`, "process" or "thread", is still read),
or `KernelConfig.executor`; see `llmsh.runtime`. Each runtime has its own
`WorkerManager`: nothing here is process-wide.
"""

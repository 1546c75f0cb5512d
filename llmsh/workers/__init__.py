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

Protocol (`messages`): pickled dataclasses over a socket pair. The kernel sends
StartJob, ControlJob (kill, pause, resume, priority), Unpin and Shutdown; the
worker answers Ready, then Batches of coalesced job reports (`outbox`) and
ordered messages (JobEnd, Resident, UnpinDone). In the worker a `JobProxy` keeps
kill and pause as local flags, so `check()` per token costs what it does in the
kernel; the kernel's `runner` turns JobEnd back into a status or the job's own
one-line failure.

Life cycle (`process`, `main`): workers start lazily (`python -m
llmsh.workers.main`, never fork: CUDA and threads do not survive it) in a session
of their own, with stderr in `<state dir>/workers/MODEL@DEVICE.log`
(faulthandler writes a crash's Python stacks there). The kernel reaps each one
that exits; a worker exits on EOF of its pipe and gets SIGKILL (PR_SET_PDEATHSIG)
when the kernel dies, so none outlives it.

Configuration: `KernelConfig.model_workers` ("process" or "thread"), default
`$LLMSH_MODEL_WORKERS`, else "process".
"""

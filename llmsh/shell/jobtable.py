"""The session's job table: what `jobs`, `%N`, `fg`, `bg` and `wait` refer to.

A session job is one statement of the shell running as an asyncio task, with
the kernel pids it started. Foreground statements are jobs too (number 0) so
that Ctrl-Z can move one to the background; it gets a number then.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from llmsh.commands.spec import CommandError
from llmsh.commands.values import JobRef

if TYPE_CHECKING:
    import asyncio

INTERRUPTED = 130
KILLED = 137


@dataclass(eq=False)
class SessionJob:
    command: str
    number: int = 0
    pids: list[int] = field(default_factory=list)
    task: asyncio.Task[int] | None = None
    foreground: bool = False
    stopped: bool = False
    status: int | None = None
    announced: bool = False
    _started: asyncio.Event | None = None
    suspended: asyncio.Future[None] | None = None  # set by Ctrl-Z while in the foreground
    on_interrupt: Callable[[], Awaitable[None]] | None = None
    """Set by a command that handles Ctrl-C itself (chat stops the reply, not the chat)."""

    @property
    def pid(self) -> int | None:
        return self.pids[0] if self.pids else None

    @property
    def done(self) -> bool:
        return self.task is not None and self.task.done()

    def add_pid(self, pid: int) -> None:
        self.pids.append(pid)
        self.started.set()

    @property
    def started(self) -> asyncio.Event:
        """Set once the job has started its first kernel job."""
        if self._started is None:
            import asyncio

            self._started = asyncio.Event()
        return self._started

    def result(self) -> int:
        """The exit status of a finished job (130 when cancelled)."""
        if self.status is not None:
            return self.status
        if self.task is None or not self.task.done():
            raise RuntimeError("the job has not finished")
        if self.task.cancelled():
            self.status = INTERRUPTED
        elif self.task.exception() is not None:
            self.status = 1
        else:
            self.status = self.task.result()
        return self.status

    def describe_status(self) -> str:
        status = self.result()
        if status == 0:
            return "Done"
        if status in (INTERRUPTED, KILLED):
            return "Killed"
        return f"Exit {status}"


class JobTable:
    def __init__(self) -> None:
        self._jobs: dict[int, SessionJob] = {}

    def __iter__(self) -> Iterator[SessionJob]:
        return iter(sorted(self._jobs.values(), key=lambda j: j.number))

    def __len__(self) -> int:
        return len(self._jobs)

    def add(self, job: SessionJob) -> SessionJob:
        """Give ``job`` the next number and list it."""
        if job.number == 0:
            job.number = max(self._jobs, default=0) + 1
        self._jobs[job.number] = job
        return job

    def remove(self, job: SessionJob) -> None:
        self._jobs.pop(job.number, None)

    def current(self) -> SessionJob | None:
        """The job `fg`/`bg` use without an argument: the newest one (``%+``)."""
        return max(self._jobs.values(), key=lambda j: j.number, default=None)

    def previous(self) -> SessionJob | None:
        ordered = sorted(self._jobs)
        return self._jobs[ordered[-2]] if len(ordered) > 1 else None

    def marker(self, job: SessionJob) -> str:
        if job is self.current():
            return "+"
        return "-" if job is self.previous() else " "

    def get(self, ref: JobRef) -> SessionJob:
        """The job ``%N`` (``%``/``%+`` current, ``%-`` previous) refers to."""
        if ref.number is not None:
            job = self._jobs.get(ref.number)
        elif ref.text == "%-":
            job = self.previous()
        else:
            job = self.current()
        if job is None:
            raise CommandError(f"no such job: {ref}")
        return job

    def by_pid(self, pid: int) -> SessionJob | None:
        for job in self._jobs.values():
            if pid in job.pids:
                return job
        return None

    def live(self) -> list[SessionJob]:
        return [job for job in self if not job.done]

    def running(self) -> int:
        return sum(1 for job in self._jobs.values() if not job.done and not job.stopped)

    def take_finished(self) -> list[tuple[str, SessionJob]]:
        """Finished jobs not announced yet, with their marker, removed from the table."""
        finished = [(self.marker(job), job) for job in self if job.done and not job.announced]
        for _, job in finished:
            job.announced = True
            self.remove(job)
        return finished

"""Job kinds: what the kernel knows how to run. Built-in and plugin kinds register alike."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .context import JobContext
from .control import JobControl
from .ending import Ending
from .errors import InvalidRequest, UnknownKind
from .records import JobSpec

# A coroutine function, or a plain function for a job that is over as soon as it is
# called: the kernel runs that one inline, without a task (see JobKind). A coroutine
# may return the `Ending` its executor gave instead of a status.
Runner = Callable[[JobContext], Awaitable[int | Ending] | int]
Estimator = Callable[[JobSpec], int]
Resolver = Callable[[JobSpec], JobSpec]
ResidentEstimator = Callable[[JobSpec, list[dict[str, Any]]], int]
Validator = Callable[[dict[str, Any]], None]


def no_memory(spec: JobSpec) -> int:
    return 0


@dataclass(frozen=True)
class JobKind:
    """How to run one kind of job.

    `run` is a coroutine given the job's context; it returns the exit status (0 for
    success), or the `Ending` of the work it handed to the executor, or raises
    JobFailed. A `run` that is a plain function is called inline
    when the job starts (no task, no turn of the loop), so it must return at once.
    `estimate` gives the bytes the job will hold on its device, used for placement
    before the job starts. `resolve`, if any, runs once at submit in a thread (it may
    read files) and returns the spec with what it decided added to its args, which
    `estimate` and the job then read instead of deciding again. `resident_estimate`, if
    any, is used instead of `estimate` and is also given what the kernel's resources hold
    now (`resident()` rows), so that a job on a model already loaded reserves only what
    it adds. `loads_model` jobs start in the `loading` state until the context's
    `mark_running()`.
    """

    name: str
    run: Runner
    estimate: Estimator = no_memory
    resolve: Resolver | None = None
    resident_estimate: ResidentEstimator | None = None
    devices: tuple[str, ...] = ("cpu",)
    slots: int = 1
    loads_model: bool = False
    validate: Validator | None = None
    description: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


def threaded(fn: Callable[[dict[str, Any], JobControl], int]) -> Runner:
    """Adapt blocking job code `fn(args, control) -> status` to a kernel runner."""

    async def run(ctx: JobContext) -> int:
        return await ctx.run_blocking(fn, ctx.args, ctx)

    run.__name__ = getattr(fn, "__name__", "threaded")
    return run


class KindRegistry:
    def __init__(self) -> None:
        self._kinds: dict[str, JobKind] = {}

    def register(self, kind: JobKind, replace: bool = False) -> None:
        if kind.name in self._kinds and not replace:
            raise ValueError(f"job kind {kind.name!r} is already registered")
        self._kinds[kind.name] = kind

    def unregister(self, name: str) -> None:
        self._kinds.pop(name, None)

    def get(self, name: str) -> JobKind:
        try:
            return self._kinds[name]
        except KeyError:
            raise UnknownKind(f"unknown job kind {name!r}") from None

    def names(self) -> list[str]:
        return sorted(self._kinds)

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def validate(self, spec: JobSpec) -> JobKind:
        kind = self.get(spec.kind)
        if kind.validate is not None:
            try:
                kind.validate(spec.args)
            except KeyError as exc:  # str() of a KeyError is just the quoted key
                raise InvalidRequest(f"{spec.kind}: missing argument {exc}") from None
            except (ValueError, TypeError) as exc:
                raise InvalidRequest(str(exc)) from None
        return kind

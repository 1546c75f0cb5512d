"""The llmsh kernel: process table, scheduler, devices and job store. No UI imports here."""

from .config import KernelConfig
from .control import JobControl, JobFailed, JobKilled
from .devices import NA, DeviceSnapshot
from .errors import (
    InvalidRequest,
    KernelError,
    NoSuchJob,
    PlacementError,
    QueueFull,
    UnknownKind,
)
from .events import Event, EventType, Subscription
from .kernel import Kernel, Plan
from .kinds import JobKind, KindRegistry, threaded
from .records import JobSpec, JobState, Process, Progress, parse_priority, priority_name
from .scheduler import DeviceCapacity, fmt_bytes

__all__ = [
    "NA",
    "DeviceCapacity",
    "DeviceSnapshot",
    "Event",
    "EventType",
    "InvalidRequest",
    "JobControl",
    "JobFailed",
    "JobKilled",
    "JobKind",
    "JobSpec",
    "JobState",
    "Kernel",
    "KernelConfig",
    "KernelError",
    "KindRegistry",
    "NoSuchJob",
    "PlacementError",
    "Plan",
    "Process",
    "Progress",
    "QueueFull",
    "UnknownKind",
    "Subscription",
    "fmt_bytes",
    "parse_priority",
    "priority_name",
    "threaded",
]

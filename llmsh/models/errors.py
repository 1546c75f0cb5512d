"""The one error type the model layer raises for a user's mistake.

`ModelError` subclasses the kernel's `JobFailed`, so a mistake made inside a job
(an unknown model, a malformed data file, corrupt weights) ends that job with the
same one-line reason the shell prints for a direct `models ...` command.
"""

from __future__ import annotations

from collections.abc import Iterable
from difflib import get_close_matches

from llmsh.kernel.control import JobFailed


class ModelError(JobFailed):
    """A one-line, user-facing reason; never carries a traceback to the user."""

    def __init__(self, message: str) -> None:
        # Keep the message on one line whatever the cause said.
        super().__init__(" ".join(str(message).split()))


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """' (did you mean X?)' when a known name is close, else ''."""
    close = get_close_matches(name, list(known), n=1, cutoff=0.5)
    return f" (did you mean {close[0]}?)" if close else ""

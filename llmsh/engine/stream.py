"""Token ids to streamed text: incremental, never splitting a character, honouring stop strings.

Decoding the whole reply for every new token costs time proportional to its
length; instead only a short window is decoded (the tokens since the last
complete piece of text, plus a few before them for context, as in vLLM and TGI),
so each token costs the same. Text that might be the start of a stop string is
held back until it is known not to be one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

_CONTEXT = 5  # tokens decoded before the new ones, so spacing comes out right


class TextStream:
    def __init__(self, tokenizer: Any, stop: Iterable[str] = ()) -> None:
        self.tokenizer = tokenizer
        self.stop = tuple(s for s in stop if s)
        self.ids: list[int] = []
        self._prefix = 0  # window start: decoded already, kept for context
        self._read = 0  # tokens whose text has been produced
        self._text = ""  # everything produced so far (before stop handling)
        self._sent = 0  # characters of _text handed out
        self.stopped = False  # a stop string was found: the reply ends before it

    def _decode(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=True))

    def push(self, token: int) -> str:
        """Add a token; the text that can be shown now ("" while waiting for more)."""
        if self.stopped:
            return ""
        self.ids.append(token)
        before = self._decode(self.ids[self._prefix : self._read])
        after = self._decode(self.ids[self._prefix :])
        if after.endswith("\ufffd") or len(after) <= len(before):
            return ""  # an incomplete UTF-8 sequence (or nothing yet): wait for more bytes
        self._text += after[len(before) :]
        self._prefix, self._read = max(0, len(self.ids) - _CONTEXT), len(self.ids)
        return self._release()

    def _release(self) -> str:
        if self.stop:
            found = (self._text.find(s, max(0, self._sent - len(s))) for s in self.stop)
            hits = [i for i in found if i >= 0]
            if hits:
                self.stopped = True
                self._text = self._text[: min(hits)]
                return self._take(len(self._text))
            hold = max(self._partial(s) for s in self.stop)
            return self._take(len(self._text) - hold)
        return self._take(len(self._text))

    def _partial(self, stop: str) -> int:
        """Length of the longest end of the text that begins `stop`."""
        for size in range(min(len(stop) - 1, len(self._text)), 0, -1):
            if stop.startswith(self._text[-size:]):
                return size
        return 0

    def _take(self, upto: int) -> str:
        upto = max(upto, self._sent)
        delta, self._sent = self._text[self._sent : upto], upto
        return delta

    def flush(self) -> str:
        """At the end: whatever was held back as a possible stop string."""
        return self._take(len(self._text))

    @property
    def text(self) -> str:
        """The whole reply (stop string and what follows it excluded)."""
        return self._text

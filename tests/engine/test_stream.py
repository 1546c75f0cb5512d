"""Streaming text: incremental decoding equals full decoding; stop strings end the reply."""

from __future__ import annotations

from typing import Any

import pytest

from llmsh.engine.session import stop_strings
from llmsh.engine.stream import TextStream
from llmsh.models.errors import ModelError

Model = tuple[Any, Any]
TEXT = "Hello! How are you today? The capital of France is Paris. ünïcødé ✓ 🐈 done."


def pieces(
    tokenizer: Any, ids: list[int], stop: tuple[str, ...] = ()
) -> tuple[list[str], TextStream]:
    stream = TextStream(tokenizer, stop)
    out = [stream.push(t) for t in ids]
    out.append(stream.flush())
    return out, stream


def test_deltas_add_up_to_the_full_decode(tiny_llama: Model) -> None:
    tokenizer = tiny_llama[1]
    ids = tokenizer(TEXT)["input_ids"]
    out, stream = pieces(tokenizer, ids)
    assert "".join(out) == stream.text == tokenizer.decode(ids, skip_special_tokens=True)
    assert sum(1 for piece in out if piece) > 5  # streamed, not all at the end
    assert all("\ufffd" not in piece for piece in out)


@pytest.mark.parametrize("stop", ["Paris", "France is", "✓", "nowhere"])
def test_stop_strings_cut_the_reply_and_are_never_shown(tiny_llama: Model, stop: str) -> None:
    tokenizer = tiny_llama[1]
    ids = tokenizer(TEXT)["input_ids"]
    out, stream = pieces(tokenizer, ids, (stop, "zzz"))
    full = tokenizer.decode(ids, skip_special_tokens=True)
    expected = full.split(stop)[0]
    assert "".join(out) == stream.text == expected
    assert stream.stopped == (stop in full)


def test_stop_argument_forms() -> None:
    assert stop_strings(None) == () and stop_strings("") == ()
    assert stop_strings("###") == ("###",)
    assert stop_strings(["a", "", "b"]) == ("a", "b")
    with pytest.raises(ModelError, match="stop"):
        stop_strings([1, 2])

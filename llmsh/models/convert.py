"""One-time conversion of a GGUF file into a safetensors model folder.

transformers can read GGUF directly, but it de-quantises every tensor and
rebuilds the tokenizer on each load (~25 s for smollm2 on two cores). Doing it
once at pull/add time and saving plain safetensors makes later loads take well
under a second. Imports torch: only pull/add of a GGUF model reaches this module.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from llmsh.errors import one_line
from llmsh.models.errors import ModelError

T = TypeVar("T")
Progress = Callable[[str, int, "int | None"], None]


def _counting(progress: Progress) -> Callable[..., Iterator[Any]]:
    """A stand-in for transformers' tqdm bar that reports through our callback."""

    def bar(iterable: Iterable[T], *args: Any, **kwargs: Any) -> Iterator[T]:
        items = list(iterable)
        for index, item in enumerate(items, 1):
            yield item
            progress("convert", index, len(items))

    return bar


def gguf_to_safetensors(gguf_file: Path, out_dir: Path, progress: Progress | None = None) -> float:
    """Write config, tokenizer and safetensors weights for `gguf_file` into `out_dir`.

    Returns the seconds the conversion took.
    """
    import torch
    import transformers.modeling_gguf_pytorch_utils as gguf_utils
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    start = time.perf_counter()
    # The shell shows its own progress; no tqdm bars.
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity(logging.ERROR)
    # The de-quantising loop draws its own tqdm bar; route it to our progress instead.
    saved_bar = getattr(gguf_utils, "tqdm")  # noqa: B009 - module attribute swapped on purpose
    counting = _counting(progress or (lambda phase, done, total: None))
    setattr(gguf_utils, "tqdm", counting)  # noqa: B010
    try:
        folder, name = str(gguf_file.parent), gguf_file.name
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    except Exception as exc:  # transformers raises many types for unsupported/corrupt GGUF
        raise ModelError(f"cannot convert {gguf_file.name}: {one_line(exc, 160)}") from None
    finally:
        hf_logging.set_verbosity(level)
        setattr(gguf_utils, "tqdm", saved_bar)  # noqa: B010
    # The weights are now plain float tensors; drop the GGUF "quantizer" marker,
    # which would otherwise make save_pretrained refuse to serialise them.
    setattr(model, "hf_quantizer", None)  # noqa: B010
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.name_or_path = gguf_file.stem
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    del model
    return time.perf_counter() - start

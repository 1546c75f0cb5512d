"""A GGUF's weights re-encoded as F16, for llama.cpp.

Catalogue models that come as a quantized GGUF (smollm2 ships Q4_1) are converted
once to safetensors for torch, dequantized. llama.cpp gets the same weights as
F16: with quantized weights it also quantizes the activations of each matrix
product (to Q8), and a model as small as SmolLM2-135M then loses its answers
("What is the capital of France?" -> "L'Étoile, la Marseillaise, ..." at Q4_1
and Q8_0, "The capital of France is Paris." at F16 and through torch). Ollama
ships SmolLM2-135M as F16 for the same reason. Both backends then run one set of
weights, so their greedy replies agree.
"""

from __future__ import annotations

from pathlib import Path

from llmsh.models.errors import ModelError

F16_SUFFIX = ".F16.gguf"


def f16_name(filename: str) -> str:
    """`SmolLM2-135M-Instruct.Q4_1.gguf` -> `SmolLM2-135M-Instruct.F16.gguf`."""
    stem = filename[: -len(".gguf")] if filename.endswith(".gguf") else filename
    base, dot, quant = stem.rpartition(".")
    if dot and quant.upper().startswith(("Q", "F", "BF", "IQ")) and len(quant) <= 6:
        stem = base
    return stem + F16_SUFFIX


def write_f16(src: Path, dst: Path) -> None:
    """Copy the GGUF `src` to `dst` with every quantized matrix stored as F16."""
    import numpy as np
    from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter, Keys
    from gguf.quants import dequantize

    try:
        reader = GGUFReader(src)
        arch = reader.fields[Keys.General.ARCHITECTURE].contents()
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"cannot read {src.name} as GGUF: {exc}") from None
    writer = GGUFWriter(dst, arch)
    for field in reader.fields.values():
        if field.name == Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue  # written by GGUFWriter itself
        kind = field.types[0]
        sub = field.types[-1] if kind == GGUFValueType.ARRAY else None
        value = field.contents()
        if field.name == Keys.General.FILE_TYPE:
            value = 1  # LLAMA_FTYPE_MOSTLY_F16
        writer.add_key_value(field.name, value, kind, sub_type=sub)
    plain = (GGMLQuantizationType.F32, GGMLQuantizationType.F16)
    for tensor in reader.tensors:
        if tensor.tensor_type in plain:
            data = np.asarray(tensor.data)
        else:
            data = dequantize(tensor.data, tensor.tensor_type)
            # Norms and biases stay F32, as llama.cpp's own converter writes them.
            data = data.astype(np.float16 if data.ndim > 1 else np.float32)
        writer.add_tensor(tensor.name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

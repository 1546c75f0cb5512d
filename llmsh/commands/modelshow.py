"""`models show NAME` for people: dates, sizes, the backend, where it is loaded, adapters.

`model_details` gathers the facts (the store's manifest, the backend that would run it,
its adapters, the kernel's resident entries of it); `--json` prints them as they are,
and `show_lines` words them for a terminal, as `ollama show` and `docker inspect`'s
human formats do: no raw dicts, no epoch seconds, no `None`.
"""

from __future__ import annotations

import time
from typing import Any

from llmsh.commands.render import fmt_bytes

KIND_WORDS = {
    "generate": "text generation",
    "embed": "sentence embeddings",
    "adapter": "LoRA adapter",
}


def fmt_params(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n) if n else "-"


def fmt_date(epoch: object) -> str:
    if not isinstance(epoch, (int, float)) or epoch <= 0:
        return "unknown"
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(float(epoch)))


def _architecture(config: object) -> str:
    if not isinstance(config, dict) or not config:
        return ""
    parts = [str(config.get("model_type", "?"))]
    if "hidden_size" in config:
        parts.append(f"hidden size {config['hidden_size']}")
    if "num_hidden_layers" in config:
        parts.append(f"{config['num_hidden_layers']} layers")
    if "vocab_size" in config:
        parts.append(f"vocabulary {int(config['vocab_size']):,}")
    return ", ".join(parts)


def _loaded(row: dict[str, Any]) -> str:
    """One resident entry: device, memory, backend, pinned or idle, jobs using it."""
    mem = row.get("mem", row.get("nbytes"))
    parts = [str(row.get("device") or "cpu"), fmt_bytes(mem) if mem is not None else "? B"]
    if row.get("backend"):
        parts.append(str(row["backend"]))
    if row.get("loading"):
        parts.append("loading")
    elif row.get("pinned"):
        parts.append("pinned (load)")
    else:
        idle = row.get("idle_seconds", row.get("idle_s"))
        if isinstance(idle, (int, float)):
            parts.append(f"idle {idle:.0f} s")
    refs = row.get("refs", row.get("jobs"))
    if isinstance(refs, int):
        parts.append(f"{refs} job{'s' if refs != 1 else ''} using it")
    return ", ".join(parts)


def show_lines(details: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs in the order people read them."""
    kind = str(details.get("kind", ""))
    rows: list[tuple[str, str]] = [("name", str(details.get("name", "")))]
    if details.get("description"):
        rows.append(("about", str(details["description"])))
    rows.append(("kind", f"{kind} ({KIND_WORDS[kind]})" if kind in KIND_WORDS else kind))
    if details.get("base"):
        rows.append(("base", str(details["base"])))
    fmt = str(details.get("format", ""))
    if details.get("converted_from"):
        fmt += f" (converted from {details['converted_from']})"
    rows.append(("format", fmt))
    if details.get("parameters"):
        rows.append(("parameters", fmt_params(int(details["parameters"]))))
    if details.get("size_bytes") is not None:
        rows.append(("size", f"{fmt_bytes(details['size_bytes'])} on disk"))
    if arch := _architecture(details.get("config")):
        rows.append(("architecture", arch))
    if details.get("backend"):
        rows.append(("backend", str(details["backend"])))
    resident = details.get("loaded") or []
    if not resident:
        rows.append(("loaded", "no"))
    for row in resident:
        rows.append(("loaded", _loaded(row)))
    adapters = details.get("adapters") or []
    if kind != "adapter":
        rows.append(("adapters", ", ".join(adapters) if adapters else "none"))
    rows.append(("created", fmt_date(details.get("created"))))
    if details.get("source"):
        rows.append(("source", str(details["source"])))
    if details.get("hf_id"):
        rows.append(("upstream", str(details["hf_id"])))
    timing = (details.get("extra") or {}).get("pull_seconds")
    if isinstance(timing, dict) and timing:
        steps = ", ".join(f"{k} {float(v):.1f} s" for k, v in timing.items())
        rows.append(("pulled in", f"{sum(float(v) for v in timing.values()):.1f} s ({steps})"))
    rows.append(("path", str(details.get("path", ""))))
    if details.get("gguf"):
        rows.append(("gguf", str(details["gguf"])))
    files = details.get("files") or []
    rows.append(("files", ", ".join(files) if files else "none"))
    return rows


def render_show(details: dict[str, Any]) -> str:
    rows = show_lines(details)
    width = max(len(label) for label, _ in rows) + 2
    return "".join(f"{label + ':':<{width}}{value}\n" for label, value in rows)

"""generate and chat jobs: stream a causal LM's reply token by token.

Every job on the same model and device joins one shared decode loop (the
engine, `llmsh.engine`): torch with continuous batching, or llama.cpp for models
pulled as GGUF. args: prompt/messages, model, max_tokens, temperature, top_p,
seed, stop (string or list), backend (auto, torch, llama.cpp), raw.
"""

from __future__ import annotations

from typing import Any

from llmsh.engine.registry import ModelRuntime, open_resolved
from llmsh.engine.session import stop_strings, stream_text
from llmsh.kernel.control import JobControl
from llmsh.models.errors import ModelError
from llmsh.models.manifest import ModelKind
from llmsh.models.pool import ModelPool
from llmsh.models.resolve import resolved
from llmsh.models.runtime import job_device, oom_guard
from llmsh.models.sampling import SamplingParams
from llmsh.models.sampling_defaults import with_defaults

Message = dict[str, str]


def check_messages(messages: Any) -> list[Message]:
    if not isinstance(messages, list) or not messages:
        raise ModelError("chat needs a non-empty list of messages")
    for i, msg in enumerate(messages, 1):
        if not isinstance(msg, dict) or not isinstance(msg.get("content"), str):
            raise ModelError(f"message {i} must be an object with a string 'content'")
        if msg.get("role", "user") not in ("system", "user", "assistant"):
            raise ModelError(f"message {i} has unknown role {msg.get('role')!r}")
    return [{"role": m.get("role", "user"), "content": m["content"]} for m in messages]


def prompt_ids(tokenizer: Any, messages: list[Message], chat: bool = True) -> list[int]:
    """Token ids of the prompt: the chat template for instruct models, else plain text."""
    if chat and getattr(tokenizer, "chat_template", None):
        encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        ids = (
            encoded["input_ids"]
            if isinstance(encoded, dict) or hasattr(encoded, "keys")
            else encoded
        )
        return [int(i) for i in ids]
    text = "\n".join(m["content"] for m in messages)
    return [int(i) for i in tokenizer(text)["input_ids"]]


def reply(
    runtime: ModelRuntime, messages: list[Message], params: SamplingParams, ctl: JobControl,
    chat: bool = True, stop: tuple[str, ...] = (),
) -> str:  # fmt: skip
    """Generate a reply through the model's shared engine, streaming it to the job."""
    if runtime.kind is not ModelKind.GENERATE:
        raise ModelError(
            f"model {runtime.name!r} is an {runtime.kind.value} model; it cannot generate text"
        )
    ids = prompt_ids(runtime.tokenizer, messages, chat)
    return stream_text(runtime, ids, params, ctl, stop)


def _run(kind: str, args: dict[str, Any], ctl: JobControl, pool: ModelPool,
         messages: list[Message], chat: bool) -> int:  # fmt: skip
    res = resolved(kind, args)  # decided at submit: nothing is chosen or estimated again
    params = SamplingParams.from_args(with_defaults(res.model, args))
    stop = stop_strings(args.get("stop"))
    device = job_device(args, ctl)
    backend = res.backend_for(device)
    with (
        oom_guard(device),
        open_resolved(res.model, device, pool, backend, need=res.resident) as runtime,
    ):
        ctl.set_memory(res.extra)  # the weights are the pool's, counted once
        reply(runtime, messages, params, ctl, chat, stop)
    return 0


def run_generate(args: dict[str, Any], ctl: JobControl, pool: ModelPool) -> int:
    """args: prompt, system, model, sampling, stop, backend, raw (no chat template)."""
    prompt = args.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise ModelError("generate needs a prompt")
    messages: list[Message] = []
    if args.get("system"):
        messages.append({"role": "system", "content": str(args["system"])})
    messages.append({"role": "user", "content": prompt})
    return _run("generate", args, ctl, pool, messages, chat=not args.get("raw"))


def run_chat(args: dict[str, Any], ctl: JobControl, pool: ModelPool) -> int:
    """One chat turn. args: messages (the whole history, last one the user's), model, sampling."""
    return _run("chat", args, ctl, pool, check_messages(args.get("messages")), chat=True)

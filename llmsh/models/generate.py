"""generate and chat jobs: stream a causal LM's reply token by token."""

from __future__ import annotations

import time
from typing import Any

from llmsh.kernel.control import JobControl
from llmsh.models.errors import ModelError
from llmsh.models.estimate import estimate_job
from llmsh.models.jobs import default_model
from llmsh.models.loader import LoadedModel
from llmsh.models.manifest import ModelKind
from llmsh.models.pool import ModelPool
from llmsh.models.runtime import job_device, oom_guard
from llmsh.models.sampling import SamplingParams, TextStream, decode_tokens, stop_ids

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


def stream_reply(
    lm: LoadedModel, messages: list[Message], params: SamplingParams, ctl: JobControl,
    chat: bool = True,
) -> str:  # fmt: skip
    """Generate a reply, writing each piece of text as it comes; returns the full reply."""
    if lm.kind is not ModelKind.GENERATE:
        raise ModelError(f"model {lm.name!r} is an {lm.kind.value} model; it cannot generate text")
    ids = prompt_ids(lm.tokenizer, messages, chat)
    room = int(getattr(lm.model.config, "max_position_embeddings", 2048)) - len(ids)
    if room < 1:
        raise ModelError(f"prompt of {len(ids)} tokens does not fit the model's context")
    if params.max_tokens > room:
        params = SamplingParams(room, params.temperature, params.top_p, params.seed)
    stream = TextStream(lm.tokenizer)
    start = time.perf_counter()
    count = 0
    for token in decode_tokens(
        lm.model, ids, params, ctl, stop_ids(lm.model, lm.tokenizer), lm.device
    ):
        count += 1
        delta = stream.push(token)
        if delta:
            ctl.write(delta)
        elapsed = time.perf_counter() - start
        ctl.progress(count, params.max_tokens, "tok", rate=count / elapsed if elapsed else None)
    elapsed = time.perf_counter() - start
    rate = count / elapsed if elapsed else 0.0
    ctl.progress(count, count, "tok", rate=rate, prompt_tokens=len(ids))
    ctl.write("\n")
    return stream.text


def _run(kind: str, args: dict[str, Any], ctl: JobControl, pool: ModelPool,
         messages: list[Message], chat: bool) -> int:  # fmt: skip
    params = SamplingParams.from_args(args)
    name = str(args.get("model") or default_model(kind))
    device = job_device(args, ctl)
    with oom_guard(device), pool.use(name, device) as lm:
        ctl.set_memory(estimate_job(kind, {**args, "model": name}).total)
        stream_reply(lm, messages, params, ctl, chat)
    return 0


def run_generate(args: dict[str, Any], ctl: JobControl, pool: ModelPool) -> int:
    """args: prompt, model, max_tokens, temperature, top_p, seed, raw (no chat template)."""
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

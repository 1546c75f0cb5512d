"""The summarize job: map (summarise each chunk), then reduce (summarise the summaries).

Runs where the kernel runs model jobs (a model worker process or a kernel thread),
against that process's model pool. Each step is a call of the model layer's
`generate` job function with a `StepControl` in front of the job's control: the
step's text is collected instead of streamed, its token progress becomes a
fraction of the whole job, and `check()` still reaches the kernel, so kill and
pause take effect at the next token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmsh.kernel.control import JobControl
from llmsh.models.errors import ModelError
from llmsh.models.jobs import job_function
from llmsh.models.loader import LoadedModel
from llmsh.models.manifest import ModelKind
from llmsh.models.pool import ModelPool
from llmsh.models.runtime import job_device, oom_guard
from llmsh_summarize.chunking import Span, split_text, trim_summary, word_spans

# The text comes first and the instruction after it: small instruct models follow
# the instruction better when it is the last thing they read.
PART = "This is one part of a longer text. Summarize this part in at most {words} words."
WHOLE = "Summarize the text above in at most {words} words."
COMBINE = (
    "These are summaries of consecutive parts of one text. "
    "Combine them into one summary of at most {words} words."
)
MARGIN = 8  # tokens kept free in the context besides prompt and answer
MIN_BUDGET = 32
MAX_LEVELS = 8
DEFAULT_MODEL = "smollm2"


class StepControl:
    """The job's control as one generation step sees it."""

    def __init__(self, ctl: JobControl, report: Any) -> None:
        self.pid, self.device = ctl.pid, ctl.device
        self._ctl, self._report = ctl, report
        self.parts: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def killed(self) -> bool:
        return self._ctl.killed

    @property
    def paused(self) -> bool:
        return self._ctl.paused

    @property
    def priority(self) -> int:
        return self._ctl.priority

    def check(self) -> None:
        self._ctl.check()

    def write(self, text: str) -> None:
        self.parts.append(text)

    def progress(self, done: float, total: float | None = None, unit: str = "",
                 rate: float | None = None, **extra: Any) -> None:  # fmt: skip
        if total:
            self._report(min(done / total, 0.99))

    def set_memory(self, nbytes: int) -> None:
        self._ctl.set_memory(nbytes)


def prompt_length(tokenizer: Any, content: str) -> int:
    """Tokens of ``content`` as the generate job will send it (with the chat template)."""
    if getattr(tokenizer, "chat_template", None):
        ids = tokenizer.apply_chat_template(
            [{"role": "user", "content": content}], add_generation_prompt=True, tokenize=True
        )
        return len(ids["input_ids"] if hasattr(ids, "keys") else ids)
    return len(tokenizer(content)["input_ids"])


def token_spans(tokenizer: Any, text: str) -> tuple[list[Span], float]:
    """Each token's offsets, and how many real tokens one span stands for."""
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return [(int(a), int(b)) for a, b in enc["offset_mapping"]], 1.0
    return word_spans(text), 2.0  # a slow tokenizer has no offsets: count words, twice


class Summarizer:
    def __init__(self, lm: LoadedModel, args: dict[str, Any], ctl: JobControl,
                 pool: ModelPool) -> None:  # fmt: skip
        self.lm, self.ctl, self.pool = lm, ctl, pool
        self.words = int(args.get("max_words") or 100)
        self.temperature = float(args.get("temperature") or 0.0)
        self.seed = args.get("seed")
        context = int(getattr(lm.model.config, "max_position_embeddings", 2048))
        self.max_new = min(int(self.words * 1.6) + 16, context // 4)
        overhead = max(
            prompt_length(lm.tokenizer, f"\n\n{p.format(words=self.words)}")
            for p in (PART, WHOLE, COMBINE)
        )
        self.budget = context - overhead - self.max_new - MARGIN
        if args.get("chunk_tokens"):
            self.budget = min(self.budget, int(args["chunk_tokens"]))
        if self.budget < MIN_BUDGET:
            raise ModelError(
                f"model {lm.name!r} has a context of {context} tokens: too small to summarise "
                f"in {self.words} words; ask for fewer words"
            )
        # A part's summary is at most a quarter of its chunk, so each round of
        # summarising summaries shrinks the text and the reduce ends.
        self.part_new = min(self.max_new, self.budget // 4)
        self.part_words = max(5, min(self.words, int(self.part_new / 1.6)))
        self.done, self.total = 0, 1

    def split(self, text: str) -> list[str]:
        spans, weight = token_spans(self.lm.tokenizer, text)
        return split_text(text, spans, max(1, int(self.budget / weight)))

    def summarize(self, text: str) -> str:
        chunks = self.split(text)
        if not chunks:
            raise ModelError("the file holds no text to summarise")
        self.total = len(chunks) + (1 if len(chunks) > 1 else 0)
        self._report(0.0, chunks=len(chunks))
        if len(chunks) == 1:
            return self.nonempty(self.step(WHOLE, chunks[0]))
        for _level in range(MAX_LEVELS):
            summaries = [self.step(PART, chunk) for chunk in chunks]
            joined = self.nonempty("\n\n".join(s for s in summaries if s))
            chunks = self.split(joined)
            if len(chunks) <= 1:
                return self.nonempty(self.step(COMBINE, joined))
            self.total += len(chunks)  # the summaries themselves need another round
        raise ModelError("the summaries did not get shorter; try a larger --chunk-tokens")

    def nonempty(self, text: str) -> str:
        if not text.strip():
            raise ModelError(f"model {self.lm.name!r} wrote no summary (only blank text)")
        return text

    def step(self, instruction: str, text: str) -> str:
        """One generation: the summary of ``text`` (a part's is shorter)."""
        self.ctl.check()
        part = instruction == PART
        words = self.part_words if part else self.words
        prompt = f"{text}\n\n{instruction.format(words=words)}"
        args = {"prompt": prompt, "model": self.lm.name,
                "max_tokens": self.part_new if part else self.max_new,
                "temperature": self.temperature, "seed": self.seed,
                "device": self.lm.device}  # fmt: skip
        step_ctl = StepControl(self.ctl, self._report)
        job_function("generate")({k: v for k, v in args.items() if v is not None},
                                 step_ctl, self.pool)  # fmt: skip
        self.done += 1
        self._report(0.0)
        return trim_summary(step_ctl.text, words)

    def _report(self, fraction: float, **extra: Any) -> None:
        self.ctl.progress(round(self.done + fraction, 2), self.total, "chunk", **extra)


def read_text(path: str) -> str:
    file = Path(path)
    if not file.is_file():
        raise ModelError(f"no such file: {path}")
    try:
        return file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ModelError(f"cannot read {file.name}: {exc.strerror or exc}") from None


def summarize_file(args: dict[str, Any], ctl: JobControl, pool: ModelPool) -> str:
    """The summary of ``args["path"]`` (not written anywhere)."""
    text = read_text(str(args.get("path")))
    name = str(args.get("model") or DEFAULT_MODEL)
    device = job_device(args, ctl)
    with oom_guard(device), pool.use(name, device) as lm:
        if lm.kind is not ModelKind.GENERATE:
            raise ModelError(f"model {name!r} is an {lm.kind.value} model; it cannot summarise")
        return Summarizer(lm, args, ctl, pool).summarize(text)


def run_summarize(args: dict[str, Any], ctl: JobControl, pool: ModelPool | None = None) -> int:
    """The job function: args path, model, max_words, chunk_tokens, temperature, seed."""
    if pool is None:
        from llmsh.models.kinds import shared_pool

        pool = shared_pool()
    ctl.write(summarize_file(args, ctl, pool) + "\n")
    return 0

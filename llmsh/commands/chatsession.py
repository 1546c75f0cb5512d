"""A `chat` conversation: its history, its settings and the slash commands that change
them, as in `ollama run` (`/?`, `/help`, `/bye`, `/clear`, `/set`, `/save`, `\"\"\"`).

Pure logic, no I/O: `talkcmds.chat` reads lines, runs the model and prints; this
module decides what a typed line means.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from pathlib import Path

HELP = """\
Available commands:
  /set temperature T   sampling temperature for the next replies (0 is greedy)
  /set max-tokens N    longest reply, in tokens
  /set system TEXT     a system prompt (empty: none); the conversation is kept
  /save FILE           write the conversation to FILE (JSON)
  /clear               forget the conversation so far
  /bye                 leave the chat (also /exit, /quit, Ctrl-D)
  /?, /help            this help
Use \"\"\" to begin and end a message of several lines.
Ctrl-C stops the current reply; the conversation continues.
"""

MULTILINE = '"""'


class Action(enum.Enum):
    SEND = "send"  # a message for the model
    SAY = "say"  # a line for the user (help, a setting changed, an error)
    MORE = "more"  # inside a \"\"\" block: read another line
    NOTHING = "nothing"
    EXIT = "exit"


@dataclass(frozen=True)
class Step:
    action: Action
    text: str = ""


@dataclass
class ChatSession:
    model: str
    temperature: float | None = None
    max_tokens: int | None = None
    system: str = ""
    messages: list[dict[str, str]] = field(default_factory=list)
    _block: list[str] | None = None

    @property
    def prompt(self) -> str:
        return "... " if self._block is not None else f"{self.model}> "

    def read(self, line: str) -> Step:
        """What a typed line means."""
        if self._block is not None:
            if line.rstrip().endswith(MULTILINE):
                self._block.append(line.rstrip()[: -len(MULTILINE)])
                text, self._block = "\n".join(self._block).strip("\n"), None
                return Step(Action.SEND, text) if text.strip() else Step(Action.NOTHING)
            self._block.append(line)
            return Step(Action.MORE)
        stripped = line.strip()
        if stripped.startswith(MULTILINE):
            rest = stripped[len(MULTILINE) :]
            if rest.endswith(MULTILINE) and len(rest) >= len(MULTILINE):
                return self.read(rest[: -len(MULTILINE)])  # """one line"""
            self._block = [rest] if rest else []
            return Step(Action.MORE)
        if not stripped:
            return Step(Action.NOTHING)
        if stripped.startswith("/") and not stripped.startswith("//"):
            return self.command(stripped)
        return Step(Action.SEND, line)

    def command(self, line: str) -> Step:
        word, _, rest = line.partition(" ")
        if word in ("/bye", "/exit", "/quit"):
            return Step(Action.EXIT)
        if word in ("/?", "/help"):
            return Step(Action.SAY, HELP)
        if word == "/clear":
            self.messages.clear()
            return Step(Action.SAY, "Cleared the conversation.\n")
        if word == "/set":
            return self.set(rest.strip())
        if word == "/save":
            return self.save(rest.strip())
        return Step(Action.SAY, f"Unknown command '{word}'. Type /? for help.\n")

    def set(self, what: str) -> Step:
        key, _, value = what.partition(" ")
        value = value.strip()
        try:
            if key == "temperature":
                temperature = float(value)
                if not 0 <= temperature <= 5:
                    raise ValueError
                self.temperature = temperature
                return Step(Action.SAY, f"Set temperature to {temperature:g}.\n")
            if key in ("max-tokens", "max_tokens"):
                tokens = int(value)
                if tokens < 1:
                    raise ValueError
                self.max_tokens = tokens
                return Step(Action.SAY, f"Set max tokens to {tokens}.\n")
        except ValueError:
            return Step(Action.SAY, f"Invalid value for {key}: {value!r}.\n")
        if key == "system":
            self.system = value
            return Step(Action.SAY, "Set system prompt.\n" if value else "Cleared system prompt.\n")
        return Step(
            Action.SAY, "Usage: /set temperature T | /set max-tokens N | /set system TEXT\n"
        )

    def save(self, where: str) -> Step:
        if not where:
            return Step(Action.SAY, "Usage: /save FILE\n")
        path = Path(where).expanduser()
        record = {
            "model": self.model,
            "system": self.system,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "messages": self.messages,
        }
        try:
            path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", "utf-8")
        except OSError as exc:
            return Step(Action.SAY, f"Cannot save to {where}: {exc.strerror or exc}.\n")
        return Step(Action.SAY, f"Saved the conversation to {path}.\n")

    def request(self) -> list[dict[str, str]]:
        """The messages the model reads: the system prompt, then the conversation."""
        system = [{"role": "system", "content": self.system}] if self.system else []
        return system + self.messages

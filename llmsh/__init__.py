"""llmsh: a terminal shell for an LLM OS."""

__version__ = "0.1.0"

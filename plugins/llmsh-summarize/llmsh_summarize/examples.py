"""Natural-language phrasings of `summarize` for the intent parser.

Slots are the command's destinations (``file``, ``max_words``, ``model``,
``device``, ``priority``); lexicons are prefixed with the plugin's name so they
never replace another's. Templates flagged ``"held_out": True`` are never
trained on: they only score the intent parser (``llmsh nl eval``); the rest
train it.
"""

from __future__ import annotations

TEMPLATES: list[str | dict[str, object]] = [
    "summarize {file:summarize_file}",
    "summarise {file:summarize_file}",
    "give me a summary of {file:summarize_file} in {max_words:summarize_words} words",
    "(sum up|summarize) {file:summarize_file} in (at most|under|no more than) "
    "{max_words:summarize_words} words",
    {"held_out": True, "text": "what's in {file:summarize_file}? give me the gist"},
    "summarize {file:summarize_file} with {model}",
    "write a (short|brief) summary of {file:summarize_file}",
    "condense {file:summarize_file} into {max_words:summarize_words} words",
    "give me the key points of {file:summarize_file}",
    {"held_out": True, "text": "summarize the document {file:summarize_file} on {device}"},
    "can you summarize {file:summarize_file} for me",
    "boil {file:summarize_file} down to {max_words:summarize_words} words",
    "(a|the) summary of {file:summarize_file}",
    "use {model} to summarize {file:summarize_file}",
    {"held_out": True, "text": "tl;dr {file:summarize_file}"},
    "summarize {file:summarize_file} at {priority}",
    "I need a {max_words:summarize_words} word summary of {file:summarize_file}",
    "read {file:summarize_file} and tell me what it says in a few sentences",
    "summarize the file {file:summarize_file} using {model} in {max_words:summarize_words} words",
    {"held_out": True, "text": "make a summary of {file:summarize_file}"},
]

LEXICONS = {
    "summarize_file": [
        "notes.txt", "report.md", "paper.txt", "docs/meeting-notes.md", "~/notes/todo.txt",
        "README.md", "chapter1.txt", "log.txt", "transcript.txt", "data/article.txt",
        "minutes.md", "essay.txt", "~/Documents/contract.txt", "CHANGELOG.md",
    ],
    "summarize_words": [
        ("50", "50"), ("fifty", "50"), ("100", "100"), ("a hundred", "100"), ("200", "200"),
        ("30", "30"), ("thirty", "30"), ("150", "150"), ("twenty", "20"), ("75", "75"),
        ("40", "40"), ("25", "25"),
    ],
}  # fmt: skip

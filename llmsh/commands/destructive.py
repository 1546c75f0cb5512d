"""Does a command line end jobs or remove something?

The one reading of "destructive" for whole lines, from the registry's own flags
(`exit`, `kill`, `models rm`, `unload`...) plus every `!` system command. The
shell asks before running such a line when a model proposed it; `nl` refuses it
without a terminal to ask on. A line that does not parse counts as destructive:
what it would do cannot be told.
"""

from __future__ import annotations

from llmsh.commands.parsing import resolve_subcommand
from llmsh.commands.registry import Registry
from llmsh.commands.spec import UsageError


def ends_or_removes(registry: Registry, line: str) -> bool:
    from llmsh.syntax.parser import ParseError, parse

    try:
        script = parse(line)
    except ParseError:
        return True
    for statement in script.statements:
        for pipeline in statement.body.pipelines:
            for simple in pipeline.commands:
                if simple.system:
                    return True
                argv = [w.static_text() or "" for w in simple.words]
                found = registry.get(argv[0]) if argv else None
                if found is not None and found.subcommands:
                    try:
                        found, _ = resolve_subcommand(found, argv)
                    except UsageError:
                        pass  # `models frobnicate`: the parent's own flag decides
                if found is not None and found.destructive:
                    return True
    return False

"""The llmsh command language itself: lexer, parser, syntax tree, unparser, flow signals.

Apart from the shell runtime (`llmsh.shell`) so that the commands and the intent parser,
which both read and print commands, depend on the language and not on the REPL.
"""

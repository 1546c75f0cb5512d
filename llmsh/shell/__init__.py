"""The llmsh command language: lexer, parser, expansion and unparser."""

"""An OpenAI-compatible HTTP API on the kernel daemon: every request is a kernel job.

`llmsh kernel serve --http HOST:PORT` (or ``[http] listen`` in config.toml) starts it.
Only `settings` may be imported without the optional ``http`` extra (starlette and
uvicorn): the rest is imported when the daemon actually serves HTTP.
"""

"""Where llmsh keeps its state, data and runtime files.

`$LLMSH_HOME` puts everything under one directory (tests and CI use this);
otherwise the XDG base directories are followed, like other well-behaved tools.
"""

from __future__ import annotations

import os
from pathlib import Path


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / fallback


def home() -> Path | None:
    value = os.environ.get("LLMSH_HOME")
    return Path(value).expanduser() if value else None


def state_dir() -> Path:
    """Job store, history, logs of jobs."""
    root = home()
    return root if root else _xdg("XDG_STATE_HOME", ".local/state") / "llmsh"


def data_dir() -> Path:
    """Model store and plugins."""
    root = home()
    return root if root else _xdg("XDG_DATA_HOME", ".local/share") / "llmsh"


def config_file() -> Path:
    root = home()
    base = root if root else _xdg("XDG_CONFIG_HOME", ".config") / "llmsh"
    return base / "config.toml"


def runtime_dir() -> Path:
    """Sockets of the kernel daemon."""
    root = home()
    if root:
        return root
    run = os.environ.get("XDG_RUNTIME_DIR")
    return Path(run) / "llmsh" if run else state_dir()


def model_store() -> Path:
    return data_dir() / "models"


def plugins_dir() -> Path:
    return data_dir() / "plugins"


def ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_section(*keys: str) -> dict[str, object]:
    """A table of the config file, e.g. `config_section("models", "smollm2")` for
    ``[models.smollm2]``; empty when the file, the table or tomllib (3.10) is missing.
    A file that does not parse is reported by the caller that reads it first (plugins)."""
    file = config_file()
    try:
        import tomllib

        table: object = tomllib.loads(file.read_text(encoding="utf-8"))
    except (ImportError, OSError, ValueError):
        return {}
    for key in keys:
        table = table.get(key, {}) if isinstance(table, dict) else {}
    return table if isinstance(table, dict) else {}

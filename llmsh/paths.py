"""Where llmsh keeps its state, data and runtime files, and who may read them.

`$LLMSH_HOME` puts everything under one directory (tests and CI use this);
otherwise the XDG base directories are followed, like other well-behaved tools.

Job output, typed history and models are private: `private_dir` and `private_file`
create directories 0700 and files 0600 whatever the umask, and tighten ones found
looser with a one-line notice on stderr (once: a tightened path is not loose again).
Only what llmsh made is tightened: not the parents of its folders, not a folder the
user named with `$LLMSH_HOME`, not a `--log-file` elsewhere.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
_OTHERS = 0o077  # group and other permission bits


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


def _tighten(path: Path, mode: int) -> None:
    """Take group and other permissions off `path`, saying so on stderr."""
    if not mode & _OTHERS:
        return
    old, new = stat.S_IMODE(mode), stat.S_IMODE(mode) & ~_OTHERS
    try:
        os.chmod(path, new)
    except OSError as exc:  # not ours to change: say so rather than fail
        sys.stderr.write(f"llmsh: {path} is readable by other users ({old:04o}): {exc.strerror}\n")
        return
    sys.stderr.write(
        f"llmsh: {path} was open to other users (mode {old:04o}): tightened to {new:04o}\n"
    )


def private_dir(path: Path) -> Path:
    """`path` as a directory only its owner can enter: made 0700 (parents as the
    umask says: they may be shared, like ~/.local), tightened when found looser,
    except the folder `$LLMSH_HOME` names: the user chose it, its mode is theirs."""
    path = Path(path)
    try:
        path.mkdir(mode=DIR_MODE)
        os.chmod(path, DIR_MODE)  # mkdir's mode is filtered by the umask
        return path
    except FileExistsError:
        pass
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return private_dir(path)
    chosen = home()
    if chosen is None or os.path.abspath(chosen) != os.path.abspath(path):
        _tighten(path, os.stat(path).st_mode)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty with mode 0600 if missing (so SQLite, which gives its -wal
    and -shm files the database's mode, and appenders inherit it); tighten it if looser."""
    path = Path(path)
    flags = os.O_RDONLY | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC  # never blocks on a FIFO
    os.close(private_opener(str(path), flags))
    return path


def private_opener(path: str, flags: int) -> int:
    """An `open(..., opener=private_opener)` that creates the file 0600."""
    fd = os.open(path, flags | os.O_CLOEXEC, FILE_MODE)
    mode = os.fstat(fd).st_mode
    if stat.S_ISREG(mode):
        _tighten(Path(path), mode)
    return fd


def private_tree(root: Path) -> None:
    """Tighten every directory and regular file under `root` (a model copied into the
    store keeps its source's modes), without following symlinks."""
    root = Path(root)
    private_dir(root)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            sub = Path(folder) / name
            mode = os.lstat(sub).st_mode
            if stat.S_ISDIR(mode) and mode & _OTHERS:
                os.chmod(sub, stat.S_IMODE(mode) & ~_OTHERS)
        for name in files:
            file = Path(folder) / name
            mode = os.lstat(file).st_mode
            if stat.S_ISREG(mode) and mode & _OTHERS:
                os.chmod(file, stat.S_IMODE(mode) & ~_OTHERS)


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

"""Command history in SQLite, shared by every session on the machine.

WAL mode and a busy timeout let concurrent shells append without "database is
locked" errors; a few retries cover the rare lock that outlasts the timeout.
The REPL wraps this store in a prompt_toolkit `History` (see `repl`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from llmsh import paths

T = TypeVar("T")
SCHEMA = """CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    session TEXT NOT NULL DEFAULT '',
    cwd TEXT NOT NULL DEFAULT '',
    command TEXT NOT NULL
)"""


class HistoryStore:
    def __init__(self, path: Path, session: str = "") -> None:
        self.path = Path(path)
        self.session = session
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            paths.private_file(paths.private_dir(self.path.parent) / self.path.name)
            conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None,
                                   check_same_thread=False)  # fmt: skip
            conn.execute("PRAGMA busy_timeout=10000")
            _retry(lambda: conn.execute("PRAGMA journal_mode=WAL"))
            _retry(lambda: conn.execute(SCHEMA))
            self._conn = conn
        return self._conn

    def add(self, command: str) -> None:
        if not command.strip():
            return
        with self._lock:
            db = self._db()
            _retry(lambda: db.execute(
                "INSERT INTO history (time, session, cwd, command) VALUES (?, ?, ?, ?)",
                (time.time(), self.session, os.getcwd(), command)))  # fmt: skip

    def recent(self, limit: int = 10000) -> list[str]:
        """Distinct commands, newest first (what the REPL loads for ↑, Ctrl-R, suggestions)."""
        with self._lock:
            rows = _retry(lambda: self._db().execute(
                "SELECT command FROM history GROUP BY command ORDER BY MAX(id) DESC LIMIT ?",
                (limit,)).fetchall())  # fmt: skip
        return [row[0] for row in rows]

    def entries(self, limit: int = 1000) -> list[tuple[int, str]]:
        """The last ``limit`` entries, oldest first, with their numbers (the `history` built-in)."""
        with self._lock:
            rows = _retry(
                lambda: (
                    self._db()
                    .execute("SELECT id, command FROM history ORDER BY id DESC LIMIT ?", (limit,))
                    .fetchall()
                )
            )
        return [(int(row[0]), str(row[1])) for row in reversed(rows)]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _retry(fn: Callable[[], T], attempts: int = 20) -> T:
    for attempt in range(attempts):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")

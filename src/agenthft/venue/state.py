"""Venue persistence by command log: every state-changing command is appended to SQLite before
the venue answers it, and replayed into a fresh engine on start. The matching engine is
deterministic (same inputs, same events, byte for byte), so replay restores accounts, keys,
books, positions, fills and order history exactly.

Durability: WAL with synchronous=OFF, committed per command: the row is in the OS page cache
before the client hears back, so a killed venue process loses nothing; a power loss may lose
the tail (use a journaling filesystem and synchronous=FULL for that, at ~10x the cost).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import msgspec

SCHEMA = "CREATE TABLE IF NOT EXISTS commands (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, args BLOB)"


class CommandLog:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute(SCHEMA)
        self._enc = msgspec.json.Encoder()
        self.count = 0

    def append(self, kind: str, *args: Any) -> None:
        self.db.execute("INSERT INTO commands (kind, args) VALUES (?, ?)", (kind, self._enc.encode(args)))
        self.count += 1

    def commands(self) -> list[tuple[str, list[Any]]]:
        rows = self.db.execute("SELECT kind, args FROM commands ORDER BY seq").fetchall()
        return [(kind, msgspec.json.decode(args)) for kind, args in rows]

    def close(self) -> None:
        self.db.close()

"""Venue persistence by command log: every state-changing command is appended to SQLite before
the venue answers it, and replayed into a fresh engine on start. The matching engine is
deterministic (same inputs, same events, byte for byte), so replay restores accounts, keys,
books, positions, fills and order history exactly.

Only commands that passed the edge (the number grammar, grid, ids, scopes, rate limits) reach
the engine and so the log; a record that cannot be applied on restart (a log from an older,
buggier venue) is reported by `Venue.replay_skipped` and skipped, never a venue that can't start.

Durability, by `[venue] state_sync` (WAL, one commit per command, before the client hears back):
- "off" (default): the row is in the OS page cache: a killed venue process loses nothing; a power
  loss or kernel crash may lose the last commands (the clients heard of them: they reconcile).
- "normal": the WAL is synced at checkpoints: a power loss may still lose the last commands.
- "full": every commit is synced to the disk before the answer: nothing acknowledged is lost on
  power loss, at the cost of an fsync per command (~10x slower here).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import msgspec

SYNC_MODES = ("off", "normal", "full")
SCHEMA = "CREATE TABLE IF NOT EXISTS commands (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, args BLOB)"


class CommandLog:
    def __init__(self, path: str | Path, sync: str = "off") -> None:
        if sync not in SYNC_MODES:
            raise ValueError(f"state_sync must be one of {SYNC_MODES}, got {sync!r}")
        self.path = str(path)
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={sync.upper()}")
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

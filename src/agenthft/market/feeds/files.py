"""Opening a capture by its content: gzip, zstd (Databento's `.dbn.zst`, zstd-compressed
captures) or plain, whatever its name says. Every reader opens files through `open_bytes`."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def compression(path: str | Path) -> str:
    """ "gzip", "zstd" or "" (none), from the file's first bytes."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:2] == GZIP_MAGIC:
        return "gzip"
    if magic == ZSTD_MAGIC:
        return "zstd"
    return ""


def open_bytes(path: str | Path) -> IO[bytes]:
    """The file's decompressed bytes as a binary stream (iterate it for lines)."""
    kind = compression(path)
    if kind == "gzip":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if kind == "zstd":
        import zstandard

        raw = open(path, "rb")  # noqa: SIM115 (closed with the reader: closefd)
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, closefd=True))
    return open(path, "rb")


def read_all(path: str | Path) -> bytes:
    with open_bytes(path) as f:
        return f.read()


def numbered_lines(path: str | Path) -> Iterator[tuple[int, bytes]]:
    """(line number from 1, line without its newline) of the decompressed file."""
    with open_bytes(path) as f:
        for n, line in enumerate(f, 1):
            yield n, line.rstrip(b"\r\n")


def head_lines(path: str | Path, n: int = 8) -> list[bytes]:
    """The first `n` decompressed lines (fewer if the file is shorter)."""
    out: list[bytes] = []
    with open_bytes(path) as f:
        for line in f:
            out.append(line)
            if len(out) >= n:
                break
    return out


def tail_bytes(path: str | Path, size: int = 65536) -> bytes:
    """The last `size` bytes of an uncompressed file (its last lines, without reading it all)."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        end = f.tell()
        f.seek(max(0, end - size))
        return f.read()

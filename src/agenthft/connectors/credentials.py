"""API credentials for real venues: from the environment or from a file only its owner can read,
never from the command line (`ps` shows every process's argv to every user of the machine).

A key file is TOML, e.g. for Binance:

    api_key = "..."
    api_secret = "..."          # HMAC-SHA256 keys
    # private_key_file = "binance-ed25519.pem"   # Ed25519 keys instead of api_secret

It is refused when its group or others may read it (`chmod 600 FILE`). Secrets are held in a
`Secret`, whose repr never shows the value, so they cannot leak into a log line, an error, the
journal or a report by accident (`agenthft.redact` masks what reaches a log by other ways).
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path


class CredentialError(ValueError):
    """Missing, unreadable or too widely readable credentials (the message says which and how)."""


class Secret:
    """A secret string that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def owner_only(path: Path) -> None:
    """Refuse a key file that anyone but its owner may read."""
    try:
        mode = path.stat().st_mode
    except OSError as e:
        raise CredentialError(f"key file {path}: {e.strerror or e}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CredentialError(
            f"key file {path} is readable by others (mode {stat.filemode(mode)}): run `chmod 600 {path}`"
        )


def read_key_file(path: str | Path) -> dict[str, str]:
    """The TOML key file's string fields, after checking that only its owner can read it."""
    p = Path(path)
    owner_only(p)
    try:
        doc = tomllib.loads(p.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise CredentialError(f"key file {p}: {e}") from None
    return {k: str(v) for k, v in doc.items() if isinstance(v, str)}


def from_env_or_file(names: dict[str, str], key_file: str | Path | None) -> dict[str, Secret]:
    """Credentials by field: `names` maps each field to its environment variable; a key file,
    when given, wins over the environment. Only the fields found are returned."""
    out: dict[str, Secret] = {}
    for field, env in names.items():
        v = os.environ.get(env)
        if v:
            out[field] = Secret(v)
    if key_file is not None:
        for field, v in read_key_file(key_file).items():
            if field in names and v:
                out[field] = Secret(v)
    return out

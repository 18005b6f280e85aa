"""Secrets never reach a log line or an error body: API keys and bearer tokens are masked
wherever text is formatted (log records, their exceptions, error messages echoed to clients)."""

from __future__ import annotations

import logging
import re

# ahk_<key id>_<secret>: the id stays (it identifies the key, it is not a secret)
_KEY = re.compile(r"(ahk_[0-9A-Za-z]+_)[A-Za-z0-9_\-]+")
_BEARER = re.compile(r"(?i)(bearer\s+)(?!ahk_)[^\s'\",]+")
_FIELD = re.compile(r"(?i)((?:api_key|authorization|x-api-key)[\"']?\s*[:=]\s*[\"']?)[^\s'\",}]+")
# Binance: the secret by any of its names (env line, config field, JSON key)
_SECRET_FIELD = re.compile(
    r"(?i)((?:api_secret|apisecret|secret_key|secretkey|secret)[\"']?\s*[:=]\s*[\"']?)[^\s'\",}&]+"
)
#: secrets the process holds (Binance HMAC secrets: random text no pattern can tell apart)
_LITERALS: set[str] = set()

#: Loggers whose records are redacted: a logger's filter sees only the records logged on it (not
#: its children's), so each one that logs is named: the venue's, the agent's, and the libraries'.
LOGGERS = (
    "agenthft.venue",
    "agenthft.venue.ws",
    "agenthft.venue.binance",
    "agenthft.connectors",
    "agenthft.runtime",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.access",
    "aiohttp.internal",
    "aiohttp.client",
    "picows",
    "picows.client",
    "aiofastnet",
)


def add_secret(secret: str) -> None:
    """Mask this exact text wherever it appears from now on (a secret with no telltale shape)."""
    if len(secret) >= 8:
        _LITERALS.add(secret)


def redact(text: str) -> str:
    """`text` with key secrets, registered secrets and bearer tokens replaced by ***."""
    for secret in _LITERALS:
        if secret in text:
            text = text.replace(secret, "***")
    if "ahk_" in text:
        text = _KEY.sub(r"\1***", text)
    lowered = text.lower()
    if "bearer" in lowered:
        text = _BEARER.sub(r"\1***", text)
    if "api_key" in lowered or "authorization" in lowered:
        text = _FIELD.sub(r"\1***", text)
    if "secret" in lowered:
        text = _SECRET_FIELD.sub(r"\1***", text)
    return text


class RedactingFilter(logging.Filter):
    """Formats the record's message and exception once, redacted, before any handler sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep what can be kept
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


_FILTER = RedactingFilter()


def install(names: tuple[str, ...] = LOGGERS) -> None:
    """Attach the filter to each logger in `names` (idempotent)."""
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)

"""A backtest's results as one digest: every events, equity and risk row and the summary,
canonically encoded (what `Results.write` puts in its files), so two runs compare as a hash."""

from __future__ import annotations

import hashlib

import msgspec

from agenthft.backtest.results import Results


def digest(res: Results) -> str:
    body = msgspec.json.encode(
        {"summary": res.summary, "events": res.events, "equity": res.equity, "risk": res.risk}, order="deterministic"
    )
    return hashlib.sha256(body).hexdigest()

"""The unit of a capture's local timestamps, read from the data, per file.

Recorders stamp lines with the local receive time in whatever unit they chose: hftbacktest's
collector in ns (its older raw format in µs), cryptofeed in float seconds, Tardis in µs. Read in
the wrong unit, a 6-minute capture lasts 0.4 s (µs read as ns) or 11 years. The unit is decided
per file:

- by magnitude: a time since the Unix epoch between 2000 and 2100 is 9.5e8..4.1e9 in s, x1e3 in
  ms, x1e6 in µs, x1e9 in ns; the four windows do not overlap, so a value in one of them names
  its unit;
- by the exchange's own times where the messages carry them (Binance `E`/`T`, Hyperliquid's
  `time`, in ms): the unit in which local and exchange times agree within a day.

When both are available they must agree. A file no window and no exchange time decides (a
monotonic clock, times since midnight, a mix) is an error naming the file and `--ts-unit`; the
flag, when given, is used as it is (and the note says what the data suggested).
"""

from __future__ import annotations

from statistics import median

from agenthft.market.events import CaptureFormatError

#: ns per unit
SCALE = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
UNITS = tuple(SCALE)
SHOWN = {"s": "s", "ms": "ms", "us": "µs", "ns": "ns"}
_FIRST_S, _LAST_S = 946_684_800, 4_102_444_800  # 2000-01-01, 2100-01-01 UTC
_DAY_NS = 86_400 * 10**9


def by_magnitude(value: float) -> str | None:
    """The unit in which `value` is a time since the epoch between 2000 and 2100, if any."""
    for unit, scale in SCALE.items():
        if _FIRST_S <= value * scale / 1e9 < _LAST_S:
            return unit
    return None


def to_ns(text: bytes | str, scale: int) -> int:
    """Decimal text (`1723161255`, `1652459224.5300605`) in a unit of `scale` ns, as ns (exact
    to the ns; finer digits are dropped)."""
    if isinstance(text, str):
        text = text.encode()
    whole, _, frac = text.strip().partition(b".")
    ns = int(whole) * scale
    if frac and scale > 1:
        digits = len(str(scale)) - 1
        f = int((frac + b"0" * digits)[:digits])
        ns += -f if whole.startswith(b"-") else f
    return ns


def check_unit(unit: str | None, flag: str = "--ts-unit") -> str | None:
    if unit is not None and unit not in SCALE:
        raise CaptureFormatError(f"{flag} {unit!r}: one of {', '.join(UNITS)}")
    return unit


class UnitFinder:
    """Samples of one file's local times (as recorded) and, where the messages carry it, the
    exchange's time of the same message (ns); `decide` names the unit and says why."""

    __slots__ = ("exch", "first", "last", "n", "pairs")

    def __init__(self) -> None:
        self.first: float | None = None
        self.last: float | None = None
        self.n = 0
        self.pairs: list[tuple[float, int]] = []  # (local as recorded, exchange ns)

    def add(self, local: float, exch_ns: int | None = None) -> None:
        if self.first is None:
            self.first = local
        self.last = local
        self.n += 1
        if exch_ns and len(self.pairs) < 256:
            self.pairs.append((local, exch_ns))

    @property
    def enough(self) -> bool:
        return len(self.pairs) >= 64

    def decide(self, where: str, given: str | None, what: str = "local timestamps") -> tuple[str, str]:
        """(unit, note) or a CaptureFormatError naming `where` and --ts-unit."""
        check_unit(given)
        if self.first is None or self.last is None:
            if given is not None:
                return given, f"{where}: {what} in {SHOWN[given]} (given by --ts-unit)"
            raise CaptureFormatError(f"{where}: no {what} to read a unit from")
        mags = {by_magnitude(self.first), by_magnitude(self.last)}
        mag = mags.pop() if len(mags) == 1 else None
        agree: list[tuple[str, float]] = []
        for unit, scale in SCALE.items():
            if self.pairs:
                off = median(local * scale - exch for local, exch in self.pairs)
                if abs(off) < _DAY_NS:
                    agree.append((unit, off))
        if given is not None:
            top = max(abs(self.first), abs(self.last)) * SCALE[given]
            if top >= 2**63:
                raise CaptureFormatError(
                    f"{where}: with --ts-unit {given}, the {what} (up to {max(self.first, self.last):.0f}) would "
                    "overflow a 64-bit ns time: not that unit"
                )
            said = mag or (agree[0][0] if len(agree) == 1 else None)
            hint = f"; the data suggests {SHOWN[said]}" if said is not None and said != given else ""
            return given, f"{where}: {what} in {SHOWN[given]} (given by --ts-unit{hint})"
        first, last = _shown(self.first), _shown(self.last)
        if len(agree) == 1:
            unit, off = agree[0]
            if mag is not None and mag != unit:
                raise CaptureFormatError(
                    f"{where}: {what} (first {first}) look like {SHOWN[mag]} by magnitude but agree with the "
                    f"exchange's own times only in {SHOWN[unit]}: ambiguous; pass --ts-unit {{{','.join(UNITS)}}}"
                )
            return unit, (
                f"{where}: {what} in {SHOWN[unit]} since the epoch (by magnitude and by the exchange's times "
                f"in the messages: local - exchange median {off / 1e9:+.3f} s over {len(self.pairs)} messages)"
            )
        if self.pairs and mag is not None:
            off = median(local * SCALE[mag] - exch for local, exch in self.pairs)
            raise CaptureFormatError(
                f"{where}: {what} (first {first}) look like {SHOWN[mag]} by magnitude but are {off / 1e9:+,.0f} s "
                f"from the exchange's own times: ambiguous; pass --ts-unit {{{','.join(UNITS)}}}"
            )
        if mag is not None:
            return mag, f"{where}: {what} in {SHOWN[mag]} since the epoch (by magnitude; no exchange times to compare)"
        raise CaptureFormatError(
            f"{where}: cannot tell the unit of the {what} (first {first}, last {last}): not a time since "
            f"the epoch in s, ms, µs or ns, and no exchange times agree with any; pass --ts-unit {{{','.join(UNITS)}}}"
        )


def _shown(v: float) -> str:
    return f"{v:.0f}" if v == int(v) else repr(v)

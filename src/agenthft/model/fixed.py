"""Exact decimal <-> scaled-integer conversion.

Everything inside agenthft is an integer count of some unit (ticks, lots, 1e-8 USDC ...).
These helpers convert decimal text at the edge without going through binary floats, and
refuse values that do not fit the grid instead of rounding them.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

Number = str | int | float | Decimal

_POW10: list[int] = [10**i for i in range(64)]


def pow10(n: int) -> int:
    """10**n as an int (mypy types a variable power of ten as Any)."""
    return _POW10[n]


class GridError(ValueError):
    """A value is malformed or does not lie on the required grid (tick or lot)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def decimals_of(step: str) -> int:
    """Number of fractional digits needed to write `step` exactly ("0.01" -> 2, "5" -> 0)."""
    d = Decimal(step).normalize()
    exp = d.as_tuple().exponent
    assert isinstance(exp, int)
    return max(0, -exp)


#: The one number grammar at the edge (WebSocket, REST, configs, captures): ASCII digits, an
#: optional sign, point and exponent; nothing else (no whitespace, underscores, non-ASCII digits,
#: NaN or infinities). Bounded before any conversion so that hostile input costs O(length).
MAX_NUMBER_LEN = 64
MAX_EXPONENT = 30
_NUMBER = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?", re.ASCII)
_FLOAT_EXACT = 2**52  # below this, n / 10**d == x proves that x is the decimal n * 10**-d


def to_scaled(value: Number, decimals: int) -> int:
    """`value` as an integer count of 10**-decimals, exactly, or GridError("bad_number").

    Strings must match the edge grammar (`MAX_NUMBER_LEN`, `MAX_EXPONENT`); floats are read
    as the shortest decimal that round-trips (0.1 means "0.1"), with a fast exact path for
    values on the grid; more decimals than `decimals` is refused, never rounded.
    """
    t = type(value)
    if t is float:
        assert isinstance(value, float)
        if not math.isfinite(value):
            raise GridError("bad_number", f"not a finite number: {value!r}")
        scale = _POW10[decimals]
        x = value * scale
        if -_FLOAT_EXACT < x < _FLOAT_EXACT:
            n = round(x)
            if n / scale == value:
                return n
        s = repr(value)
    elif t is str:
        assert isinstance(value, str)
        s = value
    elif t is int:
        assert isinstance(value, int)
        return value * _POW10[decimals]
    elif isinstance(value, Decimal):
        s = str(value)
    else:
        raise GridError("bad_number", f"not a number: {value!r}")
    if len(s) > MAX_NUMBER_LEN:
        raise GridError("bad_number", f"number of {len(s)} characters (at most {MAX_NUMBER_LEN})")
    m = _NUMBER.fullmatch(s)
    if m is None or not (m.group(2) or m.group(3)):
        raise GridError(
            "bad_number", f"not a decimal number: {s!r} (ASCII digits with optional sign, point and exponent)"
        )
    sign, head, frac, exp = m.groups()
    frac = frac or ""
    e = int(exp) if exp else 0
    if not -MAX_EXPONENT <= e <= MAX_EXPONENT:
        raise GridError("bad_number", f"exponent {e} out of range (at most {MAX_EXPONENT} either way): {s!r}")
    digits = (head + frac).lstrip("0") or "0"
    shift = decimals + e - len(frac)  # value * 10**decimals == int(digits) * 10**shift
    if shift >= 0:
        n = int(digits) * _POW10[shift]
    else:
        keep, drop = digits[:shift], digits[shift:]
        if drop.strip("0"):
            raise GridError("bad_number", f"{s} has more than {decimals} decimals")
        n = int(keep or "0")
    return -n if sign == "-" else n


def from_scaled(units: int, decimals: int) -> str:
    """Canonical decimal text of units * 10**-decimals, trailing zeros stripped ("30316", "1.2112")."""
    if decimals == 0:
        return str(units)
    sign = "-" if units < 0 else ""
    s = str(abs(units)).rjust(decimals + 1, "0")
    head, frac = s[:-decimals], s[-decimals:].rstrip("0")
    return f"{sign}{head}.{frac}" if frac else f"{sign}{head}"


def sig_figs(units: int) -> int:
    """Significant figures of an integer count of a power-of-ten step: its digits without the
    trailing zeros."""
    return len(str(abs(units)).rstrip("0")) or 1


def sig_price_ok(ticks: int, decimals: int, figs: int) -> bool:
    """Whether `ticks` ticks of `10^-decimals` is positive and either a whole number or at most
    `figs` significant figures (Hyperliquid's price rule, with figs 5)."""
    return ticks > 0 and (ticks % pow10(decimals) == 0 or sig_figs(ticks) <= figs)


def round_sig(ticks: int, decimals: int, figs: int, direction: str = "nearest") -> int:
    """The price valid under `sig_price_ok` nearest to `ticks` going `direction` ("down", "up"
    or "nearest"; a tie goes up)."""
    if ticks <= 0:
        raise ValueError(f"a price must be positive, got {ticks} ticks")
    if sig_price_ok(ticks, decimals, figs):
        return ticks
    step = pow10(min(len(str(ticks)) - figs, decimals))  # an integer price needs no more than units
    down = ticks - ticks % step
    if direction == "down":
        return down if down > 0 else step
    up = down + step
    if direction == "up":
        return up
    if direction != "nearest":
        raise ValueError(f"direction is down, up or nearest, not {direction!r}")
    return up if ticks - down >= up - ticks else down

"""Exact decimal <-> scaled-integer conversion.

Everything inside agenthft is an integer count of some unit (ticks, lots, 1e-8 USDC ...).
These helpers convert decimal text at the edge without going through binary floats, and
refuse values that do not fit the grid instead of rounding them.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

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


def to_scaled(value: Number, decimals: int) -> int:
    """`value` as an integer count of 10**-decimals, exactly, or GridError("bad_number").

    Fast path for plain decimal strings ("61837.63000000"); anything else goes through
    Decimal. Floats are read via repr (shortest round-trip text), so 0.1 means "0.1".
    """
    if isinstance(value, str):
        s = value
    elif isinstance(value, bool):
        raise GridError("bad_number", f"not a number: {value!r}")
    elif isinstance(value, int):
        return value * _POW10[decimals]
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise GridError("bad_number", f"not a finite number: {value!r}")
        s = repr(value)
    elif isinstance(value, Decimal):
        s = str(value)
    else:
        raise GridError("bad_number", f"not a number: {value!r}")
    dot = s.find(".")
    if dot < 0:
        head, frac = s, ""
    else:
        head, frac = s[:dot], s[dot + 1 :]
    if len(frac) > decimals:
        extra = frac[decimals:]
        if extra.strip("0") == "" and extra.isdigit():
            frac = frac[:decimals]
        else:
            return _slow_scaled(s, decimals)
    digits = head + frac + "0" * (decimals - len(frac))
    if not (digits.isdigit() or (digits[:1] in "+-" and digits[1:].isdigit())) or not head.strip("+-"):
        return _slow_scaled(s, decimals)
    return int(digits)


def _slow_scaled(s: str, decimals: int) -> int:
    try:
        d = Decimal(s.strip())
    except InvalidOperation:
        raise GridError("bad_number", f"not a decimal number: {s!r}") from None
    if not d.is_finite():
        raise GridError("bad_number", f"not a finite number: {s!r}")
    scaled = d.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise GridError("bad_number", f"{s} has more than {decimals} decimals")
    return int(scaled)


def from_scaled(units: int, decimals: int) -> str:
    """Canonical decimal text of units * 10**-decimals, trailing zeros stripped ("30316", "1.2112")."""
    if decimals == 0:
        return str(units)
    sign = "-" if units < 0 else ""
    s = str(abs(units)).rjust(decimals + 1, "0")
    head, frac = s[:-decimals], s[-decimals:].rstrip("0")
    return f"{sign}{head}.{frac}" if frac else f"{sign}{head}"

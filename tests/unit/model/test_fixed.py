from decimal import Decimal

import pytest

from agenthft.model import GridError, from_scaled, to_scaled
from agenthft.model.fixed import decimals_of


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        ("61837.63000000", 2, 6183763),
        ("0", 8, 0),
        ("1", 3, 1000),
        (".5", 1, 5),
        ("-1.25", 2, -125),
        ("+2.5", 1, 25),
        (7, 2, 700),
        (0.1, 1, 1),
        (61837.63, 2, 6183763),
        (Decimal("1.10"), 1, 11),
        ("1e-3", 3, 1),
        ("1E2", 0, 100),
    ],
)
def test_to_scaled_reads_exact_decimals(value, decimals, expected):
    assert to_scaled(value, decimals) == expected


@pytest.mark.parametrize("value", ["1.001", "0.0000001", 0.3333, "1e-9"])
def test_to_scaled_refuses_more_precision_than_the_grid(value):
    with pytest.raises(GridError) as e:
        to_scaled(value, 2)
    assert e.value.code == "bad_number"


@pytest.mark.parametrize("value", ["", "abc", "1.2.3", "nan", "inf", float("nan"), float("inf"), True, None, [1]])
def test_to_scaled_refuses_non_numbers(value):
    with pytest.raises(GridError):
        to_scaled(value, 2)


@pytest.mark.parametrize(
    ("units", "decimals", "text"),
    [
        (6183763, 2, "61837.63"),
        (30316, 0, "30316"),
        (12112, 4, "1.2112"),
        (5, 3, "0.005"),
        (-150, 2, "-1.5"),
        (100, 2, "1"),
    ],
)
def test_from_scaled_writes_canonical_text(units, decimals, text):
    assert from_scaled(units, decimals) == text
    assert to_scaled(text, decimals) == units


def test_decimals_of_steps():
    assert [decimals_of(s) for s in ("0.01", "5", "0.5", "1e-8", "0.00100")] == [2, 0, 1, 8, 3]

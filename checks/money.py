"""Money as the reports print it: exact Decimals, dollars and cents, a sign on differences."""

from __future__ import annotations

from decimal import Decimal


def fmt(value: Decimal | None) -> str:
    return "n/a" if value is None else f"${value:,.2f}"


def signed(value: Decimal | None) -> str:
    if value is None:
        return "n/a"
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return f"{sign}${abs(value):,.2f}"


def exact(value: object) -> Decimal | None:
    """A figure read from the warehouse as an exact Decimal (a float column is read through its text)."""
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))

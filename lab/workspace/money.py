"""Money as the page shows it. Amounts stay Decimal here and travel to the page as strings (exact to the
cent); the page's script parses them only to place points on the chart."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
MILLION = Decimal(1_000_000)
THOUSAND = Decimal(1_000)
MINUS = "\u2212"  # a real minus sign reads better on a projector than a hyphen


def _sign(value: Decimal, signed: bool) -> str:
    if value < 0:
        return MINUS
    return "+" if signed and value > 0 else ""


def exact(value: Decimal | None, signed: bool = False) -> str:
    """$4,206,000.00 (to the cent)."""
    if value is None:
        return "n/a"
    return f"{_sign(value, signed)}${abs(value).quantize(CENT, ROUND_HALF_UP):,.2f}"


def short(value: Decimal | None, signed: bool = False) -> str:
    """The dashboard's short form: $4.21M, +$516k, $86k, $412."""
    if value is None:
        return "n/a"
    size = abs(value)
    if size >= MILLION:
        body = f"${(size / MILLION).quantize(CENT, ROUND_HALF_UP)}M"
    elif size >= THOUSAND:
        body = f"${(size / THOUSAND).quantize(Decimal(1), ROUND_HALF_UP):,}k"
    else:
        body = f"${size.quantize(Decimal(1), ROUND_HALF_UP):,}"
    return _sign(value, signed) + body


def figure(value: Decimal | None, signed: bool = False) -> dict[str, Any]:
    """One amount for the page: exact string, both display forms."""
    return {"value": None if value is None else str(value), "exact": exact(value, signed),
            "short": short(value, signed)}


def to_decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))

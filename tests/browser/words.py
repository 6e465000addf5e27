"""What the page must say, in plain words, for a reason, a change of points and an amount.

A specification written from the reader's side ("4 customer-service calls: +18 points"), not a
copy of the page's script: a test compares the page's text with these.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

MINUS = "\u2212"

NOUNS = {
    "Account Length": ("day as a customer", "days as a customer"),
    "VMail Message": ("voicemail message", "voicemail messages"),
    "Day Mins": ("day minute", "day minutes"),
    "Day Calls": ("day call", "day calls"),
    "Eve Mins": ("evening minute", "evening minutes"),
    "Eve Calls": ("evening call", "evening calls"),
    "Night Mins": ("night minute", "night minutes"),
    "Night Calls": ("night call", "night calls"),
    "Intl Mins": ("international minute", "international minutes"),
    "Intl Calls": ("international call", "international calls"),
    "CustServ Calls": ("customer-service call", "customer-service calls"),
    "Total Mins": ("minute in total", "minutes in total"),
    "Total Calls": ("call in total", "calls in total"),
}
PLANS = {
    "Int'l Plan": {"yes": "International plan", "no": "No international plan"},
    "VMail Plan": {"yes": "Voicemail plan", "no": "No voicemail plan"},
}
LABELS = {"State": "State", "Area Code": "Area code", "Total Charge": "Monthly bill"}


def _fixed(x: float, places: int) -> str:
    """|x| to ``places`` decimals as JavaScript's toFixed and Intl's default rounding do: from the
    float's exact binary value, a half away from zero (Python's format rounds a half to even)."""
    return str(Decimal(abs(x)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def number(x: float) -> str:
    """As the page's fmtNumber: thousands separators, at most 2 decimals, no trailing zeros."""
    text = f"{float(_fixed(x, 2)):,.2f}".rstrip("0").rstrip(".")
    return ("-" if x < 0 else "") + text


def money(x: float) -> str:
    return ("-" if x < 0 else "") + f"${float(_fixed(x, 2)):,.2f}"


def points(p: float, places: int | None = None) -> str:
    """ "+18 points", "−3 points", "+0.4 points": whole points from 0.95 up unless told."""
    if places is None:
        places = 1 if abs(p) < 0.95 else 0
    text = _fixed(p, places)
    sign = "±" if float(text) == 0 else "+" if p > 0 else MINUS
    return f"{sign}{text} {'point' if text == '1' else 'points'}"


def phrase(reason: dict[str, Any]) -> str:
    field, value = reason["field"], reason["value"]
    label = LABELS.get(field) or field
    if value is None or value == "":
        return f"{label}: missing"
    if field in PLANS and value in PLANS[field]:
        return PLANS[field][value]
    if field == "Total Charge":
        return f"Monthly bill of {money(value)}"
    if field in NOUNS and isinstance(value, int | float):
        return f"{number(value)} {NOUNS[field][0 if value == 1 else 1]}"
    return f"{label}: {value}"


def line(reason: dict[str, Any]) -> str:
    return f"{phrase(reason)}: {points(reason['points'])}"


def pct(p: float) -> str:
    return f"{_fixed(100 * p, 1)}%"

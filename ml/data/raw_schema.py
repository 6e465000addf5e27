"""The raw dataset's 21 columns: names, types and the values a real customer can have.

Standard library only (the Lambda imports it). This is the one source of the raw
contract: data validation, the synthetic generator, the feature schema and the API
all read it.
"""

from __future__ import annotations

from collections.abc import Sequence

LABEL = "Churn?"
LABEL_VALUES = {"True.": 1, "False.": 0}

US_STATES = [
    "AK",
    "AL",
    "AR",
    "AZ",
    "CA",
    "CO",
    "CT",
    "DC",
    "DE",
    "FL",
    "GA",
    "HI",
    "IA",
    "ID",
    "IL",
    "IN",
    "KS",
    "KY",
    "LA",
    "MA",
    "MD",
    "ME",
    "MI",
    "MN",
    "MO",
    "MS",
    "MT",
    "NC",
    "ND",
    "NE",
    "NH",
    "NJ",
    "NM",
    "NV",
    "NY",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VA",
    "VT",
    "WA",
    "WI",
    "WV",
    "WY",
]
AREA_CODES = ("408", "415", "510")
YES_NO = ("no", "yes")

# Per-minute rates of the telecom tariff: charge = minutes * rate, rounded to cents.
CHARGE_RATES = {"Day": 0.17, "Eve": 0.085, "Night": 0.045, "Intl": 0.27}

# name -> (kind, spec). kind: "category" (spec = allowed values), "int"/"float"
# (spec = inclusive (min, max)), "text" (free text, dropped before modelling).
# Ranges are what a monthly bill can physically hold, wider than the data seen.
# kind -> what the second member holds: "category" the allowed values, "int"/"float" (min, max), "text" None
FieldSpec = Sequence[str] | tuple[float, float] | None
RAW_FIELDS: dict[str, tuple[str, FieldSpec]] = {
    "State": ("category", US_STATES),
    "Account Length": ("int", (0, 1000)),
    "Area Code": ("category", AREA_CODES),
    "Phone": ("text", None),
    "Int'l Plan": ("category", YES_NO),
    "VMail Plan": ("category", YES_NO),
    "VMail Message": ("int", (0, 500)),
    "Day Mins": ("float", (0.0, 1440.0)),
    "Day Calls": ("int", (0, 1000)),
    "Day Charge": ("float", (0.0, 1000.0)),
    "Eve Mins": ("float", (0.0, 1440.0)),
    "Eve Calls": ("int", (0, 1000)),
    "Eve Charge": ("float", (0.0, 1000.0)),
    "Night Mins": ("float", (0.0, 1440.0)),
    "Night Calls": ("int", (0, 1000)),
    "Night Charge": ("float", (0.0, 1000.0)),
    "Intl Mins": ("float", (0.0, 1440.0)),
    "Intl Calls": ("int", (0, 1000)),
    "Intl Charge": ("float", (0.0, 1000.0)),
    "CustServ Calls": ("int", (0, 100)),
    LABEL: ("category", tuple(LABEL_VALUES)),
}

RAW_COLUMNS = tuple(RAW_FIELDS)


def categories(name: str) -> tuple[str, ...]:
    """The allowed values of a categorical column."""
    kind, spec = RAW_FIELDS[name]
    if kind != "category" or spec is None:
        raise KeyError(f"{name} is not a categorical column")
    return tuple(str(v) for v in spec)


def bounds(name: str) -> tuple[float, float]:
    """The (min, max) a numeric column may hold."""
    kind, spec = RAW_FIELDS[name]
    if kind not in ("int", "float") or not isinstance(spec, tuple):
        raise KeyError(f"{name} is not a numeric column")
    low, high = spec
    if isinstance(low, str) or isinstance(high, str):
        raise KeyError(f"{name} has non-numeric bounds {spec!r}")
    return low, high  # ints stay ints: feature_schema.json records them as written here


FEATURE_FIELDS = tuple(c for c in RAW_COLUMNS if c != LABEL)
# Dropped by the lab's recipe: Phone is an identifier, charges are minutes * rate.
DROPPED = ("Phone", "Day Charge", "Eve Charge", "Night Charge", "Intl Charge")
CATEGORICAL = tuple(c for c in FEATURE_FIELDS if RAW_FIELDS[c][0] == "category")
NUMERIC = tuple(c for c in FEATURE_FIELDS if RAW_FIELDS[c][0] in ("int", "float") and c not in DROPPED)

"""The raw dataset's 21 columns: names, types and the values a real customer can have.

Standard library only (the Lambda imports it). This is the one source of the raw
contract: data validation, the synthetic generator, the feature schema and the API
all read it.
"""

from __future__ import annotations

LABEL = "Churn?"
LABEL_VALUES = {"True.": 1, "False.": 0}

US_STATES = ["AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "HI", "IA", "ID", "IL", "IN", "KS", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT", "NC", "ND", "NE", "NH", "NJ", "NM", "NV", "NY", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VA", "VT", "WA", "WI", "WV", "WY"]
AREA_CODES = ("408", "415", "510")
YES_NO = ("no", "yes")

# Per-minute rates of the telecom tariff: charge = minutes * rate, rounded to cents.
CHARGE_RATES = {"Day": 0.17, "Eve": 0.085, "Night": 0.045, "Intl": 0.27}

# name -> (kind, spec). kind: "category" (spec = allowed values), "int"/"float"
# (spec = inclusive (min, max)), "text" (free text, dropped before modelling).
# Ranges are what a monthly bill can physically hold, wider than the data seen.
RAW_FIELDS: dict[str, tuple[str, object]] = {
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
FEATURE_FIELDS = tuple(c for c in RAW_COLUMNS if c != LABEL)
# Dropped by the lab's recipe: Phone is an identifier, charges are minutes * rate.
DROPPED = ("Phone", "Day Charge", "Eve Charge", "Night Charge", "Intl Charge")
CATEGORICAL = tuple(c for c in FEATURE_FIELDS if RAW_FIELDS[c][0] == "category")
NUMERIC = tuple(c for c in FEATURE_FIELDS if RAW_FIELDS[c][0] in ("int", "float") and c not in DROPPED)

"""Numbers in ``/invocations`` bodies: refused or read exactly as the SageMaker XGBoost container does.

The verdicts below come from running the container's own request parser (tag v3.0-5,
``algorithm_mode/serve_utils.parse_content_data``, with numpy 2.1.0 as it pins, and 2.4)
on each case: "refuse" is its 415 "Loading csv/libsvm data failed", which the model server
answers as a 400 naming row and column. Its CSV reader is Python's ``float`` (through
numpy) and then a ``DMatrix``, which refuses anything infinite once stored as float32.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xgboost as xgb
from hypothesis import given, settings
from hypothesis import strategies as st

from ml.serving.inference import RequestError, Scorer
from ml.serving.model_server import load_booster

FLT_MAX = float(np.finfo(np.float32).max)
MISSING = "missing"
REFUSE = "refuse"

# token -> what the container makes of it as one CSV field: a value, MISSING, or REFUSE.
CSV_FIELDS: dict[str, float | str] = {
    # refused by the container's DMatrix: infinite once stored as float32
    "inf": REFUSE,
    "-inf": REFUSE,
    "+inf": REFUSE,
    "Infinity": REFUSE,
    "INF": REFUSE,
    "1e309": REFUSE,
    "-1e309": REFUSE,
    "1e39": REFUSE,
    "3.4028236e38": REFUSE,
    "-3.5e38": REFUSE,
    # refused by float(): not a number to Python
    "1__0": REFUSE,
    "_1": REFUSE,
    "1_": REFUSE,
    "0x10": REFUSE,
    "0b1": REFUSE,
    "1d5": REFUSE,
    "true": REFUSE,
    "\u2212" + "1": REFUSE,  # unicode minus
    "\u00b2": REFUSE,  # superscript two: a digit to Unicode, not a decimal
    "1\u066b5": REFUSE,  # Arabic decimal separator
    "\ufeff1": REFUSE,
    "nan(1)": REFUSE,  # C's strtod reads it; Python's float does not
    "--1": REFUSE,
    "1e": REFUSE,
    # a blank field is not an empty one: float(" ") fails there
    " ": REFUSE,
    "\t": REFUSE,
    "\u00a0": REFUSE,
    "\u2003\u2003": REFUSE,
    # accepted by the container, with these values
    "": MISSING,
    "nan": MISSING,
    "NaN": MISSING,
    "-nan": MISSING,
    "1_0": 10.0,
    "1_0.5": 10.5,
    "1e1_0": 1e10,
    "\u0663": 3.0,  # Arabic-Indic three
    "\u0663.5": 3.5,
    "\uff13": 3.0,  # fullwidth three
    "\uff11\uff10": 10.0,
    "\u0969": 3.0,  # Devanagari three
    "\U0001d7d1": 3.0,  # mathematical bold three
    "+1": 1.0,
    " 1": 1.0,
    "1 ": 1.0,
    "\t1": 1.0,
    "\u00a01": 1.0,
    "1\u2003": 1.0,
    "1e5": 1e5,
    "1E5": 1e5,
    ".5": 0.5,
    "5.": 5.0,
    "0001": 1.0,
    "-0": -0.0,
    "1e-400": 0.0,
    "1e-46": 0.0,  # below float32's smallest: stored as 0
    "3.4028235e38": FLT_MAX,
}


@pytest.fixture(scope="module")
def scorer(serving_bundle) -> Scorer:
    return Scorer(load_booster(serving_bundle))


def _row(width: int, token: str, at: int) -> str:
    cells = ["1.5"] * width
    cells[at] = token
    return ",".join(cells)


def _bodies(width: int, token: str) -> dict[str, tuple[bytes, int, int]]:
    """Where the token sits -> (body, its 1-based row, its 1-based column), none at the body's ends
    (the container strips the body before reading it, as the model server does)."""
    plain = _row(width, "1.5", 0)
    return {
        "one row": (_row(width, token, 5).encode(), 1, 6),
        "middle of three rows": ("\n".join([plain, _row(width, token, 5), plain]).encode(), 2, 6),
        "last field, CRLF": ((_row(width, token, width - 1) + "\r\n" + plain).encode(), 1, width),
    }


def _parse(scorer: Scorer, body: bytes, content_type: str = "text/csv") -> np.ndarray | RequestError:
    try:
        return scorer.parse(body, content_type)
    except RequestError as err:
        return err


@pytest.mark.parametrize("token", list(CSV_FIELDS), ids=[ascii(t) for t in CSV_FIELDS])
def test_csv_fields_read_as_the_container_reads_them(scorer, token):
    expected = CSV_FIELDS[token]
    for where, (body, row, column) in _bodies(scorer.width, token).items():
        got = _parse(scorer, body)
        if token == "" and where == "last field, CRLF":
            expected = REFUSE  # the container's line is split on LF only: its last field is "\r"
        if expected == REFUSE:
            assert isinstance(got, RequestError), (where, got if isinstance(got, RequestError) else got[row - 1])
            assert got.status == 400 and f"row {row}, column {column}" in got.message, (where, got.message)
            continue
        assert not isinstance(got, RequestError), (where, got.message)
        value = got[row - 1, column - 1].astype(np.float32)  # XGBoost stores float32, as the container's DMatrix
        if isinstance(expected, str):
            assert expected == MISSING and math.isnan(value), (where, value)
        else:
            assert value == np.float32(expected) and math.copysign(1, value) == math.copysign(1, expected), where


@pytest.mark.parametrize(
    "value",
    [
        FLT_MAX,
        3.4028235677973362e38,  # just below half-way to 2**128: rounds down to FLT_MAX
        3.4028235677973366e38,  # half-way: rounds (to even) up to infinity
        float(np.nextafter(3.4028235677973366e38, 0)),
        -3.4028235677973366e38,
        1e300,
        -1e39,
        1e-300,
    ],
    ids=repr,
)
def test_the_float32_limit_is_the_one_xgboost_enforces(scorer, value):
    """XGBoost itself is the judge: a DMatrix of the value fails exactly when the body is refused."""
    reason = ""
    try:
        xgb.DMatrix(np.array([[value, 1.0]]))
    except xgb.core.XGBoostError as err:
        reason = str(err)
    xgboost_refuses = "inf" in reason  # "Input data contains `inf` or a value too large"
    body = "\n".join([_row(scorer.width, "1", 0), _row(scorer.width, repr(value), 3)]).encode()
    got = _parse(scorer, body)
    assert isinstance(got, RequestError) == xgboost_refuses, got
    if isinstance(got, RequestError):
        assert got.status == 400 and "row 2, column 4" in got.message and "float32" in got.message
    lib = _parse(scorer, f"1 3:{value!r}".encode(), "text/libsvm")
    assert isinstance(lib, RequestError) == xgboost_refuses, lib


# (body, what the container reads: {feature index: value} for the first row, or REFUSE)
LIBSVM_BODIES = [
    ("1 0:1.5 2:3", {0: 1.5, 2: 3.0}),
    ("1 0:inf 2:3", REFUSE),
    ("0:-Infinity", REFUSE),
    ("0:1e39", REFUSE),
    ("0:1e309", REFUSE),
    ("0:3.4028235e38", {0: FLT_MAX}),
    ("1 0:nan 2:3", {2: 3.0}),
    ("0:1_0", {0: 10.0}),
    ("0:\u0663 2:\uff13", {0: 3.0, 2: 3.0}),
    ("\u0663:1", {3: 1.0}),  # the index too is read with int()
    ("+1:2", {1: 2.0}),
    ("1\t0:1 2:3", REFUSE),  # items are split on spaces only: "1\t0" is not an index
    ("0:1\t2:3", REFUSE),
    ("0:1\u00a02:3", REFUSE),
    ("\t0:1", {0: 1.0}),  # int() and float() strip a field's own whitespace
    ("0:1\t", {0: 1.0}),
    ("0:1  2:3", {0: 1.0, 2: 3.0}),
    ("0:1 0:2 0:4", {0: 7.0}),  # a repeated index is summed by the container's sparse matrix
    ("0:nan 0:1", {}),  # NaN + 1 is NaN: missing
    ("1:1 1:-1", {1: 0.0}),
    ("0:0x10", REFUSE),
    ("0:\u22121", REFUSE),
    ("0:", REFUSE),
    (":1", REFUSE),
    ("-1:1", REFUSE),
    ("1\n0", REFUSE),  # no index:value item at all
    ("abc 0:1", {0: 1.0}),  # the label is ignored, whatever it is
]


@pytest.mark.parametrize(("body", "expected"), LIBSVM_BODIES, ids=[ascii(b) for b, _ in LIBSVM_BODIES])
def test_libsvm_read_as_the_container_reads_it(scorer, body, expected):
    got = _parse(scorer, body.encode(), "text/libsvm")
    if expected == REFUSE:
        assert isinstance(got, RequestError) and got.status == 400, got
        return
    assert not isinstance(got, RequestError), got.message
    first = got[0].astype(np.float32)
    assert {j: float(v) for j, v in enumerate(first) if not math.isnan(v)} == {
        j: float(np.float32(v)) for j, v in expected.items()
    }


TOKEN_PARTS = st.sampled_from(["1", "0", "5", ".", "e", "E", "+", "-", "_", " ", "\t", "(", ")", "x", "nan", "inf",
                               "infinity", "N", "\u0663", "\u00a0", "9" * 39, "1e38", "1e39"])  # fmt: skip


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(TOKEN_PARTS, max_size=4).map("".join))
def test_many_rows_read_as_one_row_does(scorer, token):
    """A body of several rows (numpy's fast reader) is read as each row alone (Python's float, the
    container's rule): the same refusals, the same values."""
    plain = _row(scorer.width, "2", 0)
    alone = _parse(scorer, _row(scorer.width, token, 7).encode())
    together = _parse(scorer, "\n".join([plain, _row(scorer.width, token, 7), plain]).encode())
    assert isinstance(alone, RequestError) == isinstance(together, RequestError), (alone, together)
    if isinstance(alone, RequestError):
        assert isinstance(together, RequestError) and together.status == alone.status == 400
    else:
        assert not isinstance(together, RequestError)
        np.testing.assert_array_equal(together[1], alone[0])

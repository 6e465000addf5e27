"""A CSV of customers on the page against the real local stack, in headless Chromium: the file to
download carries each customer's reasons in the columns Python defines, and the customers worth
an offer are ranked by expected saving under the user's costs.

Every expectation is computed from the API's answer read off the wire and the schema's costs.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from ml.features.reasons import csv_cells, csv_columns
from ml.model.csv_safety import DANGEROUS

from . import words
from .helpers import is_predict, open_page
from .test_csp import STRICT, directives

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def customers_csv(schema: dict[str, Any]) -> tuple[list[str], list[list[str]], str]:
    """Twelve customers varied from the two examples, with a Phone column; one Phone cell looks like a formula."""
    churner, loyal = schema["examples"]["churner"], schema["examples"]["loyal"]
    records = []
    for i in range(12):
        base = churner if i % 2 else loyal
        records.append(
            dict(
                base,
                **{
                    "CustServ Calls": i % 6,
                    "Day Mins": round(150 + 12.5 * i, 1),
                    "Int'l Plan": "yes" if i % 5 == 0 else "no",
                },
            )
        )
    header = ["Phone", *schema["required"]]
    rows = [
        [("=1+2" if i == 3 else f"555-01{i:02d}"), *(str(r[n]) for n in schema["required"])]
        for i, r in enumerate(records)
    ]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    return header, rows, out.getvalue()


def expected_ranking(predictions: list[dict[str, Any]], offer: float, loss: float) -> list[tuple[int, float]]:
    """(row, expected saving) of the customers worth an offer, largest saving first, at most ten."""
    worth = [(i + 1, p["churn_probability"] * loss - offer) for i, p in enumerate(predictions)]
    worth = [w for w in worth if w[1] > 0]
    return sorted(worth, key=lambda w: (-w[1], w[0]))[:10]


def check_ranking(page: Page, predictions: list[dict[str, Any]], offer: float, loss: float) -> None:
    ranking = expected_ranking(predictions, offer, loss)
    assert ranking, "no customer is worth an offer: the check would read an empty table"
    table = page.locator("#at-risk-table tbody tr")
    expect(table).to_have_count(len(ranking))
    expect(page.locator("#at-risk-table tbody td:nth-child(2)")).to_have_text([str(row) for row, _ in ranking])
    expect(page.locator("#at-risk-table tbody td:nth-child(5)")).to_have_text([words.money(s) for _, s in ranking])
    tops = [predictions[row - 1]["reasons"]["for"] for row, _ in ranking]
    expect(page.locator("#at-risk-table tbody td.reason")).to_have_text([words.line(t[0]) if t else "–" for t in tops])


def test_batch_comes_back_with_reasons_and_a_ranking_by_expected_saving(page: Page, stack):
    response = page.goto(stack.url + "/")
    assert response is not None
    assert directives(response.headers["content-security-policy"]) == STRICT  # the page runs under the strict policy
    schema = open_page(page, stack)
    # The page writes the reason columns Python defines, and guards the cells Python guards.
    assert page.evaluate("Churn.csv.reasonColumns()") == csv_columns()
    assert page.evaluate("Churn.csv.DANGEROUS") == list(DANGEROUS)

    header, rows, text = customers_csv(schema)
    page.get_by_text("Score a CSV of customers").click()
    page.get_by_label("CSV of customers").fill(text)
    with page.expect_response(is_predict) as answer:
        page.get_by_role("button", name="Score customers").click()
    predictions = answer.value.json()["predictions"]
    assert len(predictions) == len(rows) and all("reasons" in p for p in predictions)

    offer, loss = schema["decision"]["costs"]["fp"], schema["decision"]["costs"]["fn"]
    check_ranking(page, predictions, offer, loss)
    worth = [p for p in predictions if p["churn_probability"] * loss > offer]
    expect(page.locator("#at-risk-summary")).to_contain_text(
        f"{len(worth)} of {len(predictions)} customers are worth an offer at your costs"
    )

    # The download: the input's columns, the scores, then exactly the reason columns of ml score --explain.
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile(r"^Download .*scores and reasons")).click()
    written = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    assert written[0] == [*header, "churn_probability", "will_churn", *csv_columns()]
    assert len(written) == len(rows) + 1
    width = len(header)
    for row, line, prediction in zip(rows, written[1:], predictions, strict=True):
        guarded = ["'" + c if c[:1] in DANGEROUS else c for c in row]
        assert line[:width] == guarded
        assert float(line[width]) == prediction["churn_probability"]
        assert line[width + 1] == str(prediction["will_churn"])
        assert [as_value(c) for c in line[width + 2 :]] == [as_value(c) for c in csv_cells(prediction["reasons"])]
    assert written[4][0] == "'=1+2"  # the formula-like Phone cell, guarded
    assert any(line[width + 2] for line in written[1:]), "no customer has a reason: the columns were not checked"

    # Other costs re-rank the same answers: nothing is sent again.
    page.get_by_label("Loss when a customer leaves ($)").fill("2000")
    page.get_by_label("Retention offer ($)").fill("150")
    check_ranking(page, predictions, 150, 2000)


def as_value(cell: Any) -> Any:
    """A CSV cell as a value: numbers compare as numbers ("-3" and -3.0 are the same points)."""
    try:
        return float(cell)
    except (TypeError, ValueError):
        return "" if cell is None else str(cell)

"""What the page tests do again and again: open the page, fill the form, read the result."""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import Page, expect

PROBABILITY = re.compile(r"^\d{1,3}\.\d%$")
DECISION = re.compile(r"^(Likely to churn — make a retention offer|Likely to stay)$")


def open_page(page: Page, stack) -> dict:
    page.goto(stack.url + "/")
    expect(page.locator("#customer-form select, #customer-form input").first).to_be_visible()
    return page.evaluate("window.CHURN_CONFIG.schema")


def is_predict(response) -> bool:
    """A page's POST /predict (for ``page.expect_response``)."""
    return response.url.endswith("/predict") and response.request.method == "POST"


def fill_record(page: Page, schema: dict, record: dict) -> None:
    """Fill the form the way an agent does: by each field's visible label."""
    for name in schema["required"]:
        control = page.locator(f'[name="{name}"]')
        if schema["fields"][name]["kind"] == "category":
            control.select_option(str(record[name]))
        else:
            control.fill(str(record[name]))


def three_row_csv(schema: dict) -> str:
    """A raw-field CSV (with Phone, ignored by the model) of three customers built from the examples."""
    churner, loyal = schema["examples"]["churner"], schema["examples"]["loyal"]
    third = dict(loyal, **{"CustServ Calls": 5, "Account Length": 12})
    header = ["Phone", *schema["required"]]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for phone, record in zip(("555-0101", "555-0102", "555-0103"), (churner, loyal, third), strict=True):
        writer.writerow([phone, *(record[n] for n in schema["required"])])
    return out.getvalue()


def result_probability(page: Page) -> float:
    text = page.locator("#probability").inner_text()
    assert PROBABILITY.match(text), text
    return float(text.rstrip("%")) / 100

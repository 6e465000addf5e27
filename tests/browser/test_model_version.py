"""The page says which model answered, from the API's ``model``: the registry's version and its
approval day (the reader's date format, the day in UTC), or that the model is a local bundle."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import run_stack, watch_csp
from .helpers import is_predict, open_page, three_row_csv

pytestmark = [pytest.mark.browser, pytest.mark.integration]

# Late in the UTC day: east of UTC it is already the 7th, and the page must still say the 6th.
REGISTERED = {"MODEL_VERSION": "3", "MODEL_APPROVED_AT": "2026-12-06T21:04:05Z"}
LOCAL = "Model: local bundle, not from the registry"


def predict_churner(page: Page) -> dict:
    page.get_by_role("button", name="Load example churner").click()
    with page.expect_response(is_predict) as answer:
        page.get_by_role("button", name="Predict churn").click()
    expect(page.locator("#probability")).to_be_visible()
    return answer.value.json()


def score_csv(page: Page, schema: dict) -> dict:
    page.get_by_text("Score a CSV of customers").click()
    page.get_by_label("CSV of customers").fill(three_row_csv(schema))
    with page.expect_response(is_predict) as answer:
        page.get_by_role("button", name="Score customers").click()
    expect(page.locator("#batch-summary")).to_be_visible()
    return answer.value.json()


def font_px(locator) -> float:
    return float(re.sub("px$", "", locator.evaluate("e => getComputedStyle(e).fontSize")))


def test_a_local_bundle_says_it_is_not_from_the_registry(page: Page, stack):
    schema = open_page(page, stack)
    assert predict_churner(page)["model"] == {"version": None, "approved_at": None}
    # Right under the score, inside the result.
    expect(page.locator("#result .probability + #model-line")).to_have_text(LOCAL)
    assert score_csv(page, schema)["model"] == {"version": None, "approved_at": None}
    expect(page.locator("#batch-model-line")).to_have_text(LOCAL)


@pytest.fixture(scope="module")
def registered_stack(bundle_dir, tmp_path_factory):
    """A stack whose handler is told, as Terraform tells the Lambda, that its model is version 3."""
    with run_stack(Path(bundle_dir), tmp_path_factory.mktemp("registered") / "stack.log", env=REGISTERED) as s:
        yield s


@pytest.mark.parametrize(
    ("locale", "timezone", "shown"),
    [
        ("en-GB", "Pacific/Kiritimati", "Model version 3, approved 6 Dec 2026"),  # UTC+14: locally the 7th
        ("en-US", "America/Los_Angeles", "Model version 3, approved Dec 6, 2026"),
        ("de-DE", "Europe/Berlin", "Model version 3, approved 6. Dez. 2026"),
    ],
)
def test_a_registered_model_shows_its_version_and_approval_day(browser, registered_stack, locale, timezone, shown):
    context = browser.new_context(locale=locale, timezone_id=timezone, viewport={"width": 1100, "height": 900})
    context.set_default_timeout(20_000)
    violations = watch_csp(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        schema = open_page(page, registered_stack)
        assert predict_churner(page)["model"] == {"version": "3", "approved_at": REGISTERED["MODEL_APPROVED_AT"]}
        line = page.locator("#result .probability + #model-line")
        expect(line).to_have_text(shown)
        assert score_csv(page, schema)["model"]["version"] == "3"
        expect(page.locator("#batch-model-line")).to_have_text(shown)
        # Small and quiet beside the score, in the page's own stylesheet (no inline style).
        assert line.get_attribute("style") is None
        assert font_px(line) < font_px(page.locator("#probability"))
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not violations, f"Content-Security-Policy violations on the page: {violations}"

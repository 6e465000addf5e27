"""The web page against the real local stack (`python -m ml stack`), in headless Chromium."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import Page, expect

from .conftest import watch_csp
from .helpers import DECISION, fill_record, open_page, result_probability, three_row_csv

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_form_predicts_and_examples_load(page: Page, stack, screenshots):
    schema = open_page(page, stack)
    # Every field the model needs has a labelled control; nothing else is asked.
    for name in schema["required"]:
        control = page.locator(f'[name="{name}"]')
        control_id = control.get_attribute("id")
        expect(page.locator(f'label[for="{control_id}"]')).to_have_count(1)
    assert page.locator("#customer-form [name]").count() == len(schema["required"])

    # An agent types in a customer (the loyal example's values, typed field by field).
    fill_record(page, schema, schema["examples"]["loyal"])
    page.get_by_role("button", name="Predict churn").click()
    expect(page.locator("#decision")).to_have_text(DECISION)
    result_probability(page)
    expect(page.locator("#result .cost")).to_have_count(2)

    # The example churner: the model flags it, and the page shows what an offer saves at the costs.
    page.get_by_role("button", name="Load example churner").click()
    expect(page.locator('[name="CustServ Calls"]')).to_have_value(str(schema["examples"]["churner"]["CustServ Calls"]))
    page.get_by_role("button", name="Predict churn").click()
    expect(page.locator("#decision")).to_have_text("Likely to churn — make a retention offer")
    p = result_probability(page)
    assert p >= schema["decision"]["cutoff"]
    costs = schema["decision"]["costs"]
    formula = page.locator("#decision-yours .cost-formula").first.inner_text()  # "Expected saving … $240.28 = …"
    saving = float(re.sub(r"[^\d.]", "", formula.split("=")[0]))
    assert saving == pytest.approx(abs(p * costs["fn"] - costs["fp"]), abs=0.3)  # p is shown rounded
    # A screen reader hears one sentence per score, not the whole redrawn result.
    status = page.locator("#result-status")
    expect(status).to_have_attribute("role", "status")
    expect(status).to_have_attribute("aria-live", "polite")
    expect(status).to_contain_text(f"Churn probability {100 * p:.1f}%: likely to churn.")
    page.screenshot(path=str(screenshots / "desktop-result.png"), full_page=True)

    # The example loyal customer, loaded with the keyboard and submitted with Enter.
    page.locator("#load-loyal").focus()
    page.keyboard.press("Enter")
    page.locator('[name="Day Mins"]').focus()
    page.keyboard.press("Enter")
    expect(page.locator("#decision")).to_have_text("Likely to stay")
    assert result_probability(page) < schema["decision"]["cutoff"]


def test_inline_validation_blocks_bad_input(page: Page, stack):
    schema = open_page(page, stack)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if r.url.endswith("/predict") else None)
    page.get_by_role("button", name="Predict churn").click()
    expect(page.locator("#form-summary")).to_have_text(f"Fix {len(schema['required'])} fields before predicting.")
    first = page.locator(f'[name="{schema["required"][0]}"]')
    expect(first).to_be_focused()
    expect(first).to_have_attribute("aria-invalid", "true")

    page.get_by_role("button", name="Load example churner").click()
    day = page.locator('[name="Day Mins"]')
    day.fill(str(schema["fields"]["Day Mins"]["max"] + 1))
    calls = page.locator('[name="CustServ Calls"]')
    calls.fill("2.5")
    page.get_by_role("button", name="Predict churn").click()
    expect(page.locator("#form-summary")).to_have_text("Fix 2 fields before predicting.")
    expect(page.locator(f"#{day.get_attribute('id')}-error")).to_contain_text("Must be between")
    expect(page.locator(f"#{calls.get_attribute('id')}-error")).to_have_text("Enter a whole number.")
    assert requests == []


def test_csv_of_customers_sorts(page: Page, stack):
    schema = open_page(page, stack)
    page.get_by_text("Score a CSV of customers").click()
    page.get_by_label("CSV of customers").fill(three_row_csv(schema))
    page.get_by_role("button", name="Score customers").click()
    rows = page.locator("#results-table tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#batch-summary")).to_contain_text("3 customers scored")

    # Sorted by probability, highest first; a click on the header reverses it.
    header = page.locator("#results-table th", has=page.get_by_role("button", name="Churn probability"))
    expect(header).to_have_attribute("aria-sort", "descending")
    probs = [float(t.rstrip("%")) for t in page.locator("#results-table tbody .cell-prob").all_inner_texts()]
    assert probs == sorted(probs, reverse=True)
    assert page.locator("#results-table tbody tr").first.inner_text().count("555-0101") == 1  # the churner
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    probs = [float(t.rstrip("%")) for t in page.locator("#results-table tbody .cell-prob").all_inner_texts()]
    assert probs == sorted(probs)
    page.get_by_role("button", name="Row").click()
    expect(page.locator("#results-table tbody th")).to_have_text(["1", "2", "3"])


def test_raw_vector_mode_checks_width(page: Page, stack):
    schema = open_page(page, stack)
    width = len(schema["columns"])
    page.get_by_text("Raw model vector").click()
    box = page.get_by_label("Encoded values")
    box.fill(",".join(["0"] * (width - 1)))
    page.get_by_role("button", name="Score vectors").click()
    expect(page.locator("#vector-error")).to_have_text(f"Line 1 has {width - 1} values; the model expects {width}.")
    box.fill(",".join(["0"] * width) + "\n" + ",".join(["1"] * width))
    page.get_by_role("button", name="Score vectors").click()
    expect(page.locator("#results-table tbody tr")).to_have_count(2)
    expect(page.locator("#vector-error")).to_be_hidden()


def test_api_errors_are_shown(page: Page, own_stack, console_errors):
    # Chromium logs each failed request; these three are what this test provokes.
    console_errors.allow(r"^Failed to load resource: the server responded with a status of (400|5\d\d) ")
    console_errors.allow(r"^Failed to load resource: net::ERR_CONNECTION_REFUSED$")
    open_page(page, own_stack)
    page.get_by_role("button", name="Load example churner").click()

    # A value the API rejects although the page lets it through: the page shows the API's own message.
    page.route(
        "**/predict",
        lambda route: route.continue_(
            post_data=json.dumps(dict(json.loads(route.request.post_data), **{"Day Mins": "lots"}))
        ),
    )
    page.get_by_role("button", name="Predict churn").click()
    alert = page.locator("#result [role=alert]")
    expect(alert).to_contain_text("The prediction API answered 400")
    expect(alert).to_contain_text("Day Mins")
    page.unroute("**/predict")

    # The model server dies: the API answers with an error, and the page says so.
    assert own_stack.kill_model_server(), "no process of the stack listens on the model port"
    page.get_by_role("button", name="Predict churn").click()
    expect(alert).to_contain_text(re.compile(r"The prediction API answered 5\d\d"))
    expect(page.locator("#decision")).to_have_count(0)

    # The whole API is gone: the page names the address it cannot reach.
    own_stack.stop()
    page.get_by_role("button", name="Predict churn").click()
    expect(alert).to_contain_text(f"Cannot reach the prediction API at {own_stack.url}")


def test_page_works_under_its_csp_and_a_violation_would_be_seen(browser, stack):
    """The page's CSP is the served one, and the listener the ``page`` fixture uses does catch
    a violation (a connection to an origin the CSP does not list)."""
    context = browser.new_context()
    violations = watch_csp(context)
    page = context.new_page()
    try:
        response = page.goto(stack.url + "/")
        assert "; connect-src 'self';" in response.headers["content-security-policy"]
        expect(page.locator("#customer-form select, #customer-form input").first).to_be_visible()
        assert violations == []
        page.evaluate("fetch('http://127.0.0.2:9/x').catch(() => null)")
        deadline = time.monotonic() + 10
        while not violations and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert any("connect-src" in v for v in violations), violations
    finally:
        context.close()


def test_page_calls_predict_on_its_own_origin(page: Page, stack):
    """config.js says apiUrl "" (as Terraform writes it): the page posts to /predict on the origin
    it was loaded from, the one thing its CSP (connect-src 'self') lets it reach."""
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if r.method == "POST" else None)
    open_page(page, stack)
    assert page.evaluate("window.CHURN_CONFIG.apiUrl") == ""
    expect(page.locator("#model-info")).to_contain_text(f"API: {stack.url}")
    page.get_by_role("button", name="Load example churner").click()
    page.get_by_role("button", name="Predict churn").click()
    expect(page.locator("#decision")).to_have_text(DECISION)
    assert requests == [stack.url + "/predict"]


@pytest.mark.parametrize("api_url", [None, "/"], ids=["absent", "slash"])
def test_page_without_an_api_url_uses_its_own_origin(page: Page, stack, api_url):
    """An older or hand-written config.js without apiUrl (or "/") means the same: this origin."""
    schema = open_page(page, stack)
    config = {"schema": schema} if api_url is None else {"apiUrl": api_url, "schema": schema}
    page.route(
        "**/config.js",
        lambda route: route.fulfill(
            status=200, content_type="text/javascript", body=f"window.CHURN_CONFIG = {json.dumps(config)};"
        ),
    )
    open_page(page, stack)
    page.get_by_role("button", name="Load example churner").click()
    with page.expect_request(lambda r: r.method == "POST") as sent:
        page.get_by_role("button", name="Predict churn").click()
    assert sent.value.url == stack.url + "/predict"
    expect(page.locator("#decision")).to_have_text(DECISION)


def test_page_with_a_non_string_api_url_says_so(page: Page, stack):
    page.route(
        "**/config.js",
        lambda route: route.fulfill(
            status=200, content_type="text/javascript", body='window.CHURN_CONFIG = {"apiUrl": 42, "schema": {}};'
        ),
    )
    page.goto(stack.url + "/")
    expect(page.locator("#setup-message")).to_contain_text("apiUrl must be a string")
    expect(page.get_by_role("button", name="Predict churn")).to_be_disabled()


def test_page_without_config_says_so(page: Page, stack, console_errors):
    console_errors.allow(r"^Failed to load resource: the server responded with a status of 404 ")
    page.route("**/config.js", lambda route: route.fulfill(status=404, body="not found"))
    page.goto(stack.url + "/")
    expect(page.locator("#setup-message")).to_contain_text("This page is not configured")
    expect(page.get_by_role("button", name="Predict churn")).to_be_disabled()


def test_phone_width_does_not_overflow(browser, stack, screenshots):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(20_000)
    violations = watch_csp(context)
    page = context.new_page()
    try:
        schema = open_page(page, stack)
        page.get_by_role("button", name="Load example churner").click()
        page.get_by_role("button", name="Predict churn").click()
        expect(page.locator("#decision")).to_be_visible()
        page.get_by_text("Score a CSV of customers").click()
        page.get_by_label("CSV of customers").fill(three_row_csv(schema))
        page.get_by_role("button", name="Score customers").click()
        expect(page.locator("#results-table tbody tr")).to_have_count(3)
        page.screenshot(path=str(screenshots / "phone.png"), full_page=True)
        # Nothing sticks out of the viewport; wide tables scroll inside their own box.
        expect(page.locator("#why-chart li").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # Nor does any text stick out of its own element (white-space: nowrap in a narrow grid
        # column): the element's rectangle stays inside, only its scroll width tells.
        offenders = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => !e.closest('.table-scroll, .visually-hidden, input, select, textarea'))
            .filter(e => e.getClientRects().length)
            .filter(e => {
                const r = e.getBoundingClientRect();
                const spills = getComputedStyle(e).overflowX === 'visible' && e.clientWidth > 0
                    && e.scrollWidth > e.clientWidth + 1;
                return r.right > 390.5 || r.left < -0.5 || spills;
            })
            .map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className)""")
        assert offenders == []
        assert violations == []
    finally:
        context.close()

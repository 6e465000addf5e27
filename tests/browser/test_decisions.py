"""The page's decision aids for one customer against the real local stack, in headless Chromium:
why a score (the API's reasons as a chart in words), what-if re-scoring, the user's own costs.
(A batch with its reasons: test_batch_reasons.py.)

Every expectation is computed here from the API's own answer (read off the wire) and the
schema's costs, so the page is checked against the numbers it was given, not against itself.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from . import words
from .helpers import is_predict, open_page

pytestmark = [pytest.mark.browser, pytest.mark.integration]

# Counts the page's POSTs to /predict, how many are in flight at once, and can hold each answer
# back for a while (a slow API). Injected through the DevTools protocol: the page's CSP does not apply.
WATCH_PREDICT = """(() => {
  const send = window.fetch.bind(window);
  const watch = window.__predict = { sent: [], inFlight: 0, maxInFlight: 0, delayMs: 0 };
  window.fetch = async (url, init) => {
    if (!String(url).endsWith('/predict')) return send(url, init);
    watch.inFlight++;
    watch.maxInFlight = Math.max(watch.maxInFlight, watch.inFlight);
    watch.sent.push(init && init.body);
    try {
      const response = await send(url, init);
      if (watch.delayMs) await new Promise(done => setTimeout(done, watch.delayMs));
      return response;
    } finally { watch.inFlight--; }
  };
})();"""

# Every probability #result shows, in order (set up after the page has loaded).
WATCH_SHOWN = """() => {
  window.__shown = [];
  new MutationObserver(() => {
    const p = document.getElementById('probability');
    const text = p ? p.textContent : null;
    if (text && text !== window.__shown[window.__shown.length - 1]) window.__shown.push(text);
  }).observe(document.getElementById('result'), { childList: true, subtree: true, characterData: true });
}"""


def sent(page: Page) -> list[dict[str, Any]]:
    return [json.loads(body) for body in page.evaluate("window.__predict.sent")]


def score_churner(page: Page) -> dict[str, Any]:
    """Load the example churner, press Predict, and return the API's answer."""
    page.get_by_role("button", name="Load example churner").click()
    with page.expect_response(is_predict) as answer:
        page.get_by_role("button", name="Predict churn").click()
    data: dict[str, Any] = answer.value.json()
    expect(page.locator("#probability")).to_have_text(words.pct(data["predictions"][0]["churn_probability"]))
    return data


def wait_until(page: Page, expression: str, timeout_s: float = 10.0) -> None:
    """Polls ``expression`` from here: Playwright's wait_for_function evaluates a string in the
    page, which the page's CSP (no 'unsafe-eval') refuses."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"not true within {timeout_s:.0f} s: {expression}"
        page.wait_for_timeout(50)


def retype(page: Page, name: str, value: str) -> None:
    """Replace a field's value key by key, as a person does (an input event per key)."""
    control = page.locator(f'[name="{name}"]')
    control.select_text()
    page.keyboard.press("Backspace")
    page.keyboard.type(value, delay=40)


# ---------------------------------------------------------------- why


def test_why_chart_says_the_api_reasons_in_plain_words(page: Page, stack, screenshots):
    open_page(page, stack)
    data = score_churner(page)
    prediction, explanation = data["predictions"][0], data["explanation"]
    reasons = prediction["reasons"]
    assert reasons["for"], "the example churner has reasons toward churn"
    shown = reasons["for"] + reasons["against"]

    rows = page.locator("#why-chart li")
    expect(rows).to_have_text([words.line(r) for r in shown])  # "4 customer-service calls: +18 points"
    for i, reason in enumerate(shown):
        expect(rows.nth(i)).to_have_class(re.compile(r"\bwhy-for\b" if reason["points"] > 0 else r"\bwhy-against\b"))
    # Bars toward churn and toward staying, each as long as its points (the longest fills its half).
    widths = page.locator("#why-chart .why-bar").evaluate_all("bars => bars.map(b => parseFloat(b.style.width))")
    largest = max(abs(r["points"]) for r in shown)
    assert widths == pytest.approx([50 * abs(r["points"]) / largest for r in shown], abs=0.01)

    # One line with the base rate and the method; what the fields not shown add, from the same numbers.
    base = explanation["base_probability"]
    method = page.locator("#why-method")
    expect(method).to_contain_text(f"Starting from the model's base rate of {words.pct(base)}")
    expect(method).to_contain_text("percentage points")
    rest = 100 * (prediction["churn_probability"] - base) - sum(r["points"] for r in shown)
    if abs(rest) >= 0.05:
        expect(method).to_contain_text(f"The fields not shown move it by {words.points(rest, 1)} more.")
    page.locator(".why-how summary").click()
    expect(page.locator(".why-how p")).to_have_text(explanation["method"])

    # A what-if change redraws the chart from the new answer. The README's picture (docs/page.png)
    # is this screenshot.
    page.locator(".why-how summary").click()
    with page.expect_response(is_predict) as answer:
        page.get_by_label("International plan").select_option("yes")
    changed = answer.value.json()["predictions"][0]
    expect(rows).to_have_text([words.line(r) for r in changed["reasons"]["for"] + changed["reasons"]["against"]])
    expect(page.locator("#whatif-change")).to_contain_text("since first score")
    page.locator("#single").screenshot(path=str(screenshots / "page.png"))


# ---------------------------------------------------------------- what-if


def test_what_if_rescores_after_a_pause_with_one_request_at_a_time(page: Page, stack):
    page.add_init_script(WATCH_PREDICT)
    schema = open_page(page, stack)
    page.evaluate(WATCH_SHOWN)
    first = score_churner(page)["predictions"][0]["churn_probability"]
    expect(page.locator("#whatif-change")).to_have_text(f"First score: {words.pct(first)}.")

    # A change re-scores by itself, once, after the typing stops; the change from the first score shows.
    churner = schema["examples"]["churner"]
    with page.expect_response(is_predict) as answer:
        retype(page, "CustServ Calls", "0")
    now = answer.value.json()["predictions"][0]["churn_probability"]
    assert now != first
    change = f"{words.points(100 * (now - first), 1)} since first score ({words.pct(first)} → {words.pct(now)})."
    expect(page.locator("#whatif-change")).to_have_text(change)
    expect(page.locator("#probability")).to_have_text(words.pct(now))

    # Two keys in a row are one request, with both keys in it.
    with page.expect_response(is_predict):
        retype(page, "CustServ Calls", "12")
    page.wait_for_timeout(800)  # longer than the pause: nothing else follows
    assert [body["CustServ Calls"] for body in sent(page)] == [churner["CustServ Calls"], 0, 12]

    # A slow API: changes made while a request is in flight wait for it, and only the last is sent.
    page.evaluate("window.__predict.delayMs = 1500")
    before = len(sent(page))
    page.evaluate("window.__shown = []")
    day = page.locator('[name="Day Mins"]')
    day.fill("300")
    page.wait_for_timeout(700)  # the request for 300 is in flight
    day.fill("310")
    page.wait_for_timeout(300)
    with page.expect_response(is_predict) as answer:  # the answer for 320 (the one for 300 comes first)
        day.fill("320")
        wait_until(page, f"window.__predict.sent.length === {before + 2}")
    wait_until(page, "window.__predict.inFlight === 0")
    last = json.loads(answer.value.request.post_data or "{}")
    final = answer.value.json()["predictions"][0]["churn_probability"]
    assert [body["Day Mins"] for body in sent(page)[before:]] == [300, 320]
    assert last["Day Mins"] == 320
    assert page.evaluate("window.__predict.maxInFlight") == 1
    expect(page.locator("#probability")).to_have_text(words.pct(final))
    assert page.evaluate("window.__shown") == [words.pct(final)]  # the answer for 300 was never shown
    page.evaluate("window.__predict.delayMs = 0")

    # The current score becomes the first; later changes count from there.
    reset = page.get_by_role("button", name="Make this the first score")
    reset.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#whatif-change")).to_have_text(f"First score: {words.pct(final)}.")
    expect(reset).to_be_disabled()
    with page.expect_response(is_predict) as answer:
        retype(page, "CustServ Calls", "1")
    again = answer.value.json()["predictions"][0]["churn_probability"]
    expect(page.locator("#whatif-change")).to_contain_text(
        f"{words.points(100 * (again - final), 1)} since first score ({words.pct(final)} → "
    )

    # A value that is not valid is not sent; the status says why.
    count = len(sent(page))
    retype(page, "Day Mins", "")
    expect(page.locator("#whatif-status")).to_have_text("Not re-scored: a field needs a valid value.")
    page.wait_for_timeout(600)
    assert len(sent(page)) == count

    # Another customer: no baseline and no re-scoring until it is scored.
    page.get_by_role("button", name="Load example loyal customer").click()
    expect(page.locator("#whatif")).to_be_hidden()
    retype(page, "CustServ Calls", "3")
    page.wait_for_timeout(800)
    assert len(sent(page)) == count


# ---------------------------------------------------------------- your costs


def test_your_costs_move_the_decision_and_the_cutoff(page: Page, stack):
    page.add_init_script(WATCH_PREDICT)
    schema = open_page(page, stack)
    decision = schema["decision"]
    offer, loss = decision["costs"]["fp"], decision["costs"]["fn"]
    expect(page.get_by_label("Retention offer ($)")).to_have_value(f"{offer:g}")
    expect(page.get_by_label("Loss when a customer leaves ($)")).to_have_value(f"{loss:g}")
    expect(page.locator("#costs-rule")).to_contain_text(f"above {words.pct(offer / loss)}.")
    expect(page.locator("#costs-rule")).to_contain_text("at these same costs.")
    figures = decision["calibration"]
    expect(page.locator("#calibration-note")).to_have_text(
        f"Your costs only hold if the probabilities do: on {figures['rows']:,} held-out customers, predicted and "
        f"observed churn differ by {100 * figures['ece']:.1f} points on average (Brier score {figures['brier']:.3f})."
    )

    data = score_churner(page)
    p, cutoff = data["predictions"][0]["churn_probability"], data["cutoff"]
    deployed = page.locator("#decision-deployed")
    expect(deployed).to_contain_text(f"The deployment (cutoff {words.pct(cutoff)})")
    expect(deployed.locator(".cost-value")).to_have_text(
        "Make an offer" if data["predictions"][0]["will_churn"] else "Do nothing"
    )
    yours = page.locator("#decision-yours")

    def check(offer: float, loss: float) -> None:
        acts = p * loss > offer
        expect(yours.locator(".cost-title")).to_have_text(f"Your costs (cutoff {words.pct(offer / loss)})")
        expect(yours.locator(".cost-value")).to_have_text("Make an offer" if acts else "Do nothing")
        saving = p * loss - offer
        lead = "Expected saving of an offer" if saving >= 0 else "An offer loses on average"
        expect(yours.locator(".cost-formula").first).to_have_text(
            f"{lead} {words.money(abs(saving))} = {words.pct(p)} × {words.money(loss)} − {words.money(offer)}."
        )
        left = page.locator(".bar-cutoff.yours").evaluate("m => parseFloat(m.style.left)")
        assert left == pytest.approx(100 * offer / loss, abs=0.01)
        expect(deployed.locator(".cost-value")).to_have_text(
            "Make an offer" if data["predictions"][0]["will_churn"] else "Do nothing"
        )

    check(offer, loss)
    # A loss just too small for an offer to pay off on this customer, then just large enough.
    for factor in (0.9, 1.1):
        new_loss = round(offer / p * factor, 2)
        page.get_by_label("Loss when a customer leaves ($)").fill(f"{new_loss}")
        check(offer, new_loss)
    expect(page.locator("#costs-rule")).to_contain_text("The deployment's own cutoff is")
    expect(page.locator("#costs-rule")).not_to_contain_text("at these same costs.")
    page.get_by_label("Retention offer ($)").fill("40")
    check(40, new_loss)

    # A loss of $0 is refused where it was typed; the last valid costs stay in force.
    page.get_by_label("Loss when a customer leaves ($)").fill("0")
    expect(page.locator("#churn-loss-error")).to_have_text("Must be more than $0.")
    expect(page.get_by_label("Loss when a customer leaves ($)")).to_have_attribute("aria-invalid", "true")
    check(40, new_loss)

    page.get_by_role("button", name="Back to the deployment's costs").click()
    expect(page.locator("#churn-loss-error")).to_be_hidden()
    check(offer, loss)
    assert len(sent(page)) == 1  # costs are the page's own arithmetic: nothing was re-scored

/* What-if: once a customer is scored, every change to the form re-scores it after a short pause.
 *
 * All one-customer scoring goes through here (the Predict button too), so that at most one
 * request is in flight: a change made meanwhile waits for it, and then only the latest form is
 * sent (the last change wins; an answer for an older form is dropped). The first score of a
 * customer is the baseline every later score is compared with, until a new customer is loaded,
 * the form is cleared, or the user makes the current score the baseline. */
(function (C) {
  "use strict";

  var $ = C.$, fmtPct = C.fmtPct, fmtPoints = C.fmtPoints, form = C.form;

  var DELAY_MS = 400;  // long enough not to score every keystroke, short enough to feel live

  var hooks = null;     // {send(record) -> Promise, show(data, change), fail(err), busy(bool)}
  var active = false;   // a customer has been scored: edits re-score
  var baseline = null;  // the first score of this customer
  var latest = null;    // the score on screen
  var timer = null;
  var inFlight = false;
  var queued = false;   // a score was asked for while one was in flight
  var edits = 0;        // the form's version: an answer for an older one is dropped

  function setup(h) {
    hooks = h;
    // input: typing in a number; change: a select (which also sends input) and a spinner.
    $("customer-form").addEventListener("input", onEdit);
    $("reset-baseline").addEventListener("click", function () {
      if (latest === null) return;
      baseline = latest;
      showChange();
    });
  }

  function onEdit() {
    edits++;
    if (!active) return;
    clearTimeout(timer);
    timer = setTimeout(function () { timer = null; score(); }, DELAY_MS);
    status("Waiting for you to finish typing…");
  }

  // Scores the form as it is now, or after the request in flight.
  function score() {
    if (inFlight) { queued = true; return; }
    var record = form.validRecord();
    if (!record) { status("Not re-scored: a field needs a valid value."); return; }
    var version = edits;
    inFlight = true;
    hooks.busy(true);
    hooks.send(record).then(function (data) {
      if (version !== edits) return;  // the form changed while this was asked: a newer score follows
      var p = data.predictions[0].churn_probability;
      if (baseline === null) baseline = p;
      latest = p;
      active = true;
      hooks.show(data, p - baseline);
      showChange();
    }).catch(function (err) {
      if (version !== edits) return;
      latest = null;
      hooks.fail(err);
      showChange();
    }).finally(function () {
      inFlight = false;
      hooks.busy(false);
      // A pause still running will score the newest form itself: flushing now would send it twice.
      if (queued) { queued = false; if (timer === null) score(); }
    });
  }

  // The Predict button: score now (the pause is for typing, not for a press).
  function scoreNow() {
    clearTimeout(timer);
    timer = null;
    score();
  }

  // A new customer (an example loaded, the form cleared): no baseline, no re-scoring until scored.
  function forget() {
    clearTimeout(timer);
    timer = null;
    queued = false;
    edits++;  // an answer still in flight belongs to the old customer
    active = false;
    baseline = null;
    latest = null;
    $("whatif").hidden = true;
  }

  function status(text) { $("whatif-status").textContent = text; }

  function showChange() {
    var box = $("whatif");
    if (latest === null || baseline === null) { box.hidden = true; return; }
    var change = 100 * (latest - baseline);
    $("whatif-change").textContent = Math.abs(change) < 0.05
      ? "First score: " + fmtPct(baseline) + "."
      : fmtPoints(change, 1) + " since first score (" + fmtPct(baseline) + " → " + fmtPct(latest) + ").";
    status("Change any field: the score updates by itself.");
    $("reset-baseline").disabled = latest === baseline;
    box.hidden = false;
  }

  C.whatIf = {
    setup: setup,
    scoreNow: scoreNow,
    forget: forget,
    baseline: function () { return baseline; },
    delayMs: DELAY_MS
  };
})(window.Churn = window.Churn || {});

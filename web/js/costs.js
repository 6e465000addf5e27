/* Your costs: what a retention offer costs and what a customer who leaves costs, both editable.
 *
 * With an offer cost c and a loss L per lost customer, acting on a customer whose churn
 * probability is p pays off on average when p × L > c, i.e. above the cutoff c / L, and the
 * expected saving of acting is p × L − c. The defaults are the deployment's own cost matrix
 * (the schema's decision.costs: fp = tp = the offer, fn = the loss). That rule takes each
 * probability at its word, so the card also says how calibrated the model was on held-out
 * customers (the schema's decision.calibration, the summary of metrics.json's figures). */
(function (C) {
  "use strict";

  var $ = C.$, fmtPct = C.fmtPct, fmtMoney = C.fmtMoney, fmtNumber = C.fmtNumber, schema = C.schema;

  var CUTOFF_METHODS = {
    cv: "chosen by cross-validation for the lowest expected cost",
    validation: "chosen on held-out validation data for the lowest expected cost"
  };

  var defaults = null;  // {offer, loss} of the deployment
  var current = null;   // {offer, loss}: the last valid pair the user entered
  var listeners = [];

  function defaultsOf(decision) {
    var costs = decision && decision.costs;
    if (!costs || typeof costs.fp !== "number" || typeof costs.fn !== "number") return null;
    return { offer: costs.fp, loss: costs.fn };
  }

  function setup() {
    defaults = defaultsOf(schema.decision);
    if (!defaults) { $("costs").hidden = true; return; }
    current = { offer: defaults.offer, loss: defaults.loss };
    $("offer-cost").value = String(defaults.offer);
    $("churn-loss").value = String(defaults.loss);
    $("offer-cost").addEventListener("input", read);
    $("churn-loss").addEventListener("input", read);
    $("reset-costs").addEventListener("click", function () {
      $("offer-cost").value = String(defaults.offer);
      $("churn-loss").value = String(defaults.loss);
      read();
    });
    showRule();
    showCalibration();
  }

  // A dollar amount from an input, or an error message; `positive` refuses 0.
  function amount(input, positive) {
    var raw = input.value.trim();
    if (input.validity && input.validity.badInput) return { error: "Enter an amount in dollars." };
    if (raw === "") return { error: "Enter an amount in dollars." };
    var n = Number(raw);
    if (!isFinite(n)) return { error: "Enter an amount in dollars." };
    if (n < 0 || (positive && n === 0)) return { error: positive ? "Must be more than $0." : "Must be $0 or more." };
    return { value: n };
  }

  function showError(input, message) {
    var error = $(input.id + "-error");
    error.textContent = message || "";
    error.hidden = !message;
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }

  function read() {
    var offer = amount($("offer-cost"), false), loss = amount($("churn-loss"), true);
    showError($("offer-cost"), offer.error);
    showError($("churn-loss"), loss.error);
    if (offer.error || loss.error) return;  // the last valid costs stay in force
    current = { offer: offer.value, loss: loss.value };
    showRule();
    listeners.forEach(function (listener) { listener(); });
  }

  function isDefault() { return current.offer === defaults.offer && current.loss === defaults.loss; }

  function showRule() {
    var cut = cutoff();
    var rule = cut >= 1
      ? "With these costs an offer never pays off: it costs at least what a lost customer does."
      : cut === 0
        ? "With these costs an offer always pays off: it costs nothing."
        : "With these costs an offer pays off when churn probability × " + fmtMoney(current.loss) +
          " is more than " + fmtMoney(current.offer) + ": above " + fmtPct(cut) + ".";
    var d = schema.decision, deployed = C.cutoffOf(null);
    var method = d.method ? ", " + (CUTOFF_METHODS[d.method] || "chosen by " + d.method) : "";
    var own = deployed === null ? "" : " The deployment's own cutoff is " + fmtPct(deployed) + method + " at " +
      (isDefault() ? "these same costs." : "its costs (" + fmtMoney(defaults.offer) + " an offer, " + fmtMoney(defaults.loss) + " a lost customer).");
    $("costs-rule").textContent = rule + own;
  }

  function showCalibration() {
    var figures = schema.decision && schema.decision.calibration;
    var note = $("calibration-note");
    if (!figures || typeof figures.ece !== "number" || typeof figures.rows !== "number") { note.hidden = true; return; }
    note.textContent = "Your costs only hold if the probabilities do: on " + fmtNumber(figures.rows) +
      " held-out customers, predicted and observed churn differ by " + (100 * figures.ece).toFixed(1) +
      " points on average" + (typeof figures.brier === "number" ? " (Brier score " + figures.brier.toFixed(3) + ")" : "") + ".";
    note.hidden = false;
  }

  function cutoff() { return current.loss > 0 ? current.offer / current.loss : 1; }
  function saving(p) { return p * current.loss - current.offer; }

  C.cutoffMethods = CUTOFF_METHODS;
  C.costs = {
    setup: setup,
    // False when the schema has no costs: the page then shows the deployment's decision alone.
    available: function () { return current !== null; },
    current: function () { return { offer: current.offer, loss: current.loss }; },
    cutoff: cutoff,
    saving: saving,
    acts: function (p) { return saving(p) > 0; },
    onChange: function (listener) { listeners.push(listener); }
  };
})(window.Churn = window.Churn || {});

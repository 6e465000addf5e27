/* Wiring: checks the config, builds the page, and renders the one-customer result.
 * Loaded last, so every other script has added its part to window.Churn. */
(function (C) {
  "use strict";

  var $ = C.$, el = C.el, fmtPct = C.fmtPct, fmtMoney = C.fmtMoney;
  var callApi = C.callApi, errorBox = C.errorBox, ApiError = C.ApiError, cutoffOf = C.cutoffOf;
  var schema = C.schema, apiUrl = C.apiUrl, form = C.form, batch = C.batch;

  var CUTOFF_METHODS = {
    cv: "chosen by cross-validation for the lowest expected cost",
    validation: "chosen on held-out validation data for the lowest expected cost"
  };

  // ---------------------------------------------------------------- setup

  function setupError(message) {
    var box = $("setup-message");
    box.textContent = "";
    box.appendChild(el("strong", { text: "This page is not configured. " }));
    box.appendChild(document.createTextNode(message));
    box.hidden = false;
    $("form-fields").textContent = "";
    document.querySelectorAll("button, input, textarea, select").forEach(function (control) { control.disabled = true; });
  }

  function init() {
    if (!C.config) {
      setupError("config.js is missing or did not set window.CHURN_CONFIG, so the page does not know the prediction API's address. " +
        "Deploy the site with Terraform (it writes config.js), or run the local stack: python -m ml stack.");
      return;
    }
    if (!C.apiUrlValid) {
      setupError("config.js's apiUrl must be a string: empty for this page's own origin, or the prediction API's base URL.");
      return;
    }
    if (!schema || typeof schema.fields !== "object" || !Array.isArray(schema.required) || !Array.isArray(schema.columns)) {
      setupError("config.js has no valid model schema (fields, required, columns).");
      return;
    }
    form.build();
    setupExamples();
    batch.setup();
    $("customer-form").addEventListener("submit", onPredict);
    $("clear-form").addEventListener("click", clearForm);
    showModelInfo();
  }

  function setupExamples() {
    var examples = schema.examples || {};
    [["load-churner", "churner", "Example churner"], ["load-loyal", "loyal", "Example loyal customer"]].forEach(function (spec) {
      var button = $(spec[0]);
      var record = examples[spec[1]];
      if (!record) { button.hidden = true; return; }
      button.addEventListener("click", function () {
        form.fill(record);
        resetResult(spec[2] + " loaded. Press “Predict churn” to score it.");
      });
    });
  }

  function clearForm() {
    form.clear();
    resetResult("The prediction will appear here.");
    form.focusFirst();
  }

  function resetResult(text) {
    var result = $("result");
    result.className = "result";
    result.textContent = "";
    result.appendChild(el("p", { className: "muted", text: text }));
  }

  function showModelInfo() {
    var parts = ["Model: " + schema.columns.length + " encoded columns"];
    var d = schema.decision;
    if (d && typeof d.cutoff === "number") parts.push("decision cutoff " + d.cutoff.toFixed(2) + (d.method ? " (" + d.method + ")" : ""));
    parts.push("API: " + apiUrl);
    $("model-info").textContent = parts.join(" · ");
  }

  // ---------------------------------------------------------------- one customer

  function onPredict(event) {
    event.preventDefault();
    if (!form.checkAll()) return;
    var button = $("predict");
    var result = $("result");
    button.disabled = true;
    result.setAttribute("aria-busy", "true");
    result.className = "result";
    result.textContent = "";
    result.appendChild(el("p", { className: "muted", text: "Asking the model…" }));
    callApi(JSON.stringify(form.readRecord()), "application/json").then(function (data) {
      var prediction = data.predictions[0];
      if (!prediction || typeof prediction.churn_probability !== "number") {
        throw new ApiError("The prediction API answered without a churn probability.");
      }
      renderResult(prediction, cutoffOf(data));
    }).catch(function (err) {
      result.className = "result";
      result.textContent = "";
      result.appendChild(errorBox(err, "No prediction"));
      form.markFieldFromError(err);
    }).finally(function () {
      button.disabled = false;
      result.removeAttribute("aria-busy");
    });
  }

  function renderResult(prediction, cutoff) {
    var p = Math.min(1, Math.max(0, prediction.churn_probability));
    var churn = prediction.will_churn === true || (prediction.will_churn === undefined && cutoff !== null && p >= cutoff);
    var result = $("result");
    result.textContent = "";
    result.className = "result " + (churn ? "is-churn" : "is-stay");

    result.appendChild(el("h3", { className: "decision", id: "decision" },
      [churn ? "Likely to churn — make a retention offer" : "Likely to stay"]));
    result.appendChild(el("p", { className: "probability" }, ["Churn probability ", el("strong", { id: "probability", text: fmtPct(p) })]));

    var bar = el("div", {
      className: "bar", role: "meter", "aria-label": "Churn probability",
      "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": (p * 100).toFixed(1),
      "aria-valuetext": fmtPct(p) + (cutoff !== null ? ", cutoff " + fmtPct(cutoff) : "")
    }, [el("div", { className: "bar-fill", style: { width: (p * 100).toFixed(2) + "%" } })]);
    if (cutoff !== null) {
      bar.appendChild(el("div", { className: "bar-cutoff", style: { left: (cutoff * 100).toFixed(2) + "%" }, "aria-hidden": "true" }));
    }
    result.appendChild(bar);
    if (cutoff !== null) {
      result.appendChild(el("p", { className: "bar-legend" }, [
        "The line marks the model's cutoff of " + fmtPct(cutoff) + ": at or above it the model recommends an offer."
      ]));
    }
    var costs = schema.decision && schema.decision.costs;
    if (costs && ["tn", "fp", "tp", "fn"].every(function (k) { return typeof costs[k] === "number"; })) {
      result.appendChild(renderCosts(p, churn, costs, cutoff));
    }
  }

  function renderCosts(p, churn, costs, cutoff) {
    var act = p * costs.tp + (1 - p) * costs.fp;
    var wait = p * costs.fn + (1 - p) * costs.tn;
    function card(title, cost, formula, chosen) {
      return el("div", { className: "cost" + (chosen ? " chosen" : "") }, [
        el("p", { className: "cost-title" }, [title, chosen ? el("span", { className: "badge", text: "recommended" }) : null]),
        el("p", { className: "cost-value", text: fmtMoney(cost) }),
        el("p", { className: "cost-formula", text: formula })
      ]);
    }
    var pct = fmtPct(p), rest = fmtPct(1 - p);
    var wrap = el("div", { className: "costs-block" }, [
      el("h4", { text: "Expected cost of each choice" }),
      el("div", { className: "costs" }, [
        card("Make a retention offer", act, pct + " × " + fmtMoney(costs.tp) + " + " + rest + " × " + fmtMoney(costs.fp), churn),
        card("Do nothing", wait, pct + " × " + fmtMoney(costs.fn) + " + " + rest + " × " + fmtMoney(costs.tn), !churn)
      ])
    ]);
    var denominator = (costs.fp - costs.tn) + (costs.fn - costs.tp);
    var note = "Costs per customer: an offer costs " + fmtMoney(costs.fp) + " (" + fmtMoney(costs.tp) + " if they would have left and stay); " +
      "losing a customer costs " + fmtMoney(costs.fn) + ".";
    if (denominator > 0 && cutoff !== null) {
      var breakEven = (costs.fp - costs.tn) / denominator;
      note += " Acting pays off on average above a probability of " + fmtPct(breakEven) +
        "; the recommendation follows the model's cutoff of " + fmtPct(cutoff) +
        (schema.decision.method ? ", " + (CUTOFF_METHODS[schema.decision.method] || "chosen by " + schema.decision.method) : "") + ".";
    }
    wrap.appendChild(el("p", { className: "muted small", text: note }));
    return wrap;
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})(window.Churn = window.Churn || {});

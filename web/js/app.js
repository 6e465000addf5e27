/* Wiring: checks the config, builds the page, and renders the one-customer result.
 * Loaded last, so every other script has added its part to window.Churn. */
(function (C) {
  "use strict";

  var $ = C.$, el = C.el, fmtPct = C.fmtPct, fmtMoney = C.fmtMoney;
  var callApi = C.callApi, errorBox = C.errorBox, ApiError = C.ApiError, cutoffOf = C.cutoffOf;
  var schema = C.schema, apiUrl = C.apiUrl, form = C.form, batch = C.batch, costs = C.costs, why = C.why, whatIf = C.whatIf;

  var shown = null;  // the answer on screen {data, change}: redrawn when the user's costs change

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
    costs.setup();
    setupExamples();
    batch.setup();
    whatIf.setup({ send: send, show: show, fail: fail, busy: busy });
    costs.onChange(function () { if (shown) renderResult(shown.data, shown.change); });
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
        whatIf.forget();
        resetResult(spec[2] + " loaded. Press “Predict churn” to score it.");
      });
    });
  }

  function clearForm() {
    form.clear();
    whatIf.forget();
    resetResult("The prediction will appear here.");
    form.focusFirst();
  }

  function resetResult(text) {
    shown = null;
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
    if (!shown) {
      var result = $("result");
      result.className = "result";
      result.textContent = "";
      result.appendChild(el("p", { className: "muted", text: "Asking the model…" }));
    }
    whatIf.scoreNow();
  }

  function send(record) {
    return callApi(JSON.stringify(record), "application/json").then(function (data) {
      var prediction = data.predictions[0];
      if (!prediction || typeof prediction.churn_probability !== "number") {
        throw new ApiError("The prediction API answered without a churn probability.");
      }
      return data;
    });
  }

  function busy(on) {
    if (on) $("result").setAttribute("aria-busy", "true");
    else $("result").removeAttribute("aria-busy");
  }

  function show(data, change) {
    shown = { data: data, change: change };
    renderResult(data, change);
  }

  function fail(err) {
    shown = null;
    var result = $("result");
    result.className = "result";
    result.textContent = "";
    result.appendChild(errorBox(err, "No prediction"));
    form.markFieldFromError(err);
    $("result-status").textContent = "No prediction: " + (err instanceof ApiError ? err.message : "the page failed.");
  }

  // The deployment's decision (the API's will_churn at its cutoff), the decision under the user's
  // costs, and why; `change` is the score's change since this customer's first score.
  function renderResult(data, change) {
    var prediction = data.predictions[0];
    var cutoff = cutoffOf(data);
    var p = Math.min(1, Math.max(0, prediction.churn_probability));
    var churn = prediction.will_churn === true || (prediction.will_churn === undefined && cutoff !== null && p >= cutoff);
    var result = $("result");
    result.textContent = "";
    result.className = "result " + (churn ? "is-churn" : "is-stay");

    result.appendChild(el("h3", { className: "decision", id: "decision" },
      [churn ? "Likely to churn — make a retention offer" : "Likely to stay"]));
    result.appendChild(el("p", { className: "probability" }, ["Churn probability ", el("strong", { id: "probability", text: fmtPct(p) })]));
    var model = C.modelLine(data);
    if (model) result.appendChild(el("p", { className: "model-line", id: "model-line", text: model }));
    var yours = costs.available() ? costs.cutoff() : null;
    result.appendChild(probabilityBar(p, cutoff, yours));
    if (costs.available()) result.appendChild(decisions(p, churn, cutoff));
    var chart = why.render(prediction, data.explanation);
    if (chart) result.appendChild(chart);

    var words = "Churn probability " + fmtPct(p) + ": " + (churn ? "likely to churn" : "likely to stay") + ".";
    if (Math.abs(100 * change) >= 0.05) words += " " + C.fmtPoints(100 * change, 1) + " since first score.";
    if (costs.available()) words += " At your costs: " + (costs.acts(p) ? "make an offer." : "do nothing.");
    // Only a new sentence is announced: a redraw for the user's costs that changes no decision says nothing.
    if ($("result-status").textContent !== words) $("result-status").textContent = words;
  }

  function probabilityBar(p, cutoff, yours) {
    var text = fmtPct(p) + (cutoff !== null ? ", deployment's cutoff " + fmtPct(cutoff) : "") +
      (yours !== null && yours < 1 ? ", your cutoff " + fmtPct(yours) : "");
    var bar = el("div", {
      className: "bar", role: "meter", "aria-label": "Churn probability",
      "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": (p * 100).toFixed(1), "aria-valuetext": text
    }, [el("div", { className: "bar-fill", style: { width: (p * 100).toFixed(2) + "%" } })]);
    if (cutoff !== null) {
      bar.appendChild(el("div", { className: "bar-cutoff", style: { left: (cutoff * 100).toFixed(2) + "%" }, "aria-hidden": "true" }));
    }
    if (yours !== null && yours < 1) {
      bar.appendChild(el("div", { className: "bar-cutoff yours", style: { left: (yours * 100).toFixed(2) + "%" }, "aria-hidden": "true" }));
    }
    var wrap = el("div", {}, [bar]);
    var legend = [];
    if (cutoff !== null) legend.push(el("span", { className: "key key-deployed", text: "deployment's cutoff " + fmtPct(cutoff) }));
    if (yours !== null && yours < 1) legend.push(el("span", { className: "key key-yours", text: "your cutoff " + fmtPct(yours) }));
    if (legend.length) wrap.appendChild(el("p", { className: "bar-legend", "aria-hidden": "true" }, legend));
    return wrap;
  }

  // Two cards side by side: what the deployment does, and what the user's costs say.
  function decisions(p, churn, cutoff) {
    var c = costs.current(), saving = costs.saving(p), act = costs.acts(p);
    function card(id, title, verdict, detail, chosen, link) {
      return el("div", { className: "cost" + (chosen ? " chosen" : ""), id: id }, [
        el("p", { className: "cost-title", text: title }),
        el("p", { className: "cost-value", text: verdict }),
        el("p", { className: "cost-formula", text: detail }),
        link ? el("p", { className: "cost-formula" }, [link]) : null
      ]);
    }
    var savingText = (saving >= 0 ? "Expected saving of an offer " : "An offer loses on average ") + fmtMoney(Math.abs(saving)) +
      " = " + fmtPct(p) + " × " + fmtMoney(c.loss) + " − " + fmtMoney(c.offer) + ".";
    return el("div", { className: "costs-block" }, [
      el("h4", { text: "Make an offer?" }),
      el("div", { className: "costs" }, [
        card("decision-deployed", "The deployment" + (cutoff !== null ? " (cutoff " + fmtPct(cutoff) + ")" : ""),
          churn ? "Make an offer" : "Do nothing",
          cutoff !== null ? "Offer when the probability is at least " + fmtPct(cutoff) + "." : "The API's decision.", false),
        card("decision-yours", "Your costs (cutoff " + (costs.cutoff() >= 1 ? "none" : fmtPct(costs.cutoff())) + ")",
          act ? "Make an offer" : "Do nothing", savingText, true, el("a", { href: "#costs", text: "Change your costs" }))
      ]),
      churn !== act ? el("p", { className: "muted small", id: "decisions-differ",
        text: "Your costs and the deployment's cutoff disagree on this customer." }) : null
    ]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})(window.Churn = window.Churn || {});

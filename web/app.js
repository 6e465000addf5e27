/* Customer churn check: builds the form from the model's feature schema and calls POST /predict.
 * No dependencies and no build step. window.CHURN_CONFIG comes from config.js (written by Terraform,
 * or served by `python -m ml stack` locally): {apiUrl, schema}. */
(function () {
  "use strict";

  // Presentation only: what an agent calls each raw field. Names, kinds and ranges come from the schema.
  var FIELD_INFO = {
    "State": { label: "State", group: "account" },
    "Area Code": { label: "Area code", group: "account" },
    "Account Length": { label: "Account length", unit: "days", group: "account" },
    "Int'l Plan": { label: "International plan", group: "account" },
    "VMail Plan": { label: "Voicemail plan", group: "account" },
    "VMail Message": { label: "Voicemail messages", unit: "messages", group: "account" },
    "Day Mins": { label: "Day minutes", unit: "min", group: "usage" },
    "Day Calls": { label: "Day calls", unit: "calls", group: "usage" },
    "Eve Mins": { label: "Evening minutes", unit: "min", group: "usage" },
    "Eve Calls": { label: "Evening calls", unit: "calls", group: "usage" },
    "Night Mins": { label: "Night minutes", unit: "min", group: "usage" },
    "Night Calls": { label: "Night calls", unit: "calls", group: "usage" },
    "Intl Mins": { label: "International minutes", unit: "min", group: "usage" },
    "Intl Calls": { label: "International calls", unit: "calls", group: "usage" },
    "CustServ Calls": { label: "Customer service calls", unit: "calls", group: "service", help: "This month" }
  };
  var GROUPS = [
    { id: "account", title: "Account" },
    { id: "usage", title: "Usage this month" },
    { id: "service", title: "Customer service" },
    { id: "other", title: "Other" }
  ];
  var CATEGORY_TEXT = { "yes": "Yes", "no": "No" };
  var STATUS_TEXT = {
    400: "the input was rejected",
    404: "the API has no /predict route",
    413: "the request is too large",
    415: "the content type was not accepted",
    429: "too many requests, try again shortly",
    500: "internal error",
    502: "the model failed",
    503: "the model is unavailable",
    504: "the model did not answer in time"
  };
  var CUTOFF_METHODS = {
    cv: "chosen by cross-validation for the lowest expected cost",
    validation: "chosen on held-out validation data for the lowest expected cost"
  };
  var TIMEOUT_MS = 30000;
  // Columns of the batch table besides probability and decision, shown when the CSV has them.
  var BATCH_COLUMNS = ["Phone", "State", "Account Length", "Int'l Plan", "VMail Plan", "Day Mins", "CustServ Calls"];

  var config = window.CHURN_CONFIG;
  var schema = config && config.schema;
  var apiUrl = config && typeof config.apiUrl === "string" ? config.apiUrl.replace(/\/+$/, "") : "";
  var fields = [];   // [{name, spec, info, input, error}]
  var pressingSubmit = false;
  var byName = {};

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === undefined || value === null || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function slug(name) { return "f-" + name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, ""); }
  function fmtNumber(n) { return Number(n).toLocaleString("en-US", { maximumFractionDigits: 2 }); }
  function fmtPct(p) { return (p * 100).toFixed(1) + "%"; }
  function fmtMoney(x) { return x.toLocaleString("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 2 }); }
  function infoFor(name) { return FIELD_INFO[name] || { label: name, group: "other" }; }

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
    if (!config) {
      setupError("config.js is missing or did not set window.CHURN_CONFIG, so the page does not know the prediction API's address. " +
        "Deploy the site with Terraform (it writes config.js), or run the local stack: python -m ml stack.");
      return;
    }
    if (!apiUrl) { setupError("config.js has no apiUrl."); return; }
    if (!schema || typeof schema.fields !== "object" || !Array.isArray(schema.required) || !Array.isArray(schema.columns)) {
      setupError("config.js has no valid model schema (fields, required, columns).");
      return;
    }
    buildForm();
    setupExamples();
    setupVector();
    $("customer-form").addEventListener("submit", onPredict);
    $("predict").addEventListener("pointerdown", function () { pressingSubmit = true; });
    document.addEventListener("pointerup", function () { setTimeout(function () { pressingSubmit = false; }, 0); });
    document.addEventListener("pointercancel", function () { pressingSubmit = false; });
    $("clear-form").addEventListener("click", clearForm);
    $("batch-form").addEventListener("submit", onBatch);
    $("batch-file").addEventListener("change", onFile);
    showModelInfo();
  }

  // ---------------------------------------------------------------- form

  function buildForm() {
    var container = $("form-fields");
    container.textContent = "";
    var groups = {};
    GROUPS.forEach(function (g) {
      groups[g.id] = el("fieldset", { className: "group group-" + g.id }, [el("legend", { text: g.title })]);
      groups[g.id].appendChild(el("div", { className: "grid" }));
    });
    var fieldOrder = Object.keys(schema.fields).filter(function (n) { return schema.required.indexOf(n) >= 0; });
    schema.required.forEach(function (n) { if (fieldOrder.indexOf(n) < 0) fieldOrder.push(n); });
    fieldOrder.forEach(function (name) {
      var spec = schema.fields[name] || { kind: "text" };
      var info = infoFor(name);
      var field = makeField(name, spec, info);
      (groups[info.group] || groups.other).querySelector(".grid").appendChild(field.wrapper);
      fields.push(field);
      byName[name] = field;
    });
    GROUPS.forEach(function (g) {
      if (groups[g.id].querySelector(".field")) container.appendChild(groups[g.id]);
    });
  }

  function makeField(name, spec, info) {
    var id = slug(name);
    var helpParts = [];
    if (info.help) helpParts.push(info.help);
    if (spec.kind === "int" || spec.kind === "float") {
      helpParts.push(fmtNumber(spec.min) + "–" + fmtNumber(spec.max) + (info.unit ? " " + info.unit : ""));
    }
    var input;
    if (spec.kind === "category") {
      var options = [el("option", { value: "", text: "Choose…" })];
      (spec.values || []).forEach(function (v) { options.push(el("option", { value: v, text: CATEGORY_TEXT[v] || v })); });
      input = el("select", { id: id, name: name, required: true }, options);
    } else if (spec.kind === "int" || spec.kind === "float") {
      input = el("input", {
        id: id, name: name, type: "number", required: true,
        inputmode: spec.kind === "int" ? "numeric" : "decimal",
        min: spec.min, max: spec.max, step: spec.kind === "int" ? "1" : "any", autocomplete: "off"
      });
    } else {
      input = el("input", { id: id, name: name, type: "text", required: true, autocomplete: "off" });
    }
    var help = el("p", { className: "help", id: id + "-help", text: helpParts.join(" · ") });
    var error = el("p", { className: "field-error", id: id + "-error", hidden: true });
    input.setAttribute("aria-describedby", (helpParts.length ? id + "-help " : "") + id + "-error");
    var label = el("label", { "for": id, text: info.label });
    var wrapper = el("div", { className: "field" }, [label, input, help, error]);
    var field = { name: name, spec: spec, info: info, input: input, error: error, wrapper: wrapper };
    input.addEventListener("blur", function (event) {
      // Leaving a field for the submit button: the submit validates everything. Showing a message
      // here would move the button between mousedown and mouseup, and the click would be lost.
      if (pressingSubmit || (event.relatedTarget && event.relatedTarget.type === "submit")) return;
      if (input.value !== "" || input.dataset.touched) showFieldError(field, validate(field));
    });
    input.addEventListener("input", function () {
      input.dataset.touched = "1";
      if (input.getAttribute("aria-invalid") === "true") showFieldError(field, validate(field));
    });
    input.addEventListener("change", function () { if (spec.kind === "category") showFieldError(field, validate(field)); });
    return field;
  }

  function validate(field) {
    var spec = field.spec, input = field.input, label = field.info.label;
    var raw = input.value.trim();
    if (input.validity && input.validity.badInput) return "Enter a number.";
    if (raw === "") return spec.kind === "category" ? "Choose the " + label.toLowerCase() + "." : "Enter the " + label.toLowerCase() + ".";
    if (spec.kind === "category") return (spec.values || []).indexOf(raw) >= 0 ? "" : "Choose one of the listed values.";
    if (spec.kind === "int" || spec.kind === "float") {
      var n = Number(raw);
      if (!isFinite(n)) return "Enter a number.";
      if (spec.kind === "int" && !Number.isInteger(n)) return "Enter a whole number.";
      if (n < spec.min || n > spec.max) return "Must be between " + fmtNumber(spec.min) + " and " + fmtNumber(spec.max) + ".";
    }
    return "";
  }

  function showFieldError(field, message) {
    field.error.textContent = message;
    field.error.hidden = !message;
    if (message) field.input.setAttribute("aria-invalid", "true");
    else field.input.removeAttribute("aria-invalid");
    field.wrapper.classList.toggle("invalid", !!message);
  }

  function readRecord() {
    var record = {};
    fields.forEach(function (f) {
      var raw = f.input.value.trim();
      record[f.name] = (f.spec.kind === "int" || f.spec.kind === "float") ? Number(raw) : raw;
    });
    return record;
  }

  function clearForm() {
    fields.forEach(function (f) { f.input.value = ""; delete f.input.dataset.touched; showFieldError(f, ""); });
    $("form-summary").hidden = true;
    resetResult("The prediction will appear here.");
    if (fields[0]) fields[0].input.focus();
  }

  function setupExamples() {
    var examples = schema.examples || {};
    [["load-churner", "churner", "Example churner"], ["load-loyal", "loyal", "Example loyal customer"]].forEach(function (spec) {
      var button = $(spec[0]);
      var record = examples[spec[1]];
      if (!record) { button.hidden = true; return; }
      button.addEventListener("click", function () {
        fields.forEach(function (f) {
          var value = record[f.name];
          f.input.value = value === undefined || value === null ? "" : String(value);
          showFieldError(f, f.input.value === "" ? "" : validate(f));
        });
        $("form-summary").hidden = true;
        resetResult(spec[2] + " loaded. Press “Predict churn” to score it.");
      });
    });
  }

  function resetResult(text) {
    var result = $("result");
    result.className = "result";
    result.textContent = "";
    result.appendChild(el("p", { className: "muted", text: text }));
  }

  // ---------------------------------------------------------------- API

  function ApiError(message, detail) { this.message = message; this.detail = detail || ""; }

  function callApi(body, contentType) {
    var url = apiUrl + "/predict";
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": contentType },
      body: body,
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      return response.text().catch(function () {
        throw new ApiError("The connection to the prediction API at " + apiUrl + " broke off.", "Try again in a moment.");
      }).then(function (text) {
        var data = null;
        try { data = JSON.parse(text); } catch (e) { data = null; }
        if (!response.ok) {
          var what = STATUS_TEXT[response.status] || (response.status >= 500 ? "server error" : "request error");
          var detail = data && typeof data.error === "string" ? data.error
            : data && typeof data.message === "string" ? data.message
            : text && text.length < 300 && !/^\s*</.test(text) ? text.trim() : response.statusText;
          throw new ApiError("The prediction API answered " + response.status + ": " + what + ".", detail);
        }
        if (!data || !Array.isArray(data.predictions)) {
          throw new ApiError("The prediction API answered with something that is not a prediction.", text.slice(0, 200));
        }
        return data;
      });
    }, function (err) {
      if (err && err.name === "AbortError") {
        throw new ApiError("The prediction API at " + apiUrl + " did not answer within " + TIMEOUT_MS / 1000 + " seconds.", "Try again in a moment.");
      }
      throw new ApiError("Cannot reach the prediction API at " + apiUrl + ".",
        "Check your network connection and that the API is running (locally: python -m ml stack).");
    }).finally(function () { if (timer) clearTimeout(timer); });
  }

  function errorBox(err, heading) {
    var message = err instanceof ApiError ? err.message : "Something went wrong in the page: " + (err && err.message);
    var box = el("div", { className: "notice notice-error", role: "alert" }, [
      el("p", { className: "notice-title", text: heading }),
      el("p", { className: "api-message", text: message })
    ]);
    if (err instanceof ApiError && err.detail) box.appendChild(el("p", { className: "api-detail", text: err.detail }));
    return box;
  }

  function cutoffOf(data) {
    if (data && typeof data.cutoff === "number") return data.cutoff;
    return schema.decision && typeof schema.decision.cutoff === "number" ? schema.decision.cutoff : null;
  }

  // ---------------------------------------------------------------- one customer

  function onPredict(event) {
    event.preventDefault();
    var invalid = [];
    fields.forEach(function (f) {
      var message = validate(f);
      showFieldError(f, message);
      if (message) invalid.push(f);
    });
    var summary = $("form-summary");
    if (invalid.length) {
      summary.textContent = invalid.length === 1 ? "Fix 1 field before predicting: " + invalid[0].info.label + "."
        : "Fix " + invalid.length + " fields before predicting.";
      summary.hidden = false;
      invalid[0].input.focus();
      return;
    }
    summary.hidden = true;
    var button = $("predict");
    var result = $("result");
    button.disabled = true;
    result.setAttribute("aria-busy", "true");
    result.className = "result";
    result.textContent = "";
    result.appendChild(el("p", { className: "muted", text: "Asking the model…" }));
    callApi(JSON.stringify(readRecord()), "application/json").then(function (data) {
      var prediction = data.predictions[0];
      if (!prediction || typeof prediction.churn_probability !== "number") {
        throw new ApiError("The prediction API answered without a churn probability.");
      }
      renderResult(prediction, cutoffOf(data));
    }).catch(function (err) {
      result.className = "result";
      result.textContent = "";
      result.appendChild(errorBox(err, "No prediction"));
      markFieldFromError(err);
    }).finally(function () {
      button.disabled = false;
      result.removeAttribute("aria-busy");
    });
  }

  // A 400 names the field ("record 0, field 'Day Mins': …"): point at it in the form.
  function markFieldFromError(err) {
    if (!(err instanceof ApiError) || !err.detail) return;
    var match = /field '([^']+)'/.exec(err.detail);
    if (match && byName[match[1]]) showFieldError(byName[match[1]], "The API rejected this value: " + err.detail);
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
    }, [el("div", { className: "bar-fill", style: "width:" + (p * 100).toFixed(2) + "%" })]);
    if (cutoff !== null) {
      bar.appendChild(el("div", { className: "bar-cutoff", style: "left:" + (cutoff * 100).toFixed(2) + "%", "aria-hidden": "true" }));
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

  // ---------------------------------------------------------------- many customers (CSV)

  // RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF. Returns rows of strings, blank lines dropped.
  function parseCsv(text) {
    var rows = [], row = [], cell = "", quoted = false, i = 0;
    text = text.replace(/^\uFEFF/, "");
    for (; i < text.length; i++) {
      var c = text[i];
      if (quoted) {
        if (c === '"') {
          if (text[i + 1] === '"') { cell += '"'; i++; } else quoted = false;
        } else cell += c;
      } else if (c === '"') quoted = true;
      else if (c === ",") { row.push(cell); cell = ""; }
      else if (c === "\n" || c === "\r") {
        if (c === "\r" && text[i + 1] === "\n") i++;
        row.push(cell); cell = "";
        rows.push(row); row = [];
      } else cell += c;
    }
    if (cell !== "" || row.length) { row.push(cell); rows.push(row); }
    return rows.filter(function (r) { return !(r.length === 1 && r[0].trim() === ""); });
  }

  function showInlineError(id, message) {
    var node = $(id);
    node.textContent = message;
    node.hidden = !message;
  }

  function onFile(event) {
    var file = event.target.files && event.target.files[0];
    if (!file) return;
    var reader = new FileReader();
    reader.onload = function () {
      $("batch-csv").value = String(reader.result);
      onBatch();
    };
    reader.onerror = function () { showInlineError("batch-csv-error", "Could not read " + file.name + "."); };
    reader.readAsText(file);
  }

  function onBatch(event) {
    if (event) event.preventDefault();
    var textarea = $("batch-csv");
    var text = textarea.value;
    var rows = parseCsv(text);
    var problem = "";
    var header = rows[0] ? rows[0].map(function (h) { return h.trim(); }) : [];
    var lowerHeader = header.map(function (h) { return h.toLowerCase(); });
    if (rows.length === 0) problem = "Paste a CSV with a header row and at least one customer.";
    else {
      var missing = schema.required.filter(function (n) { return lowerHeader.indexOf(n.toLowerCase()) < 0; });
      if (missing.length === schema.required.length) problem = "The first line must be a header row of field names (State, Account Length, …).";
      else if (missing.length) problem = "The header lacks " + (missing.length === 1 ? "the column " : "the columns ") + missing.join(", ") + ".";
      else if (rows.length === 1) problem = "The CSV has a header but no customers.";
      else {
        for (var i = 1; i < rows.length; i++) {
          if (rows[i].length !== header.length) {
            problem = "Line " + (i + 1) + " has " + rows[i].length + " values; the header has " + header.length + ".";
            break;
          }
        }
      }
    }
    textarea.setAttribute("aria-invalid", problem ? "true" : "false");
    showInlineError("batch-csv-error", problem);
    if (problem) { textarea.focus(); return; }
    var records = rows.slice(1).map(function (r) {
      var record = {};
      header.forEach(function (h, j) { record[h] = r[j]; });
      return record;
    });
    var body = rows.map(function (r) { return r.map(csvCell).join(","); }).join("\n") + "\n";
    runBatch($("batch-submit"), body, function (data) {
      var shown = BATCH_COLUMNS.map(function (name) { return headerName(header, name); }).filter(Boolean);
      var actual = headerName(header, schema.label && schema.label.name ? schema.label.name : "Churn?");
      renderTable(records, data, shown, actual);
    });
  }

  function csvCell(value) { return /[",\r\n]/.test(value) ? '"' + value.replace(/"/g, '""') + '"' : value; }
  function headerName(header, name) {
    for (var i = 0; i < header.length; i++) if (header[i].toLowerCase() === name.toLowerCase()) return header[i];
    return null;
  }

  function runBatch(button, body, render) {
    var out = $("batch-result");
    button.disabled = true;
    out.setAttribute("aria-busy", "true");
    out.textContent = "";
    out.appendChild(el("p", { className: "muted", text: "Asking the model…" }));
    callApi(body, "text/csv").then(function (data) {
      out.textContent = "";
      render(data);
    }).catch(function (err) {
      out.textContent = "";
      out.appendChild(errorBox(err, "No predictions"));
    }).finally(function () {
      button.disabled = false;
      out.removeAttribute("aria-busy");
    });
  }

  // ---------------------------------------------------------------- raw vector mode

  function setupVector() {
    var width = schema.columns.length;
    $("vector-width-text").textContent = "This model takes " + width + " values per line.";
    $("vector-help").textContent = width + " comma-separated numbers per line; no header.";
    var list = $("vector-columns");
    schema.columns.forEach(function (c) { list.appendChild(el("li", { text: typeof c === "string" ? c : c.name })); });
    $("vector-form").addEventListener("submit", onVector);
  }

  function onVector(event) {
    event.preventDefault();
    var width = schema.columns.length;
    var textarea = $("vector-input");
    var lines = textarea.value.split(/\r?\n/).map(function (l) { return l.trim(); }).filter(Boolean);
    var problem = lines.length ? "" : "Paste at least one line of " + width + " comma-separated numbers.";
    var rows = [];
    for (var i = 0; i < lines.length && !problem; i++) {
      var values = lines[i].split(",").map(function (v) { return v.trim(); });
      if (values.length !== width) {
        problem = "Line " + (i + 1) + " has " + values.length + " values; the model expects " + width + ".";
      } else {
        for (var j = 0; j < values.length; j++) {
          if (values[j] === "" || !isFinite(Number(values[j]))) {
            problem = "Line " + (i + 1) + ", value " + (j + 1) + " is not a number: “" + values[j].slice(0, 20) + "”.";
            break;
          }
        }
      }
      rows.push(values);
    }
    textarea.setAttribute("aria-invalid", problem ? "true" : "false");
    showInlineError("vector-error", problem);
    if (problem) { textarea.focus(); return; }
    var body = rows.map(function (r) { return r.join(","); }).join("\n") + "\n";
    runBatch($("vector-submit"), body, function (data) {
      renderTable(rows.map(function () { return {}; }), data, [], null);
    });
  }

  // ---------------------------------------------------------------- sortable result table

  function renderTable(records, data, shownColumns, actualColumn) {
    var out = $("batch-result");
    var cutoff = cutoffOf(data);
    var predictions = data.predictions;
    if (predictions.length !== records.length) {
      out.appendChild(errorBox(new ApiError("The API returned " + predictions.length + " predictions for " + records.length + " customers."), "Unexpected answer"));
      return;
    }
    var rows = records.map(function (record, i) {
      var p = predictions[i];
      return { index: i + 1, record: record, p: p.churn_probability, churn: p.will_churn === true };
    });
    var columns = [
      { key: "index", label: "Row", numeric: true, value: function (r) { return r.index; } },
      { key: "p", label: "Churn probability", numeric: true, value: function (r) { return r.p; },
        render: function (r) {
          return el("span", { className: "cell-prob" }, [
            el("span", { className: "mini-bar", "aria-hidden": "true" }, [el("span", { style: "width:" + (r.p * 100).toFixed(1) + "%" })]),
            fmtPct(r.p)
          ]);
        } },
      { key: "churn", label: "Decision", numeric: false, value: function (r) { return r.churn ? 1 : 0; },
        render: function (r) { return el("span", { className: r.churn ? "tag tag-churn" : "tag tag-stay", text: r.churn ? "Make an offer" : "Likely to stay" }); } }
    ];
    shownColumns.forEach(function (name) {
      var spec = schema.fields[name] || {};
      var numeric = spec.kind === "int" || spec.kind === "float";
      columns.push({ key: name, label: infoFor(name).label, numeric: numeric,
        value: function (r) { var v = r.record[name]; return numeric ? Number(v) : String(v || ""); } });
    });
    if (actualColumn) {
      columns.push({ key: actualColumn, label: "Actually churned", numeric: false,
        value: function (r) { return String(r.record[actualColumn] || ""); } });
    }
    var flagged = rows.filter(function (r) { return r.churn; }).length;
    out.appendChild(el("p", { className: "batch-summary", id: "batch-summary", text:
      rows.length + (rows.length === 1 ? " customer" : " customers") + " scored; " + flagged + " likely to churn" +
      (cutoff !== null ? " at the cutoff of " + fmtPct(cutoff) : "") + "." }));

    var sort = { key: "p", dir: "descending" };
    var table = el("table", { className: "results", id: "results-table" });
    table.appendChild(el("caption", { className: "visually-hidden", text: "Predictions; select a column header to sort." }));
    var headRow = el("tr");
    var headers = columns.map(function (col) {
      var button = el("button", { type: "button", className: "sort", text: col.label });
      var th = el("th", { scope: "col", className: col.numeric ? "num" : null }, [button]);
      button.addEventListener("click", function () {
        if (sort.key === col.key) sort.dir = sort.dir === "ascending" ? "descending" : "ascending";
        else sort = { key: col.key, dir: col.key === "p" || col.key === "churn" ? "descending" : "ascending" };
        draw();
      });
      headRow.appendChild(th);
      return th;
    });
    table.appendChild(el("thead", {}, [headRow]));
    var tbody = el("tbody");
    table.appendChild(tbody);

    function draw() {
      var col = columns.filter(function (c) { return c.key === sort.key; })[0];
      var sign = sort.dir === "ascending" ? 1 : -1;
      var sorted = rows.slice().sort(function (a, b) {
        var x = col.value(a), y = col.value(b);
        var cmp = col.numeric || typeof x === "number" ? (x - y) : String(x).localeCompare(String(y));
        if (isNaN(cmp)) cmp = 0;
        return cmp !== 0 ? sign * cmp : a.index - b.index;
      });
      headers.forEach(function (th, i) {
        if (columns[i].key === sort.key) th.setAttribute("aria-sort", sort.dir);
        else th.removeAttribute("aria-sort");
      });
      tbody.textContent = "";
      sorted.forEach(function (r) {
        var tr = el("tr", { className: r.churn ? "row-churn" : null });
        columns.forEach(function (c) {
          var content = c.render ? c.render(r) : String(c.key in r.record ? r.record[c.key] : c.value(r));
          tr.appendChild(el(c.key === "index" ? "th" : "td", { className: c.numeric ? "num" : null, scope: c.key === "index" ? "row" : null }, [content]));
        });
        tbody.appendChild(tr);
      });
    }
    draw();
    out.appendChild(el("div", { className: "table-scroll", tabindex: "0", role: "region", "aria-label": "Prediction results" }, [table]));
  }

  function showModelInfo() {
    var parts = ["Model: " + schema.columns.length + " encoded columns"];
    var d = schema.decision;
    if (d && typeof d.cutoff === "number") parts.push("decision cutoff " + d.cutoff.toFixed(2) + (d.method ? " (" + d.method + ")" : ""));
    parts.push("API: " + apiUrl);
    $("model-info").textContent = parts.join(" · ");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

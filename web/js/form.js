/* The one-customer form: built from the schema's fields, validated inline and on submit. */
(function (C) {
  "use strict";

  var $ = C.$, el = C.el, fmtNumber = C.fmtNumber, ApiError = C.ApiError, schema = C.schema;

  // Presentation only: what an agent calls each raw field, and how a reason puts a customer's value
  // in words ("4 customer-service calls", "No international plan"). Names, kinds and ranges come
  // from the schema. `noun` is [one, many] after a number; `says` is the words for a category's
  // values; `money` says "<label> of $x". Derived totals are never form fields, but
  // the API names them as reasons.
  var FIELD_INFO = {
    "State": { label: "State", group: "account" },
    "Area Code": { label: "Area code", group: "account" },
    "Account Length": { label: "Account length", unit: "days", group: "account", noun: ["day as a customer", "days as a customer"] },
    "Int'l Plan": { label: "International plan", group: "account", says: { yes: "International plan", no: "No international plan" } },
    "VMail Plan": { label: "Voicemail plan", group: "account", says: { yes: "Voicemail plan", no: "No voicemail plan" } },
    "VMail Message": { label: "Voicemail messages", unit: "messages", group: "account", noun: ["voicemail message", "voicemail messages"] },
    "Day Mins": { label: "Day minutes", unit: "min", group: "usage", noun: ["day minute", "day minutes"] },
    "Day Calls": { label: "Day calls", unit: "calls", group: "usage", noun: ["day call", "day calls"] },
    "Eve Mins": { label: "Evening minutes", unit: "min", group: "usage", noun: ["evening minute", "evening minutes"] },
    "Eve Calls": { label: "Evening calls", unit: "calls", group: "usage", noun: ["evening call", "evening calls"] },
    "Night Mins": { label: "Night minutes", unit: "min", group: "usage", noun: ["night minute", "night minutes"] },
    "Night Calls": { label: "Night calls", unit: "calls", group: "usage", noun: ["night call", "night calls"] },
    "Intl Mins": { label: "International minutes", unit: "min", group: "usage", noun: ["international minute", "international minutes"] },
    "Intl Calls": { label: "International calls", unit: "calls", group: "usage", noun: ["international call", "international calls"] },
    "CustServ Calls": { label: "Customer service calls", unit: "calls", group: "service", help: "This month", noun: ["customer-service call", "customer-service calls"] },
    "Total Charge": { label: "Monthly bill", group: "derived", money: true },
    "Total Mins": { label: "Total minutes", group: "derived", noun: ["minute in total", "minutes in total"] },
    "Total Calls": { label: "Total calls", group: "derived", noun: ["call in total", "calls in total"] }
  };
  var GROUPS = [
    { id: "account", title: "Account" },
    { id: "usage", title: "Usage this month" },
    { id: "service", title: "Customer service" },
    { id: "other", title: "Other" }
  ];
  var CATEGORY_TEXT = { "yes": "Yes", "no": "No" };

  var fields = [];   // [{name, spec, info, input, error, wrapper}]
  var byName = {};
  var pressingSubmit = false;

  function slug(name) { return "f-" + name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, ""); }
  function infoFor(name) { return FIELD_INFO[name] || { label: name, group: "other" }; }

  function build() {
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
    // A press on Predict blurs the field first; the blur handler must know (see makeField).
    $("predict").addEventListener("pointerdown", function () { pressingSubmit = true; });
    document.addEventListener("pointerup", function () { setTimeout(function () { pressingSubmit = false; }, 0); });
    document.addEventListener("pointercancel", function () { pressingSubmit = false; });
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

  // Validates every field; on failure shows the summary, focuses the first bad field and returns false.
  function checkAll() {
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
      return false;
    }
    summary.hidden = true;
    return true;
  }

  // The record when every field is valid, else null; shows nothing and moves no focus (the
  // what-if re-score runs while the user types).
  function validRecord() {
    return fields.every(function (f) { return validate(f) === ""; }) ? readRecord() : null;
  }

  function readRecord() {
    var record = {};
    fields.forEach(function (f) {
      var raw = f.input.value.trim();
      record[f.name] = (f.spec.kind === "int" || f.spec.kind === "float") ? Number(raw) : raw;
    });
    return record;
  }

  // Fills the form from a record (an example); values present are validated, missing ones left blank.
  function fill(record) {
    fields.forEach(function (f) {
      var value = record[f.name];
      f.input.value = value === undefined || value === null ? "" : String(value);
      showFieldError(f, f.input.value === "" ? "" : validate(f));
    });
    $("form-summary").hidden = true;
  }

  function clear() {
    fields.forEach(function (f) { f.input.value = ""; delete f.input.dataset.touched; showFieldError(f, ""); });
    $("form-summary").hidden = true;
  }

  function focusFirst() { if (fields[0]) fields[0].input.focus(); }

  // A 400 names the field ("record 0, field 'Day Mins': …"): point at it in the form.
  function markFieldFromError(err) {
    if (!(err instanceof ApiError) || !err.detail) return;
    var match = /field '([^']+)'/.exec(err.detail);
    if (match && byName[match[1]]) showFieldError(byName[match[1]], "The API rejected this value: " + err.detail);
  }

  C.infoFor = infoFor;
  C.form = {
    build: build,
    checkAll: checkAll,
    readRecord: readRecord,
    validRecord: validRecord,
    fill: fill,
    clear: clear,
    focusFirst: focusFirst,
    markFieldFromError: markFieldFromError
  };
})(window.Churn = window.Churn || {});

/* Customer churn check: builds the form from the model's feature schema and calls POST /predict.
 * No dependencies and no build step: classic scripts sharing window.Churn, loaded in order by
 * index.html (core, form, costs, why, whatif, csv, ranking, batch, app). window.CHURN_CONFIG
 * comes from config.js (written by Terraform, or served by `python -m ml stack` locally):
 * {apiUrl, schema}; the schema's decision carries the cutoff, costs and calibration. Both write apiUrl ""
 * (or may leave it out): the API is on this page's own origin (CloudFront sends /predict to it;
 * the local stack serves both), which is all the CSP's connect-src 'self' allows. A non-empty
 * apiUrl is the API's base URL, for a page served apart from its API (its CSP must admit it).
 *
 * This file goes first: config, the DOM/format helpers every script uses, and the /predict client. */
(function (C) {
  "use strict";

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
  var TIMEOUT_MS = 30000;

  var config = window.CHURN_CONFIG;
  var schema = config && config.schema;
  var configuredApi = config ? config.apiUrl : undefined;
  var apiUrlValid = configuredApi === undefined || configuredApi === null || typeof configuredApi === "string";
  // Where /predict is: this page's own origin unless config.js names another (messages show it in full).
  var apiUrl = (typeof configuredApi === "string" ? configuredApi.replace(/\/+$/, "") : "") || window.location.origin;

  // ---------------------------------------------------------------- helpers

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === undefined || value === null || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      // CSSOM, not a style attribute: the CSP (style-src 'self') blocks inline style attributes.
      else if (key === "style") Object.assign(node.style, value);
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function fmtNumber(n) { return Number(n).toLocaleString("en-US", { maximumFractionDigits: 2 }); }
  function fmtPct(p) { return (p * 100).toFixed(1) + "%"; }
  // Signed percentage points with a true minus sign: "+18 points", "−3 points"; whole points unless
  // `decimals` says otherwise, and one decimal below 1 so that a small effect does not read as 0.
  function fmtPoints(points, decimals) {
    var places = decimals !== undefined ? decimals : Math.abs(points) < 0.95 ? 1 : 0;
    var text = Math.abs(points).toFixed(places);
    var sign = Number(text) === 0 ? "±" : points > 0 ? "+" : "\u2212";
    return sign + text + (text === "1" ? " point" : " points");
  }
  function fmtMoney(x) { return x.toLocaleString("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 2 }); }

  // ---------------------------------------------------------------- API

  // An error whose message is written for the user (as opposed to a bug in the page).
  function ApiError(message, detail) { this.message = message; this.detail = detail || ""; }

  // POST a body to /predict; resolves with {predictions, ...}, rejects with an ApiError.
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

  // The API's cutoff when it sends one, else the one the page was deployed with.
  function cutoffOf(data) {
    if (data && typeof data.cutoff === "number") return data.cutoff;
    return schema.decision && typeof schema.decision.cutoff === "number" ? schema.decision.cutoff : null;
  }

  // Which model answered, from the API's `model`: "Model version 3, approved 6 Dec 2026" (the
  // date in the reader's own format, the day in UTC as the registry records it), or the local
  // bundle's line when the model is not from the registry. Null when the answer has no `model`.
  var approvedFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
  function modelLine(data) {
    var model = data && data.model;
    if (!model || typeof model !== "object") return null;
    if (typeof model.version !== "string" || !model.version) return "Model: local bundle, not from the registry";
    var approved = typeof model.approved_at === "string" ? new Date(model.approved_at) : null;
    var when = approved && !isNaN(approved.getTime()) ? ", approved " + approvedFormat.format(approved) : "";
    return "Model version " + model.version + when;
  }

  C.config = config;
  C.schema = schema;
  C.apiUrl = apiUrl;
  C.apiUrlValid = apiUrlValid;
  C.$ = $;
  C.el = el;
  C.fmtNumber = fmtNumber;
  C.fmtPct = fmtPct;
  C.fmtMoney = fmtMoney;
  C.fmtPoints = fmtPoints;
  C.ApiError = ApiError;
  C.callApi = callApi;
  C.errorBox = errorBox;
  C.cutoffOf = cutoffOf;
  C.modelLine = modelLine;
})(window.Churn = window.Churn || {});

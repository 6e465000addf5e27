/* Why: the API's reasons for one score, as a signed horizontal bar chart in plain words.
 *
 * Each reason is {field, value, points}: a customer field (or a derived total), the customer's
 * value, and how many percentage points of churn probability it moved the score from the base
 * rate (positive: toward churn). Bars toward churn go right, bars toward staying go left; plain
 * DOM, and only widths are set from script (through the CSSOM, which style-src 'self' allows). */
(function (C) {
  "use strict";

  var el = C.el, fmtPct = C.fmtPct, fmtMoney = C.fmtMoney, fmtNumber = C.fmtNumber, fmtPoints = C.fmtPoints, infoFor = C.infoFor;

  // "4 customer-service calls", "No international plan", "Monthly bill of $75.56", "State: CT".
  function phrase(reason) {
    var info = infoFor(reason.field), value = reason.value;
    if (value === null || value === undefined || value === "") return info.label + ": missing";
    if (info.says && Object.prototype.hasOwnProperty.call(info.says, value)) return info.says[value];
    if (typeof value === "number") {
      if (info.money) return info.label + " of " + fmtMoney(value);
      if (info.noun) return fmtNumber(value) + " " + info.noun[value === 1 ? 0 : 1];
    }
    return info.label + ": " + value;
  }

  function line(reason) { return phrase(reason) + ": " + fmtPoints(reason.points); }

  function valid(list) {
    return Array.isArray(list) && list.every(function (r) { return r && typeof r.field === "string" && typeof r.points === "number"; });
  }

  // The chart for one prediction, or null when the API sent no reasons (an API from before them).
  function render(prediction, explanation) {
    var reasons = prediction.reasons;
    if (!reasons || !valid(reasons["for"]) || !valid(reasons.against)) return null;
    var rows = reasons["for"].concat(reasons.against);
    var largest = rows.reduce(function (m, r) { return Math.max(m, Math.abs(r.points)); }, 0) || 1;
    var base = explanation && typeof explanation.base_probability === "number" ? explanation.base_probability : null;

    var wrap = el("div", { className: "why", id: "why" }, [el("h4", { id: "why-title", text: "Why this score" })]);
    var method = (base !== null ? "Starting from the model's base rate of " + fmtPct(base) + " (its score before it looks at any field), each" : "Each") +
      " bar is how far one of this customer's values moved the churn probability, in percentage points" +
      " (SHAP values, computed from the model's own trees).";
    if (base !== null) {
      var shown = rows.reduce(function (s, r) { return s + r.points; }, 0);
      var rest = 100 * (prediction.churn_probability - base) - shown;
      if (Math.abs(rest) >= 0.05) method += " The fields not shown move it by " + fmtPoints(rest, 1) + " more.";
    }
    wrap.appendChild(el("p", { className: "why-method", id: "why-method", text: method }));
    if (!rows.length) {
      wrap.appendChild(el("p", { className: "muted", text: "No field moved this score by a tenth of a point or more." }));
      return wrap;
    }
    wrap.appendChild(el("p", { className: "why-axis", "aria-hidden": "true" }, [
      el("span", { text: "← toward staying" }), el("span", { text: "toward churn →" })
    ]));
    var list = el("ul", { className: "why-chart", id: "why-chart", "aria-labelledby": "why-title" });
    rows.forEach(function (r) {
      var side = r.points > 0 ? "for" : "against";
      list.appendChild(el("li", { className: "why-row why-" + side }, [
        el("span", { className: "why-label", text: phrase(r) }),
        el("span", { className: "visually-hidden", text: ": " }),
        el("span", { className: "why-track", "aria-hidden": "true" }, [
          el("span", { className: "why-bar", style: { width: (50 * Math.abs(r.points) / largest).toFixed(2) + "%" } })
        ]),
        el("span", { className: "why-points", text: fmtPoints(r.points) })
      ]));
    });
    wrap.appendChild(list);
    if (explanation && typeof explanation.method === "string") {
      wrap.appendChild(el("details", { className: "why-how" }, [
        el("summary", { text: "How the points are computed" }),
        el("p", { className: "small muted", text: explanation.method })
      ]));
    }
    return wrap;
  }

  C.why = { phrase: phrase, line: line, render: render };
})(window.Churn = window.Churn || {});

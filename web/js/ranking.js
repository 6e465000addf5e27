/* Whom to call first: the customers of a scored CSV worth an offer under the user's costs
 * (churn probability × loss > offer cost), ranked by the expected saving of an offer
 * (probability × loss − offer cost), each with the strongest reason toward churn. Redrawn when
 * the user's costs change; the scores themselves do not depend on costs, so nothing is re-sent. */
(function (C) {
  "use strict";

  var $ = C.$, el = C.el, fmtPct = C.fmtPct, fmtMoney = C.fmtMoney, costs = C.costs, why = C.why;

  var TOP_N = 10;
  var last = null;  // {records, predictions, phone, node} of the batch on screen

  function setup() {
    costs.onChange(function () { if (last && last.node.isConnected) draw(); });
  }

  // The section for a batch just scored (empty when the page has no costs to rank by).
  function show(records, predictions, phoneColumn) {
    last = { records: records, predictions: predictions, phone: phoneColumn, node: el("section", { id: "at-risk", className: "at-risk", "aria-labelledby": "at-risk-title" }) };
    if (costs.available()) draw();
    return last.node;
  }

  function draw() {
    var node = last.node;
    node.textContent = "";
    var worth = last.predictions.map(function (p, i) {
      return { row: i + 1, p: p.churn_probability, saving: costs.saving(p.churn_probability), reasons: p.reasons, record: last.records[i] };
    }).filter(function (r) { return costs.acts(r.p); });
    worth.sort(function (a, b) { return b.saving - a.saving || a.row - b.row; });
    var total = worth.reduce(function (sum, r) { return sum + r.saving; }, 0);
    var c = costs.current();
    node.appendChild(el("h3", { id: "at-risk-title", text: "Whom to call first" }));
    node.appendChild(el("p", { id: "at-risk-summary", text: worth.length
      ? worth.length + " of " + last.predictions.length + " customers are worth an offer at your costs (" + fmtMoney(c.offer) +
        " an offer, " + fmtMoney(c.loss) + " a lost customer); offers to all of them save " + fmtMoney(total) + " on average." +
        (worth.length > TOP_N ? " The " + TOP_N + " with the largest expected saving:" : "")
      : "None of the " + last.predictions.length + " customers is worth an offer at your costs." }));
    if (!worth.length) return;
    var head = ["Rank", "Row"].concat(last.phone ? ["Phone"] : [], ["Churn probability", "Expected saving", "Top reason"]);
    var body = el("tbody");
    worth.slice(0, TOP_N).forEach(function (r, i) {
      var top = r.reasons && Array.isArray(r.reasons["for"]) && r.reasons["for"][0];
      var cells = [el("th", { scope: "row", className: "num", text: String(i + 1) }), el("td", { className: "num", text: String(r.row) })];
      if (last.phone) cells.push(el("td", { text: String(r.record[last.phone] || "") }));
      cells.push(el("td", { className: "num", text: fmtPct(r.p) }), el("td", { className: "num", text: fmtMoney(r.saving) }),
        el("td", { className: "reason", text: top ? why.line(top) : "–" }));
      body.appendChild(el("tr", {}, cells));
    });
    var table = el("table", { className: "results", id: "at-risk-table" }, [
      el("caption", { className: "visually-hidden", text: "Customers worth an offer, largest expected saving first" }),
      el("thead", {}, [el("tr", {}, head.map(function (h) { return el("th", { scope: "col", text: h }); }))]),
      body
    ]);
    node.appendChild(el("div", { className: "table-scroll", tabindex: "0", role: "region", "aria-labelledby": "at-risk-title" }, [table]));
  }

  C.ranking = { setup: setup, show: show };
})(window.Churn = window.Churn || {});

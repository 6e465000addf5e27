/* CSV in and out: the pasted or uploaded file, and the scored file the page offers for download.
 *
 * The download has the same columns as `ml score --explain` writes: the input's own columns, then
 * churn_probability and will_churn, then the reason columns. Their names are defined once in
 * Python (ml/features/reasons.py, csv_columns()); reasonColumns() spells the same rule here, and a
 * browser test holds the two together. */
(function (C) {
  "use strict";

  var TOP = 3;  // reasons for, and against, churn per customer (reasons.py's TOP)
  var OUTPUT_COLUMNS = ["churn_probability", "will_churn"];  // ml/model/batch_score.py's OUTPUT_COLUMNS
  // A spreadsheet runs a cell starting with one of these as a formula (ml/model/csv_safety.py's
  // DANGEROUS): such a cell that is not a number is written with a leading single quote.
  var DANGEROUS = ["=", "+", "-", "@", "\t", "\r"];

  // RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF. Returns rows of strings, blank lines dropped.
  function parse(text) {
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

  function quote(value) { return /[",\r\n]/.test(value) ? '"' + value.replace(/"/g, '""') + '"' : value; }

  function guard(value) {
    if (value === "" || DANGEROUS.indexOf(value[0]) < 0 || isFinite(Number(value))) return value;
    return "'" + value;
  }

  function reasonColumns() {
    var names = [];
    ["for", "against"].forEach(function (side) {
      for (var rank = 1; rank <= TOP; rank++) {
        ["", "_value", "_points"].forEach(function (part) { names.push("reason_" + side + "_" + rank + part); });
      }
    });
    return names;
  }

  // One customer's reasons as the cells of reasonColumns(): empty where there are fewer.
  function reasonCells(reasons) {
    var cells = [];
    ["for", "against"].forEach(function (side) {
      var listed = reasons && Array.isArray(reasons[side]) ? reasons[side] : [];
      for (var rank = 0; rank < TOP; rank++) {
        var r = listed[rank];
        if (r) cells.push(r.field, r.value === null || r.value === undefined ? "" : String(r.value), String(r.points));
        else cells.push("", "", "");
      }
    });
    return cells;
  }

  // The scored file: header and rows as read, a prediction per row; every cell guarded and quoted.
  function scored(header, rows, predictions) {
    var lines = [header.concat(OUTPUT_COLUMNS, reasonColumns())];
    rows.forEach(function (row, i) {
      var p = predictions[i];
      lines.push(row.concat([String(p.churn_probability), p.will_churn ? "True" : "False"], reasonCells(p.reasons)));
    });
    return lines.map(function (cells) { return cells.map(function (v) { return quote(guard(v)); }).join(","); }).join("\n") + "\n";
  }

  C.csv = { parse: parse, quote: quote, reasonColumns: reasonColumns, scored: scored, DANGEROUS: DANGEROUS };
})(window.Churn = window.Churn || {});

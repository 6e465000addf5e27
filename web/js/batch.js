/* Many customers: a pasted or uploaded CSV, or raw encoded vectors (the original lab's mode),
 * scored in one request and shown in a sortable table. A CSV of customers also comes back as a
 * file to download (scores and reasons) and as a ranking of whom to call first (ranking.js). */
(function (C) {
  "use strict";

  var $ = C.$, el = C.el, fmtPct = C.fmtPct, schema = C.schema;
  var callApi = C.callApi, errorBox = C.errorBox, ApiError = C.ApiError, cutoffOf = C.cutoffOf, infoFor = C.infoFor;
  var csv = C.csv, ranking = C.ranking;

  // Columns of the batch table besides probability and decision, shown when the CSV has them.
  var BATCH_COLUMNS = ["Phone", "State", "Account Length", "Int'l Plan", "VMail Plan", "Day Mins", "CustServ Calls"];

  var fileName = "";      // the uploaded file's name, for the download's
  var downloadUrl = null;  // the object URL of the last download, released with the next batch

  function setup() {
    setupVector();
    ranking.setup();
    $("batch-form").addEventListener("submit", onBatch);
    $("batch-file").addEventListener("change", onFile);
    $("batch-csv").addEventListener("input", function () { fileName = ""; });
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
      fileName = file.name;
      onBatch();
    };
    reader.onerror = function () { showInlineError("batch-csv-error", "Could not read " + file.name + "."); };
    reader.readAsText(file);
  }

  function onBatch(event) {
    if (event) event.preventDefault();
    var textarea = $("batch-csv");
    var text = textarea.value;
    var rows = csv.parse(text);
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
    var body = rows.map(function (r) { return r.map(csv.quote).join(","); }).join("\n") + "\n";
    runBatch($("batch-submit"), body, function (data) {
      var shown = BATCH_COLUMNS.map(function (name) { return headerName(header, name); }).filter(Boolean);
      var actual = headerName(header, schema.label && schema.label.name ? schema.label.name : "Churn?");
      if (!renderTable(records, data, shown, actual)) return;
      // Above the full table: the file to take away, then whom to call first.
      var out = $("batch-result"), table = out.querySelector(".table-scroll");
      out.insertBefore(download(header, rows.slice(1), data.predictions), table);
      out.insertBefore(ranking.show(records, data.predictions, headerName(header, "Phone")), table);
      out.insertBefore(el("h3", { className: "batch-all", text: "All customers" }), table);
    });
  }

  // A link to the scored file (input columns, scores, reason columns), made in the page: nothing is uploaded again.
  function download(header, rows, predictions) {
    if (downloadUrl) URL.revokeObjectURL(downloadUrl);
    var blob = new Blob([csv.scored(header, rows, predictions)], { type: "text/csv;charset=utf-8" });
    downloadUrl = URL.createObjectURL(blob);
    var name = (fileName ? fileName.replace(/\.[^.]*$/, "") : "customers") + "-scored.csv";
    return el("p", { className: "actions" }, [
      el("a", { className: "button secondary", id: "batch-download", href: downloadUrl, download: name,
        text: "Download " + name + " (scores and reasons)" })
    ]);
  }
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
      return false;
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
            el("span", { className: "mini-bar", "aria-hidden": "true" }, [el("span", { style: { width: (r.p * 100).toFixed(1) + "%" } })]),
            fmtPct(r.p)
          ]);
        } },
      { key: "churn", label: "Deployment's decision", numeric: false, value: function (r) { return r.churn ? 1 : 0; },
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
    var model = C.modelLine(data);
    if (model) out.appendChild(el("p", { className: "model-line", id: "batch-model-line", text: model }));

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
    return true;
  }

  C.batch = { setup: setup };
})(window.Churn = window.Churn || {});

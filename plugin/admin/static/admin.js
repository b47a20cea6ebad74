/* Backorder Desk admin: progressive enhancement only. Without this file every form still posts to
   its page route and the server answers with the page and the result.

   With it, a form carrying data-api is sent to the JSON API with fetch instead. Inside Shopify
   admin, App Bridge adds "Authorization: Bearer <session token>" to same-origin fetches; for a
   launch (WooCommerce) session the browser sends the cookie and we add the CSRF token header. */
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]');
  var lang = document.documentElement.lang || "en";
  var labelsNode = document.getElementById("bd-labels");
  var labels = labelsNode ? JSON.parse(labelsNode.textContent) : {status: {}};

  function formatDate(iso) {
    if (!iso) return "\u2014";
    try {
      return new Intl.DateTimeFormat(lang, {year: "numeric", month: "short", day: "numeric"})
        .format(new Date(iso + "T00:00:00Z"));
    } catch (e) { return iso; }
  }

  function bodyOf(form) {
    var data = new FormData(form);
    if (form.dataset.action !== "eta") return null;
    if (data.get("clear") === "1") return {eta: null, reason: null};
    return {eta: data.get("eta") || null, reason: data.get("reason") || null};
  }

  function show(target, text, ok) {
    if (!target) return;
    target.textContent = text;
    target.className = target.className.replace(/ ?bd-result-(success|critical)/g, "") +
      (ok ? " bd-result-success" : " bd-result-critical");
  }

  function updateRow(row) {
    var tr = document.getElementById("line-" + row.id);
    if (!tr) return;
    var status = tr.querySelector('[data-field="status"] .bd-status');
    if (status && labels.status[row.status]) status.textContent = labels.status[row.status];
    var eta = tr.querySelector('[data-field="current_eta"]');
    if (eta && eta.firstChild) eta.firstChild.nodeValue = formatDate(row.current_eta) + " ";
    var promised = tr.querySelector('[data-field="promised_eta"]');
    if (promised) promised.textContent = formatDate(row.promised_eta);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.dataset || !form.dataset.api || !window.fetch) return;
    event.preventDefault();
    var rowResult = document.getElementById(form.dataset.result);
    var pageResult = document.getElementById("bd-result");
    var button = form.querySelector('button[type="submit"]');
    var headers = {"Accept": "application/json", "Accept-Language": lang};
    var body = bodyOf(form);
    if (body !== null) headers["Content-Type"] = "application/json";
    if (csrf) headers["X-CSRF-Token"] = csrf.content;
    if (button) button.disabled = true;
    show(rowResult, labels.working || "\u2026", true);
    fetch(form.dataset.api, {method: "POST", headers: headers, credentials: "same-origin",
                             body: body === null ? null : JSON.stringify(body)})
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (json) {
          return {status: response.status, json: json};
        });
      })
      .then(function (answer) {
        var ok = answer.status < 400 && answer.json.ok !== false;
        var message = answer.json.message || (answer.json.error && answer.json.error.message) ||
          String(labels.error || "Error").replace("{message}", "HTTP " + answer.status);
        show(rowResult, message, ok);
        show(pageResult, message, ok);
        if (answer.json.row) updateRow(answer.json.row);
        var confirm = form.querySelector('input[name="confirm"]');
        if (confirm) confirm.checked = false;
      })
      .catch(function (error) {
        var message = String(labels.error || "Error: {message}").replace("{message}", error.message);
        show(rowResult, message, false);
      })
      .then(function () { if (button) button.disabled = false; });
  });
})();

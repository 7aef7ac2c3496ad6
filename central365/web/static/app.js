/* central365 homepage: select-all boxes and live run progress. No framework, no inline code.
 * Everything here is an enhancement: without JavaScript the forms still work and the run page
 * still shows its progress as of the last reload. */
(function () {
  "use strict";

  function setupSelection() {
    var form = document.getElementById("sync-form");
    if (!form) { return; }
    var rows = Array.prototype.slice.call(form.querySelectorAll("[data-row-check]"));
    var pageBox = form.querySelector("[data-select-page]");
    var stateBox = form.querySelector("[data-select-state]");
    var counter = form.querySelector("[data-selected-count]");

    function refresh() {
      var ticked = rows.filter(function (box) { return box.checked; }).length;
      if (pageBox) {
        pageBox.checked = rows.length > 0 && ticked === rows.length;
        pageBox.indeterminate = ticked > 0 && ticked < rows.length;
      }
      if (counter) {
        counter.textContent = stateBox && stateBox.checked
          ? "Every record in this state is selected."
          : (ticked === 1 ? "1 record selected." : ticked + " records selected.");
      }
    }

    if (pageBox) {
      pageBox.hidden = false;
      pageBox.addEventListener("change", function () {
        rows.forEach(function (box) { if (!box.disabled) { box.checked = pageBox.checked; } });
        refresh();
      });
    }
    if (stateBox) {
      stateBox.addEventListener("change", function () {
        rows.forEach(function (box) {
          box.checked = stateBox.checked ? true : box.checked;
          box.disabled = stateBox.checked;
        });
        if (pageBox) { pageBox.disabled = stateBox.checked; }
        refresh();
      });
    }
    rows.forEach(function (box) { box.addEventListener("change", refresh); });
    refresh();
  }

  function setText(root, selector, value) {
    var node = root.querySelector(selector);
    if (node) { node.textContent = value; }
  }

  var STATUS_TEXT = {
    running: "Running\u2026 it goes on if you close this page.",
    finished: "Finished.",
    failed: "Stopped by an error.",
    interrupted: "Interrupted: central365 stopped while this run was going."
  };

  function showRun(root, run) {
    var progress = document.getElementById("run-progress");
    var finished = run.status !== "running";
    if (progress) {
      progress.max = run.total > 0 ? run.total : 1;
      progress.value = run.total > 0 ? run.done : (finished ? 1 : 0);
      progress.dataset.done = run.done;
      progress.dataset.total = run.total;
      progress.textContent = run.done + " of " + run.total;
    }
    ["done", "total", "created", "updated", "failed", "skipped"].forEach(function (name) {
      setText(root, '[data-count="' + name + '"]', Number(run[name]).toLocaleString("en-GB"));
    });
    root.dataset.status = run.status;
    setText(root, "[data-status-text]", STATUS_TEXT[run.status] || run.status);
    var error = root.querySelector("[data-run-error]");
    if (error) { error.textContent = run.error || ""; error.hidden = !run.error; }
    var list = document.getElementById("failures");
    if (list) {
      while (list.firstChild) { list.removeChild(list.firstChild); }
      run.failures.forEach(function (outcome) {
        var item = document.createElement("li");
        item.dataset.key = outcome.key;
        var name = document.createElement("strong");
        name.textContent = outcome.name || outcome.key;
        item.appendChild(name);
        if (outcome.email) { item.appendChild(document.createTextNode(" (" + outcome.email + ")")); }
        item.appendChild(document.createTextNode(": "));
        var reason = document.createElement("span");
        reason.className = "reason";
        reason.textContent = outcome.error || "failed";
        item.appendChild(reason);
        list.appendChild(item);
      });
    }
    var none = root.querySelector("[data-no-failures]");
    if (none) { none.hidden = run.failures.length > 0; }
    var after = root.querySelector("[data-after-run]");
    if (after) { after.hidden = !finished; }
    return finished;
  }

  function setupRunPolling() {
    var root = document.getElementById("run");
    if (!root || !root.dataset.poll) { return; }
    var url = root.dataset.poll + "?limit=0";
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (run) {
          if (!showRun(root, run)) { window.setTimeout(poll, 500); }
        })
        .catch(function () { window.setTimeout(poll, 2000); });
    }
    window.setTimeout(poll, 500);
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupSelection();
    setupRunPolling();
  });
})();

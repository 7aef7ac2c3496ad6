/* central365 homepage: select-all boxes, live run progress, focus after a form comes back, and
 * a sticky selection bar that never covers the focused element.  No framework, no inline code
 * (the CSP forbids it; styles are only changed through the CSSOM, which it allows).
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
    setupEmptySelectionHint(form, rows, stateBox);
  }

  /* "Synchronise selected" with nothing ticked: say so next to the button, stay on the page.
   * The server refuses an empty selection too; this only saves the round trip. */
  function setupEmptySelectionHint(form, rows, stateBox) {
    var button = form.querySelector("#sync-selected");
    if (!button) { return; }
    var hint = document.createElement("span");
    hint.className = "sync-hint";
    hint.id = "sync-hint";
    hint.setAttribute("role", "alert");
    hint.dataset.syncHint = "";
    hint.hidden = true;
    button.insertAdjacentElement("afterend", hint);

    function nothingSelected() {
      var ticked = rows.some(function (box) { return box.checked; });
      return !ticked && !(stateBox && stateBox.checked);
    }
    function clear() {
      hint.hidden = true;
      hint.textContent = "";
      button.removeAttribute("aria-describedby");
    }
    form.addEventListener("submit", function (event) {
      if (!nothingSelected()) { clear(); return; }
      event.preventDefault();
      hint.textContent = "Nothing is selected: tick at least one record, or \u201cSelect all\u201d.";
      hint.hidden = false;
      button.setAttribute("aria-describedby", hint.id);
    });
    form.addEventListener("change", function () { if (!nothingSelected()) { clear(); } });
  }

  /* After a form comes back (Test connection, a failed save), put focus and the view on what
   * the person must read next: the element the page marks, else the first invalid field. */
  function focusOnLoad() {
    var target = document.querySelector("[data-focus-on-load]") ||
      document.querySelector('[aria-invalid="true"]');
    if (!target) { return; }
    var focusable = target.matches("a[href], button, input, select, textarea, summary, [tabindex]");
    if (!focusable) { target.setAttribute("tabindex", "-1"); }
    target.focus({ preventScroll: true });
    target.scrollIntoView({ block: "center" });
  }

  /* The sticky selection bar covers the bottom of the window: scrolling keeps focused elements
   * above it (WCAG 2.4.11) through scroll-padding-bottom, kept equal to the bar's height. */
  function setupStickyBar() {
    var bar = document.querySelector(".sync-bar");
    if (!bar) { return; }
    var root = document.documentElement;
    function measure() {
      root.style.setProperty("--sticky-bottom", Math.ceil(bar.getBoundingClientRect().height) + "px");
    }
    measure();
    if (window.ResizeObserver) {
      new window.ResizeObserver(measure).observe(bar);
    } else {
      window.addEventListener("resize", measure);
    }
    // Focus that lands under the bar without a scroll (a click, a script) is brought above it.
    document.addEventListener("focusin", function (event) {
      var element = event.target;
      if (!(element instanceof Element) || bar.contains(element)) { return; }
      var covered = element.getBoundingClientRect().bottom - bar.getBoundingClientRect().top;
      if (covered > 0) { window.scrollBy(0, covered + 8); }
    });
  }

  /* Tables that turn into stacked rows on a phone show each cell's column name: take it from
   * the header of the cell's column when the page did not give one. */
  function labelStackedCells() {
    var tables = document.querySelectorAll("table.scopes, table.guide-scopes, table.guide-fields");
    Array.prototype.forEach.call(tables, function (table) {
      var headings = Array.prototype.map.call(
        table.querySelectorAll("thead th"), function (th) { return th.textContent.trim(); });
      Array.prototype.forEach.call(table.querySelectorAll("tbody tr"), function (row) {
        Array.prototype.forEach.call(row.children, function (cell, index) {
          if (!cell.hasAttribute("data-label") && headings[index]) {
            cell.setAttribute("data-label", headings[index]);
          }
        });
      });
    });
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
    ["done", "total", "created", "updated", "deleted", "failed", "skipped"].forEach(function (name) {
      setText(root, '[data-count="' + name + '"]', Number(run[name] || 0).toLocaleString("en-GB"));
    });
    // A run that deletes contacts (chosen orphans, an undo) shows how many it has deleted.
    var deletedRow = root.querySelector("[data-deleted-row]");
    if (deletedRow && run.deleted > 0) { deletedRow.hidden = false; }
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
    var waiting = root.querySelector("[data-run-waiting]");
    if (waiting) {
      var until = run.waiting_until ? new Date(run.waiting_until) : null;
      var left = until ? Math.max(0, Math.round((until - Date.now()) / 1000)) : 0;
      waiting.textContent = run.waiting && !finished
        ? run.waiting + " (" + left + " s left)."
        : "";
      waiting.hidden = !(run.waiting && !finished);
    }
    var none = root.querySelector("[data-no-failures]");
    // A run that stopped says why above; "No record has failed" would read as all went well.
    if (none) { none.hidden = run.failures.length > 0 || (finished && run.status !== "finished"); }
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
          if (!showRun(root, run)) { window.setTimeout(poll, 500); return; }
          // A run that stopped: the page as the server draws it says why, with the advice.
          if (run.status !== "finished") { window.location.reload(); }
        })
        .catch(function () { window.setTimeout(poll, 2000); });
    }
    window.setTimeout(poll, 500);
  }

  // The homepage while its plan is made in the background: counters move, then the plan shows.
  function setupPlanPolling() {
    var root = document.getElementById("planning");
    if (!root || !root.dataset.poll) { return; }
    var bar = root.querySelector("[data-progress-bar]");
    function poll() {
      fetch(root.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (found) {
          if (found.status !== "planning") { window.location.reload(); return; }
          root.querySelectorAll("[data-progress]").forEach(function (span) {
            var value = found[span.dataset.progress];
            span.textContent = value === null ? "…" : value.toLocaleString("en-GB");
          });
          if (bar && found.records) { bar.max = found.records; bar.value = found.planned; }
          window.setTimeout(poll, 500);
        })
        .catch(function () { window.setTimeout(poll, 2000); });
    }
    window.setTimeout(poll, 500);
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupPlanPolling();
    setupSelection();
    setupStickyBar();
    labelStackedCells();
    setupRunPolling();
    focusOnLoad();
  });
})();

// The browser suite's accessibility check (see `page` in tests/browser/conftest.py).
//
// Playwright adds axe-core and then this script to every document the tests open (init scripts are
// not subject to the page's Content-Security-Policy). axe runs once the page has loaded and again
// after every htmx swap has settled (debounced, so a burst of swaps costs one run); the serious and
// critical violations go to Python through the exposed function `__axeReport`. `__axeSettled()`
// (what Python calls before a test ends) runs what is due at once and resolves when no run is pending.
(function () {
  "use strict";
  if (window !== window.top || !/^https?:$/.test(location.protocol) || typeof axe === "undefined") return;

  var SEVERE = { serious: true, critical: true };
  var DEBOUNCE_MS = 150;
  var due = true; // the page changed since the last run began (a new page is due at once)
  var timer = null;
  var chain = Promise.resolve();

  function summary(violation) {
    return {
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      nodes: violation.nodes.map(function (node) {
        return {
          target: node.target.map(String).join(" "),
          html: node.html,
          summary: node.failureSummary || "",
        };
      }),
    };
  }

  function runOnce() {
    var url = location.href;
    return axe
      .run(document, { resultTypes: ["violations"] })
      .then(function (result) {
        var severe = result.violations.filter(function (v) { return SEVERE[v.impact]; });
        return window.__axeReport({ url: url, violations: severe.map(summary) });
      })
      .catch(function (error) {
        return window.__axeReport({ url: url, error: String(error && error.stack || error) });
      });
  }

  function flush() {
    clearTimeout(timer);
    timer = null;
    if (due) {
      due = false;
      chain = chain.then(runOnce); // axe refuses to run twice at once: runs queue up
    }
    return chain;
  }

  function schedule() {
    due = true;
    clearTimeout(timer);
    timer = setTimeout(flush, DEBOUNCE_MS);
  }

  window.__axeSettled = function () {
    return flush().then(function () { return due ? window.__axeSettled() : null; });
  };

  // A new page is checked as soon as it has loaded (a test may leave it soon after), later changes
  // once htmx has settled.
  if (document.readyState === "complete") flush();
  else window.addEventListener("load", flush);
  document.addEventListener("htmx:afterSettle", schedule);
})();

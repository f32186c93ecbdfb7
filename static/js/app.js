// What htmx does with answers that are not 2xx: a 400 (bad input shown on its fields) and a 409
// (someone else changed it) carry the fragment to show, so they are swapped in like a success.
// Anything else (403, 404, 500) keeps the page as it is and says so at the top.
document.addEventListener("htmx:responseError", function (event) {
  var status = event.detail.xhr.status;
  var box = document.getElementById("htmx-error");
  if (!box) return;
  box.textContent = status === 403 ? "You may not do that here." :
    status === 404 ? "That no longer exists: reload the page." :
    "Something went wrong (" + status + "); nothing was changed. Reload the page and try again.";
  box.hidden = false;
});

// A form with data-confirm asks before it does something that cannot be undone from this page
// (cancelling a line, closing a month). Without JavaScript the form simply goes.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
});

// A select with data-autosubmit sends its form as soon as it changes (a filter such as the weeks
// shown); no inline handler, which the Content-Security-Policy refuses.
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.hasAttribute && field.hasAttribute("data-autosubmit") && field.form) field.form.submit();
});

// A button with data-show-table shows a chart's table alternative (visually hidden until then: a
// screen reader and the keyboard reach it anyway) and hides the chart; pressed again, the reverse.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-show-table]");
  if (!button) return;
  var table = document.getElementById(button.getAttribute("data-show-table"));
  var chart = document.getElementById(button.getAttribute("data-hide"));
  var showing = button.getAttribute("aria-expanded") === "true";
  table.classList.toggle("visually-hidden-focusable", showing);
  if (chart) chart.hidden = !showing;
  button.setAttribute("aria-expanded", String(!showing));
  if (!button.hasAttribute("data-label")) button.setAttribute("data-label", button.textContent);
  button.textContent = showing ? button.getAttribute("data-label") : "Show as a heatmap";
});

// A live region that htmx is refilling (the builder's line preview) says it is busy while a request
// runs, so a screen reader waits and then reads the result once; the spinner is htmx's hx-indicator.
// Counted, as htmx counts its indicators: a request replaced by a newer one (hx-sync) ends first.
function busyRegion(event, change) {
  var target = event.detail.target;
  if (!target || !target.hasAttribute || !target.hasAttribute("aria-live")) return;
  var running = Math.max(0, (Number(target.dataset.requests) || 0) + change);
  target.dataset.requests = String(running);
  target.setAttribute("aria-busy", running > 0 ? "true" : "false");
}
document.addEventListener("htmx:beforeRequest", function (event) { busyRegion(event, 1); });
document.addEventListener("htmx:afterRequest", function (event) { busyRegion(event, -1); });

// A line form's product was changed and its pricing model and targeting follow it (htmx): the form
// says it changed once more, so the line's preview prices what the form now holds.
document.addEventListener("htmx:afterRequest", function (event) {
  var field = event.detail.elt;
  if (!event.detail.successful || !field.hasAttribute || !field.hasAttribute("data-line-product") || !field.form) return;
  field.form.dispatchEvent(new Event("change", { bubbles: true }));
});

// "Edit line N" in the builder: the line's form is fetched the first time it is opened (htmx: the page
// holds no line forms, a proposal may have 500 lines), then shown and hidden; aria-expanded says which,
// and the form's first field takes the focus when it opens. Without JavaScript the button's GET form
// opens the page with that line's form open.
document.addEventListener("click", function (event) {
  var control = event.target.closest && event.target.closest("[data-line-edit]");
  if (!control || !window.htmx) return;
  event.preventDefault();
  var slot = document.getElementById(control.getAttribute("aria-controls"));
  if (!slot) return;
  if (control.getAttribute("aria-expanded") === "true") {
    slot.hidden = true;
    control.setAttribute("aria-expanded", "false");
    return;
  }
  function show() {
    if (!slot.querySelector("form")) return;  // refused (the error box says why)
    slot.hidden = false;
    control.setAttribute("aria-expanded", "true");
    var first = slot.querySelector("select:not([disabled]), input:not([type=hidden]), textarea");
    if (first) first.focus();
  }
  if (slot.querySelector("form")) {
    show();
  } else {
    window.htmx.ajax("GET", control.getAttribute("data-line-edit"), { source: control, target: slot, swap: "innerHTML" }).then(show);
  }
});

// Searchable pickers for targeting (regions, devices, key-values, audiences) and formats.
//
// Every <select data-searchable> becomes a Tom Select: type to filter, arrows and Enter to choose,
// Backspace to drop the last choice, and a × on each choice for the mouse. The original <select>
// stays in the form, hidden, and keeps the chosen values: it is what the form sends, and its
// "change" event still reaches htmx (the builder's preview, the product page's panels). Tom Select
// moves the <label> to its own text box (a combobox with a listbox of options), so a screen reader
// announces the field by its label; the hidden select is taken out of the accessibility tree.
// Without JavaScript the plain <select> works as before.
//
// A select with data-narrowed-by="<id of another select>" offers only the options whose
// data-feature is that select's value (a premium's values, by its feature), plus those without one
// ("Any value").
//
// Tom Select positions its dropdown through element.style (the CSSOM), which the
// Content-Security-Policy allows; it writes no style attributes or inline handlers.
(function () {
  "use strict";

  function narrow(select) {
    var chooser = document.getElementById(select.getAttribute("data-narrowed-by"));
    if (!chooser) return;
    if (!select.searchableOptions) {
      select.searchableOptions = Array.prototype.map.call(select.options, function (option) {
        return option.cloneNode(true);
      });
    }
    var chosen = select.value;
    var kept = select.searchableOptions.filter(function (option) {
      var feature = option.getAttribute("data-feature");
      return !feature || feature === chooser.value;
    });
    select.replaceChildren.apply(select, kept.map(function (option) {
      var copy = option.cloneNode(true);
      copy.selected = copy.value === chosen;
      return copy;
    }));
    if (select.selectedIndex < 0 && select.options.length) select.selectedIndex = 0;
    if (select.tomselect) {
      select.tomselect.clear(true);
      select.tomselect.clearOptions();
      select.tomselect.sync();
    }
  }

  function enhance(select) {
    if (select.hasAttribute("data-narrowed-by") && !select.searchableOptions) {
      // narrowing works with or without the picker
      narrow(select);
      var chooser = document.getElementById(select.getAttribute("data-narrowed-by"));
      if (chooser) chooser.addEventListener("change", function () { narrow(select); });
    }
    if (select.tomselect || typeof window.TomSelect === "undefined") return;
    var many = select.multiple;
    var picker = new window.TomSelect(select, {
      plugins: many ? { remove_button: { title: "Remove this choice" } } : {},
      create: false,
      maxOptions: null,
      // filter at each key press: Enter right after typing chooses what was typed, not the
      // option that was first before the list caught up (Tom Select waits 300 ms by default)
      refreshThrottle: 0,
      allowEmptyOption: !many,
      hidePlaceholder: false,
      closeAfterSelect: !many,
      placeholder: select.getAttribute("data-placeholder") || (many ? "Type to search" : ""),
      render: {
        no_results: function () { return '<div class="no-results">Nothing matches.</div>'; }
      },
      onItemAdd: function () {
        // after a choice, the search starts again for the next one; a filter still pending from
        // the last key press must not reopen the list after Escape (it would cover the Save button)
        if (this.refreshTimeout) {
          window.clearTimeout(this.refreshTimeout);
          this.refreshTimeout = null;
        }
        this.setTextboxValue("");
        this.refreshOptions(false);
      }
    });
    select.setAttribute("aria-hidden", "true");
    describe(picker, select, many);
  }

  // The text box says what is chosen (a screen reader reads it with the label, and again politely
  // when it changes), and carries the select's help, error and invalid state.
  function describe(picker, select, many) {
    var chosen = document.createElement("span");
    chosen.className = "visually-hidden";
    chosen.id = picker.inputId + "-chosen";
    function say() {
      var names = picker.items.map(function (value) {
        return picker.options[value] ? picker.options[value].text : value;
      }).filter(Boolean);
      chosen.textContent = names.length ? "Chosen: " + names.join(", ") : (many ? "None chosen" : "");
    }
    say();
    chosen.setAttribute("aria-live", "polite");
    picker.wrapper.appendChild(chosen);
    picker.on("change", say);
    var described = [select.getAttribute("aria-describedby"), chosen.id].filter(Boolean).join(" ");
    picker.control_input.setAttribute("aria-describedby", described);
    if (select.getAttribute("aria-invalid") === "true") picker.control_input.setAttribute("aria-invalid", "true");
  }

  function enhanceWithin(root) {
    if (!root || !root.querySelectorAll) return;
    if (root.matches && root.matches("select[data-searchable]")) enhance(root);
    Array.prototype.forEach.call(root.querySelectorAll("select[data-searchable]"), enhance);
  }

  // htmx.onLoad runs for the page once loaded and for every fragment htmx swaps in (the builder).
  if (window.htmx) {
    window.htmx.onLoad(enhanceWithin);
  } else {
    document.addEventListener("DOMContentLoaded", function () { enhanceWithin(document.body); });
  }
})();

// Accessibility repairs of markup the book does not write itself: the theme's buttons, Sphinx's
// reference list and the sliders of saved Jupyter widgets. scripts/site_check.py's axe-core scan
// fails a page on the violations these repair.
(function () {
  "use strict";

  function repair() {
    // The search field and the colour-mode switch show text ("Search Ctrl+K", the mode's name)
    // that their aria-label leaves out, so a speech user saying what they see cannot reach them
    // (WCAG 2.5.3). Without the label their name is what they show.
    document
      .querySelectorAll(".search-button-field[aria-label], .theme-switch-button[aria-label]")
      .forEach((el) => el.removeAttribute("aria-label"));
    // role="list" needs role="listitem" children; doc-biblioentry is a deprecated role.
    document
      .querySelectorAll('.citation-list > [role="doc-biblioentry"]')
      .forEach((el) => el.setAttribute("role", "listitem"));
    // A widget slider's handle is not tied to the label beside it: give it the label's text.
    document.querySelectorAll(".widget-slider").forEach((widget) => {
      const label = widget.querySelector(".widget-label");
      const name = label && label.textContent.trim();
      widget
        .querySelectorAll('[role="slider"]:not([aria-label])')
        .forEach((handle) => name && handle.setAttribute("aria-label", name));
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    repair();
    // widgets render after the page has loaded
    new MutationObserver(repair).observe(document.body, { childList: true, subtree: true });
  });
})();

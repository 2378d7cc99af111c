// Source view at scale and on a phone (issue 13): the outline follows the
// section you are reading, names in view are reachable with Tab (Enter goes
// to the definition through app.js's click handler), and at phone width the
// outline and files sit behind a toggle.
(function () {
  "use strict";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  function initSideToggle() {
    var btn = $("[data-side-toggle]");
    var side = $("#src-side");
    if (!btn || !side) return;
    btn.addEventListener("click", function () {
      var open = side.hasAttribute("data-collapsed");
      if (open) side.removeAttribute("data-collapsed"); else side.setAttribute("data-collapsed", "");
      btn.setAttribute("aria-expanded", open ? "true" : "false");
    });
    // Following an outline link on a phone folds the panel away again.
    side.addEventListener("click", function (ev) {
      var a = ev.target.closest && ev.target.closest("a[data-line]");
      if (a && getComputedStyle(btn.parentNode).display !== "none") {
        side.setAttribute("data-collapsed", "");
        btn.setAttribute("aria-expanded", "false");
      }
    });
  }

  // lineAtTop is the number of the first code line below the top bar.
  function lineAtTop(code) {
    var r = code.getBoundingClientRect();
    var x = Math.max(r.left + 8, 8);
    for (var y = Math.max(r.top, 0) + 4; y < Math.min(r.bottom, innerHeight); y += 8) {
      var el = document.elementFromPoint(x, y);
      var line = el && el.closest && el.closest("[id^='L']");
      if (line) return parseInt(line.id.slice(1), 10) || 0;
    }
    return 0;
  }

  function initSourceTracking() {
    var code = $("[data-code]");
    if (!code) return;
    var sections = $$(".ol-section a[data-line]");
    var current = null;
    var tabbable = [];
    function update() {
      var line = lineAtTop(code);
      if (!line) return;
      // The outline marks the section the top line belongs to.
      var best = null;
      sections.forEach(function (a) {
        if (parseInt(a.getAttribute("data-line"), 10) <= line) best = a;
      });
      if (best !== current) {
        if (current) { current.classList.remove("ol-current"); current.removeAttribute("aria-current"); }
        if (best) { best.classList.add("ol-current"); best.setAttribute("aria-current", "location"); }
        current = best;
      }
      // Names of the chunk in view (and the next) take Tab; the rest stay
      // out of the tab order so the page is not thousands of stops long.
      var el = document.getElementById("L" + line);
      var chunk = el && el.closest(".chunk");
      if (!chunk) return;
      var next = chunk.nextElementSibling;
      var want = $$("a[href^='/symbols/']", chunk).concat(next ? $$("a[href^='/symbols/']", next) : []);
      if (want[0] === tabbable[0] && want.length === tabbable.length) return;
      tabbable.forEach(function (a) { if (document.activeElement !== a) a.setAttribute("tabindex", "-1"); });
      want.forEach(function (a) { a.setAttribute("tabindex", "0"); });
      tabbable = want;
    }
    var queued = false;
    function schedule() {
      if (queued) return;
      queued = true;
      requestAnimationFrame(function () { queued = false; update(); });
    }
    addEventListener("scroll", schedule, { passive: true });
    addEventListener("hashchange", function () { setTimeout(schedule, 50); });
    code.addEventListener("scroll", schedule, { passive: true });
    setTimeout(update, 100);
  }

  function init() {
    initSideToggle();
    initSourceTracking();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();

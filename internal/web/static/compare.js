// The compare page: switch between the unified and the side-by-side line
// diff without a reload, and open the file a summary item links to.
(function () {
  "use strict";
  var files = document.querySelector("[data-diff-files]");
  if (!files) return;
  var buttons = Array.prototype.slice.call(document.querySelectorAll("[data-view-btn]"));
  var viewInput = function () { return document.querySelector("[data-compare-options] input[name=view]"); };

  function setView(view) {
    files.setAttribute("data-view", view);
    buttons.forEach(function (b) { b.setAttribute("aria-pressed", b.getAttribute("data-view-btn") === view ? "true" : "false"); });
    var url = new URL(location.href);
    if (view === "split") url.searchParams.set("view", "split"); else url.searchParams.delete("view");
    history.replaceState(null, "", url.pathname + url.search + location.hash);
    var form = document.querySelector("[data-compare-options]");
    if (form) {
      var input = viewInput();
      if (view === "split" && !input) {
        input = document.createElement("input");
        input.type = "hidden"; input.name = "view"; input.value = "split";
        form.appendChild(input);
      } else if (view !== "split" && input) input.remove();
    }
  }
  buttons.forEach(function (b) {
    b.addEventListener("click", function (e) {
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      setView(b.getAttribute("data-view-btn"));
    });
  });

  // A link to a hunk opens its file and, in the side-by-side view,
  // scrolls to the same hunk there.
  function reveal() {
    var m = /^#(f\d+)(-h\d+)?$/.exec(location.hash);
    if (!m) return;
    var file = document.getElementById(m[1]);
    if (file && !file.open) file.open = true;
    var target = m[2] ? document.getElementById(m[1] + m[2]) : file;
    if (m[2] && files.getAttribute("data-view") === "split") {
      target = files.querySelector('[data-split-of="' + m[1] + m[2] + '"]') || target;
    }
    if (target) {
      target.scrollIntoView({ block: "start" });
      target.classList.add("flash");
      setTimeout(function () { target.classList.remove("flash"); }, 1500);
    }
  }
  window.addEventListener("hashchange", reveal);
  if (location.hash) setTimeout(reveal, 0);
})();

// The stock library registry page: register a variant, make one the
// default, and follow the re-analysis that starts. Everything goes to the
// JSON API, whose errors are {message, detail, code}.
(function () {
  "use strict";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  function apiError(status, text) {
    var e = null;
    try { e = JSON.parse(text); } catch (_) { /* not JSON */ }
    if (e && typeof e.message === "string") return { message: e.message, detail: e.detail || "", code: e.code || "", status: status };
    return { message: "The server answered with an unexpected response (HTTP " + status + "). Try again.", detail: (text || "").slice(0, 600), code: "", status: status };
  }

  function showError(box, err) {
    if (!box) return;
    $("[data-error-msg]", box).textContent = err.message;
    var parts = [];
    if (err.detail) parts.push(err.detail);
    if (err.code) parts.push("code: " + err.code);
    if (err.status) parts.push("HTTP status: " + err.status);
    $("[data-error-detail]", box).textContent = parts.join("\n");
    $("[data-error-details]", box).hidden = parts.length === 0;
    box.hidden = false;
  }

  function send(method, url, body) {
    return fetch(url, {
      method: method,
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.text().then(function (t) {
        if (!res.ok) throw apiError(res.status, t);
        return t ? JSON.parse(t) : {};
      });
    });
  }

  // ---- progress of the re-analysis --------------------------------------

  var box = $("[data-reindex-progress]");
  var timer = null;
  function poll() {
    if (!box) return;
    fetch(box.getAttribute("data-reindex-progress"), { headers: { Accept: "application/json" } })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (p) {
        if (!p) return;
        var bar = $("[data-progress-bar]", box), text = $("[data-progress-text]", box);
        if (p.complete || p.total === 0) {
          if (!box.hidden) {
            bar.max = 1; bar.value = 1;
            text.textContent = "Done: every version is analysed (" + p.done + " of " + p.total + ").";
            box.setAttribute("data-done", "");
          }
          timer = null;
          return;
        }
        box.hidden = false;
        bar.max = p.total; bar.value = p.done;
        text.textContent = "Analysing again: " + p.done + " of " + p.total + " versions done.";
        timer = setTimeout(poll, 1000);
      })
      .catch(function () { timer = setTimeout(poll, 3000); });
  }
  poll();

  // ---- register ----------------------------------------------------------

  var form = $("[data-registry-form]");
  if (form) {
    var state = $("[data-save-state]", form), err = $("[data-error]", form);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      err.hidden = true;
      var body = {};
      $$("input[name]", form).forEach(function (el) { body[el.name] = el.value.trim(); });
      var btn = $("button[type=submit]", form);
      btn.disabled = true;
      state.textContent = "Registering…";
      send("POST", form.getAttribute("data-registry-form"), body).then(function (v) {
        state.textContent = "Registered.";
        location.assign("/admin/registry?registered=" + encodeURIComponent(v.sha256) + "#regd-title");
      }).catch(function (e2) {
        state.textContent = "";
        showError(err, e2.message ? e2 : apiError(0, ""));
      }).then(function () { btn.disabled = false; });
    });
  }

  // ---- default -----------------------------------------------------------

  var defErr = $("[data-default-error]");
  $$("[data-make-default]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      if (defErr) defErr.hidden = true;
      btn.disabled = true;
      send("PUT", btn.getAttribute("data-make-default"), { sha256: btn.getAttribute("data-sha") }).then(function (r) {
        // The page again, with the new default and the re-analysis it started.
        location.assign("/admin/registry?queued=" + (r.queued || 0) + "#prog-title");
      }).catch(function (e2) {
        btn.disabled = false;
        showError(defErr, e2.message ? e2 : apiError(0, ""));
      });
    });
  });

  // ---- a package's own pick (package page) -------------------------------

  $$("[data-registry-choice]").forEach(function (f) {
    var st = $("[data-save-state]", f), eb = $("[data-error]", f);
    f.addEventListener("submit", function (e) {
      e.preventDefault();
      eb.hidden = true;
      var pick = $("select", f).value;
      var body = pick === "default" ? { "default": true } : { sha256: pick === "none" ? "" : pick };
      var btn = $("button[type=submit]", f);
      btn.disabled = true;
      st.textContent = "Saving…";
      send("PUT", f.getAttribute("data-registry-choice"), body).then(function (r) {
        st.textContent = "Saved; " + (r.queued === 1 ? "1 version is" : (r.queued || 0) + " versions are") + " analysed again. Reload the page in a moment to see the result.";
        f.setAttribute("data-saved", "");
      }).catch(function (e2) {
        st.textContent = "";
        showError(eb, e2.message ? e2 : apiError(0, ""));
      }).then(function () { btn.disabled = false; });
    });
  });
})();

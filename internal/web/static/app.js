// VeriPost web UI behaviour. Plain JavaScript, no build step, no libraries.
// Everything that changes data talks to the JSON API, whose errors are
// {message, detail, code}.
(function () {
  "use strict";

  document.documentElement.classList.add("js");
  var API = document.body.getAttribute("data-api") || "/api/v1";

  var STAGES = ["pending", "validating", "storing", "parsing", "ready"];
  var STAGE_TEXT = {
    pending: "Waiting for a worker to pick up the upload…",
    validating: "Checking the files…",
    storing: "Reading back the stored files…",
    parsing: "Reading the UPG source…",
    ready: "Ready.",
    error: "Processing failed."
  };
  var LABELS = { pending: "Pending", validating: "Validating", storing: "Storing", parsing: "Parsing", ready: "Ready", error: "Error" };

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // Binary units, as the server's pages and messages use.
  function humanBytes(n) {
    function f(x, unit) { return x.toFixed(1).replace(/\.0$/, "") + " " + unit; }
    if (n === 1) return "1 byte";
    if (n < 1024) return n + " bytes";
    if (n < 1048576) return f(n / 1024, "KiB");
    if (n < 1073741824) return f(n / 1048576, "MiB");
    return f(n / 1073741824, "GiB");
  }

  // ---- API errors -------------------------------------------------------

  // apiError turns a failed response into {message, detail, code}.
  function apiError(status, text) {
    var e = null;
    try { e = JSON.parse(text); } catch (_) { /* not JSON */ }
    if (e && typeof e.message === "string") {
      return { message: e.message, detail: e.detail || "", code: e.code || "", status: status };
    }
    var msg = "The server answered with an unexpected response (HTTP " + status + "). Try again; if it keeps happening, ask your administrator to check the server log.";
    if (status === 413) msg = "The upload is larger than the server (or a proxy in front of it) accepts.";
    if (status === 0) msg = "The server could not be reached. Check your connection and try again.";
    return { message: msg, detail: (text || "").slice(0, 600), code: "", status: status };
  }

  function showError(box, err) {
    if (!box) return;
    $("[data-error-msg]", box).textContent = err.message;
    var details = $("[data-error-details]", box);
    var parts = [];
    if (err.detail) parts.push(err.detail);
    if (err.code) parts.push("code: " + err.code);
    if (err.status) parts.push("HTTP status: " + err.status);
    $("[data-error-detail]", box).textContent = parts.join("\n");
    details.hidden = parts.length === 0;
    details.open = false;
    box.hidden = false;
  }

  function hideError(box) { if (box) box.hidden = true; }

  // ---- Times ------------------------------------------------------------

  function localizeTimes(root) {
    var abs, rel;
    try {
      abs = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
      rel = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
    } catch (_) { return; }
    $$("time[datetime]", root).forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      var secs = (Date.now() - d.getTime()) / 1000;
      var text = abs.format(d);
      if (secs >= -60 && secs < 7 * 86400) {
        if (secs < 60) text = "just now";
        else if (secs < 3600) text = rel.format(-Math.floor(secs / 60), "minute");
        else if (secs < 86400) text = rel.format(-Math.floor(secs / 3600), "hour");
        else text = rel.format(-Math.floor(secs / 86400), "day");
      }
      el.textContent = text;
      el.title = abs.format(d) + " (" + d.toISOString().replace("T", " ").slice(0, 19) + " UTC)";
    });
  }

  // ---- Status polling ---------------------------------------------------

  // poll calls url until the status is terminal, giving each answer to
  // onUpdate; network trouble is retried with a growing delay.
  function poll(url, onUpdate, onGiveUp) {
    var delay = 500, failures = 0;
    function tick() {
      fetch(url, { cache: "no-store", headers: { Accept: "application/json" } })
        .then(function (res) {
          return res.text().then(function (t) {
            if (!res.ok) throw apiError(res.status, t);
            return JSON.parse(t);
          });
        })
        .then(function (s) {
          failures = 0;
          onUpdate(s);
          if (!s.done) { delay = Math.min(delay * 1.25, 2000); setTimeout(tick, delay); }
        })
        .catch(function (err) {
          failures++;
          if (err && err.status === 404) { onGiveUp && onGiveUp(err); return; }
          if (failures > 20) { onGiveUp && onGiveUp(err && err.message ? err : apiError(0, "")); return; }
          setTimeout(tick, Math.min(1000 * failures, 5000));
        });
    }
    tick();
  }

  function setStages(list, status, lastSeen) {
    if (!list) return;
    var idx = STAGES.indexOf(status);
    var failedAt = -1;
    if (status === "error") failedAt = Math.max(STAGES.indexOf(lastSeen), 0);
    $$("[data-stage]", list).forEach(function (li, i) {
      li.classList.remove("done", "active", "failed");
      if (status === "ready" || (idx >= 0 && i < idx) || (failedAt >= 0 && i < failedAt)) li.classList.add("done");
      else if (idx >= 0 && i === idx) li.classList.add("active");
      else if (i === failedAt) li.classList.add("failed");
    });
  }

  function updateBadge(badge, status) {
    STAGES.concat(["error"]).forEach(function (s) { badge.classList.remove("st-" + s); });
    badge.classList.add("st-" + status);
    var text = $(".badge-text", badge);
    if (text) text.textContent = LABELS[status] || status;
    var spin = $(".spinner", badge);
    if (spin && (status === "ready" || status === "error")) spin.remove();
  }

  function initBadges() {
    $$("[data-status-url]").forEach(function (badge) {
      if ($("[data-live-status]") && badge.closest(".page-head, .versions")) return; // the live panel polls
      poll(badge.getAttribute("data-status-url"), function (s) { updateBadge(badge, s.status); });
    });
  }

  // The package page while its latest version is processed: show the
  // stages, then reload to show the finished version.
  function initLiveStatus() {
    var panel = $("[data-live-status]");
    if (!panel) return;
    var text = $("[data-status-text]", panel);
    var stages = $(".stages", panel);
    var lastSeen = "pending";
    poll(panel.getAttribute("data-live-status"), function (s) {
      setStages(stages, s.status, lastSeen);
      if (s.status !== "error") lastSeen = s.status;
      text.textContent = STAGE_TEXT[s.status] || s.status;
      $$(".page-head [data-status-url], .versions [data-status-url]").forEach(function (b) { updateBadge(b, s.status); });
      if (s.done) {
        text.textContent = s.status === "ready" ? "Ready. Loading the finished version…" : "Processing failed. Loading the details…";
        setTimeout(function () { location.reload(); }, 600);
      }
    });
  }

  // ---- Uploader ---------------------------------------------------------

  // readEntries collects the files of a dropped folder (recursively).
  function readEntry(entry, out) {
    return new Promise(function (resolve) {
      if (!entry) return resolve();
      if (entry.isFile) {
        entry.file(function (f) { out.push(f); resolve(); }, function () { resolve(); });
      } else if (entry.isDirectory) {
        var reader = entry.createReader(), all = [];
        (function more() {
          reader.readEntries(function (batch) {
            if (!batch.length) {
              Promise.all(all.map(function (e) { return readEntry(e, out); })).then(function () { resolve(); });
            } else { all = all.concat(Array.prototype.slice.call(batch)); more(); }
          }, function () { resolve(); });
        })();
      } else resolve();
    });
  }

  function droppedFiles(dt) {
    var items = dt.items ? Array.prototype.slice.call(dt.items) : [];
    var entries = items.map(function (it) { return it.webkitGetAsEntry && it.webkitGetAsEntry(); }).filter(Boolean);
    if (entries.length && entries.some(function (e) { return e.isDirectory; })) {
      var out = [];
      return Promise.all(entries.map(function (e) { return readEntry(e, out); })).then(function () { return out; });
    }
    return Promise.resolve(Array.prototype.slice.call(dt.files || []));
  }

  // newIdempotencyKey is 128 random bits in hex (crypto.randomUUID needs
  // a secure context; a server on plain http inside a shop network is not).
  function newIdempotencyKey() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return (x < 16 ? "0" : "") + x.toString(16); }).join("");
  }

  // uploadSignature names what a form sends: its fields and each file's
  // name, size and modification time.
  function uploadSignature(fd) {
    var parts = [];
    fd.forEach(function (v, k) {
      parts.push(k + "=" + (typeof v === "string" ? v : v.name + ":" + v.size + ":" + v.lastModified));
    });
    return parts.join("\n");
  }

  function initUploader(form) {
    var input = $("input[type=file]", form);
    var zone = $("[data-dropzone]", form);
    var chosen = $("[data-chosen]", form);
    var list = $("[data-chosen-list]", form);
    var total = $("[data-chosen-total]", form);
    var button = $("[data-upload-button]", form);
    var clearBtn = $("[data-clear]", form);
    var progressBox = $("[data-progress]", form);
    var bar = $("[data-progress-bar]", form);
    var ptext = $("[data-progress-text]", form);
    var pbytes = $("[data-progress-bytes]", form);
    var statusBox = $("[data-status]", form);
    var statusText = $("[data-status-text]", form);
    var stages = $(".stages", form);
    var errBox = $("[data-error]", form);
    var files = [];
    var busy = false;
    // retry remembers the Idempotency-Key of an upload whose answer never
    // came (connection lost, server error): sending the same files and
    // fields again reuses it, so the server records the upload once even if
    // the first attempt did get through.
    var retry = null;

    function render() {
      list.textContent = "";
      var sum = 0;
      files.forEach(function (f, i) {
        sum += f.size;
        var li = document.createElement("li");
        var name = document.createElement("span");
        name.className = "fname";
        name.textContent = f.name;
        var size = document.createElement("span");
        size.className = "fsize";
        size.textContent = humanBytes(f.size);
        var rm = document.createElement("button");
        rm.type = "button";
        rm.className = "btn-icon";
        rm.textContent = "✕";
        rm.setAttribute("aria-label", "Remove " + f.name);
        rm.disabled = busy;
        rm.addEventListener("click", function () { files.splice(i, 1); render(); (files.length ? button : input).focus(); });
        li.appendChild(name); li.appendChild(size); li.appendChild(rm);
        list.appendChild(li);
      });
      chosen.hidden = files.length === 0;
      clearBtn.hidden = files.length === 0 || busy;
      total.textContent = files.length ? (files.length === 1 ? "1 file, " : files.length + " files, ") + humanBytes(sum) : "";
      button.disabled = busy || files.length === 0;
    }

    function add(newFiles) {
      if (busy) return;
      newFiles.forEach(function (f) {
        // A file of the same name replaces the earlier one.
        files = files.filter(function (g) { return g.name !== f.name; });
        files.push(f);
      });
      hideError(errBox);
      render();
    }

    input.addEventListener("change", function () {
      add(Array.prototype.slice.call(input.files));
      input.value = "";
    });
    clearBtn.addEventListener("click", function () { files = []; render(); input.focus(); });

    ["dragenter", "dragover"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); if (!busy) zone.classList.add("over"); });
    });
    ["dragleave", "dragend"].forEach(function (t) {
      zone.addEventListener(t, function (e) { if (!zone.contains(e.relatedTarget)) zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      zone.classList.remove("over");
      droppedFiles(e.dataTransfer).then(add);
    });

    function setBusy(b) {
      busy = b;
      $$("input, button", form).forEach(function (el) { if (el !== input) el.disabled = b; });
      input.disabled = b;
      render();
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (busy || !files.length) return;
      hideError(errBox);
      var fd = new FormData();
      $$("input[name]:not([type=file])", form).forEach(function (el) {
        if (el.value.trim() !== "") fd.append(el.name, el.value.trim());
      });
      files.forEach(function (f) { fd.append("files", f, f.name); });
      var what = uploadSignature(fd);
      var key = retry && retry.what === what ? retry.key : newIdempotencyKey();
      retry = null;
      setBusy(true);
      statusBox.hidden = true;
      progressBox.hidden = false;
      bar.value = 0;
      ptext.textContent = "Uploading…";
      pbytes.textContent = "";

      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action"));
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("Idempotency-Key", key);
      xhr.upload.addEventListener("progress", function (ev) {
        if (!ev.lengthComputable) return;
        var pct = Math.round(ev.loaded / ev.total * 100);
        bar.value = pct;
        ptext.textContent = "Uploading… " + pct + "%";
        pbytes.textContent = humanBytes(ev.loaded) + " of " + humanBytes(ev.total);
      });
      xhr.upload.addEventListener("load", function () {
        bar.value = 100;
        ptext.textContent = "Uploaded. The server is checking the files…";
      });
      xhr.addEventListener("load", function () {
        if (xhr.status === 202 || xhr.status === 200) {
          var res;
          try { res = JSON.parse(xhr.responseText); } catch (_) { res = null; }
          if (!res || !res.status_url) { failed(apiError(xhr.status, xhr.responseText)); return; }
          bar.value = 100;
          ptext.textContent = "Upload complete.";
          follow(res);
        } else {
          if (xhr.status >= 500) retry = { what: what, key: key };
          failed(apiError(xhr.status, xhr.responseText));
        }
      });
      xhr.addEventListener("error", function () {
        retry = { what: what, key: key };
        failed({ message: "The upload was interrupted: the connection to the server was lost. Check the connection and try again.", detail: "", code: "", status: 0 });
      });
      xhr.addEventListener("abort", function () { failed({ message: "The upload was cancelled.", detail: "", code: "", status: 0 }); });
      xhr.send(fd);
    });

    function failed(err) {
      progressBox.hidden = true;
      showError(errBox, err);
      setBusy(false);
      errBox.focus && errBox.setAttribute("tabindex", "-1");
      errBox.focus();
    }

    // follow shows the processing stages of the accepted upload live.
    function follow(res) {
      statusBox.hidden = false;
      var pkgURL = "/packages/" + encodeURIComponent(res.package_id);
      var lastSeen = "pending";
      setStages(stages, res.status || "pending", lastSeen);
      statusText.textContent = STAGE_TEXT[res.status] || "";
      statusBox.setAttribute("data-package-id", res.package_id);
      poll(res.status_url, function (s) {
        setStages(stages, s.status, lastSeen);
        if (s.status !== "error") lastSeen = s.status;
        statusBox.setAttribute("data-state", s.status);
        if (s.status === "ready") {
          statusText.textContent = "";
          statusText.appendChild(document.createTextNode(uploadSummary(res, s) + " "));
          var a = document.createElement("a");
          a.href = pkgURL;
          a.textContent = "Open the package →";
          a.setAttribute("data-open-package", "");
          statusText.appendChild(a);
          showNearDuplicate(res.status_url, statusBox);
          done();
        } else if (s.status === "error") {
          statusText.textContent = "Processing failed.";
          showError(errBox, { message: s.error_message || "VeriPost could not process this upload.", detail: s.error_detail || "", code: "", status: 0 });
          var link = document.createElement("a");
          link.href = pkgURL;
          link.textContent = " See the package.";
          statusText.appendChild(link);
          done();
        } else {
          statusText.textContent = STAGE_TEXT[s.status] || s.status;
        }
      }, function (err) {
        showError(errBox, err);
        done();
      });
    }

    function done() {
      // The bar stays, full, beside the result.
      bar.value = 100;
      ptext.textContent = "Done.";
      pbytes.textContent = "";
      files = [];
      setBusy(false);
    }

    render();
  }

  // showNearDuplicate waits (briefly) for the search index of a ready
  // upload and says which stored version it nearly duplicates, if any.
  function showNearDuplicate(url, box) {
    var tries = 0;
    function tick() {
      fetch(url, { cache: "no-store", headers: { Accept: "application/json" } })
        .then(function (res) { return res.ok ? res.json() : null; })
        .then(function (s) {
          if (!s) return;
          if (!s.search_indexed) { if (++tries < 40) setTimeout(tick, 500); return; }
          var nd = s.near_duplicate;
          if (!nd) return;
          var p = document.createElement("p");
          p.className = "notice";
          p.setAttribute("data-near-duplicate", "");
          p.appendChild(document.createTextNode("This upload is " + nd.percent + " % the same as "));
          var a = document.createElement("a");
          a.href = nd.url;
          a.textContent = nd.package_name + " v" + nd.version;
          p.appendChild(a);
          p.appendChild(document.createTextNode(" (identical lines)."));
          box.appendChild(p);
        })
        .catch(function () { /* the note is a courtesy; the upload is done */ });
    }
    tick();
  }

  // ---- Search -----------------------------------------------------------

  // "/" jumps to the search box; on the results page j/k and the arrow
  // keys move between hits, and Enter opens the focused one.
  function initSearchKeys() {
    var box = $("[data-top-search]") || $("#search-q");
    document.addEventListener("keydown", function (e) {
      var t = e.target, typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
      if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "/" && box) {
        e.preventDefault();
        var page = $("#search-q");
        (page || box).focus();
        (page || box).select();
        return;
      }
      var links = $$("[data-hit-link]");
      if (!links.length) return;
      var down = e.key === "j" || e.key === "ArrowDown", up = e.key === "k" || e.key === "ArrowUp";
      if (!down && !up) return;
      var i = links.indexOf(document.activeElement);
      i = i < 0 ? (down ? 0 : links.length - 1) : Math.max(0, Math.min(links.length - 1, i + (down ? 1 : -1)));
      e.preventDefault();
      links[i].focus();
      links[i].closest("[data-hit]").scrollIntoView({ block: "nearest" });
    });
  }

  // uploadSummary says what an accepted upload became: the version, whether
  // it was new or identical to an earlier one, and its findings.
  function uploadSummary(res, s) {
    function n(k, one, many) { return k === 1 ? "1 " + one : k + " " + many; }
    var parts = [];
    if (res.created === false) {
      parts.push("Identical to version " + (res.identical_to || s.version) + ": no new version was created.");
    } else {
      var v = "Version " + (res.version || s.version) + " created";
      if (res.identical_to) v += " (identical to version " + res.identical_to + ")";
      parts.push(v + ": " + n(s.file_count, "file", "files") + " stored.");
    }
    parts.push(n(s.error_count || 0, "error", "errors") + ", " + n(s.warning_count || 0, "warning", "warnings") + ", " + n(s.info_count || 0, "info", "infos") + ".");
    return parts.join(" ");
  }

  // Files dropped outside the drop area must not make the browser leave
  // the page to show them.
  function guardWindowDrops() {
    if (!$("[data-uploader]")) return;
    window.addEventListener("dragover", function (e) { e.preventDefault(); });
    window.addEventListener("drop", function (e) { if (!e.target.closest || !e.target.closest("[data-dropzone]")) e.preventDefault(); });
  }

  // ---- Package page -----------------------------------------------------

  function initMetaForm() {
    var form = $("[data-meta-form]");
    if (!form) return;
    var state = $("[data-save-state]", form);
    var errBox = $("[data-error]", form);
    form.addEventListener("input", function () { state.textContent = ""; });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      hideError(errBox);
      var body = {};
      $$("input[name]", form).forEach(function (el) { body[el.name] = el.value.trim(); });
      if (!body.name) {
        showError(errBox, { message: "A package needs a name.", detail: "", code: "", status: 0 });
        return;
      }
      var btn = $("button[type=submit]", form);
      btn.disabled = true;
      state.textContent = "Saving…";
      fetch(form.getAttribute("data-meta-form"), {
        method: "PATCH",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body)
      }).then(function (res) {
        return res.text().then(function (t) {
          if (!res.ok) throw apiError(res.status, t);
          return JSON.parse(t);
        });
      }).then(function (p) {
        state.textContent = "Saved.";
        var h = $("[data-pkg-name]");
        if (h) h.textContent = p.name;
        $$(".crumbs [aria-current=page]").forEach(function (c) { c.textContent = p.name; });
        document.title = p.name + " · VeriPost";
      }).catch(function (err) {
        state.textContent = "";
        showError(errBox, err.message ? err : apiError(0, ""));
      }).then(function () { btn.disabled = false; });
    });
  }

  function initDelete() {
    var open = $("[data-delete-open]");
    var dialog = $("[data-delete-dialog]");
    if (!open || !dialog) return;
    var confirm = $("[data-delete-confirm]", dialog);
    var errBox = $("[data-error]", dialog);
    open.addEventListener("click", function () { hideError(errBox); dialog.showModal(); });
    confirm.addEventListener("click", function () {
      confirm.disabled = true;
      confirm.textContent = "Deleting…";
      fetch(confirm.getAttribute("data-delete-confirm"), { method: "DELETE", headers: { Accept: "application/json" } })
        .then(function (res) {
          if (res.status === 204 || res.ok) {
            location.href = "/?deleted=" + encodeURIComponent(confirm.getAttribute("data-name"));
            return;
          }
          return res.text().then(function (t) { throw apiError(res.status, t); });
        })
        .catch(function (err) {
          showError(errBox, err.message ? err : apiError(0, ""));
          confirm.disabled = false;
          confirm.textContent = "Delete package";
        });
    });
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var ta = document.createElement("textarea");
      ta.value = text;
      ta.setAttribute("readonly", "");
      ta.style.position = "fixed";
      ta.style.opacity = "0";
      document.body.appendChild(ta);
      ta.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (_) { ok = false; }
      ta.remove();
      ok ? resolve() : reject(new Error("copy failed"));
    });
  }

  function initCopy() {
    $$("[data-copy]").forEach(function (b) {
      b.addEventListener("click", function () {
        copyText(b.getAttribute("data-copy")).then(function () {
          b.classList.add("copied");
          b.title = "Copied";
          setTimeout(function () { b.classList.remove("copied"); b.title = "Copy SHA-256"; }, 1500);
        }, function () { window.prompt("Copy the SHA-256:", b.getAttribute("data-copy")); });
      });
    });
  }

  // ---- List page ----------------------------------------------------------

  function initAutoSubmit() {
    $$("form[data-autosubmit]").forEach(function (form) {
      form.addEventListener("change", function (e) {
        if (e.target.tagName === "SELECT") form.requestSubmit ? form.requestSubmit() : form.submit();
      });
      // Leave empty fields out of the address.
      form.addEventListener("submit", function () {
        $$("input[name], select[name]", form).forEach(function (el) { if (el.value === "") el.disabled = true; });
        setTimeout(function () { $$("input[name], select[name]", form).forEach(function (el) { el.disabled = false; }); }, 0);
      });
    });
  }

  // ---- Source view --------------------------------------------------------

  function initSource() {
    var code = $("[data-code]");
    if (!code) return;
    var go = $("[data-goto]");
    if (go) {
      go.addEventListener("submit", function (e) {
        e.preventDefault();
        var n = parseInt($("input", go).value, 10);
        if (n > 0) {
          var max = parseInt($("input", go).getAttribute("max"), 10) || n;
          n = Math.min(n, max);
          location.hash = "#L" + n;
          var el = document.getElementById("L" + n);
          if (el) el.scrollIntoView({ block: "center" });
        }
      });
    }
    // Clicking a line number links to the line (the number is drawn by
    // CSS in the line's left padding).
    code.addEventListener("click", function (e) {
      var line = e.target;
      if (!line.id || line.parentNode.className !== "chunk") return;
      var pad = parseFloat(getComputedStyle(line).paddingLeft) || 0;
      if (e.clientX - line.getBoundingClientRect().left < pad) {
        history.pushState(null, "", "#" + line.id);
        centreOn(line.id);
      }
    });
    var wrap = $("[data-wrap-toggle]");
    if (wrap) {
      var on = false;
      try { on = localStorage.getItem("veripost.wrap") === "1"; } catch (_) { /* private mode */ }
      var set = function (v) {
        code.classList.toggle("wrap", v);
        wrap.setAttribute("aria-pressed", v ? "true" : "false");
        try { localStorage.setItem("veripost.wrap", v ? "1" : "0"); } catch (_) { /* ignore */ }
      };
      set(on);
      wrap.addEventListener("click", function () { set(wrap.getAttribute("aria-pressed") !== "true"); });
    }
    var filter = $("[data-outline-filter]");
    if (filter) {
      var groups = $$("[data-outline] details");
      var wasOpen = groups.map(function (g) { return g.open; });
      filter.addEventListener("input", function () {
        var q = filter.value.trim().toLowerCase();
        groups.forEach(function (g, i) {
          var any = false;
          $$("li", g).forEach(function (li) {
            var hit = q === "" || li.textContent.toLowerCase().indexOf(q) >= 0;
            li.hidden = !hit;
            any = any || hit;
          });
          g.hidden = !any;
          g.open = q === "" ? wasOpen[i] : any;
        });
      });
    }
    // Centre the target line rather than pinning it under the toolbar.
    function centre() {
      var m = /^#L(\d+)$/.exec(location.hash);
      if (m) centreOn("L" + m[1]);
    }
    window.addEventListener("hashchange", centre);
    if (location.hash) setTimeout(centre, 0);
  }

  // ---- Symbols: click a name to go to its definition and see its uses ----

  // The server writes each name link as /symbols/<canonical form>, so two
  // spellings of one name ("MACHINE NAME", "machine_name") link alike; the
  // page compares those, never canonicalising names itself.
  function linkName(a) {
    var h = a.getAttribute("href") || "";
    return h.indexOf("/symbols/") === 0 ? decodeURIComponent(h.slice(9)) : "";
  }

  function initSymbols() {
    var code = $("[data-code]");
    var panel = $("[data-sym-panel]");
    if (!code || !panel || !code.getAttribute("data-symbol-url")) return;
    var body = $("[data-sym-body]", panel);
    var lastFocus = null;
    var marked = [];

    function mark(c) {
      marked.forEach(function (el) { el.classList.remove("sym-hl"); });
      marked = c ? $$("a:not(.lib-link)", code).filter(function (el) { return linkName(el) === c; }) : [];
      marked.forEach(function (el) { el.classList.add("sym-hl"); });
    }

    function close() {
      panel.hidden = true;
      document.body.classList.remove("sym-open");
      marked.forEach(function (el) { el.classList.remove("sym-hl"); });
      if (lastFocus && document.contains(lastFocus)) lastFocus.focus();
    }

    document.addEventListener("veripost:panel", function (e) {
      if (e.detail !== "symbol" && !panel.hidden) close();
    });

    function open(name, opts, c) {
      document.dispatchEvent(new CustomEvent("veripost:panel", { detail: "symbol" }));
      var url = code.getAttribute("data-symbol-url") + "?name=" + encodeURIComponent(name);
      body.textContent = "";
      var p = document.createElement("p");
      p.className = "muted";
      p.textContent = "Looking up " + name + "…";
      body.appendChild(p);
      panel.hidden = false;
      document.body.classList.add("sym-open");
      mark(c);
      fetch(url, { headers: { Accept: "text/html" } })
        .then(function (res) {
          return res.text().then(function (t) {
            if (!res.ok) throw new Error("HTTP " + res.status);
            return t;
          });
        })
        .then(function (html) {
          body.innerHTML = html; // server-rendered and escaped by html/template
          var inner = $(".sym-in", body);
          var def = inner && inner.getAttribute("data-def");
          if (inner && !c) mark(inner.getAttribute("data-canonical"));
          panel.setAttribute("data-symbol", name);
          if (opts.go && def) {
            if (def.charAt(0) === "#") {
              if (location.hash !== def) history.pushState(null, "", def);
              centreOn(def.slice(1));
            } else {
              location.href = def;
              return;
            }
          }
          if (opts.focus) { var h = $("#sym-title", body); if (h) h.focus(); }
        })
        .catch(function () {
          body.textContent = "";
          var e = document.createElement("p");
          e.textContent = "The uses of " + name + " could not be looked up. Try again.";
          body.appendChild(e);
        });
    }

    code.addEventListener("click", function (e) {
      // Library paths (a.lib-link) are plain links to the file they name.
      var a = e.target.closest && e.target.closest("a:not(.lib-link)");
      if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey || e.button !== 0) return;
      e.preventDefault();
      lastFocus = code;
      open(a.textContent.trim(), { go: true, focus: false }, linkName(a));
    });
    $$("[data-sym-open]").forEach(function (a) {
      a.addEventListener("click", function (e) {
        if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        lastFocus = a;
        open(a.getAttribute("data-sym-open"), { go: false, focus: true });
      });
    });
    $("[data-sym-close]", panel).addEventListener("click", close);
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && !panel.hidden) close();
    });
    var m = /[?&]sym=([^&#]*)/.exec(location.search);
    if (m) open(decodeURIComponent(m[1].replace(/\+/g, " ")), { go: false, focus: false });
  }

  function centreOn(id) {
    var el = document.getElementById(id);
    if (!el) return;
    $$(".chunk > div.hit").forEach(function (l) { l.classList.remove("hit"); });
    el.classList.add("hit");
    el.scrollIntoView({ block: "center" });
  }

  function initDiagFilter() {
    var list = $("[data-diags]");
    if (!list) return;
    $$("[data-diag-toggle]").forEach(function (b) {
      b.addEventListener("click", function () {
        var on = b.getAttribute("aria-pressed") !== "true";
        b.setAttribute("aria-pressed", on ? "true" : "false");
        var sev = b.getAttribute("data-diag-toggle");
        $$("[data-sev='" + sev + "']", list).forEach(function (li) { li.hidden = !on; });
      });
    });
  }

  // ---- Version notes ------------------------------------------------------

  // "Edit note" in the versions table turns the note into a field; saving
  // sends it to the API (PATCH …/versions/N).
  function initNoteEdit() {
    $$("[data-note-edit]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var row = btn.closest("tr");
        var cell = row && $("td.note", row);
        if (!cell || $("form", cell)) return;
        var old = btn.getAttribute("data-note") || "";
        var form = document.createElement("form");
        form.className = "note-form";
        var input = document.createElement("input");
        input.maxLength = 2000;
        input.value = old;
        input.setAttribute("aria-label", "Note");
        input.setAttribute("data-note-input", "");
        var save = document.createElement("button");
        save.type = "submit"; save.className = "btn btn-sm btn-primary"; save.textContent = "Save";
        var cancel = document.createElement("button");
        cancel.type = "button"; cancel.className = "btn btn-sm btn-ghost"; cancel.textContent = "Cancel";
        var msg = document.createElement("p");
        msg.className = "error-msg small"; msg.hidden = true; msg.setAttribute("role", "alert");
        form.appendChild(input); form.appendChild(save); form.appendChild(cancel); form.appendChild(msg);
        var shown = cell.textContent;
        cell.textContent = "";
        cell.appendChild(form);
        input.focus();
        function done(text) { cell.textContent = text.trim() === "" ? "—" : text; btn.focus(); }
        cancel.addEventListener("click", function () { done(shown); });
        form.addEventListener("submit", function (e) {
          e.preventDefault();
          save.disabled = true;
          fetch(btn.getAttribute("data-note-edit"), {
            method: "PATCH",
            headers: { "Content-Type": "application/json", Accept: "application/json" },
            body: JSON.stringify({ note: input.value.trim() })
          }).then(function (res) {
            return res.text().then(function (t) {
              if (!res.ok) throw apiError(res.status, t);
              return JSON.parse(t);
            });
          }).then(function (v) {
            btn.setAttribute("data-note", v.note || "");
            done(v.note || "");
          }).catch(function (err) {
            msg.textContent = (err && err.message) || "The note could not be saved.";
            msg.hidden = false;
            save.disabled = false;
          });
        });
      });
    });
  }

  // ---- Explanations ------------------------------------------------------

  // highlightLines marks lines from..to of the source view and centres the
  // first one (citations point at line ranges).
  function highlightLines(from, to) {
    $$(".chunk > div.hit").forEach(function (l) { l.classList.remove("hit"); });
    for (var n = from; n <= to && n - from < 2000; n++) {
      var el = document.getElementById("L" + n);
      if (el) el.classList.add("hit");
    }
    var first = document.getElementById("L" + from);
    if (first) first.scrollIntoView({ block: "center" });
  }

  // A link from a citation elsewhere (?hl=12-14#L12) highlights its range.
  function initHighlight() {
    if (!$("[data-code]")) return;
    var m = /[?&]hl=(\d+)-(\d+)/.exec(location.search);
    if (m) setTimeout(function () { highlightLines(parseInt(m[1], 10), parseInt(m[2], 10)); }, 0);
  }

  // citeTarget reads a source-view address: its file id and line range.
  function citeTarget(href) {
    var m = /\/files\/([^/?#]+)(?:\?hl=(\d+)-(\d+))?#L(\d+)$/.exec(href || "");
    if (!m) return null;
    var from = parseInt(m[4], 10);
    return { file: decodeURIComponent(m[1]), from: from, to: m[3] ? parseInt(m[3], 10) : from };
  }

  // The source view's explanation panel: "explain" in the outline, on
  // section header lines and on a selection of lines open it; citations
  // inside it highlight the cited lines (or open the cited file).
  function initExplain() {
    var code = $("[data-code]");
    var panel = $("[data-explain-panel]");
    if (!code || !panel || !code.getAttribute("data-explain-url")) return;
    var body = $("[data-explain-body]", panel);
    var fileID = code.getAttribute("data-file-id");
    var lastFocus = null;

    function close() {
      panel.hidden = true;
      document.body.classList.remove("xpl-open");
      if (lastFocus && document.contains(lastFocus)) lastFocus.focus();
    }

    function open(href) {
      var url = href + (href.indexOf("?") >= 0 ? "&" : "?") + "partial=1";
      body.textContent = "";
      var p = document.createElement("p");
      p.className = "muted";
      p.textContent = "Explaining…";
      body.appendChild(p);
      document.dispatchEvent(new CustomEvent("veripost:panel", { detail: "explain" }));
      panel.hidden = false;
      document.body.classList.add("xpl-open");
      fetch(url, { headers: { Accept: "text/html" } })
        .then(function (res) { return res.text(); })
        .then(function (html) {
          body.innerHTML = html; // server-rendered and escaped by html/template
          panel.scrollTop = 0;
          var h = $("#xpl-title", body) || $(".xpl-error", body);
          if (h) { h.setAttribute("tabindex", "-1"); h.focus(); }
        })
        .catch(function () {
          body.textContent = "";
          var e = document.createElement("p");
          e.textContent = "The explanation could not be loaded: the server did not answer. Try again.";
          body.appendChild(e);
        });
    }

    // "explain" links of the outline, and a button on each section's first
    // line (added when the browser is idle, so a large file opens as fast).
    var links = $$("[data-outline] a[data-explain]");
    links.forEach(function (a) {
      a.addEventListener("click", function (e) {
        if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        lastFocus = a;
        open(a.getAttribute("href"));
      });
    });
    (window.requestIdleCallback || function (f) { return setTimeout(f, 0); })(function () {
      links.forEach(function (a) {
        if (a.getAttribute("data-explain") !== "section") return;
        var line = document.getElementById("L" + a.getAttribute("data-line"));
        if (!line) return;
        var b = document.createElement("button");
        b.type = "button";
        b.className = "xbtn";
        b.textContent = "Explain";
        b.tabIndex = -1; // keyboard users have the outline's link
        b.setAttribute("data-explain-href", a.getAttribute("href"));
        b.setAttribute("aria-label", a.getAttribute("aria-label") || "Explain this section");
        line.appendChild(b);
      });
    });
    code.addEventListener("click", function (e) {
      var b = e.target.closest && e.target.closest("button.xbtn");
      if (!b) return;
      e.preventDefault();
      e.stopPropagation();
      lastFocus = code;
      open(b.getAttribute("data-explain-href"));
    });

    // A selection of lines in the code can be explained.
    var selBtn = $("[data-explain-selection]");
    var selRange = null;
    function lineOf(node) {
      while (node && node !== code) {
        if (node.nodeType === 1 && /^L\d+$/.test(node.id) && node.parentNode && node.parentNode.className === "chunk") {
          return parseInt(node.id.slice(1), 10);
        }
        node = node.parentNode;
      }
      return 0;
    }
    if (selBtn) {
      document.addEventListener("selectionchange", function () {
        var sel = window.getSelection();
        var a = sel && !sel.isCollapsed ? lineOf(sel.anchorNode) : 0;
        var b = a ? lineOf(sel.focusNode) : 0;
        if (!a || !b) {
          selRange = null;
          selBtn.disabled = true;
          selBtn.textContent = "Explain selection";
          return;
        }
        selRange = [Math.min(a, b), Math.max(a, b)];
        selBtn.disabled = false;
        selBtn.textContent = selRange[0] === selRange[1] ? "Explain line " + selRange[0] : "Explain lines " + selRange[0] + "–" + selRange[1];
      });
      // Keep the selection when the button is pressed.
      selBtn.addEventListener("mousedown", function (e) { e.preventDefault(); });
      selBtn.addEventListener("click", function () {
        if (!selRange) return;
        lastFocus = selBtn;
        open(code.getAttribute("data-explain-url") + "?from=" + selRange[0] + "&to=" + selRange[1]);
      });
    }

    panel.addEventListener("click", function (e) {
      var a = e.target.closest && e.target.closest("a");
      if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey || e.button !== 0) return;
      if (a.hasAttribute("data-explain-link")) {
        e.preventDefault();
        open(a.getAttribute("href"));
        return;
      }
      var t = citeTarget(a.getAttribute("href"));
      if (t && t.file === fileID) {
        e.preventDefault();
        if (location.hash !== "#L" + t.from) history.pushState(null, "", "#L" + t.from);
        highlightLines(t.from, t.to);
      }
      // A citation of another file opens that file at the cited lines.
    });
    $("[data-explain-close]", panel).addEventListener("click", close);
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && !panel.hidden) close();
    });
    document.addEventListener("veripost:panel", function (e) {
      if (e.detail !== "explain" && !panel.hidden) close();
    });
  }

  // The package page's overview is read from the source when the page opens.
  function initOverview() {
    var card = $("[data-overview-url]");
    if (!card) return;
    var box = $("[data-overview-body]", card);
    fetch(card.getAttribute("data-overview-url"), { headers: { Accept: "text/html" } })
      .then(function (res) { return res.text(); })
      .then(function (html) {
        box.innerHTML = html; // server-rendered and escaped by html/template
        card.setAttribute("data-loaded", "");
      })
      .catch(function () { /* the link to the overview page stays */ });
  }

  // ---- The copilot ------------------------------------------------------

  // readSSE reads a server-sent event stream from a fetch response and
  // calls onEvent(name, data) for each event; it resolves at the end.
  function readSSE(res, onEvent) {
    var reader = res.body.getReader();
    var dec = new TextDecoder();
    var buf = "";
    function dispatch(block) {
      var name = "message", data = [];
      block.split("\n").forEach(function (line) {
        if (line.indexOf("event:") === 0) name = line.slice(6).trim();
        else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
      });
      if (!data.length) return;
      var v = null;
      try { v = JSON.parse(data.join("\n")); } catch (_) { return; }
      onEvent(name, v);
    }
    function pump() {
      return reader.read().then(function (r) {
        if (r.done) { if (buf.trim()) dispatch(buf); return; }
        buf += dec.decode(r.value, { stream: true }).replace(/\r\n/g, "\n");
        var i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          dispatch(buf.slice(0, i));
          buf = buf.slice(i + 2);
        }
        return pump();
      });
    }
    return pump();
  }

  // citeLink is a verified citation of a copilot answer: a link to its
  // lines in the source view (a plain label when it has no page).
  function citeLink(c) {
    var a = document.createElement(c.href ? "a" : "span");
    a.className = "cite";
    if (c.href) a.href = c.href;
    a.setAttribute("data-from", c.start_line);
    a.setAttribute("data-to", c.end_line);
    a.setAttribute("data-copilot-cite", "");
    a.title = c.file + ", line " + c.start_line + (c.end_line > c.start_line ? " to " + c.end_line : "");
    a.textContent = c.file + ":" + c.start_line + (c.end_line > c.start_line ? "–" + c.end_line : "");
    return a;
  }

  // renderAnswer draws a copilot answer (parts: {text} and {citation} in
  // the order they streamed) into out as the Markdown models write:
  // paragraphs, "-" / "*" and "1." lists, "#" headings, fenced code
  // blocks, `code`, **bold** and *emphasis* (never "_", which is part of
  // UPG names such as SPINDLE_DIR). Everything is built as DOM nodes from
  // text: nothing the model writes is ever read as HTML. Markdown not yet
  // closed while streaming shows as written until it is.
  var CITE_MARK = "\uE000"; // a private-use character stands for each citation
  function renderAnswer(out, parts) {
    var cites = [], src = "";
    parts.forEach(function (p) {
      if (p.citation) { cites.push(p.citation); src += CITE_MARK; }
      else src += p.text.split(CITE_MARK).join("");
    });
    var next = 0; // the next citation to place
    function inline(el, t) {
      var re = /(`+)([^`]+?)\1|\*\*([^*]+?)\*\*|\*([^*\s](?:[^*]*?[^*\s])?)\*|\uE000/g, last = 0, m;
      function plain(x) { if (x) el.appendChild(document.createTextNode(x)); }
      while ((m = re.exec(t)) !== null) {
        plain(t.slice(last, m.index));
        last = re.lastIndex;
        if (m[0] === CITE_MARK) {
          var before = t.slice(0, m.index), after = t.slice(last);
          if (before && !/\s$/.test(before)) plain(" ");
          if (next < cites.length) el.appendChild(citeLink(cites[next++]));
          if (after && /^[^\s.,;:!?)]/.test(after)) plain(" ");
          continue;
        }
        var tag = m[2] !== undefined ? "code" : m[3] !== undefined ? "strong" : "em";
        var node = document.createElement(tag);
        node.textContent = m[2] !== undefined ? m[2] : m[3] !== undefined ? m[3] : m[4];
        el.appendChild(node);
      }
      plain(t.slice(last));
    }
    out.textContent = "";
    var lines = src.replace(/\r\n?/g, "\n").split("\n");
    var block = null, list = null, item = null, fence = null;
    function close() { block = null; list = null; item = null; }
    function add(el) { out.appendChild(el); return el; }
    lines.forEach(function (line) {
      if (fence) {
        if (/^\s*(```|~~~)/.test(line)) { fence = null; return; }
        var bits = line.split(CITE_MARK);
        fence.lines.push(bits.join(""));
        fence.code.textContent = fence.lines.join("\n");
        // A citation inside code goes under the block.
        for (var n = bits.length - 1; n > 0 && next < cites.length; n--) fence.box.appendChild(citeLink(cites[next++]));
        return;
      }
      var m;
      if (/^\s*(```|~~~)/.test(line)) {
        close();
        var box = add(document.createElement("div"));
        box.className = "md-code";
        fence = { box: box, code: box.appendChild(document.createElement("pre")).appendChild(document.createElement("code")), lines: [] };
        return;
      }
      if (!line.trim()) { close(); return; }
      if ((m = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line))) {
        close();
        var h = add(document.createElement("p"));
        h.className = "md-heading";
        inline(h.appendChild(document.createElement("strong")), m[1]);
        return;
      }
      var bullet = /^\s*([-*+\u2022])\s+(.*)$/.exec(line), numbered = /^\s*(\d{1,9})[.)]\s+(.*)$/.exec(line);
      if (bullet || numbered) {
        var tag = bullet ? "ul" : "ol";
        if (!list || list.tagName.toLowerCase() !== tag) {
          close();
          list = add(document.createElement(tag));
          if (numbered && numbered[1] !== "1") list.setAttribute("start", numbered[1]);
        }
        item = list.appendChild(document.createElement("li"));
        inline(item, (bullet || numbered)[2]);
        return;
      }
      if (item) { item.appendChild(document.createTextNode("\n")); inline(item, line.trim()); return; }
      if (block) { block.appendChild(document.createTextNode("\n")); inline(block, line); return; }
      block = add(document.createElement("p"));
      inline(block, line);
    });
    // Citations past everything written so far (none is ever lost).
    if (next < cites.length) {
      var tail = out.lastElementChild && out.lastElementChild.tagName === "P" ? out.lastElementChild : add(document.createElement("p"));
      while (next < cites.length) { tail.appendChild(document.createTextNode(" ")); tail.appendChild(citeLink(cites[next++])); }
    }
  }

  // The "Ask the copilot" part of every explanation (in panels loaded
  // later too): the answer streams in as it is written, each verified
  // citation a link to its lines; Stop cancels; a failure leaves the
  // offline explanation above untouched and says why.
  function initCopilot() {
    document.addEventListener("submit", function (e) {
      var form = e.target.closest && e.target.closest("[data-copilot-form]");
      if (!form) return;
      e.preventDefault();
      ask(form.closest("[data-copilot]"));
    });
    document.addEventListener("click", function (e) {
      var b = e.target.closest && e.target.closest("[data-copilot-stop]");
      if (!b) return;
      var slot = b.closest("[data-copilot]");
      if (slot && slot._abort) slot._abort.abort();
    });

    function ask(slot) {
      if (!slot || slot._abort) return;
      var url = slot.getAttribute("data-ask-url");
      if (!url) return;
      var askBtn = $("[data-copilot-ask]", slot), stopBtn = $("[data-copilot-stop]", slot);
      var state = $("[data-copilot-state]", slot), out = $("[data-copilot-answer]", slot);
      var meta = $("[data-copilot-meta]", slot), errBox = $("[data-error]", slot);
      var ctxBox = $("[data-copilot-context]", slot), ctxBody = $("[data-copilot-context-body]", slot);
      var q = $("[data-copilot-question]", slot);
      hideError(errBox);
      out.textContent = "";
      meta.hidden = true;
      ctxBox.hidden = true;
      slot.removeAttribute("data-done");
      slot.removeAttribute("data-first-text");
      // The answer so far: text and verified citations in the order they
      // came, drawn again as Markdown after each (answers are short).
      var parts = [];
      function draw() { renderAnswer(out, parts); }
      var ctl = new AbortController();
      slot._abort = ctl;
      askBtn.disabled = true;
      stopBtn.hidden = false;
      state.textContent = "Asking…";
      var body = {};
      if (q && q.value.trim()) body.question = q.value.trim();
      var ended = false;
      fetch(url, { method: "POST", signal: ctl.signal, headers: { "Content-Type": "application/json", Accept: "text/event-stream" }, body: JSON.stringify(body) })
        .then(function (res) {
          if (!res.ok) return res.text().then(function (t) { throw apiError(res.status, t); });
          state.textContent = "Writing…";
          return readSSE(res, function (name, v) {
            switch (name) {
              case "context":
                ctxBody.textContent = "";
                var p = document.createElement("p");
                p.textContent = "Sent to " + v.model + ": " + v.sources.length + " stretches of source (" + v.sources.join(", ") + ")" +
                  (v.notes.length ? " and notes (" + v.notes.join(", ") + ")" : "") + ", about " + v.tokens + " of " + v.budget + " tokens.";
                ctxBody.appendChild(p);
                if (v.left_out) {
                  var l = document.createElement("p");
                  l.textContent = v.left_out;
                  ctxBody.appendChild(l);
                  slot.setAttribute("data-left-out", "");
                }
                ctxBox.hidden = false;
                break;
              case "text":
                // When the first words arrived (the latency test reads it).
                if (!slot.hasAttribute("data-first-text")) slot.setAttribute("data-first-text", String(Date.now()));
                parts.push({ text: v.text || "" });
                draw();
                break;
              case "citation":
                parts.push({ citation: v.citation });
                draw();
                break;
              case "done":
                ended = true;
                var ans = v.answer, bits = [];
                if (ans.cached) bits.push("answered from the cache, at no cost");
                else bits.push(ans.usage.input_tokens + " tokens in, " + ans.usage.output_tokens + " out" + (ans.usage.cost_usd ? " ($" + ans.usage.cost_usd.toFixed(4) + ")" : ""));
                if (ans.dropped_citations) bits.push(ans.dropped_citations + (ans.dropped_citations === 1 ? " citation" : " citations") + " could not be verified against the source and " + (ans.dropped_citations === 1 ? "was" : "were") + " removed");
                if (ans.truncated) bits.push("the answer was cut at the length limit");
                if (!ans.citations.length) bits.push("no statement of this answer could be tied to the source: treat it with care");
                meta.textContent = ans.model + " · " + bits.join(" · ") + ".";
                meta.hidden = false;
                if (ans.dropped_citations) slot.setAttribute("data-dropped", ans.dropped_citations);
                slot.setAttribute("data-done", ans.cached ? "cached" : "answered");
                break;
              case "error":
                ended = true;
                var er = v.error || {};
                showError(errBox, { message: er.message || "The copilot's answer broke off.", detail: er.detail || "", code: er.code || "", status: 0 });
                slot.setAttribute("data-done", "error");
                break;
            }
          });
        })
        .then(function () {
          if (!ended) showError(errBox, { message: "The answer broke off before it was finished. Try again; the explanation above does not depend on it.", detail: "", code: "", status: 0 });
        })
        .catch(function (err) {
          if (err && err.name === "AbortError") {
            state.textContent = "";
            meta.textContent = "Stopped. The part shown above is incomplete.";
            meta.hidden = false;
            slot.setAttribute("data-done", "stopped");
            return;
          }
          showError(errBox, err && err.message ? err : apiError(0, ""));
          slot.setAttribute("data-done", "error");
        })
        .then(function () {
          slot._abort = null;
          askBtn.disabled = false;
          stopBtn.hidden = true;
          if (state.textContent !== "") state.textContent = "";
        });
    }
  }

  // The compare page's "Explain this change": the explanation of the
  // change is made when asked for.
  function initChange() {
    var card = $("[data-change-url]");
    if (!card) return;
    var btn = $("[data-change-load]", card), box = $("[data-change-body]", card);
    btn.addEventListener("click", function () {
      btn.disabled = true;
      btn.textContent = "Explaining…";
      fetch(card.getAttribute("data-change-url"), { headers: { Accept: "text/html" } })
        .then(function (res) { return res.text(); })
        .then(function (html) {
          box.innerHTML = html; // server-rendered and escaped by html/template
          card.setAttribute("data-loaded", "");
        })
        .catch(function () {
          btn.disabled = false;
          btn.textContent = "Explain this change";
        });
    });
  }

  // ---- Accounts, users and tokens -----------------------------------------

  // Forms marked data-api-form send their named fields as JSON to the API
  // (data-method, data-url). data-done says what follows success: "reload"
  // the page, show a "message", or show a new "token" once.
  function initAPIForms() {
    $$("form[data-api-form]").forEach(function (form) {
      var errBox = $("[data-error]", form);
      var state = $("[data-save-state]", form);
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        hideError(errBox);
        var same = $("[data-same-as]", form);
        if (same && same.value !== document.getElementById(same.getAttribute("data-same-as")).value) {
          showError(errBox, { message: "The two passwords differ. Type the same password twice.", detail: "", code: "", status: 0 });
          return;
        }
        var body = {};
        $$("input[name], select[name]", form).forEach(function (el) {
          var v = el.type === "password" ? el.value : el.value.trim();
          if (el.hasAttribute("data-bool")) body[el.name] = v === "true";
          else if (v !== "") body[el.name] = v;
        });
        var method = form.getAttribute("data-method") || "POST";
        var buttons = $$("button", form);
        buttons.forEach(function (b) { b.disabled = true; });
        if (state) state.textContent = "Saving…";
        var opts = { method: method, headers: { Accept: "application/json" } };
        if (method !== "DELETE" && method !== "GET") {
          opts.headers["Content-Type"] = "application/json";
          opts.body = JSON.stringify(body);
        }
        fetch(form.getAttribute("data-url"), opts).then(function (res) {
          return res.text().then(function (t) {
            if (!res.ok) throw apiError(res.status, t);
            return t ? JSON.parse(t) : null;
          });
        }).then(function (res) {
          var done = form.getAttribute("data-done");
          if (done === "reload") { location.reload(); return; }
          $$("input[type=password]", form).forEach(function (el) { el.value = ""; });
          if (state) state.textContent = form.getAttribute("data-message") || "Saved.";
          if (done === "token" && res && res.token) {
            var out = $("[data-token-out]", form);
            $("[data-token-value]", out).textContent = res.token;
            out.hidden = false;
            var name = $("input[name=name]", form);
            if (name) name.value = "";
          }
        }).catch(function (err) {
          if (state) state.textContent = "";
          showError(errBox, err && err.message ? err : apiError(0, ""));
        }).then(function () { buttons.forEach(function (b) { b.disabled = false; }); });
      });
    });
    $$("[data-copy-token]").forEach(function (b) {
      b.addEventListener("click", function () {
        var v = $("[data-token-value]", b.closest("[data-token-out]")).textContent;
        copyText(v).then(function () { b.textContent = "Copied"; }, function () { window.prompt("Copy the token:", v); });
      });
    });
  }

  // The setup link carries its code after "#", which browsers never send
  // to servers or put in Referer headers; copy it into the form and drop
  // it from the address bar.
  function initSetupCode() {
    var input = $("[data-setup-code]");
    if (!input) return;
    function take() {
      var m = /^#(?:code=)?([A-Za-z0-9]+)$/.exec(location.hash);
      if (m) {
        input.value = m[1];
        history.replaceState(null, "", location.pathname);
      }
    }
    take();
    window.addEventListener("hashchange", take);
  }

  function init() {
    localizeTimes(document);
    initAutoSubmit();
    $$("[data-uploader]").forEach(initUploader);
    guardWindowDrops();
    initBadges();
    initLiveStatus();
    initMetaForm();
    initDelete();
    initCopy();
    initSource();
    initSymbols();
    initDiagFilter();
    initNoteEdit();
    initExplain();
    initHighlight();
    initOverview();
    initCopilot();
    initChange();
    initAPIForms();
    initSetupCode();
    initSearchKeys();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

// Progressive enhancement only: every view works as plain links and forms.
(function () {
  "use strict";

  function setTheme(t) {
    document.documentElement.dataset.theme = t;
    try { localStorage.setItem("glassbox-theme", t); } catch (e) { /* private mode */ }
  }

  function currentTheme() {
    var t = document.documentElement.dataset.theme;
    if (t) return t;
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  // The empty state's commands name this server's own address.
  function fillOrigin() {
    document.querySelectorAll(".origin").forEach(function (el) { el.textContent = location.origin; });
  }

  // Filter forms: leave empty fields out of the URL so links stay short.
  function tidyForms() {
    document.querySelectorAll("form.filters").forEach(function (form) {
      form.addEventListener("submit", function () {
        form.querySelectorAll("input, select").forEach(function (el) {
          if (!el.value || el.value === "all") el.disabled = true;
        });
      });
      form.querySelectorAll("select").forEach(function (sel) {
        sel.addEventListener("change", function () { form.requestSubmit(); });
      });
    });
  }

  // ---- trace tree ----
  var tree = null;

  function rows() { return Array.prototype.slice.call(tree.querySelectorAll(".span-row")); }
  function visibleRows() { return rows().filter(function (r) { return !r.classList.contains("hidden"); }); }

  function descendants(row) {
    var all = rows(), out = [], depth = +row.dataset.depth;
    for (var i = all.indexOf(row) + 1; i < all.length && +all[i].dataset.depth > depth; i++) out.push(all[i]);
    return out;
  }

  function setExpanded(row, open) {
    if (!row.hasAttribute("aria-expanded")) return;
    row.setAttribute("aria-expanded", open ? "true" : "false");
    // Showing a subtree keeps grandchildren of folded children hidden.
    var hiddenBelow = null;
    descendants(row).forEach(function (d) {
      var depth = +d.dataset.depth;
      if (hiddenBelow !== null && depth > hiddenBelow) { d.classList.add("hidden"); return; }
      hiddenBelow = null;
      d.classList.toggle("hidden", !open);
      if (open && d.getAttribute("aria-expanded") === "false") hiddenBelow = depth;
    });
  }

  function select(row, push) {
    if (!row) return;
    rows().forEach(function (r) {
      r.classList.toggle("selected", r === row);
      r.setAttribute("aria-selected", r === row ? "true" : "false");
      r.tabIndex = r === row ? 0 : -1;
    });
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
    var panel = document.getElementById("span-panel");
    var traceId = location.pathname.split("/")[2];
    var spanId = row.dataset.spanId;
    if (push) history.pushState({ span: spanId }, "", "?span=" + spanId);
    panel.classList.add("loading");
    fetch("/traces/" + traceId + "/spans/" + spanId)
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) { panel.innerHTML = html; panel.classList.remove("loading"); })
      .catch(function () { location.href = "?span=" + spanId; });
  }

  function rowById(id) { return tree.querySelector('.span-row[data-span-id="' + id + '"]'); }

  function initTree() {
    tree = document.getElementById("span-tree");
    if (!tree) return;
    var sel = tree.querySelector(".span-row.selected") || tree.querySelector(".span-row");
    rows().forEach(function (r) { r.tabIndex = r === sel ? 0 : -1; });
    tree.addEventListener("click", function (e) {
      var row = e.target.closest(".span-row");
      if (!row || e.metaKey || e.ctrlKey || e.shiftKey) return;
      e.preventDefault();
      if (e.target.closest(".fold") && row.hasAttribute("aria-expanded")) {
        setExpanded(row, row.getAttribute("aria-expanded") !== "true");
        return;
      }
      select(row, true);
    });
    tree.addEventListener("keydown", function (e) {
      var row = e.target.closest(".span-row");
      if (!row) return;
      var vis = visibleRows(), i = vis.indexOf(row);
      switch (e.key) {
        case "ArrowDown": case "j": select(vis[Math.min(i + 1, vis.length - 1)], true); break;
        case "ArrowUp": case "k": select(vis[Math.max(i - 1, 0)], true); break;
        case "Home": select(vis[0], true); break;
        case "End": select(vis[vis.length - 1], true); break;
        case "ArrowRight":
          if (row.getAttribute("aria-expanded") === "false") setExpanded(row, true);
          else if (row.hasAttribute("aria-expanded")) select(vis[i + 1], true);
          break;
        case "ArrowLeft":
          if (row.getAttribute("aria-expanded") === "true") setExpanded(row, false);
          else if (row.dataset.parent && rowById(row.dataset.parent)) select(rowById(row.dataset.parent), true);
          break;
        default: return;
      }
      e.preventDefault();
    });
    document.querySelectorAll("a.jump[data-span-id]").forEach(function (a) {
      a.addEventListener("click", function (e) { e.preventDefault(); select(rowById(a.dataset.spanId), true); });
    });
    window.addEventListener("popstate", function () {
      var id = new URLSearchParams(location.search).get("span");
      var row = id ? rowById(id) : tree.querySelector(".span-row");
      if (row) select(row, false);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.getElementById("theme-toggle");
    if (toggle) toggle.addEventListener("click", function () { setTheme(currentTheme() === "dark" ? "light" : "dark"); });
    fillOrigin();
    tidyForms();
    initTree();
  });
})();

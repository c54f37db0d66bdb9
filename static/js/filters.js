/* The filter panel as a bottom sheet on phones (templates/_filters.html). Without this script the 筛选 (n)
   button is a link to the panel, shown as a plain section. With it, on a narrow screen the button opens the
   panel as a modal dialog: focus moves into it and stays there, Esc / × / the backdrop / 查看 N 节课程 close it
   and focus returns to the button. Choosing a value reloads the page (every filter state is a URL) and the sheet
   opens again, so a pupil can pick 数学 and then 八年级 without reopening it. No inline script (CSP). */
(function () {
  "use strict";
  var PHONE = window.matchMedia("(max-width: 760px)");
  var REOPEN = "learnspace.filterSheet";

  function init() {
    var panel = document.querySelector("[data-filter-panel]");
    var opener = document.querySelector("[data-filter-open]");
    if (!panel || !opener) return;
    document.documentElement.classList.add("has-filter-sheet");
    var title = panel.querySelector("#filters-title");
    var closer = panel.querySelector("button[data-filter-close]");
    var backdrop = null;
    opener.setAttribute("role", "button");
    opener.setAttribute("aria-haspopup", "dialog");
    opener.setAttribute("aria-expanded", "false");

    function isOpen() { return panel.classList.contains("is-open"); }

    function focusables() {
      return Array.prototype.filter.call(panel.querySelectorAll("a[href], button:not([hidden])"), function (el) {
        return el.offsetParent !== null;
      });
    }

    function open() {
      if (!PHONE.matches) { title.focus(); return; }  // wide screen: the side panel is already on the page
      if (isOpen()) return;
      panel.classList.add("is-open");
      panel.setAttribute("role", "dialog");
      panel.setAttribute("aria-modal", "true");
      closer.hidden = false;
      backdrop = document.createElement("div");
      backdrop.className = "filter-backdrop";
      backdrop.addEventListener("click", function () { close(true); });
      document.body.appendChild(backdrop);
      document.body.classList.add("sheet-open");
      opener.setAttribute("aria-expanded", "true");
      title.focus();
    }

    function close(refocus) {
      if (!isOpen()) return;
      panel.classList.remove("is-open");
      panel.removeAttribute("role");
      panel.removeAttribute("aria-modal");
      closer.hidden = true;
      if (backdrop) backdrop.remove();
      backdrop = null;
      document.body.classList.remove("sheet-open");
      opener.setAttribute("aria-expanded", "false");
      if (refocus) opener.focus();
    }

    opener.addEventListener("click", function (event) {
      event.preventDefault();
      open();
    });

    panel.addEventListener("click", function (event) {
      if (!isOpen()) return;
      if (event.target.closest("[data-filter-close]")) {
        event.preventDefault();
        close(true);
        return;
      }
      if (event.target.closest("a.facet-value, a.filter-clear")) {
        try { sessionStorage.setItem(REOPEN, "1"); } catch (e) { /* private mode: the sheet just stays closed */ }
      }
    });

    panel.addEventListener("keydown", function (event) {
      if (!isOpen()) return;
      if (event.key === "Escape") {
        event.preventDefault();
        close(true);
      } else if (event.key === "Tab") {
        var items = focusables();
        if (!items.length) return;
        var first = items[0], last = items[items.length - 1];
        if (event.shiftKey && (document.activeElement === first || document.activeElement === title)) {
          event.preventDefault();
          last.focus();
        } else if (!event.shiftKey && document.activeElement === last) {
          event.preventDefault();
          first.focus();
        }
      }
    });

    var onResize = function () { if (!PHONE.matches) close(false); };
    if (PHONE.addEventListener) PHONE.addEventListener("change", onResize);

    var reopen = false;
    try {
      reopen = sessionStorage.getItem(REOPEN) === "1";
      sessionStorage.removeItem(REOPEN);
    } catch (e) { reopen = false; }
    if (reopen) open();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

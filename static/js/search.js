/* Autocomplete for search boxes: every <input data-suggest="/api/search/suggest"> gets a list of title
   completions under it (ARIA combobox; arrow keys, Enter, Escape; a tap on a suggestion searches for it).
   No inline script (CSP): loaded with defer from base.html. */
(function () {
  "use strict";
  var DELAY_MS = 150;
  var counter = 0;

  function attach(input) {
    var form = input.form;
    var url = input.getAttribute("data-suggest");
    if (!form || !url) return;
    var id = "suggest-" + (++counter);
    var list = document.createElement("ul");
    list.id = id;
    list.className = "suggest-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "搜索建议");
    list.hidden = true;
    var wrap = document.createElement("div");
    wrap.className = "suggest-wrap";
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);
    wrap.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id);

    var timer = null, active = -1, items = [], asked = "", controller = null;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var options = list.children;
      for (var i = 0; i < options.length; i++) options[i].setAttribute("aria-selected", i === index ? "true" : "false");
      active = index;
      if (index >= 0) input.setAttribute("aria-activedescendant", options[index].id);
      else input.removeAttribute("aria-activedescendant");
    }

    function choose(text) {
      input.value = text;
      close();
      form.submit();
    }

    function show(suggestions) {
      items = suggestions;
      list.textContent = "";
      if (!items.length) { close(); return; }
      items.forEach(function (text, i) {
        var option = document.createElement("li");
        option.id = id + "-" + i;
        option.setAttribute("role", "option");
        option.textContent = text;  // never innerHTML: titles are user text
        option.addEventListener("mousedown", function (event) {
          event.preventDefault();  // keep focus in the input until we submit
          choose(text);
        });
        list.appendChild(option);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      highlight(-1);
    }

    function ask() {
      var prefix = input.value.trim();
      if (!prefix || prefix.length > 50) { close(); return; }
      if (prefix === asked && !list.hidden) return;
      asked = prefix;
      if (controller) controller.abort();
      controller = typeof AbortController === "function" ? new AbortController() : null;
      fetch(url + "?q=" + encodeURIComponent(prefix), {
        credentials: "same-origin", headers: {"Accept": "application/json"},
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        return response.ok ? response.json() : {suggestions: []};
      }).then(function (body) {
        if (input.value.trim() === prefix) show(body.suggestions || []);
      }).catch(function () { /* offline or aborted: no suggestions, the form still works */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, DELAY_MS);
    });
    input.addEventListener("keydown", function (event) {
      if (list.hidden) return;
      if (event.key === "ArrowDown") { event.preventDefault(); highlight((active + 1) % items.length); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active <= 0 ? items.length - 1 : active - 1); }
      else if (event.key === "Escape") { close(); }
      else if (event.key === "Enter" && active >= 0) { event.preventDefault(); choose(items[active]); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }

  function init() {
    var inputs = document.querySelectorAll("input[data-suggest]");
    for (var i = 0; i < inputs.length; i++) attach(inputs[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

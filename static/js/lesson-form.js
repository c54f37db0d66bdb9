// Cascading catalogue selects on the lesson form: picking a node loads its children as the next select
// from GET /api/catalog/children?parent=<id>. Without JavaScript the "选择下一级" button does the same
// through the server. The chosen node is the deepest non-empty select (all are named "node").
(function () {
  "use strict";
  var picker = document.getElementById("node-picker");
  if (!picker) { return; }
  var url = picker.getAttribute("data-children-url");
  var preferred = JSON.parse(picker.getAttribute("data-preferred") || "[]");
  var levelNames = JSON.parse(picker.getAttribute("data-level-names") || "{}");
  var box = picker.querySelector(".node-selects");
  var status = picker.querySelector(".node-status");
  var next = picker.querySelector(".node-next");
  var request = 0; // only the answer to the latest choice may add a select
  if (next) { next.hidden = true; }

  function levels() { return Array.prototype.slice.call(box.querySelectorAll(".node-level")); }

  function isPreferred(node) { return node.level === "edition" && preferred.indexOf(node.id) >= 0; }

  function addSelect(nodes) {
    var name = levelNames[nodes[0].level] || "目录";
    var number = levels().length + 1;
    var wrap = document.createElement("div");
    wrap.className = "node-level";
    var label = document.createElement("label");
    label.htmlFor = "node-" + number;
    label.textContent = name;
    var select = document.createElement("select");
    select.name = "node";
    select.id = "node-" + number;
    select.add(new Option("请选择" + name, ""));
    // The school's own editions first; Array.sort is stable, so the catalogue order stays otherwise.
    nodes.slice().sort(function (a, b) { return isPreferred(b) - isPreferred(a); }).forEach(function (node) {
      var option = new Option(node.name + (isPreferred(node) ? "（本校选用）" : ""), String(node.id));
      option.setAttribute("data-level", node.level);
      option.setAttribute("data-has-children", node.has_children ? "1" : "0");
      select.add(option);
    });
    wrap.appendChild(label);
    wrap.appendChild(select);
    box.appendChild(wrap);
  }

  box.addEventListener("change", function (event) {
    var select = event.target;
    if (select.name !== "node") { return; }
    var all = levels();
    all.slice(all.indexOf(select.closest(".node-level")) + 1).forEach(function (el) { el.remove(); });
    var option = select.options[select.selectedIndex];
    var mine = ++request;
    status.textContent = "";
    if (!select.value || (option && option.getAttribute("data-has-children") === "0")) { return; }
    status.textContent = "正在加载下一级目录…";
    fetch(url + "?parent=" + encodeURIComponent(select.value),
          {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (nodes) {
        if (mine !== request) { return; }
        status.textContent = "";
        if (nodes.length) { addSelect(nodes); }
      })
      .catch(function () {
        if (mine === request) { status.textContent = "无法加载下一级目录，请检查网络后重新选择。"; }
      });
  });
})();

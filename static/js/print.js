// The activation-code slips page: a print button without inline script (the CSP forbids inline JS).
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});

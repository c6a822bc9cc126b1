// The full-text reader: "e" (or a click on Exclude…) arms the reason buttons with the keys
// 1-9, so that a digit pressed by itself never excludes a report; Escape disarms them.
(function () {
  "use strict";

  function disarm() {
    document.querySelectorAll("button[data-reason-key][data-key]").forEach(function (b) {
      b.removeAttribute("data-key");
    });
    var hint = document.querySelector("[data-pick-hint]");
    if (hint) hint.textContent = "";
  }

  // Previous / next report: buttons, so that the keys (which click buttons) reach them.
  document.addEventListener("click", function (event) {
    var go = event.target.closest && event.target.closest("button[data-href]");
    if (go && go.dataset.href.charAt(0) === "/") window.location.assign(go.dataset.href);
  });

  document.addEventListener("click", function (event) {
    var pick = event.target.closest && event.target.closest("[data-pick-reason]");
    if (!pick) return;
    var form = pick.closest("form");
    var buttons = form.querySelectorAll("button[data-reason-key]");
    if (!buttons.length) {
      var input = form.querySelector("input[name=reason]");
      if (input) input.focus();
      return;
    }
    buttons.forEach(function (b) { b.setAttribute("data-key", b.dataset.reasonKey); });
    buttons[0].focus();
    var hint = form.querySelector("[data-pick-hint]");
    if (hint) hint.textContent = "Press 1–" + buttons.length + " for the reason, or Escape.";
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") disarm();
  });
})();

// The extraction and risk-of-bias forms: a draft is sent to the server as the reviewer types
// (kept there, restored on reload, never their answer until they press Save), and the
// signalling questions are shown or hidden by the conditions the server put in data-applies.
(function () {
  "use strict";
  var TYPING_DELAY = 800;
  var CHOICE_DELAY = 150;
  var timers = new Map();

  function holds(rule, answers) {
    var met = rule.when.map(function (w) { return w[1].indexOf(answers[w[0]]) !== -1; });
    return rule.mode === "all" ? met.every(Boolean) : met.some(Boolean);
  }

  // A question that does not apply counts as NA for the questions after it, as in rob.py.
  function applyRules(domain) {
    var answers = {};
    domain.querySelectorAll("[data-question]").forEach(function (question) {
      var rule = question.dataset.applies ? JSON.parse(question.dataset.applies) : null;
      var shown = !rule || holds(rule, answers);
      var input = question.querySelector("select");
      question.hidden = !shown;
      input.disabled = !shown;
      answers[question.dataset.question] = shown ? input.value : "NA";
    });
  }

  function applyAll(root) {
    root.querySelectorAll("fieldset.rob-domain").forEach(applyRules);
  }

  function say(form, text) {
    var status = form.querySelector("[data-draft-status]");
    if (status) status.textContent = text;
  }

  function showProposals(form, proposals) {
    Object.keys(proposals || {}).forEach(function (domain) {
      var key = CSS.escape(domain);
      var out = form.querySelector('[data-proposal="' + key + '"]');
      var why = form.querySelector('[data-why="' + key + '"]');
      if (out) out.textContent = proposals[domain].judgement || "–";
      if (why) why.textContent = proposals[domain].why || "";
    });
  }

  function sendDraft(form) {
    timers.delete(form);
    fetch(form.dataset.draft, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        if (!document.contains(form) || form.dataset.submitting) return;
        say(form, data.said);
        showProposals(form, data.proposals);
      })
      .catch(function () {
        say(form, "The draft could not be kept on the server; your entries are still on this page.");
      });
  }

  function schedule(form, delay) {
    clearTimeout(timers.get(form));
    timers.set(form, setTimeout(function () { sendDraft(form); }, delay));
  }

  function changed(event) {
    var target = event.target;
    var form = target.closest && target.closest("form[data-draft]");
    if (!form) return;
    var domain = target.closest("fieldset.rob-domain");
    if (domain) applyRules(domain);
    var choice = target.tagName === "SELECT" || target.type === "radio" || target.type === "checkbox";
    schedule(form, choice ? CHOICE_DELAY : TYPING_DELAY);
  }

  document.addEventListener("input", changed);
  document.addEventListener("change", changed);
  // Saving the form makes its draft moot: a draft still waiting is not sent after it.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.dataset || !form.dataset.draft) return;
    clearTimeout(timers.get(form));
    timers.delete(form);
    form.dataset.submitting = "1";
  }, true);
  // Leaving the page with a draft still waiting: send it now (the form carries its token).
  window.addEventListener("pagehide", function () {
    timers.forEach(function (timer, form) {
      clearTimeout(timer);
      navigator.sendBeacon(form.dataset.draft, new FormData(form));
    });
    timers.clear();
  });
  document.addEventListener("DOMContentLoaded", function () { applyAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { applyAll(event.target); });
})();

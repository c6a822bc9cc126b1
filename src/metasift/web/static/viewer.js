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

// Extraction suggestions: each one's sentence is marked in the rendered JATS article, found
// by text search over the text nodes of the section the suggestion names (data-section, the
// nth element of that name: data-occurrence). Spaces are ignored when comparing, and in a
// table the cells' " | " separators too, since the stored text and the rendered one differ
// there; a sentence with words the page shows and the text left out (citations) is found by
// its first and last words. Only text nodes and <mark> elements are made: no markup is parsed.
(function () {
  "use strict";

  function squeeze(text, table) {
    return text.replace(table ? /[\s|]+/g : /\s+/g, "");
  }

  // The text nodes of a section (its subsections' too: an abstract's part holds them all),
  // with the place of every non-space character: [{node, offset}] indexed like the squeezed
  // text.
  function characters(section) {
    var chars = [];
    var walker = document.createTreeWalker(section, NodeFilter.SHOW_TEXT);
    var text = "";
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      var value = node.nodeValue;
      for (var i = 0; i < value.length; i++) {
        if (!/\s/.test(value.charAt(i))) {
          chars.push({ node: node, offset: i });
          text += value.charAt(i);
        }
      }
    }
    return { chars: chars, text: text };
  }

  function locate(haystack, sentence, cue, table) {
    var whole = squeeze(sentence, table);
    var at = whole ? haystack.indexOf(whole) : -1;
    if (at >= 0) return [at, at + whole.length];
    var edge = Math.min(40, Math.floor(whole.length / 3));
    if (edge >= 12) {
      var start = haystack.indexOf(whole.slice(0, edge));
      var end = start >= 0 ? haystack.indexOf(whole.slice(-edge), start) : -1;
      if (start >= 0 && end >= 0 && end - start < whole.length * 1.5 + 200) {
        return [start, end + edge];
      }
    }
    var short = squeeze(cue || "", table);
    at = short ? haystack.indexOf(short) : -1;
    return at >= 0 ? [at, at + short.length] : null;
  }

  // Wrap characters [from, to) of the squeezed text in <mark>s, one per text node touched.
  function wrap(chars, from, to, id) {
    var runs = [];
    for (var i = from; i < to; i++) {
      var last = runs[runs.length - 1];
      if (last && last.node === chars[i].node) last.end = chars[i].offset + 1;
      else runs.push({ node: chars[i].node, start: chars[i].offset, end: chars[i].offset + 1 });
    }
    var marks = [];
    runs.forEach(function (run) {
      var middle = run.node.splitText(run.start);
      middle.splitText(run.end - run.start);
      var mark = document.createElement("mark");
      mark.dataset.suggestion = id;
      middle.parentNode.insertBefore(mark, middle);
      mark.appendChild(middle);
      marks.push(mark);
    });
    return marks;
  }

  function unmark(article) {
    article.querySelectorAll("mark[data-suggestion]").forEach(function (mark) {
      var parent = mark.parentNode;
      while (mark.firstChild) parent.insertBefore(mark.firstChild, mark);
      parent.removeChild(mark);
      parent.normalize();
    });
  }

  function markAll() {
    var article = document.getElementById("suggestion-highlights");
    if (!article) return;
    unmark(article);
    document.querySelectorAll("li[data-suggestion]").forEach(function (item) {
      var name = item.dataset.section;
      var sections = Array.prototype.filter.call(
        article.querySelectorAll("[data-section]"),
        function (el) { return el.dataset.section === name; }
      );
      // The nth element of that name first, then the others (an empty abstract, say, is
      // an element of the page but no part of the text).
      var nth = sections.splice(Number(item.dataset.occurrence) || 0, 1);
      var found = null;
      var span = null;
      nth.concat(sections).some(function (section) {
        found = characters(section);
        var table = section.tagName === "FIGURE";
        span = locate(found.text, item.dataset.sentence, item.dataset.cue, table);
        return span !== null;
      });
      if (!span) {
        item.classList.add("unmarked");
        return;
      }
      var marks = wrap(found.chars, span[0], span[1], item.dataset.suggestion);
      var status = item.className.replace("suggestion ", "");
      marks.forEach(function (m) { m.className = "suggested " + status; });
    });
  }

  function show(id) {
    var mark = document.querySelector("#suggestion-highlights mark[data-suggestion='" + id + "']");
    if (!mark) return;
    document.querySelectorAll("mark.current").forEach(function (m) { m.classList.remove("current"); });
    document.querySelectorAll("mark[data-suggestion='" + id + "']").forEach(function (m) {
      m.classList.add("current");
    });
    mark.scrollIntoView({ block: "center" });
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest && event.target;
    if (!target) return;
    var page = target.closest("a[data-page]");
    var frame = document.querySelector("#fulltext iframe");
    if (page && frame) {
      // The PDF opens at the page in the frame beside the panel, not in a new tab.
      event.preventDefault();
      frame.src = frame.src.split("#")[0] + "#page=" + encodeURIComponent(page.dataset.page);
      return;
    }
    var item = target.closest("li[data-suggestion]");
    if (item && !target.closest("form")) show(item.dataset.suggestion);
    var mark = target.closest("#suggestion-highlights mark[data-suggestion]");
    var listed = mark && document.getElementById("suggestion-" + mark.dataset.suggestion);
    if (listed) listed.scrollIntoView({ block: "nearest" });
  });

  document.addEventListener("DOMContentLoaded", markAll);
  // The panel comes back whole after each action: its statuses are marked anew.
  document.addEventListener("htmx:load", function (event) {
    if (event.target && event.target.id === "suggestions") markAll();
  });
})();

// The answer form, one round trip per answer: send the answer with fetch() and show the
// next page from the reply, instead of a POST, a redirect and a second request (on a slow
// phone connection each round trip can take a second). Without JavaScript, in a browser
// too old for it, or when anything goes wrong, the form posts as usual (Post/Redirect/Get).
// The server stores an answer once whichever way it arrives: each form carries its own
// submission id.
(function () {
  "use strict";
  if (!window.fetch || !window.DOMParser || !window.URLSearchParams || !window.AbortController) {
    return;
  }
  var TIMEOUT_MS = 20000;
  var busy = false;

  function postAsUsual(form, submitter) {
    // form.submit() leaves out the pressed button, so carry its name and value along.
    if (submitter && submitter.name) {
      var field = document.createElement("input");
      field.type = "hidden";
      field.name = submitter.name;
      field.value = submitter.value;
      form.appendChild(field);
    }
    form.submit();
  }

  function fields(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) {
      data.append(submitter.name, submitter.value);
    }
    return new URLSearchParams(data);
  }

  // Each page shown in place is a step in the browser's history, so the phone's Back
  // button goes back one question (as the page's own Back button does) instead of
  // leaving the survey.
  function stepInHistory() {
    if (window.history && window.history.pushState) {
      window.history.pushState({ yjv: true }, "", window.location.href);
    }
  }

  window.addEventListener("popstate", function () {
    var form = document.querySelector("form[data-inline]");
    var back = form && form.querySelector('button[name="command"][value="back"]');
    if (back && form.requestSubmit && !busy) {
      form.requestSubmit(back);
    } else if (!back) {
      window.history.back(); // nothing to go back to in the survey: leave as asked
    }
  });

  // An office tablet (its link said ?device=shared): a survey left alone starts afresh for
  // the next person, so nobody picks up someone else's answers. The page says when
  // (data-idle-restart, in seconds; none on a welcome page) and where to go.
  var idleTimer = null;
  function resetIdle() {
    clearTimeout(idleTimer);
    var seconds = parseInt(document.body.getAttribute("data-idle-restart") || "0", 10);
    var url = document.body.getAttribute("data-restart-url");
    if (seconds > 0 && url) {
      idleTimer = setTimeout(function () { window.location.assign(url); }, seconds * 1000);
    }
  }
  ["keydown", "pointerdown", "input", "scroll"].forEach(function (name) {
    document.addEventListener(name, resetIdle, { passive: true });
  });

  // A double tap is one answer. When the first tap's answer comes back fast, the next
  // question is shown under the finger before the second tap lands, and that tap would
  // answer it too. So for a moment after a page is shown in place, taps and clicks on its
  // buttons do nothing (nobody reads a question that fast); keys and the browser's back
  // button are never held back. The body carries data-settling meanwhile.
  var SETTLE_MS = 400;
  var settleUntil = 0;
  document.addEventListener("click", function (event) {
    if (event.detail < 1 || Date.now() >= settleUntil || !event.target.closest) {
      return;
    }
    var pressed = event.target.closest("button");
    if (pressed && pressed.form && pressed.form.hasAttribute("data-inline")) {
      event.preventDefault();
    }
  }, true);

  function settle() {
    settleUntil = Date.now() + SETTLE_MS;
    document.body.setAttribute("data-settling", "true");
    setTimeout(function () { document.body.removeAttribute("data-settling"); }, SETTLE_MS);
  }

  function show(html) {
    var next = new DOMParser().parseFromString(html, "text/html");
    if (!next.body || !next.querySelector("main")) {
      throw new Error("not one of our pages");
    }
    document.title = next.title;
    document.documentElement.lang = next.documentElement.lang;
    document.body.replaceWith(document.adoptNode(next.body));
    settle();
    window.scrollTo(0, 0);
    // Move focus where a screen reader should start: the problem, else the question.
    var target = document.getElementById("error") || document.querySelector("main h1");
    if (target) {
      target.setAttribute("tabindex", "-1");
      target.focus();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", resetIdle);
  } else {
    resetIdle();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-inline")) {
      return;
    }
    if (!("submitter" in event)) {
      return; // cannot tell which button was pressed: let the browser post the form
    }
    event.preventDefault();
    if (busy) {
      return; // a second tap while the first answer is on its way
    }
    busy = true;
    var submitter = event.submitter;
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    document.body.setAttribute("aria-busy", "true");
    fetch(form.action, {
      method: "POST",
      body: fields(form, submitter),
      credentials: "same-origin",
      headers: { "YJV-Inline": "1" },
      signal: controller.signal
    })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        clearTimeout(timer);
        var goingBack = submitter && submitter.name === "command" && submitter.value === "back";
        show(html);
        if (!goingBack) {
          stepInHistory();
        }
        resetIdle(); // the new page says whether, and when, to start afresh
        busy = false;
      })
      .catch(function () {
        clearTimeout(timer);
        postAsUsual(form, submitter); // the same submission id: stored once at most
      });
  });
})();

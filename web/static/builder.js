// The question builder: run the wording checks as the lead types, and redraw the phone
// preview when the question can be shown. Without JavaScript the page does the same with
// its "Check wording" and "Preview" buttons; this only saves pressing them.
(function () {
  "use strict";
  var form = document.getElementById("builder");
  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  var url = form.getAttribute("data-check-url");
  var box = document.getElementById("checks");
  var preview = document.getElementById("preview-button");
  var frame = document.getElementById("phone");
  var previewUrl = preview ? preview.getAttribute("formaction") : "";
  var timer = null;
  var sent = 0;

  function check() {
    var mine = ++sent;
    var data = new FormData(form);
    fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (result) {
        if (!result || mine !== sent) {
          return; // a later check is on its way: show that one
        }
        if (result.html) {
          box.innerHTML = result.html; // rendered by the server's own template, escaped
        } else if (result.problem) {
          box.textContent = "Cannot be saved yet: " + result.problem;
        }
        if (result.ok && preview && frame && frame.contentWindow) {
          // Redraw the phone frame in place: replace() adds no step to the browser's
          // history, so Back still leaves the page. Nothing is saved by a preview.
          var query = new URLSearchParams(new FormData(form));
          query.delete("csrf_token");
          query.delete("action");
          frame.contentWindow.location.replace(previewUrl + "?" + query.toString());
        }
      })
      .catch(function () { /* the buttons still work */ });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(check, 500);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();

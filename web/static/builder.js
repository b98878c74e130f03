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
        if (result.ok && preview && form.requestSubmit) {
          form.requestSubmit(preview); // into the phone frame (formtarget), nothing saved
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

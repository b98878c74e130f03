/* Review pages: small conveniences only. Every page works without this file. */
(function () {
  "use strict";

  // "Redact this too": selecting words in the answer as given fills the "Words to hide" box.
  var raw = document.getElementById("raw-text");
  var words = document.getElementById("words");
  if (raw && words) {
    var fill = function () {
      var sel = window.getSelection();
      if (!sel || sel.rangeCount === 0 || sel.isCollapsed) { return; }
      var range = sel.getRangeAt(0);
      if (!raw.contains(range.commonAncestorContainer)) { return; }
      var text = sel.toString().replace(/\s+/g, " ").trim();
      if (text && text.length <= 200) { words.value = text; }
    };
    raw.addEventListener("mouseup", fill);
    raw.addEventListener("keyup", fill);
    raw.addEventListener("touchend", fill);
  }

  // The queue: one box to tick every answer on this page.
  var slot = document.querySelector("[data-select-all]");
  if (slot) {
    var name = slot.getAttribute("data-select-all");
    var form = slot.closest("form");
    var boxes = form ? form.querySelectorAll("input[type=checkbox][name='" + name + "']") : [];
    if (boxes.length) {
      var all = document.createElement("input");
      all.type = "checkbox";
      all.id = "select-all";
      var label = document.createElement("label");
      label.htmlFor = "select-all";
      label.textContent = "Select all on this page";
      label.className = "inline-label";
      all.addEventListener("change", function () {
        for (var i = 0; i < boxes.length; i++) { boxes[i].checked = all.checked; }
      });
      slot.appendChild(all);
      slot.appendChild(label);
    }
  }
})();

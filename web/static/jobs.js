/* Background jobs: keep a job's progress up to date without reloading. Pages work without it
   (each has a Refresh link). */
(function () {
  "use strict";

  // The themes page: poll the job's status; reload when it has finished.
  var box = document.querySelector("[data-job-url]");
  if (box) {
    var url = box.getAttribute("data-job-url");
    var text = box.querySelector("[data-job-text]");
    var bar = box.querySelector("[data-job-bar]");
    var tick = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (job) {
          if (!job) { return; }
          if (job.status === "done" || job.status === "failed") { window.location.reload(); return; }
          if (job.status === "running" && job.progress_total) {
            if (bar) { bar.max = job.progress_total; bar.value = job.progress_done; }
            if (text) {
              text.textContent = "Finding themes: " + job.progress_done + " of " +
                job.progress_total + " questions done.";
            }
          }
          window.setTimeout(tick, 2000);
        })
        .catch(function () { window.setTimeout(tick, 5000); });
    };
    window.setTimeout(tick, 1000);
  }
}());

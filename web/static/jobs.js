/* Job progress without reloading: every element with data-job-status polls its JSON view once a second and
   updates the bar, the count and, once done, the download link (or the link to a matching run's version). A job's
   own page (data-job-reload, present while the job was unfinished) reloads once the job is finished instead, to
   show what only the finished page has. Without JavaScript the page's <noscript> meta refresh does the same by
   reloading. A waiting job whose queue no worker takes shows the JSON's notice (what the operator should start).
   No inline script: the page's CSP is default-src 'self'. */
(function () {
  "use strict";
  var boxes = document.querySelectorAll("[data-job-status]");
  if (!boxes.length || !window.fetch) { return; }

  function show(box, job) {
    var bar = box.querySelector("progress");
    bar.max = job.total || 1;
    bar.value = job.total ? job.done : 0;
    box.querySelector(".job-state").textContent = job.state_label;
    box.querySelector(".job-count").textContent = job.finished ? "" : (job.total ? job.progress_text : job.step_label);
    var notice = box.querySelector(".job-notice");
    notice.textContent = job.notice || "";
    notice.hidden = !job.notice;
    var result = box.querySelector(".job-result");
    var href = job.download || job.result_url;
    if (href && !result.querySelector("a")) {
      result.textContent = "";
      var link = document.createElement("a");
      link.className = "download";
      link.href = href;
      link.textContent = job.download ? job.download_label : job.result_label;
      result.appendChild(link);
    } else if (job.error) {
      result.textContent = job.error;
    }
  }

  function poll(box) {
    fetch(box.getAttribute("data-job-status"), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (job) {
        if (job.finished && box.hasAttribute("data-job-reload")) {
          window.location.reload();          // the finished page: a run's timing, an import's itemized errors
          return;
        }
        show(box, job);
        if (!job.finished) { setTimeout(function () { poll(box); }, 1000); }
      })
      .catch(function () { setTimeout(function () { poll(box); }, 3000); });
  }

  Array.prototype.forEach.call(boxes, poll);
})();

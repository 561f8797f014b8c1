/* The progress chart: sheets by status per pool, from the JSON block the page carries (the tables hold the same
   numbers, so the page reads without JavaScript). Chart.js is vendored in static/vendor (no CDN). */
(function () {
  "use strict";
  var source = document.getElementById("progress-data");
  var canvas = document.getElementById("progress-chart");
  if (!source || !canvas || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var colours = { not_started: "#9aa5b1", draft: "#f0b429", submitted: "#1b7f3b", reopened: "#b42318" };
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: data.datasets.map(function (set) {
        return { label: set.label, data: set.data, backgroundColor: colours[set.key] || "#616e7c" };
      })
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } }
    }
  });
})();

// Draws every embedded figure and follows a background job's progress.
(function () {
  "use strict";
  function drawFigures() {
    document.querySelectorAll("script[data-plot]").forEach(function (el) {
      var target = document.getElementById(el.dataset.plot);
      if (!target || typeof Plotly === "undefined") return;
      var fig = JSON.parse(el.textContent);
      Plotly.newPlot(target, fig.data, fig.layout, { responsive: true, displaylogo: false });
    });
  }
  function followJob() {
    var box = document.querySelector("[data-job]");
    if (!box) return;
    var bar = box.querySelector("progress");
    var label = box.querySelector(".job-label");
    function poll() {
      fetch("/survival/jobs/" + box.dataset.job)
        .then(function (r) { return r.json(); })
        .then(function (s) {
          bar.value = s.fraction;
          label.textContent = s.state + " — " + Math.round(100 * s.fraction) + " %";
          if (s.state === "done" || s.state === "failed") {
            window.location.reload();
          } else {
            window.setTimeout(poll, 500);
          }
        })
        .catch(function () { window.setTimeout(poll, 2000); });
    }
    poll();
  }
  document.addEventListener("DOMContentLoaded", function () { drawFigures(); followJob(); });
})();

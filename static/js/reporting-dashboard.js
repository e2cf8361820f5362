// The monitoring dashboard: draws each figure's chart from the configuration the page carries
// (a <script type="application/json"> per figure, next to a table with the same numbers).
(function () {
  "use strict";
  function draw() {
    if (typeof window.Chart === "undefined") {
      return; // the tables still carry every number
    }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) {
        return;
      }
      new window.Chart(canvas, JSON.parse(source.textContent));
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();

/* mendian console: draws every ECharts chart declared in the page as JSON. */
(function () {
  "use strict";
  function fmt(v) { return typeof v === "number" ? v.toLocaleString() : v; }
  function draw(root) {
    if (typeof window.echarts === "undefined") { return; }
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      var src = document.getElementById(el.getAttribute("data-chart"));
      if (!src || el.dataset.drawn) { return; }
      var spec = JSON.parse(src.textContent);
      var chart = window.echarts.init(el);
      var option;
      if (spec.type === "pie") {
        option = { tooltip: { trigger: "item", valueFormatter: fmt },
          series: [{ type: "pie", radius: ["35%", "70%"], data: spec.labels.map(function (l, i) { return { name: l, value: spec.series[0].data[i] }; }) }] };
      } else {
        option = { tooltip: { trigger: "axis", valueFormatter: fmt }, legend: { top: 0 },
          grid: { left: 10, right: 20, top: 35, bottom: 10, containLabel: true },
          xAxis: { type: "category", data: spec.labels }, yAxis: { type: "value" },
          series: spec.series.map(function (s) { return { name: s.name, type: spec.type || "bar", data: s.data, smooth: true }; }) };
      }
      chart.setOption(option);
      if (spec.links) {
        chart.on("click", function (p) { var href = spec.links[p.dataIndex]; if (href) { window.location.href = href; } });
      }
      el.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (e) { draw(e.target); });
})();

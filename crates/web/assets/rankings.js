// The ranking charts of /rankings and the monthly bulletin (crates/bulletins): the streets' composite index and
// PM2.5, and their CWQI and compliance, from the JSON in each chart's data-chart. Drawn as SVG (sharp when
// printed); the street names are SVG text and the default tooltip escapes them.
(function () {
  function bars(id, series) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var data = JSON.parse(el.dataset.chart || '{}');
    if (!data.streets || data.streets.length === 0) { el.textContent = '本月无可绘图的数据'; return; }
    var chart = echarts.init(el, null, { renderer: 'svg' });
    chart.setOption({
      animation: false,
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 50, right: 50, top: 30, bottom: 60 },
      xAxis: { type: 'category', data: data.streets, axisLabel: { interval: 0, rotate: 30 } },
      yAxis: series.map(function (s, i) { return { type: 'value', name: s.name, position: i === 0 ? 'left' : 'right' }; }),
      series: series.map(function (s, i) { return { name: s.name, type: 'bar', yAxisIndex: i, data: data[s.key], label: { show: true, position: 'top', fontSize: 10 } }; })
    });
    window.addEventListener('resize', function () { chart.resize(); });
  }
  function draw() {
    if (!window.echarts) { return; }
    bars('air-chart', [{ key: 'composite', name: '综合指数' }, { key: 'pm25', name: 'PM2.5 μg/m³' }]);
    bars('water-chart', [{ key: 'cwqi', name: 'CWQI' }, { key: 'compliance', name: '达标率 %' }]);
  }
  if (document.readyState !== 'loading') { draw(); } else { document.addEventListener('DOMContentLoaded', draw); }
})();

// The evidence chart of an alarm's page (crates/alarms, /alarms/{id}): the point's stored series around the alarm,
// the values the rule judged, the limit and the alarm's span, from the JSON in #alarm-chart's data-chart. The
// default tooltip escapes the series' names; no formatter here builds HTML.
(function () {
  function draw() {
    var el = document.getElementById('alarm-chart');
    if (!window.echarts || !el) { return; }
    var d = JSON.parse(el.dataset.chart || '{}');
    var series = [
      { name: d.name || '数据', type: 'line', showSymbol: false, data: d.series || [],
        markArea: { itemStyle: { color: 'rgba(200,60,60,0.12)' }, data: [[{ xAxis: d.from }, { xAxis: d.to }]] },
        markLine: d.limit ? { symbol: 'none', lineStyle: { type: 'dashed', color: '#c0392b' }, data: [{ yAxis: d.limit, name: '限值' }] } : undefined },
      { name: '判定值', type: 'scatter', symbolSize: 6, data: d.evidence || [] }
    ];
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      xAxis: { type: 'time' },
      yAxis: { type: 'value', scale: true },
      useUTC: false,
      series: series
    });
    window.addEventListener('resize', function () { chart.resize(); });
  }
  if (document.readyState !== 'loading') { draw(); } else { document.addEventListener('DOMContentLoaded', draw); }
})();

// The evidence chart of an alarm's page (crates/alarms, /alarms/{id}), from the JSON in #alarm-chart's
// data-chart. For a data alarm: the point's stored series around the alarm, the values the rule judged, the limit
// and the alarm's span, on an axis named with the factor's unit. For an offline alarm ("kind": "gap"): when the
// point's records arrived around the gap, with the gap as a red band — the evidence is the silence itself. The
// default tooltip escapes the series' names; no formatter here builds HTML.
(function () {
  function seriesOption(d) {
    var unit = d.unit || '';
    return {
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 64, right: 24, top: 48, bottom: 40 },
      xAxis: { type: 'time' },
      yAxis: { type: 'value', scale: true, name: unit ? (d.name ? d.name + '（' + unit + '）' : unit) : (d.name || ''),
               nameTextStyle: { align: 'left' } },
      useUTC: false,
      series: [
        { name: d.name || '数据', type: 'line', showSymbol: false, data: d.series || [],
          markArea: { itemStyle: { color: 'rgba(200,60,60,0.12)' }, data: [[{ xAxis: d.from }, { xAxis: d.to }]] },
          markLine: d.limit ? { symbol: 'none', lineStyle: { type: 'dashed', color: '#c0392b' },
                                label: { position: 'insideEndTop', formatter: '限值 ' + d.limit + (unit ? ' ' + unit : '') },
                                data: [{ yAxis: d.limit, name: '限值' }] } : undefined },
        { name: '判定值', type: 'scatter', symbolSize: 6, data: d.evidence || [] }
      ]
    };
  }

  function gapOption(d) {
    var arrivals = (d.arrivals || []).map(function (ms) { return [ms, 1]; });
    var hours = typeof d.hours === 'number' ? d.hours.toFixed(1) : '';
    return {
      tooltip: { trigger: 'item' },
      grid: { left: 64, right: 24, top: 24, bottom: 40 },
      xAxis: { type: 'time' },
      yAxis: { type: 'value', min: 0, max: 1, show: false },
      useUTC: false,
      series: [
        { name: '收到数据', type: 'bar', barWidth: 1, itemStyle: { color: '#1f6f43' }, data: arrivals,
          markArea: { itemStyle: { color: 'rgba(200,60,60,0.18)' },
                      label: { show: true, position: 'inside', color: '#b42318', formatter: '无数据 ' + hours + ' 小时' },
                      data: [[{ xAxis: d.from }, { xAxis: d.to }]] } }
      ]
    };
  }

  function draw() {
    var el = document.getElementById('alarm-chart');
    if (!window.echarts || !el) { return; }
    var d = JSON.parse(el.dataset.chart || '{}');
    var chart = echarts.init(el);
    chart.setOption(d.kind === 'gap' ? gapOption(d) : seriesOption(d));
    window.addEventListener('resize', function () { chart.resize(); });
  }
  if (document.readyState !== 'loading') { draw(); } else { document.addEventListener('DOMContentLoaded', draw); }
})();

// Charts of the station and section pages (crates/stations), drawn from the JSON each page embeds. Text
// reaches tooltip HTML only through escapeHtml (app.js).
(function () {
  var escapeHtml = window.escapeHtml;
  function ready(fn) {
    if (document.readyState !== 'loading') { fn(); } else { document.addEventListener('DOMContentLoaded', fn); }
  }
  function chart(id) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) { return null; }
    var c = echarts.init(el);
    window.addEventListener('resize', function () { c.resize(); });
    return c;
  }
  // HJ 633 level colours (一级 … 六级) and their upper AQI bounds.
  var pieces = [
    { min: 0, max: 50, color: '#00E400', label: '优' },
    { min: 51, max: 100, color: '#FFFF00', label: '良' },
    { min: 101, max: 150, color: '#FF7E00', label: '轻度' },
    { min: 151, max: 200, color: '#FF0000', label: '中度' },
    { min: 201, max: 300, color: '#99004C', label: '重度' },
    { min: 301, color: '#7E0023', label: '严重' },
    { min: -1, max: -1, color: '#dddddd', label: '无日AQI' }
  ];

  function air(v) {
    var recent = chart('recent-hours');
    if (recent) {
      recent.setOption({
        tooltip: { trigger: 'axis' },
        legend: { type: 'scroll', top: 0, data: v.recent.map(function (s) { return s.code; }) },
        grid: { top: 36, left: 48, right: 48, bottom: 28 },
        xAxis: { type: 'time' },
        yAxis: [{ type: 'value', name: 'µg/m³' }, { type: 'value', name: 'CO mg/m³' }],
        series: v.recent.map(function (s) {
          return { name: s.code, type: 'line', showSymbol: false, yAxisIndex: s.code === 'CO' ? 1 : 0, data: s.points };
        })
      });
    }
    var cal = chart('aqi-calendar');
    if (cal) {
      var year = String(v.year);
      // A day above AQI 500 has no number (the HJ 633 tables end there) but is 严重污染: drawn in the top piece.
      cal.setOption({
        tooltip: { formatter: function (p) { var d = p.data; return escapeHtml(d[0]) + '<br>AQI ' + escapeHtml(d[3]) + ' ' + escapeHtml(d[2]) + (d[4] ? '' : '<br>（未计入统计）'); } },
        visualMap: { type: 'piecewise', pieces: pieces, orient: 'horizontal', left: 'center', bottom: 0, dimension: 1 },
        calendar: { range: year, top: 30, left: 40, right: 20, cellSize: ['auto', 16], dayLabel: { nameMap: 'ZH' }, monthLabel: { nameMap: 'ZH' }, yearLabel: { show: false } },
        series: [{
          type: 'heatmap', coordinateSystem: 'calendar',
          // Days with hours but no level (too few valid hours) are drawn grey (-1), so that they too open the audit.
          data: v.calendar.map(function (d) { return [d.date, !d.level ? -1 : (d.aqi == null ? 501 : d.aqi), d.level ? d.level + (d.primary ? ' 首要 ' + d.primary : '') : '无日 AQI', d.aqi_text, d.counted]; })
        }]
      });
      // A day's cell opens that day's data audit (for those who may audit: the page sets data-audit-href).
      var audit = document.getElementById('aqi-calendar').getAttribute('data-audit-href');
      if (audit) {
        cal.on('click', function (p) { if (p.data && p.data[0]) { window.location.href = audit + encodeURIComponent(p.data[0]); } });
      }
    }
  }

  function section(v) {
    var months = v.months.map(function (m) { return m.period; });
    var c = chart('section-months');
    if (c) {
      c.setOption({
        tooltip: { trigger: 'axis' },
        grid: { top: 24, left: 48, right: 16, bottom: 28 },
        xAxis: { type: 'category', data: months },
        yAxis: { type: 'value', name: 'CWQI' },
        series: [{
          name: 'CWQI', type: 'bar',
          label: { show: true, position: 'top', formatter: function (p) { return v.months[p.dataIndex].class; } },
          data: v.months.map(function (m) { return m.cwqi; })
        }]
      });
    }
    var items = chart('section-items');
    if (items) {
      items.setOption({
        tooltip: { trigger: 'axis' },
        legend: { type: 'scroll', top: 0, data: v.key_items.map(function (k) { return k.name; }) },
        grid: { top: 40, left: 48, right: 16, bottom: 28 },
        xAxis: { type: 'category', data: months },
        yAxis: { type: 'value', name: '÷ III类限值' },
        series: v.key_items.map(function (k, i) {
          return {
            name: k.name, type: 'line',
            data: v.months.map(function (m) {
              var x = m.key_values[i];
              if (x == null || !k.class_iii_limit) { return null; }
              // Dissolved oxygen is a minimum: its ratio is limit ÷ value, so that above 1 is worse for every item.
              return Math.round((k.code === 'w01009' ? k.class_iii_limit / x : x / k.class_iii_limit) * 100) / 100;
            }),
            markLine: i === 0 ? { symbol: 'none', lineStyle: { type: 'dashed' }, data: [{ yAxis: 1 }] } : undefined
          };
        })
      });
    }
  }

  ready(function () {
    var a = document.getElementById('station-data');
    if (a) { air(JSON.parse(a.textContent)); }
    var s = document.getElementById('section-data');
    if (s) { section(JSON.parse(s.textContent)); }
  });
})();

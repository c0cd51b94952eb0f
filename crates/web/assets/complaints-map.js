// The complaints map (crates/complaints, /complaints/map): one scatter series per category from the points in
// #complaint-map's data-points ([lon, lat, category, case no., id, month]); a click opens the case. The tooltip
// is HTML: every value in it goes through escapeHtml (app.js).
(function () {
  function draw() {
    var el = document.getElementById('complaint-map');
    if (!window.echarts || !el) { return; }
    var escapeHtml = window.escapeHtml;
    var points = JSON.parse(el.dataset.points || '[]');
    var groups = {};
    points.forEach(function (p) { (groups[p[2]] = groups[p[2]] || []).push(p); });
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { formatter: function (o) { return escapeHtml(o.value[3]) + ' ' + escapeHtml(o.value[2]) + ' ' + escapeHtml(o.value[5]); } },
      legend: { type: 'scroll', top: 0 },
      xAxis: { type: 'value', scale: true, name: '经度' },
      yAxis: { type: 'value', scale: true, name: '纬度' },
      series: Object.keys(groups).map(function (k) { return { name: k, type: 'scatter', symbolSize: 6, data: groups[k] }; })
    });
    chart.on('click', function (o) { window.location = '/complaints/' + encodeURIComponent(o.value[4]); });
    window.addEventListener('resize', function () { chart.resize(); });
  }
  if (document.readyState !== 'loading') { draw(); } else { document.addEventListener('DOMContentLoaded', draw); }
})();

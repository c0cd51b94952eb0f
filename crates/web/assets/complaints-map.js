// The complaints map (crates/complaints, /complaints/map): on the base map of basemap.js (district and streets),
// one scatter series per category from the points in #complaint-map's data-points ([lon, lat, category,
// case no., id, month]); a click opens the case. Each category's colour is its place in data-categories (every
// category, in order) in the one palette, set on the series so that the legend shows the markers' colour. The
// tooltip is HTML: every value in it goes through escapeHtml (app.js).
(function () {
  function draw() {
    var el = document.getElementById('complaint-map');
    if (!window.echarts || !window.QingshanMap || !el) { return; }
    var M = window.QingshanMap;
    var escapeHtml = window.escapeHtml;
    var points = JSON.parse(el.dataset.points || '[]');
    var categories = JSON.parse(el.dataset.categories || '[]');
    var groups = {};
    points.forEach(function (p) { (groups[p[2]] = groups[p[2]] || []).push(p); });
    var names = Object.keys(groups).sort(function (a, b) { return categories.indexOf(a) - categories.indexOf(b); });
    var colour = function (name) {
      var i = categories.indexOf(name);
      return M.palette.categories[(i < 0 ? categories.length : i) % M.palette.categories.length];
    };
    M.load(el).then(function (base) {
      var series = names.map(function (k) {
        return {
          name: k, type: 'scatter', coordinateSystem: 'geo', symbolSize: 6, z: 3,
          itemStyle: { color: colour(k), opacity: 0.8 },
          data: groups[k]
        };
      });
      base.chart.setOption(M.compose(base.option, {
        tooltip: {
          trigger: 'item', confine: true,
          formatter: function (o) { return o.value ? escapeHtml(o.value[3]) + ' ' + escapeHtml(o.value[2]) + ' ' + escapeHtml(o.value[5]) : escapeHtml(o.name); }
        },
        legend: Object.assign({
          type: 'scroll', itemWidth: 10, itemHeight: 10, textStyle: { fontSize: 11 },
          data: names.map(function (k) { return { name: k, icon: 'circle', itemStyle: { color: colour(k) } }; })
        }, M.legendPlace(el)),
        series: series
      }));
      base.chart.on('click', function (o) {
        if (o.value && o.value[4] !== undefined) { window.location = '/complaints/' + encodeURIComponent(o.value[4]); }
      });
    }).catch(function (e) { el.textContent = '地图加载失败：' + e.message; });
  }
  if (document.readyState !== 'loading') { draw(); } else { document.addEventListener('DOMContentLoaded', draw); }
})();

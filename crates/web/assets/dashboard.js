// The dashboard's charts and map, drawn from the JSON the page embeds (#dashboard-data) and the district
// boundary served at /map/district.geojson. No request leaves the platform. Names reach HTML only through
// escapeHtml (app.js).
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

  function trend(data) {
    var year = data.year;
    // The month in progress is labelled 截至 N 日 and compared with the same days of last year (去年同期).
    var months = data.trend.map(function (m) { return m.label; });
    var last = String(year - 1) + '（同期）';
    var pm = chart('trend-pm25');
    if (pm) {
      pm.setOption({
        title: { text: 'PM2.5 月均浓度（µg/m³）', textStyle: { fontSize: 14 } },
        tooltip: { trigger: 'axis' },
        legend: { top: 0, right: 8, data: [String(year), last] },
        grid: { top: 40, left: 40, right: 16, bottom: 28 },
        xAxis: { type: 'category', data: months },
        yAxis: { type: 'value' },
        series: [
          { name: String(year), type: 'bar', data: data.trend.map(function (m) { return m.pm25; }) },
          { name: last, type: 'line', data: data.trend.map(function (m) { return m.pm25_last_year; }) }
        ]
      });
    }
    var good = chart('trend-good');
    if (good) {
      good.setOption({
        title: { text: '优良天数比例（%）', textStyle: { fontSize: 14 } },
        tooltip: { trigger: 'axis' },
        legend: { top: 0, right: 8, data: [String(year), last] },
        grid: { top: 40, left: 40, right: 16, bottom: 28 },
        xAxis: { type: 'category', data: months },
        yAxis: { type: 'value', max: 100 },
        series: [
          { name: String(year), type: 'bar', data: data.trend.map(function (m) { return m.good_ratio; }) },
          { name: last, type: 'line', data: data.trend.map(function (m) { return m.good_ratio_last_year; }) }
        ]
      });
    }
  }

  function water(data) {
    var c = chart('water-classes');
    if (!c) { return; }
    var labels = ['I类', 'II类', 'III类', 'IV类', 'V类', '劣V类'];
    var colours = ['#3b82f6', '#3b82f6', '#22c55e', '#facc15', '#f97316', '#dc2626'];
    c.setOption({
      tooltip: {},
      grid: { top: 16, left: 40, right: 16, bottom: 28 },
      xAxis: { type: 'category', data: labels },
      yAxis: { type: 'value', minInterval: 1 },
      series: [{
        name: '断面数', type: 'bar',
        data: data.class_counts.map(function (n, i) { return { value: n, itemStyle: { color: colours[i] } }; })
      }]
    });
  }

  function map(data) {
    var el = document.getElementById('district-map');
    if (!el || !window.echarts) { return; }
    var code = el.getAttribute('data-district');
    fetch('/map/district.geojson', { credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) { throw new Error('map ' + r.status); } return r.json(); })
      .then(function (geo) {
        // The district's own feature (by adcode) when the file holds the whole city.
        var own = (geo.features || []).filter(function (f) {
          return String(f.id) === code || (f.properties && String(f.properties.adcode) === code);
        });
        if (own.length > 0) { geo = { type: 'FeatureCollection', features: own }; }
        echarts.registerMap('district', geo);
        var c = echarts.init(el);
        window.addEventListener('resize', function () { c.resize(); });
        var layer = function (name, kind, symbol, size) {
          return {
            name: name, type: 'scatter', coordinateSystem: 'geo', symbol: symbol, symbolSize: size,
            data: data.map_points.filter(function (p) { return p.kind === kind; }).map(function (p) {
              return { name: p.name, value: [p.lon, p.lat], label_text: p.label, href: p.href, itemStyle: { color: p.colour, borderColor: '#fff', borderWidth: 1 } };
            })
          };
        };
        c.setOption({
          // The formatter's result is HTML: the names (typed by users) are escaped. A long name wraps inside the
          // map (confine) instead of running off a phone's screen.
          tooltip: {
            trigger: 'item', confine: true, extraCssText: 'max-width: 320px; white-space: normal; overflow-wrap: anywhere;',
            formatter: function (p) { return p.data && p.data.label_text ? escapeHtml(p.name) + '<br>' + escapeHtml(p.data.label_text) : escapeHtml(p.name); }
          },
          legend: { bottom: 0, data: ['国控/市控站点', '微站', '水质断面', '重点排污单位'] },
          geo: { map: 'district', roam: true, itemStyle: { areaColor: '#eef3ee', borderColor: '#6b8f71' }, emphasis: { disabled: true } },
          series: [
            layer('国控/市控站点', 'station', 'circle', 16),
            layer('微站', 'micro', 'circle', 8),
            layer('水质断面', 'section', 'triangle', 14),
            layer('重点排污单位', 'enterprise', 'rect', 6),
            {
              name: '街道', type: 'scatter', coordinateSystem: 'geo', symbolSize: 0, silent: true,
              // Drawn as text on the canvas (no rich-text styles are defined, so no name is read as markup).
              label: { show: true, formatter: '{b}', color: '#333', fontSize: 11 },
              data: data.streets.map(function (s) { return { name: s.name, value: [s.lon, s.lat] }; })
            }
          ]
        });
        c.on('click', function (p) { if (p.data && p.data.href) { window.location.href = p.data.href; } });
      })
      .catch(function (e) { el.textContent = '地图加载失败：' + e.message; });
  }

  ready(function () {
    var node = document.getElementById('dashboard-data');
    if (!node) { return; }
    var data = JSON.parse(node.textContent);
    trend(data);
    water(data);
    map(data);
  });
})();

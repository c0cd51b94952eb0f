// The dashboard's charts and map, drawn from the JSON the page embeds (#dashboard-data) and the district
// base map of basemap.js (district and streets). No request leaves the platform. Names reach HTML only through
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
    // The class colours of the map's legend (I and II share one entry there: I–II类).
    var water = data.map_legend.filter(function (e) { return e.group === 'water'; }).map(function (e) { return e.colour; });
    var colours = [water[0], water[0], water[1], water[2], water[3], water[4]];
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

  // The map: the base map (basemap.js) with stations and micro-stations coloured by real-time AQI, sections by
  // class, and the key dischargers. Marker colours go through two piecewise visualMaps built from the server's
  // map_legend, the same list each point's colour was chosen from: the legend shows exactly what is drawn.
  function map(data) {
    var el = document.getElementById('district-map');
    if (!el || !window.echarts || !window.QingshanMap) { return; }
    var M = window.QingshanMap;
    M.load(el).then(function (base) {
      var legendOf = function (group) { return data.map_legend.filter(function (e) { return e.group === group; }); };
      var groups = { aqi: legendOf('aqi'), water: legendOf('water') };
      // The layers' shapes from the one palette; the dischargers' colour is the server's legend entry.
      var layers = {};
      Object.keys(M.palette).forEach(function (k) { layers[k] = Object.assign({}, M.palette[k]); });
      var enterprise = legendOf('enterprise')[0];
      if (enterprise) { layers.enterprise.colour = enterprise.colour; }
      var layer = function (kind, group) {
        var spec = layers[kind];
        var entries = group ? groups[group] : [];
        return {
          name: spec.name, type: 'scatter', coordinateSystem: 'geo', symbol: spec.symbol, symbolSize: spec.size, z: 3,
          itemStyle: { color: spec.colour, borderColor: '#fff', borderWidth: 1 },
          data: data.map_points.filter(function (p) { return p.kind === kind; }).map(function (p) {
            // The third value is the point's entry in its legend group (the visualMap's piece).
            var piece = entries.findIndex(function (e) { return e.label === p.legend; });
            return { name: p.name, value: [p.lon, p.lat, piece], label_text: p.label, href: p.href };
          })
        };
      };
      var series = [layer('station', 'aqi'), layer('micro', 'aqi'), layer('section', 'water'), layer('enterprise', null)]
        .filter(function (s) { return s.data.length > 0; });
      var indexOf = function (name) {
        // Base series come first (compose), so the page's series are offset by them.
        var i = series.findIndex(function (s) { return s.name === name; });
        return i < 0 ? -1 : i + base.option.series.length;
      };
      var pieces = function (group) {
        return groups[group].map(function (e, i) { return { value: i, label: e.label, color: e.colour }; });
      };
      // Vertical, in the map's lower corners (the district is drawn in the middle): fits a phone's width too.
      // Inverse, so that 优 and I–II类 come first, and with it the title (text[1]) at the top.
      var visualMap = function (group, seriesNames, title, corner) {
        var indices = seriesNames.map(indexOf).filter(function (i) { return i >= 0; });
        if (indices.length === 0) { return null; }
        return Object.assign({
          type: 'piecewise', dimension: 2, seriesIndex: indices, pieces: pieces(group), orient: 'vertical', inverse: true,
          bottom: 4, itemWidth: 12, itemHeight: 10, itemGap: 4, text: [null, title], textGap: 4, showLabel: true,
          textStyle: { fontSize: 11 }, outOfRange: { color: '#cccccc' }
        }, corner);
      };
      var visualMaps = [
        visualMap('aqi', ['国控/市控站点', '微站'], '空气质量（AQI）', { left: 4 }),
        visualMap('water', ['水质断面'], '水质类别', { right: 4 })
      ].filter(function (v) { return v; });
      base.chart.setOption(M.compose(base.option, {
        // The formatter's result is HTML: the names (typed by users) are escaped. A long name wraps inside the
        // map (confine) instead of running off a phone's screen.
        tooltip: {
          trigger: 'item', confine: true, extraCssText: 'max-width: 320px; white-space: normal; overflow-wrap: anywhere;',
          formatter: function (p) { return p.data && p.data.label_text ? escapeHtml(p.name) + '<br>' + escapeHtml(p.data.label_text) : escapeHtml(p.name); }
        },
        legend: Object.assign({
          type: 'scroll', itemWidth: 12, itemHeight: 10, textStyle: { fontSize: 11 },
          data: series.map(function (s) {
            var kind = Object.keys(layers).find(function (k) { return layers[k].name === s.name; });
            return M.legendItem(layers[kind], kind !== 'enterprise');
          })
        }, M.legendPlace(el)),
        visualMap: visualMaps,
        series: series
      }));
      base.chart.on('click', function (p) { if (p.data && p.data.href) { window.location.href = p.data.href; } });
    }).catch(function (e) { el.textContent = '地图加载失败：' + e.message; });
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

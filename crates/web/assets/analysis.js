// The charts of /analysis (crates/analysis): each chart's data-api names its /api/v1/analysis/* request; the
// answer's notes are listed as text, its result drawn. Tooltip formatters return HTML: every value in them
// goes through escapeHtml (app.js).
(function () {
  function drawAll() {
    if (!window.echarts) { return; }
    var esc = window.escapeHtml;
    function notes(id, list) {
      var ul = document.getElementById(id);
      if (!ul) { return; }
      ul.innerHTML = '';
      (list || []).forEach(function (t) { var li = document.createElement('li'); li.textContent = t; ul.appendChild(li); });
    }
    function load(id, draw) {
      var el = document.getElementById(id + '-chart');
      if (!el) { return; }
      fetch(el.dataset.api, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          if (!res.ok) { notes(id + '-notes', ['无法计算：' + (res.body.detail || res.body.title || '错误')]); return; }
          notes(id + '-notes', res.body.notes);
          draw(el, res.body);
        })
        .catch(function (e) { notes(id + '-notes', ['加载失败：' + e]); });
    }
    function fmt(v) { return v === null || v === undefined ? '—' : (Math.round(v * 10) / 10).toString(); }
    function ramp(t) {
      var stops = [[49, 130, 189], [116, 196, 118], [255, 237, 111], [253, 141, 60], [215, 25, 28]];
      t = Math.max(0, Math.min(1, t)) * (stops.length - 1);
      var i = Math.min(stops.length - 2, Math.floor(t)), f = t - i, a = stops[i], b = stops[i + 1];
      return 'rgb(' + [0, 1, 2].map(function (k) { return Math.round(a[k] + f * (b[k] - a[k])); }).join(',') + ')';
    }
    var unitOf = function (d) { return d.factor.unit || ''; };

    load('rose', function (el, d) {
      if (!d.result.wind) { el.style.display = 'none'; return; }
      var s = d.result.rose.sectors;
      echarts.init(el).setOption({
        tooltip: { formatter: function (p) { var x = s[p.dataIndex]; return esc(x.label) + '<br>浓度占比 ' + fmt(x.share_percent) + '%<br>风频 ' + fmt(x.frequency_percent) + '%<br>平均 ' + fmt(x.mean) + ' ' + esc(unitOf(d)) + '<br>' + esc(x.n) + ' 小时'; } },
        polar: {}, angleAxis: { type: 'category', data: s.map(function (x) { return x.label; }), startAngle: 90 + 180 / s.length, clockwise: true },
        radiusAxis: { name: '%' },
        series: [{ type: 'bar', coordinateSystem: 'polar', name: '浓度占比', data: s.map(function (x) { return x.share_percent; }), itemStyle: { color: '#c0504d' } }]
      });
    });

    load('polar', function (el, d) {
      var p = d.result.polar;
      if (!d.result.wind || !p.speed_bins) { el.style.display = 'none'; return; }
      var shown = function (c) { return p.bandwidth > 0 ? c.smoothed : c.mean; };
      var values = p.cells.map(shown).filter(function (v) { return v !== null; });
      var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values);
      var dirs = []; for (var i = 0; i < p.direction_bins; i++) { dirs.push(Math.round(i * p.direction_bin) + '°'); }
      var series = [];
      for (var j = 0; j < p.speed_bins; j++) {
        series.push({ type: 'bar', coordinateSystem: 'polar', stack: 'rings', barCategoryGap: 0, name: (j * p.speed_bin) + '–' + ((j + 1) * p.speed_bin) + ' m/s',
          data: dirs.map(function (_, i) {
            var c = p.cells[i * p.speed_bins + j], v = shown(c);
            return { value: p.speed_bin, cell: c, shown: v, itemStyle: { color: v === null ? 'rgba(0,0,0,0)' : ramp(hi > lo ? (v - lo) / (hi - lo) : 0.5) } };
          }) });
      }
      echarts.init(el).setOption({
        tooltip: { formatter: function (x) { var c = x.data.cell; return esc(dirs[c.direction]) + '，' + esc(x.seriesName) + '<br>平均 ' + fmt(x.data.shown) + ' ' + esc(unitOf(d)) + '<br>' + esc(c.n) + ' 小时'; } },
        title: { text: '色标 ' + fmt(lo) + ' → ' + fmt(hi) + ' ' + unitOf(d), left: 'right', textStyle: { fontSize: 12 } },
        polar: {}, angleAxis: { type: 'category', data: dirs, startAngle: 90 + p.direction_bin / 2, clockwise: true },
        radiusAxis: { type: 'value', max: p.speed_bins * p.speed_bin, name: 'm/s' }, series: series
      });
    });

    load('variation', function (el, d) {
      var v = d.result;
      function band(id, groups, title) {
        var labels = groups.map(function (g) { return g.label; });
        echarts.init(document.getElementById(id)).setOption({
          title: { text: title, textStyle: { fontSize: 13 } }, tooltip: { trigger: 'axis' }, grid: { left: 50, right: 20, bottom: 40 },
          xAxis: { type: 'category', data: labels }, yAxis: { type: 'value', name: unitOf(d), scale: true },
          series: [
            { name: '下限', type: 'line', data: groups.map(function (g) { return g.lower; }), lineStyle: { opacity: 0 }, symbol: 'none', stack: 'ci' },
            { name: '95%区间', type: 'line', data: groups.map(function (g) { return g.upper === null || g.lower === null ? null : g.upper - g.lower; }), lineStyle: { opacity: 0 }, symbol: 'none', stack: 'ci', areaStyle: { color: 'rgba(31,111,67,0.2)' } },
            { name: '均值', type: 'line', data: groups.map(function (g) { return g.mean; }), itemStyle: { color: '#1f6f43' } }
          ]
        });
      }
      band('variation-hour', v.by_hour, '按小时');
      band('variation-weekday', v.by_weekday, '按星期');
      band('variation-month', v.by_month, '按月份');
      band('variation-both', v.by_hour_weekday, '星期 × 小时');
    });

    load('calendar', function (el, d) {
      var c = d.result, withAqi = c.days_with_aqi > 0;
      // A day above AQI 500 has no number but is 严重污染 (level 6): drawn in the top piece, labelled >500.
      var data = c.days.filter(function (x) { return withAqi ? x.level !== null : x.value !== null; })
        .map(function (x) { return [x.date, withAqi ? (x.aqi !== null ? x.aqi : 501) : x.value, x.category, x.standard, (x.primary || []).join(' '), x.aqi_text]; });
      var visual = withAqi ? { type: 'piecewise', orient: 'horizontal', left: 'center', bottom: 0, dimension: 1,
          pieces: [{ min: 0, max: 50, color: '#00E400', label: '优' }, { min: 51, max: 100, color: '#FFFF00', label: '良' }, { min: 101, max: 150, color: '#FF7E00', label: '轻度' },
            { min: 151, max: 200, color: '#FF0000', label: '中度' }, { min: 201, max: 300, color: '#99004C', label: '重度' }, { min: 301, color: '#7E0023', label: '严重' }] }
        : { type: 'continuous', orient: 'horizontal', left: 'center', bottom: 0, dimension: 1, min: 0, max: Math.max.apply(null, data.map(function (x) { return x[1]; }).concat([1])), inRange: { color: ['#e0f3db', '#fdae61', '#d7191c'] } };
      echarts.init(el).setOption({
        tooltip: { formatter: function (p) { var x = p.data; return esc(x[0]) + '<br>' + (withAqi ? 'AQI ' + esc(x[5]) + ' ' + esc(x[2]) + '<br>首要污染物 ' + (esc(x[4]) || '—') + '<br>' + esc(x[3]) : esc(d.factor.name) + ' ' + fmt(x[1]) + ' ' + esc(unitOf(d))); } },
        visualMap: visual,
        calendar: { range: String(c.year), cellSize: ['auto', 18], top: 40, left: 40, right: 20, dayLabel: { nameMap: 'ZH', firstDay: 1 }, monthLabel: { nameMap: 'ZH' }, yearLabel: { show: false } },
        series: [{ type: 'heatmap', coordinateSystem: 'calendar', data: data }]
      });
    });

    load('trend', function (el, d) {
      var t = d.result;
      var pts = t.months.filter(function (m) { return m.used; }).map(function (m) { return [m.t, t.deseasonalised ? m.adjusted : m.mean, m.year + '-' + m.month]; });
      var raw = t.months.filter(function (m) { return m.used; }).map(function (m) { return [m.t, m.mean]; });
      echarts.init(el).setOption({
        tooltip: { trigger: 'item', formatter: function (p) { return esc(p.data[2]) + ' ' + fmt(p.data[1]) + ' ' + esc(unitOf(d)); } },
        legend: { top: 0 }, grid: { left: 60, right: 20 },
        xAxis: { type: 'value', scale: true, name: '年', axisLabel: { formatter: function (v) { return v.toFixed(1); } } }, yAxis: { type: 'value', name: unitOf(d), scale: true },
        series: [
          { name: t.deseasonalised ? '去季节化月均值' : '月均值', type: 'line', data: pts, itemStyle: { color: '#1f6f43' } },
          { name: '原始月均值', type: 'scatter', data: raw, symbolSize: 4, itemStyle: { color: '#999' } },
          { name: 'Sen 趋势线', type: 'line', data: t.line, symbol: 'none', lineStyle: { width: 3, color: '#c0504d' } }
        ]
      });
    });

    load('before-after', function (el, d) {
      var r = d.result;
      function mean(w) { return w.summary ? w.summary.mean : null; }
      function err(w) { return w.summary && w.summary.lower !== null ? [w.summary.lower, w.summary.upper] : null; }
      var cats = ['之前', '之后'], main = [r.main.before, r.main.after];
      var series = [{ name: '本期 ' + r.date, type: 'bar', data: main.map(mean), itemStyle: { color: '#1f6f43' } }];
      if (r.control) { series.push({ name: '上一年同期（对照）', type: 'bar', data: [mean(r.control.before), mean(r.control.after)], itemStyle: { color: '#aaa' } }); }
      echarts.init(el).setOption({
        tooltip: { trigger: 'axis' }, legend: { top: 0 },
        xAxis: { type: 'category', data: cats }, yAxis: { type: 'value', name: unitOf(d) + '（日均值）' },
        series: series
      });
      var extra = main.map(function (w, i) { var e = err(w); return cats[i] + '：' + w.from + ' 至 ' + w.to + '（不含），有效 ' + w.days + ' 天，均值 ' + fmt(mean(w)) + (e ? '（95% 区间 ' + fmt(e[0]) + ' ~ ' + fmt(e[1]) + '）' : ''); });
      notes('before-after-notes', (d.notes || []).concat(extra));
    });
  }
  if (document.readyState !== 'loading') { drawAll(); } else { document.addEventListener('DOMContentLoaded', drawAll); }

  // Choosing another point offers that point's factors only (a water section its GB 3838 items, not the air
  // list), from /api/v1/analysis/factors; the factor kept when the new point has it. Without this script the
  // page, once submitted, lists the chosen point's factors itself.
  document.addEventListener('change', function (event) {
    var pointSelect = event.target;
    if (!pointSelect || !pointSelect.matches || !pointSelect.matches('select[data-factors-api]')) { return; }
    var factorSelect = pointSelect.form && pointSelect.form.elements.factor;
    if (!factorSelect) { return; }
    var url = pointSelect.getAttribute('data-factors-api') + '?point=' + encodeURIComponent(pointSelect.value);
    fetch(url, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (list) {
        if (!list || !list.length) { return; }
        var kept = factorSelect.value;
        while (factorSelect.firstChild) { factorSelect.removeChild(factorSelect.firstChild); }
        list.forEach(function (f) {
          var option = document.createElement('option');
          option.value = f.code;
          option.textContent = f.name;
          factorSelect.appendChild(option);
        });
        factorSelect.value = list.some(function (f) { return f.code === kept; }) ? kept : list[0].code;
      })
      .catch(function () { /* the list stays; the page corrects it when submitted */ });
  });
})();

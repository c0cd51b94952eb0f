// The base map of every map page (the dashboard's, the complaints map): the district boundary
// (/map/district.geojson) and its streets (/map/streets.geojson: the bureau's boundaries, or a simulated
// partition marked 模拟), with the streets' names placed at their label points (properties.cp, computed by the
// server away from the edges) and hidden where two would collide (labelLayout.hideOverlap). One palette for
// the layers of every map, used by their series and their legends alike, so that a legend's colour is the
// markers' colour. Loaded before the page's own script; no request leaves the platform.
(function () {
  // Layer colours and shapes. A layer coloured by a figure (AQI, water class) is drawn through a visualMap whose
  // pieces are its legend; its own colour is then only the hollow shape in the layer legend.
  var palette = {
    station: { name: '国控/市控站点', symbol: 'circle', size: 16, colour: '#374151' },
    micro: { name: '微站', symbol: 'circle', size: 8, colour: '#374151' },
    section: { name: '水质断面', symbol: 'triangle', size: 14, colour: '#374151' },
    // Its colour is the server's (the dashboard's map_legend, entry 'enterprise'), set by the page.
    enterprise: { name: '重点排污单位', symbol: 'rect', size: 7, colour: null },
    // Complaint categories, in the order the page lists them (so a category keeps its colour month to month).
    // Fourteen distinct colours: more than the categories (12), so that none repeats.
    categories: ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#9a3412', '#475569',
      '#0f766e', '#a16207', '#be123c', '#4338ca'],
    // Street fills: pale, so that the markers stand out on them.
    streets: ['#e8f1e4', '#f3ecdc', '#e3edf5', '#f1e4ea', '#e9e6f4', '#e0f0ee', '#f4efd9', '#ece3da', '#e4ece0', '#f0e6e0', '#e2e8f0', '#eef0dd'],
    border: '#4b6b50',
    label: '#1f2937'
  };

  function geojson(url) {
    return fetch(url, { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) { throw new Error(url + ' ' + r.status); }
      return r.json();
    });
  }

  // Loads the district and its streets into one registered map and answers {chart, option, streets}: the
  // chart on `el` and the base option (geo, the street-name series, the 模拟 mark) for the page to extend
  // with compose().
  function load(el) {
    var code = el.getAttribute('data-district') || '';
    return Promise.all([
      geojson('/map/district.geojson'),
      geojson('/map/streets.geojson').catch(function () { return { type: 'FeatureCollection', features: [] }; })
    ]).then(function (both) {
      var district = both[0];
      var streets = both[1];
      // The district's own feature (by adcode) when the file holds the whole city.
      var own = (district.features || []).filter(function (f) {
        return String(f.id) === code || (f.properties && String(f.properties.adcode) === code);
      });
      var districtFeatures = own.length > 0 ? own : (district.features || []);
      var streetFeatures = streets.features || [];
      var districtNames = districtFeatures.map(function (f, i) {
        var name = (f.properties && f.properties.name) || ('district-' + i);
        f.properties = Object.assign({}, f.properties, { name: name });
        return name;
      });
      // Streets first, the district outline last: its border is drawn over the streets' edges.
      echarts.registerMap('qingshan-base', { type: 'FeatureCollection', features: streetFeatures.concat(districtFeatures) });
      var hasStreets = streetFeatures.length > 0;
      var regions = streetFeatures.map(function (f, i) {
        return {
          name: f.properties.name,
          itemStyle: {
            areaColor: palette.streets[i % palette.streets.length], borderColor: '#8aa58e', borderWidth: 1,
            borderType: streets.simulated ? 'dashed' : 'solid'
          }
        };
      }).concat(districtNames.map(function (name) {
        return { name: name, itemStyle: { areaColor: hasStreets ? 'transparent' : '#eef3ee', borderColor: palette.border, borderWidth: 2 } };
      }));
      var option = {
        geo: {
          map: 'qingshan-base', roam: true, regions: regions, layoutSize: '92%',
          itemStyle: { areaColor: '#eef3ee', borderColor: palette.border }, emphasis: { disabled: true },
          select: { disabled: true }, tooltip: { show: false }
        },
        series: [{
          // Above the markers (z 3), so that a name is never hidden under a station.
          name: '街道', type: 'scatter', coordinateSystem: 'geo', symbolSize: 0, silent: true, z: 5,
          // Drawn as text on the canvas (no rich-text styles are defined, so no name is read as markup).
          label: { show: true, formatter: '{b}', color: palette.label, fontSize: 11, textBorderColor: '#fff', textBorderWidth: 2 },
          labelLayout: { hideOverlap: true },
          data: streetFeatures.filter(function (f) { return f.properties.cp; }).map(function (f) {
            return { name: f.properties.name, value: f.properties.cp };
          })
        }],
        graphic: streets.simulated && hasStreets ? [{
          type: 'text', left: 8, top: 8, silent: true, z: 100,
          style: { text: '街道边界为模拟划分', fill: '#92400e', font: '12px sans-serif', backgroundColor: 'rgba(255,251,235,0.9)', padding: [2, 4] }
        }] : []
      };
      var note = document.getElementById(el.id + '-note');
      if (note) {
        note.textContent = streets.simulated
          ? '街道边界为模拟划分（' + (streets.source || '') + '），仅供示意，不是正式的街道界线。'
          : (hasStreets ? '街道边界：' + (streets.source || '本局提供') + '。' : '');
      }
      var chart = echarts.init(el);
      window.addEventListener('resize', function () { chart.resize(); });
      return { chart: chart, option: option, streets: streets };
    });
  }

  // The base option extended by a page's own: its series after the base's, its other keys as given. A series on
  // the geo takes its tooltip settings from the geo after its own, and the base's geo shows none (its regions
  // say nothing): so each of the page's series says it shows one.
  function compose(base, own) {
    var out = Object.assign({}, base, own);
    out.series = base.series.concat((own.series || []).map(function (s) {
      return Object.assign({}, s, { tooltip: Object.assign({ show: true }, s.tooltip) });
    }));
    return out;
  }

  // A legend entry for a layer, in the layer's colour (a hollow shape for layers coloured by a visualMap).
  function legendItem(layer, hollow) {
    return {
      name: layer.name, icon: hollow ? 'empty' + layer.symbol.charAt(0).toUpperCase() + layer.symbol.slice(1) : layer.symbol,
      itemStyle: { color: layer.colour, borderColor: layer.colour }
    };
  }

  // Where a page puts its layer legend: beside the 模拟 mark on a wide map, under it on a phone.
  function legendPlace(el) {
    return el.clientWidth < 560 ? { top: 28, left: 4, right: 4 } : { top: 4, left: 130, right: 4 };
  }

  window.QingshanMap = { palette: palette, load: load, compose: compose, legendItem: legendItem, legendPlace: legendPlace };
})();

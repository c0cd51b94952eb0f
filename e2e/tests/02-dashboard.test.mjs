// 2. The leader's dashboard: every chart and the district map drawn with data, the day's figures, nothing broken,
// nothing fetched from outside (the bureau's network is closed).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertClean, chartStates, launch, loginAs, newContext, open, screenshot, waitForCharts, shotsOnFailure } from '../lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('the dashboard renders its charts and the district map with data, at 1366×768 and 1920×1080', shotsOnFailure('02-dashboard', async () => {
  const { context, issues } = await newContext(browser, { width: 1366, height: 768 });
  const page = await loginAs(context, 'leader');
  await open(page, '/');

  // Every ECharts container has an instance with a series with data (the map, the monthly trends at least).
  const charts = await waitForCharts(page, { min: 2 });

  // The map: a geo component or map series whose registered map has features, and it is the district's.
  const maps = charts.flatMap((c) => c.maps);
  assert.ok(maps.length > 0, `no chart draws a map (geo or map series): ${JSON.stringify(charts)}`);
  for (const m of maps) {
    assert.ok(m.features > 0, `map "${m.name}" is not registered or has no features`);
  }
  assert.ok(
    maps.some((m) => /东丽|dongli/i.test(m.name) || m.names.some((n) => n.includes('东丽'))),
    `no map is of 东丽区 (maps: ${JSON.stringify(maps)})`,
  );

  // Its layers (the issue: stations, sections and enterprises, and the 11 streets named).
  const mapChart = charts.find((c) => c.maps.length > 0);
  const layers = mapChart.series.filter((x) => x.n > 0).map((x) => x.name || '');
  for (const [what, pattern] of [['stations', /站/], ['water sections', /断面/], ['enterprises', /企业|排污|单位/]]) {
    assert.ok(layers.some((name) => pattern.test(name)), `the map has a layer of ${what} with data (layers: ${layers})`);
  }
  const streetNames = await page.evaluate((label) => {
    const el = [...document.querySelectorAll('[_echarts_instance_]')].find((e) => (e.id || e.className || e.tagName) === label);
    const option = window.echarts.getInstanceByDom(el).getOption();
    const names = new Set();
    for (const series of option.series || []) {
      for (const item of series.data || []) {
        const name = item && item.name;
        if (typeof name === 'string' && name.endsWith('街道')) names.add(name);
      }
    }
    return [...names];
  }, mapChart.label);
  assert.ok(streetNames.length >= 11, `the map names the 11 streets (it names ${streetNames.length}: ${streetNames})`);

  // The streets layer: the demo has no bureau street file, so the map draws the simulated partition, 11
  // polygons, and says so on the canvas and in the caption.
  const streets = await page.evaluate(async (label) => {
    const el = [...document.querySelectorAll('[_echarts_instance_]')].find((e) => (e.id || e.className || e.tagName) === label);
    const option = window.echarts.getInstanceByDom(el).getOption();
    const served = await (await fetch('/map/streets.geojson')).json();
    const registered = window.echarts.getMap(option.geo[0].map).geoJSON;
    const graphicTexts = JSON.stringify(option.graphic || []);
    return {
      served: served.features.length,
      simulated: served.simulated,
      registered: registered.features.filter((f) => f.properties && f.properties.street_id !== undefined).length,
      polygons: served.features.every((f) => /Polygon/.test(f.geometry.type)),
      mark: graphicTexts.includes('模拟'),
      note: (document.getElementById(`${el.id}-note`) || {}).textContent || '',
    };
  }, mapChart.label);
  assert.equal(streets.served, 11, 'the streets layer has the 11 streets');
  assert.equal(streets.registered, 11, 'the 11 street polygons are drawn on the map');
  assert.ok(streets.polygons, 'every street is a polygon');
  assert.equal(streets.simulated, true, 'the demo streets are a simulated partition');
  assert.ok(streets.mark, 'the map is marked 模拟 on the canvas');
  assert.match(streets.note, /街道边界为模拟划分/, 'the caption says the street boundaries are simulated');

  // The legend's colours are the markers' colours: each layer legend icon has its series' colour, and every
  // marker as drawn has a colour of the legend (a visualMap piece of the server's map_legend, or its layer's).
  const legend = await page.evaluate((label) => {
    const el = [...document.querySelectorAll('[_echarts_instance_]')].find((e) => (e.id || e.className || e.tagName) === label);
    const chart = window.echarts.getInstanceByDom(el);
    const option = chart.getOption();
    const data = JSON.parse(document.getElementById('dashboard-data').textContent);
    const problems = [];
    const legendItems = (option.legend[0].data || []).map((d) => (typeof d === 'string' ? { name: d } : d));
    const legendColours = new Set();
    for (const item of legendItems) {
      const series = option.series.find((s) => s.name === item.name);
      if (!series) { problems.push(`legend ${item.name} has no series`); continue; }
      const icon = item.itemStyle && item.itemStyle.color;
      if (icon !== series.itemStyle.color) problems.push(`legend ${item.name} ${icon} ≠ series ${series.itemStyle.color}`);
      legendColours.add(icon);
    }
    const pieces = (option.visualMap || []).flatMap((v) => v.pieces.map((p) => ({ label: p.label, color: p.color })));
    for (const piece of pieces) {
      const entry = data.map_legend.find((e) => e.label === piece.label);
      if (!entry || entry.colour !== piece.color) problems.push(`piece ${piece.label} ${piece.color} ≠ legend ${entry && entry.colour}`);
      legendColours.add(piece.color);
    }
    const norm = (c) => String(c).toLowerCase();
    const allowed = new Set([...legendColours].map(norm));
    let markers = 0;
    chart.getModel().eachSeries((model) => {
      if (!legendItems.some((i) => i.name === model.name)) return;
      const list = model.getData();
      for (let i = 0; i < list.count(); i++) {
        const fill = list.getItemVisual(i, 'style').fill;
        markers++;
        if (!allowed.has(norm(fill))) problems.push(`${model.name} ${list.getName(i)} drawn ${fill}, not in the legend`);
      }
    });
    // And each point is drawn in the colour the server gave it.
    chart.getModel().eachSeries((model) => {
      const list = model.getData();
      for (let i = 0; i < list.count(); i++) {
        const point = data.map_points.find((p) => p.name === list.getName(i) && model.name !== '街道');
        if (point && norm(list.getItemVisual(i, 'style').fill) !== norm(point.colour)) {
          problems.push(`${point.name} drawn ${list.getItemVisual(i, 'style').fill}, its colour is ${point.colour}`);
        }
      }
    });
    return { problems, markers, legendItems: legendItems.length, pieces: pieces.length };
  }, mapChart.label);
  assert.ok(legend.markers > 40, `the map draws its markers (${legend.markers})`);
  assert.ok(legend.legendItems >= 4 && legend.pieces >= 10, `the legend has the layers and the colour scales (${JSON.stringify(legend)})`);
  assert.deepEqual(legend.problems.slice(0, 10), [], 'the legend colours are the markers\' colours');

  // What the issue puts on the page: targets, today's AQI per station, water classes, open alarms, trends.
  const text = await page.locator('main').innerText();
  for (const [what, pattern] of [
    ['targets', /目标/],
    ["today's AQI", /AQI/],
    ['the national station', /跃进路/],
    ['water sections by class', /水质|类别/],
    ['open alarms', /报警/],
  ]) {
    assert.match(text, pattern, `the dashboard shows ${what}`);
  }

  // Works at 1366×768: no horizontal scrolling of the page.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the dashboard is ${overflow}px wider than a 1366px window`);
  await screenshot(page, '02-dashboard-1366x768');

  // On a large screen, after the charts resize.
  await page.setViewportSize({ width: 1920, height: 1080 });
  // The charts follow their containers (drawn at the new width, not left at the 1366 px one).
  await page
    .waitForFunction(() =>
      [...document.querySelectorAll('[_echarts_instance_]')].every((el) => {
        const chart = window.echarts.getInstanceByDom(el);
        return chart && Math.abs(chart.getWidth() - el.clientWidth) <= 1;
      }), null, { timeout: 10_000 })
    .catch(() => assert.fail('the charts did not resize with the window to 1920 px'));
  const large = await chartStates(page);
  assert.equal(large.length, charts.length, 'the same charts on a large screen');
  await screenshot(page, '02-dashboard-1920x1080');

  assertClean(issues, 'dashboard');
  await context.close();
}));

test('the complaints map draws the same base map (district and 11 streets) with a legend in its markers\' colours', shotsOnFailure('02-complaints-map', async () => {
  const { context, issues } = await newContext(browser, { width: 390, height: 844 });
  const page = await loginAs(context, 'leader');
  await open(page, '/complaints/map');
  await waitForCharts(page, { min: 1 });
  const state = await page.evaluate(() => {
    const chart = window.echarts.getInstanceByDom(document.getElementById('complaint-map'));
    const option = chart.getOption();
    const features = window.echarts.getMap(option.geo[0].map).geoJSON.features;
    const problems = [];
    for (const item of option.legend[0].data) {
      const series = option.series.find((s) => s.name === item.name);
      if (!series || series.itemStyle.color !== item.itemStyle.color) problems.push(item.name);
    }
    const colours = option.series.filter((s) => s.name !== '街道').map((s) => s.itemStyle.color);
    return {
      streets: features.filter((f) => f.properties && f.properties.street_id !== undefined).length,
      district: features.some((f) => /东丽/.test((f.properties && f.properties.name) || '')),
      mark: JSON.stringify(option.graphic || []).includes('模拟'),
      problems,
      distinct: new Set(colours).size === colours.length,
      overflow: document.documentElement.scrollWidth - window.innerWidth,
    };
  });
  assert.equal(state.streets, 11, 'the complaints map has the 11 streets');
  assert.ok(state.district, 'the complaints map has the district boundary');
  assert.ok(state.mark, 'the simulated streets are marked 模拟');
  assert.deepEqual(state.problems, [], 'legend colours equal series colours');
  assert.ok(state.distinct, 'each category has its own colour');
  assert.ok(state.overflow <= 1, `no horizontal scroll at 390 px (${state.overflow})`);
  await screenshot(page, '02-complaints-map-390x844');
  assertClean(issues, 'complaints map');
  await context.close();
}));

test('at 1366×768 every entry of the main navigation is visible without scrolling the bar', shotsOnFailure('02-nav', async () => {
  const { context, issues } = await newContext(browser, { width: 1366, height: 768 });
  const page = await loginAs(context, 'leader');
  await open(page, '/');
  // Each entry must lie wholly inside the bar's visible box (the bar scrolls sideways when it is too long) and
  // not under the signed-in user's box.
  const hidden = await page.evaluate(() => {
    const nav = document.querySelector('header.topbar .mainnav').getBoundingClientRect();
    const who = document.querySelector('header.topbar .who').getBoundingClientRect();
    return [...document.querySelectorAll('header.topbar .mainnav a')]
      .map((a) => ({ label: a.textContent.trim(), box: a.getBoundingClientRect() }))
      .filter(({ box }) => box.left < nav.left - 0.5 || box.right > nav.right + 0.5 || box.right > who.left + 0.5)
      .map(({ label, box }) => `${label} (${Math.round(box.left)}–${Math.round(box.right)} px; bar ends at ${Math.round(nav.right)}, user box starts at ${Math.round(who.left)})`);
  });
  assert.deepEqual(hidden, [], 'navigation entries cut off at 1366 px');
  assertClean(issues, 'navigation');
  await context.close();
}));

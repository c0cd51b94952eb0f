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

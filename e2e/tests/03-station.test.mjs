// 3. From the dashboard to one station's page (series, daily AQI calendar, exceedances, coverage) and to one water
// section's; and the station list.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertClean, launch, loginAs, newContext, open, screenshot, waitForCharts, shotsOnFailure } from '../lib.mjs';

const NATIONAL = '跃进路'; // 1021A, the demo's national air station
let browser;
let context;
let issues;
let page;
let stationPath;
before(async () => {
  browser = await launch();
  ({ context, issues } = await newContext(browser));
  page = await loginAs(context, 'leader');
});
after(async () => {
  await browser?.close();
});

test('open the national station from the dashboard and see its series chart with data', shotsOnFailure('03-station', async () => {
  await open(page, '/');
  const link = page.locator('main a[href^="/stations/"]', { hasText: NATIONAL }).first();
  await link.waitFor();
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().isNavigationRequest() && /\/stations\/\d+$/.test(r.url())),
    link.click(),
  ]);
  await page.waitForLoadState('load');
  stationPath = new URL(response.url()).pathname;
  assert.equal(response.status(), 200, `${stationPath} answered ${response.status()}: ${await page.title()}`);
  assert.match(await page.locator('main').innerText(), new RegExp(NATIONAL), `the station page names ${NATIONAL}`);
  // The issue's station page: the series, the daily AQI calendar, the exceedances and the coverage.
  const charts = await waitForCharts(page, { min: 1 });
  const types = charts.flatMap((c) => c.series.filter((x) => x.n > 0).map((x) => x.type));
  assert.ok(types.includes('line'), `a series chart (line) with data: ${types}`);
  assert.ok(types.includes('heatmap'), `a daily AQI calendar (heatmap) with data: ${types}`);
  const headings = (await page.locator('main h2').allInnerTexts()).join(' | ');
  assert.match(headings, /超标/, `the exceedances (headings: ${headings})`);
  assert.match(headings, /完整|覆盖/, `the coverage (headings: ${headings})`);
  await screenshot(page, '03-station');
  assertClean(issues, 'station page');
}));

test('open a water section from the dashboard and see its monthly class and CWQI with data', shotsOnFailure('03-section', async () => {
  issues.consoleErrors.length = 0;
  await open(page, '/');
  // The dashboard's water table: the section links in the table that lists classes (I–V, 劣V).
  const link = page.locator('main table', { hasText: 'CWQI' }).locator('a[href^="/stations/"]').first();
  await link.waitFor();
  const name = (await link.innerText()).trim();
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().isNavigationRequest() && /\/stations\/\d+$/.test(r.url())),
    link.click(),
  ]);
  await page.waitForLoadState('load');
  assert.equal(response.status(), 200, `${response.url()} answered ${response.status()}`);
  assert.match(await page.locator('main').innerText(), new RegExp(name), `the section page names ${name}`);
  await waitForCharts(page, { min: 1 });
  assert.match(await page.locator('main').innerText(), /(^|[^A-Za-z])(I{1,3}|IV|V)\s*类|劣\s*V/, 'a water class (GB 3838)');
  await screenshot(page, '03-section');
  assertClean(issues, 'section page');
}));

test('/stations lists the stations and links to their pages', shotsOnFailure('03-stations', async () => {
  issues.consoleErrors.length = 0;
  await open(page, '/stations');
  const links = page.locator('main a[href^="/stations/"]');
  assert.ok((await links.count()) >= 10, 'the list links to the station pages (45 air stations and 9 sections in the demo)');
  const national = await links.filter({ hasText: NATIONAL }).evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.ok(national.length > 0, `the list has ${NATIONAL}`);
  if (stationPath) {
    assert.ok(national.includes(stationPath), `${NATIONAL} links to ${stationPath}, as from the dashboard`);
  }
  await screenshot(page, '03-stations');
  assertClean(issues, '/stations');
}));

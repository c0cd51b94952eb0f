// 5. A street officer (张贵庄街道) sees only their street: the complaints list, another street's station (the 404
// page, never the data), the station list, and the dashboard.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BASE, apiGet, assertClean, launch, loginAs, newContext, open, screenshot, whoIsSignedIn, shotsOnFailure } from '../lib.mjs';

const STREET = '张贵庄街道';
let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/**
 * The demo's air stations as the leader (who sees all) reads them from the API: [{ id, code, name, street_name }],
 * with one of another street than STREET whose page the leader can open (so that its 404 below means hidden, not
 * missing).
 */
async function airStations() {
  const { context } = await newContext(browser);
  const page = await loginAs(context, 'leader');
  const body = await apiGet(context, '/api/v1/points?kind=air_station&per_page=500');
  const items = body.items || body.data || body;
  assert.ok(Array.isArray(items) && items.length > 0, 'the demo has air stations');
  const other = items.find((s) => s.street_name && s.street_name !== STREET);
  assert.ok(other, 'the demo has an air station in another street');
  await open(page, `/stations/${other.id}`);
  await context.close();
  return { stations: items, other, own: items.find((s) => s.street_name === STREET) };
}

test(`a street officer of ${STREET} sees only their street`, shotsOnFailure('05-street', async () => {
  const { stations, other, own } = await airStations();

  const { context, issues } = await newContext(browser);
  const page = await loginAs(context, 'street-zgz');
  assert.match(await whoIsSignedIn(page), /街道/, 'signed in as the street officer');

  // The dashboard shows their street.
  await open(page, '/');
  assert.match(await page.locator('main').innerText(), new RegExp(STREET), `the dashboard shows ${STREET}`);
  await screenshot(page, '05-street-dashboard');

  // The complaints list holds their street's complaints and no other street's.
  await open(page, '/complaints');
  const streets = await page.locator('main table.list tbody tr td:nth-child(6)').allInnerTexts();
  assert.ok(streets.length > 0, `the complaints list shows ${STREET}'s complaints`);
  const foreign = streets.filter((s) => s.trim() !== STREET);
  assert.deepEqual(foreign, [], 'complaints of another street in the list');
  await screenshot(page, '05-street-complaints');

  // Another street's station is the 404 page (the leader opened it above), and names nothing of it.
  const response = await page.goto(`${BASE}/stations/${other.id}`);
  assert.equal(response.status(), 404, `${other.name} (${other.street_name}) answers 404 to a ${STREET} officer`);
  const text = await page.locator('body').innerText();
  assert.match(text, /未找到/, 'the 404 page');
  assert.ok(!text.includes(other.name), `the 404 page does not name the other street's station (${other.name})`);
  await screenshot(page, '05-street-other-station-404');
  // (The 404 page's own "Failed to load resource: 404" console line is expected.)
  issues.consoleErrors = issues.consoleErrors.filter((e) => !/Failed to load resource: .* 404/.test(e));

  // The station list does not link to another street's station; their own station opens.
  await open(page, '/stations');
  const linked = await page.locator('main a[href^="/stations/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  const otherIds = new Set(stations.filter((s) => s.street_name && s.street_name !== STREET).map((s) => `/stations/${s.id}`));
  assert.deepEqual(linked.filter((h) => otherIds.has(h.split(/[?#]/)[0])), [], 'links to stations of other streets');
  if (own) {
    await open(page, `/stations/${own.id}`);
  }
  assertClean(issues, 'street officer pages');
  await context.close();
}));

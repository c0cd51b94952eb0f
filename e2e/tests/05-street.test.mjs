// 5. A street officer (张贵庄街道) sees only their street: the dashboard, the complaints list, another street's
// station (the 404 page, never the data) and the station list.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  BASE, apiGet, assertClean, launch, loginAs, newContext, open, screenshot, shotsOnFailure, whoIsSignedIn,
} from '../lib.mjs';

const STREET = '张贵庄街道';
let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test(`a street officer of ${STREET} sees only their street`, shotsOnFailure('05-street', async () => {
  // What there is, as the leader (who sees everything) reads it from the API.
  const leader = await newContext(browser);
  const leaderPage = await loginAs(leader.context, 'leader');
  const stations = (await apiGet(leader.context, '/api/v1/points?kind=air_station&per_page=500')).items;
  const sections = (await apiGet(leader.context, '/api/v1/points?kind=water_section&per_page=500')).items;
  const other = stations.find((s) => s.street_name && s.street_name !== STREET);
  const own = stations.find((s) => s.street_name === STREET);
  assert.ok(other, 'the demo has an air station in another street');
  const otherPaths = new Set(
    [...stations, ...sections].filter((s) => s.street_name && s.street_name !== STREET).map((s) => `/stations/${s.id}`),
  );

  const { context, issues } = await newContext(browser);
  const page = await loginAs(context, 'street-zgz');
  assert.match(await whoIsSignedIn(page), /街道/, 'signed in as the street officer');
  const linksToOthers = async () =>
    (await page.locator('main a[href^="/stations/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href'))))
      .filter((h) => otherPaths.has(h.split(/[?#]/)[0]));

  // The dashboard is their street's: named in its heading, no link to another street's station or section.
  await open(page, '/');
  assert.match(await page.locator('main h1').innerText(), new RegExp(STREET), `the dashboard's heading names ${STREET}`);
  assert.deepEqual(await linksToOthers(), [], 'the dashboard links to stations of other streets');
  await screenshot(page, '05-street-dashboard');

  // The complaints list holds their street's complaints and no other street's.
  await open(page, '/complaints');
  const streets = await page.locator('main table.list tbody tr td:nth-child(6)').allInnerTexts();
  assert.ok(streets.length > 0, `the complaints list shows ${STREET}'s complaints`);
  assert.deepEqual(streets.filter((s) => s.trim() !== STREET), [], 'complaints of another street in the list');
  await screenshot(page, '05-street-complaints');
  assertClean(issues, 'street officer: dashboard and complaints');

  // Another street's station: the leader opens it (so the 404 below means hidden, not missing), the officer gets
  // the 404 page, which names nothing of it.
  await open(leaderPage, `/stations/${other.id}`);
  await leader.context.close();
  const response = await page.goto(`${BASE}/stations/${other.id}`);
  assert.equal(response.status(), 404, `${other.name} (${other.street_name}) answers 404 to a ${STREET} officer`);
  const text = await page.locator('body').innerText();
  assert.match(text, /未找到/, 'the 404 page');
  assert.ok(!text.includes(other.name), `the 404 page does not name the other street's station (${other.name})`);
  await screenshot(page, '05-street-other-station-404');

  // The station list links to no other street's station; their own station opens.
  issues.consoleErrors.length = 0; // (the 404 page's own "Failed to load resource: 404" line)
  await open(page, '/stations');
  assert.deepEqual(await linksToOthers(), [], 'the station list links to stations of other streets');
  if (own) {
    await open(page, `/stations/${own.id}`);
  }
  assertClean(issues, 'street officer: stations');
  await context.close();
}));

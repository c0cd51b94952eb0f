// 7. Stored markup (issue 12, item 1): markup planted in every name a user can edit — enterprise, site, outlet,
// station, water section, street, department, target, complaint — shows as text on every page and in every chart
// tooltip that draws it, no element is ever made from it, and the pages work under the Content-Security-Policy
// (no violation, charts drawn). The names are planted through the API as the roles that may edit them (the
// enterprise by a street officer, as in the issue) and put back afterwards; the complaint stays (complaints are
// never deleted) and nothing after this file checks complaint titles.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import {
  ARTIFACTS,
  BASE,
  assertClean,
  launch,
  loginAs,
  newContext,
  screenshot,
  shotsOnFailure,
  waitForCharts,
} from '../lib.mjs';

// An element that runs script when inserted as HTML, and one that merely renders: neither may ever exist.
const MARK = '<img src=x data-xss onerror=__xss=1><b data-xss>粗</b>';
/** A planted name: a label to find it by, quotes (for attribute contexts) and the markup. ≤ 64 characters. */
const planted = (label) => `${label}"'${MARK}`;

let browser;
const actors = []; // the API callers' contexts, closed after the names are put back
const undo = []; // functions that put the planted names back, run in reverse order
const names = {}; // what was planted, by what
const ids = {}; // the records planted in

/** A logged-in context with its CSRF token, for API calls as that user. */
async function actor(username) {
  const { context } = await newContext(browser);
  actors.push(context);
  const page = await loginAs(context, username);
  const csrf = await page.locator('meta[name="csrf-token"]').getAttribute('content');
  await page.close();
  const call = async (method, path, body) => {
    const response = await context.request.fetch(BASE + path, {
      method,
      headers: { accept: 'application/json', 'x-csrf-token': csrf },
      data: body === undefined ? undefined : body,
    });
    const text = await response.text();
    assert.ok(response.ok(), `${username}: ${method} ${path} answered ${response.status()}: ${text}`);
    return text ? JSON.parse(text) : null;
  };
  return { context, call };
}

/** Of `candidates` (with lon, lat), the one farthest from its nearest neighbour among `others`. */
function loneliest(candidates, others) {
  let best;
  let bestGap = -1;
  for (const c of candidates) {
    const gap = Math.min(
      ...others
        .filter((o) => !(o.name === c.name && o.lon === c.lon && o.lat === c.lat)) // itself, in the other list
        .map((o) => Math.hypot(o.lon - c.lon, o.lat - c.lat)),
    );
    if (gap > bestGap) {
      best = c;
      bestGap = gap;
    }
  }
  return best;
}

/** GETs a record, PUTs it back with `changes`, and registers the PUT that restores what it had. */
async function rename(who, path, changes, { drop = [] } = {}) {
  const current = await who.call('GET', path);
  const body = (record) => {
    const copy = { ...record };
    for (const key of drop) delete copy[key];
    return copy;
  };
  const updated = await who.call('PUT', path, { ...body(current), ...changes });
  const original = Object.fromEntries(Object.keys(changes).map((k) => [k, current[k]]));
  undo.push(async () => {
    const now = await who.call('GET', path);
    await who.call('PUT', path, { ...body(now), ...original });
  });
  return updated;
}

before(async () => {
  browser = await launch();
  const admin = await actor('admin');
  const monitor = await actor('monitor');
  const enforcer = await actor('enforcer');
  const petition = await actor('petition');
  const officer = await actor('street-hm');

  const streets = await admin.call('GET', '/api/v1/streets');
  const street = streets.find((s) => s.name === '华明街道');
  assert.ok(street, 'the demo has 华明街道');
  ids.street = street.id;

  // The street officer renames a key discharger of their street: the issue's attack. The one farthest from
  // every other symbol of the dashboard's map, so that the mouse can hover it alone.
  const onMap = [
    ...(await admin.call('GET', '/api/v1/enterprises?per_page=500')).items.filter((e) => e.key_discharger),
    ...(await admin.call('GET', '/api/v1/points?per_page=500')).items.filter((p) => p.kind !== 'outlet'),
  ].filter((x) => x.lon !== null && x.lat !== null);
  const theirs = (await officer.call('GET', `/api/v1/enterprises?street_id=${street.id}&per_page=500`)).items;
  const keyDischarger = loneliest(
    theirs.filter((e) => e.key_discharger && e.lon !== null && e.street_id === street.id),
    onMap,
  );
  assert.ok(keyDischarger, 'a key discharger with coordinates in 华明街道');
  ids.enterprise = keyDischarger.id;
  names.enterprise = planted('企业甲');
  await rename(officer, `/api/v1/enterprises/${keyDischarger.id}`, { name: names.enterprise }, { drop: ['status'] });

  // The enterprise of an alarm (enforcement may edit enterprises), with its site and the alarm's outlet.
  const alarm = (await enforcer.call('GET', '/api/v1/alarms?per_page=1')).items[0];
  assert.ok(alarm && alarm.outlet_id, 'the demo has an alarm on an outlet');
  ids.alarm = alarm.id;
  ids.alarmEnterprise = alarm.enterprise_id;
  names.alarmEnterprise = planted('企业乙');
  await rename(enforcer, `/api/v1/enterprises/${alarm.enterprise_id}`, { name: names.alarmEnterprise }, { drop: ['status'] });
  const outlets = await enforcer.call('GET', `/api/v1/enterprises/${alarm.enterprise_id}/outlets`);
  const outlet = outlets.find((o) => o.id === alarm.outlet_id);
  names.outlet = planted('排放口');
  const outletPath = `/api/v1/enterprises/${alarm.enterprise_id}/outlets/${outlet.id}`;
  await enforcer.call('PUT', outletPath, { ...outlet, name: names.outlet });
  undo.push(() => enforcer.call('PUT', outletPath, outlet));
  const sites = await enforcer.call('GET', `/api/v1/enterprises/${alarm.enterprise_id}/sites`);
  if (sites.length > 0) {
    names.site = planted('厂区');
    const sitePath = `/api/v1/enterprises/${alarm.enterprise_id}/sites/${sites[0].id}`;
    await enforcer.call('PUT', sitePath, { ...sites[0], name: names.site });
    undo.push(() => enforcer.call('PUT', sitePath, sites[0]));
  }

  // The monitoring department renames a municipal air station and a water section of the street, and a target.
  const points = (await monitor.call('GET', `/api/v1/points?street_id=${street.id}&per_page=200`)).items;
  const station = points.find((p) => p.kind === 'air_station' && p.level !== 'micro');
  const section = points.find((p) => p.kind === 'water_section');
  assert.ok(station && section, `an air station and a water section in 华明街道: ${points.map((p) => p.name)}`);
  ids.station = station.id;
  ids.section = section.id;
  names.station = planted('站点');
  names.section = planted('断面');
  await rename(monitor, `/api/v1/points/${station.id}`, { name: names.station });
  await rename(monitor, `/api/v1/points/${section.id}`, { name: names.section });
  const target = (await monitor.call('GET', '/api/v1/targets'))[0].target;
  names.target = planted('目标');
  names.targetOwner = planted('科室');
  await rename(monitor, `/api/v1/targets/${target.id}`, { title: names.target, owner: names.targetOwner });

  // The administrator renames the street and a department.
  names.street = planted('华明街道');
  await rename(admin, `/api/v1/streets/${street.id}`, { name: names.street });
  const department = (await admin.call('GET', '/api/v1/departments'))[0];
  names.department = planted('部门');
  await rename(admin, `/api/v1/departments/${department.id}`, { name: names.department });

  // The petition office takes a complaint whose every free text is markup, on the map: at the emptiest spot
  // among this year's complaints (a grid over their extent), so that the mouse can hover it alone.
  const complaintsOnMap = await petition.call('GET', '/api/v1/complaints/map');
  const lons = complaintsOnMap.map((c) => c.lon);
  const lats = complaintsOnMap.map((c) => c.lat);
  const grid = [];
  for (let i = 1; i < 20; i += 1) {
    for (let j = 1; j < 20; j += 1) {
      grid.push({
        lon: Math.min(...lons) + ((Math.max(...lons) - Math.min(...lons)) * i) / 20,
        lat: Math.min(...lats) + ((Math.max(...lats) - Math.min(...lats)) * j) / 20,
      });
    }
  }
  const spot = loneliest(grid, complaintsOnMap);
  names.complaint = planted('投诉');
  const complaint = await petition.call('POST', '/api/v1/complaints', {
    channel: 'citizen_12345',
    category: 'odour',
    title: names.complaint,
    description: planted('描述'),
    object_name: planted('对象'),
    address: planted('地址'),
    street_id: street.id,
    lon: Math.round(spot.lon * 1e6) / 1e6,
    lat: Math.round(spot.lat * 1e6) / 1e6,
    reporter_name: planted('举报人'),
    reporter_phone: '13800000000',
  });
  ids.complaint = complaint.id;
  names.caseNo = complaint.case_no;

});

after(async () => {
  const errors = [];
  for (const step of undo.reverse()) {
    try {
      await step();
    } catch (error) {
      errors.push(error);
    }
  }
  for (const context of actors) {
    await context.close();
  }
  await browser?.close();
  if (errors.length > 0) {
    throw errors[0];
  }
});

/**
 * Watches every page of the context for CSP violations (the `securitypolicyviolation` event, which the browser
 * fires for anything the policy blocked) and resets the payload's trap.
 */
async function watchedContext(size) {
  const watched = await newContext(browser, size);
  await watched.context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  return watched;
}

/** Opens a path (200, with the security headers). */
async function visit(page, path) {
  const response = await page.goto(BASE + path, { waitUntil: 'load' });
  assert.equal(response.status(), 200, `GET ${path} answered ${response.status()}`);
  return response;
}

/** Nothing was made from the markup: no element, no script run, no policy violation. */
async function assertNoMarkup(page, where) {
  const state = await page.evaluate(() => ({
    elements: [...document.querySelectorAll('[data-xss]')].map((e) => e.outerHTML.slice(0, 120)),
    ran: typeof window.__xss !== 'undefined',
    violations: window.__cspViolations || [],
  }));
  assert.deepEqual(state.elements, [], `${where}: elements made from planted markup`);
  assert.equal(state.ran, false, `${where}: the planted onerror handler ran`);
  assert.deepEqual(state.violations, [], `${where}: Content-Security-Policy violations`);
}

/** The planted names show as text in the page (markup and all). */
async function assertShown(page, where, expected) {
  const text = await page.locator('main').innerText();
  for (const name of expected) {
    assert.ok(text.includes(name), `${where}: the name ${JSON.stringify(name)} is shown as text`);
  }
}

/** The page answered with the security headers, so the checks ran under the policy. */
function assertPolicy(response, where) {
  const headers = response.headers();
  const csp = headers['content-security-policy'] || '';
  assert.match(csp, /script-src 'self'(;|$)/, `${where}: a Content-Security-Policy allowing only our own scripts`);
  assert.match(csp, /frame-ancestors 'none'/, `${where}: frame-ancestors 'none'`);
  assert.equal(headers['x-frame-options'], 'DENY', `${where}: X-Frame-Options`);
  assert.equal(headers['x-content-type-options'], 'nosniff', `${where}: X-Content-Type-Options`);
  assert.ok(headers['referrer-policy'], `${where}: Referrer-Policy`);
}

/**
 * Moves the mouse onto the data item of a chart whose name (or a value field) matches, as a person hovering
 * it, and waits for the tooltip to show `expected`. Items hidden under another symbol are shown by the chart's
 * own hover action (the same formatter) instead.
 */
async function hover(page, selector, { series, match, expected }) {
  const spot = await page.evaluate(
    ({ selector, series, match }) => {
      const el = document.querySelector(selector);
      const chart = el && window.echarts.getInstanceByDom(el);
      if (!chart) return null;
      const option = chart.getOption();
      el.scrollIntoView({ block: 'center' });
      // Pixels are relative to the chart's own drawing surface (inside the container's border).
      const box = chart.getZr().painter.getViewportRoot().getBoundingClientRect();
      for (let s = 0; s < option.series.length; s += 1) {
        const seriesOption = option.series[s];
        if (series !== undefined && seriesOption.name !== series) continue;
        const data = seriesOption.data || [];
        if (match.category !== undefined) {
          // A category axis (trigger 'axis'): just above the axis line in the category's band.
          const i = ((option.xAxis || [])[0]?.data || []).indexOf(match.category);
          if (i < 0) continue;
          const at = chart.convertToPixel({ seriesIndex: s }, [i, 0]);
          return { seriesIndex: s, dataIndex: i, x: box.left + at[0], y: box.top + at[1] - 4 };
        }
        for (let i = 0; i < data.length; i += 1) {
          const item = data[i];
          const object = item && typeof item === 'object' && !Array.isArray(item);
          const value = object ? item.value : item;
          const hit = match.name !== undefined
            ? object && item.name === match.name
            : Array.isArray(value) && value[match.index] === match.value;
          if (!hit) continue;
          const at = chart.convertToPixel({ seriesIndex: s }, value);
          return { seriesIndex: s, dataIndex: i, x: box.left + at[0], y: box.top + at[1] };
        }
      }
      return null;
    },
    { selector, series, match },
  );
  assert.ok(spot, `${selector}: no data item ${JSON.stringify(match)} to hover`);
  const shows = () => page.waitForFunction(
    ({ selector, expected }) => document.querySelector(selector).innerText.includes(expected),
    { selector, expected },
    { timeout: 2_000 },
  );
  // A chart may still be animating its symbols in: move away and onto the item again until it answers.
  let hovered = false;
  for (let attempt = 0; attempt < 3 && !hovered; attempt += 1) {
    await page.mouse.move(1, 1);
    await page.mouse.move(spot.x, spot.y, { steps: 4 });
    hovered = await shows().then(() => true, () => false);
  }
  if (!hovered) {
    console.log(`# ${selector}: ${JSON.stringify(expected)} is under another symbol; shown by the chart's hover action`);
    await page.evaluate(({ selector, seriesIndex, dataIndex }) => {
      const chart = window.echarts.getInstanceByDom(document.querySelector(selector));
      chart.dispatchAction({ type: 'showTip', seriesIndex, dataIndex });
    }, { selector, ...spot });
    await shows().catch(() => {});
  }
  await assertNoMarkup(page, `${selector} tooltip`);
  const text = await page.locator(selector).innerText();
  assert.ok(text.includes(expected), `${selector}: the tooltip shows ${JSON.stringify(expected)} as text (it shows ${JSON.stringify(text.slice(0, 300))})`);
}

/** Shows the tooltip of a chart's first data item (charts whose tooltips carry no name: still no markup). */
async function showFirstTip(page, selector) {
  await page.evaluate((selector) => {
    const chart = window.echarts.getInstanceByDom(document.querySelector(selector));
    const series = chart.getOption().series;
    const s = series.findIndex((x) => Array.isArray(x.data) && x.data.length > 0);
    if (s >= 0) chart.dispatchAction({ type: 'showTip', seriesIndex: s, dataIndex: 0 });
  }, selector);
}

test('planted markup shows as text on the dashboard, its map tooltips and tables, at 1366×768 and 390×844', shotsOnFailure('07-dashboard', async () => {
  const { context, issues } = await watchedContext({ width: 1366, height: 768 });
  const page = await loginAs(context, 'leader');
  await page.close();
  const dash = await context.newPage();
  const response = await visit(dash, '/');
  await waitForCharts(dash, { min: 2 });
  // The map's tooltips: the renamed enterprise (the issue), station and section.
  await hover(dash, '#district-map', { series: '重点排污单位', match: { name: names.enterprise }, expected: names.enterprise });
  await assertNoMarkup(dash, 'dashboard, enterprise tooltip');
  await hover(dash, '#district-map', { series: '国控/市控站点', match: { name: names.station }, expected: names.station });
  await hover(dash, '#district-map', { series: '水质断面', match: { name: names.section }, expected: names.section });
  await assertNoMarkup(dash, 'dashboard, map tooltips');
  // The street's label on the map is drawn as text on the canvas from its name.
  const labels = await dash.evaluate(() => {
    const option = window.echarts.getInstanceByDom(document.querySelector('#district-map')).getOption();
    return (option.series.find((s) => s.name === '街道').data || []).map((d) => d.name);
  });
  assert.ok(labels.includes(names.street), 'the map labels the renamed street');
  await assertShown(dash, 'dashboard', [names.station, names.section, names.street, names.target, names.targetOwner]);
  const overflow = () => dash.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok((await overflow()) <= 1, 'the long names do not widen the page at 1366 px');
  await dash.evaluate(() => window.scrollTo(0, 0));
  await screenshot(dash, '07-markup-dashboard-1366x768');
  await hover(dash, '#district-map', { series: '重点排污单位', match: { name: names.enterprise }, expected: names.enterprise });
  await dash.locator('#district-map').screenshot({ path: join(ARTIFACTS, '07-markup-map-tooltip-1366.png') });

  // On a phone: the long names wrap inside the page, and the tooltip still shows them as text.
  await dash.setViewportSize({ width: 390, height: 844 });
  await dash.evaluate(() => window.scrollTo(0, 0));
  assert.ok((await overflow()) <= 1, 'the long names do not widen the page at 390 px (wide tables scroll in place)');
  await screenshot(dash, '07-markup-dashboard-390x844');
  await hover(dash, '#district-map', { series: '重点排污单位', match: { name: names.enterprise }, expected: names.enterprise });
  await assertNoMarkup(dash, 'dashboard at 390 px');
  await dash.locator('#district-map').screenshot({ path: join(ARTIFACTS, '07-markup-map-tooltip-390.png') });

  assertPolicy(response, 'dashboard');
  assertClean(issues, 'dashboard');
  await context.close();
}));

test('planted markup shows as text on the station, section, analysis, alarm, complaint, ranking and registry pages', shotsOnFailure('07-pages', async () => {
  const { context, issues } = await watchedContext({ width: 1366, height: 768 });
  const page = await loginAs(context, 'leader');
  const pages = [
    { path: `/stations/${ids.station}`, shown: [names.station], charts: 1, tip: '#aqi-calendar' },
    { path: `/stations/${ids.section}`, shown: [names.section], charts: 1, tip: '#section-months' },
    { path: '/stations', shown: [names.station, names.section] },
    // The analyses of the renamed station name it; their charts (drawn here for the default point, which has
    // years of data) carry no editable name but must draw under the policy.
    { path: `/analysis?point=${ids.station}`, shown: [names.station] },
    { path: '/analysis', charts: 9, timeout: 30_000, tip: '#calendar-chart' },
    { path: `/alarms?enterprise_id=${ids.alarmEnterprise}`, shown: [names.alarmEnterprise] },
    { path: `/alarms/${ids.alarm}`, shown: [names.alarmEnterprise, names.outlet], charts: 1, tip: '#alarm-chart' },
    { path: '/complaints', shown: [names.complaint] },
    { path: `/complaints/${ids.complaint}`, shown: [names.complaint, names.street] },
    {
      path: '/complaints/map',
      charts: 1,
      hover: ['#complaint-map', { match: { index: 4, value: ids.complaint }, expected: names.caseNo }],
    },
    {
      path: '/rankings',
      shown: [names.street, names.section],
      charts: 2,
      hover: ['#air-chart', { series: '综合指数', match: { category: names.street }, expected: names.street }],
    },
    { path: '/rankings/bulletin', shown: [names.street, names.section, names.target, names.targetOwner], charts: 2 },
    { path: '/targets', shown: [names.target, names.targetOwner] },
    { path: `/registry/enterprises/${ids.enterprise}`, shown: [names.enterprise, names.street] },
    { path: `/registry/enterprises/${ids.alarmEnterprise}`, shown: [names.alarmEnterprise, names.outlet, ...(names.site ? [names.site] : [])] },
    { path: `/registry/enterprises?street_id=${ids.street}`, shown: [names.enterprise] },
    { path: '/registry/organisation', shown: [names.street, names.department] },
    { path: `/registry/points?street_id=${ids.street}`, shown: [names.station, names.section] },
  ];
  // Every page is checked, and then every failure is reported together (the list says which pages fail).
  const failures = [];
  for (const p of pages) {
    issues.consoleErrors.length = 0;
    try {
      const response = await visit(page, p.path);
      if (p.charts) {
        await waitForCharts(page, { min: p.charts, timeout: p.timeout });
      }
      if (p.tip) {
        await showFirstTip(page, p.tip);
      }
      if (p.hover) {
        await hover(page, ...p.hover);
      }
      await assertNoMarkup(page, p.path);
      await assertShown(page, p.path, p.shown || []);
      assertPolicy(response, p.path);
      assertClean(issues, p.path);
    } catch (error) {
      const line = error.message.split('\n')[0];
      failures.push(line.startsWith(p.path) ? line : `${p.path}: ${line}`);
      await screenshot(page, `FAILED-07-${p.path.replace(/[^a-z0-9]+/gi, '_')}`).catch(() => {});
    }
  }
  assert.deepEqual(failures, [], 'pages where planted markup did not stay text or the policy did not hold');
  // The ranking chart's street axis is drawn as SVG text from the name.
  await visit(page, '/rankings');
  await waitForCharts(page, { min: 2 });
  const axis = await page.locator('#air-chart svg').textContent();
  assert.ok(axis.includes(names.street), 'the ranking chart labels the renamed street (SVG text)');
  await assertNoMarkup(page, '/rankings');
  await context.close();
}));

test('what were inline handlers still work under the policy: year pickers, confirm, calendar year, print, back', shotsOnFailure('07-handlers', async () => {
  const { context, issues } = await watchedContext({ width: 1366, height: 768 });
  const page = await loginAs(context, 'admin');

  // <select data-autosubmit>: choosing a year opens it.
  await visit(page, '/targets');
  const select = page.locator('main select[name="year"]');
  const years = await select.locator('option').evaluateAll((os) => os.map((o) => o.value));
  const current = await select.inputValue();
  const other = years.find((y) => y !== current);
  assert.ok(other, `another year to pick (${years})`);
  await Promise.all([page.waitForURL((url) => url.searchParams.get('year') === other), select.selectOption(other)]);

  // <form data-confirm>: deleting an identifier asks first; saying no keeps it.
  await visit(page, `/registry/enterprises/${ids.enterprise}`);
  const form = page.locator('form[data-confirm]').first();
  await form.waitFor();
  const before = await page.locator('form[data-confirm]').count();
  const asked = [];
  page.once('dialog', (dialog) => {
    asked.push(dialog.message());
    return dialog.dismiss();
  });
  await form.locator('button[type="submit"]').click();
  await page.waitForLoadState('load');
  assert.deepEqual(asked, ['删除此标识？'], 'the delete asks for confirmation');
  assert.equal(await page.locator('form[data-confirm]').count(), before, 'saying no deletes nothing');
  assert.equal(new URL(page.url()).pathname, `/registry/enterprises/${ids.enterprise}`);

  // <form data-goto>: the calendar's year field opens /admin/calendar/{year}.
  await visit(page, '/admin/calendar');
  const goto = page.locator('form[data-goto]');
  await goto.locator('input[name="year"]').fill('2027');
  await Promise.all([page.waitForURL(/\/admin\/calendar\/2027$/), goto.locator('button[type="submit"]').click()]);

  // <button data-print>: the bulletin's print button prints.
  await visit(page, '/rankings/bulletin');
  await page.evaluate(() => {
    window.print = () => {
      window.__printed = true;
    };
  });
  await page.locator('button[data-print]').click();
  assert.equal(await page.evaluate(() => window.__printed), true, 'the print button calls print()');

  // <a data-back> on the error page: back to the page before.
  await page.goto(`${BASE}/stations/999999`);
  await Promise.all([page.waitForURL(/\/rankings\/bulletin/), page.getByRole('link', { name: '返回上一页' }).click()]);

  await assertNoMarkup(page, 'handlers');
  assertClean(
    { consoleErrors: issues.consoleErrors.filter((e) => !/999999.*404|status of 404/.test(e)), foreignRequests: issues.foreignRequests },
    'handlers',
  );
  await context.close();
}));

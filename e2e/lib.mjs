// Shared helpers of the browser tests: the browser, logging in, the page watchers (console errors, requests to
// other hosts), the ECharts checks, and screenshots. Configured by run.sh through the environment:
//   QS_BASE_URL      the running demo, e.g. http://127.0.0.1:40123 (required)
//   QS_CHROMIUM      the browser executable (default /usr/bin/chromium)
//   QS_ARTIFACTS     where screenshots and downloads go (default e2e/artifacts)
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const BASE = (process.env.QS_BASE_URL || '').replace(/\/$/, '');
if (!BASE) {
  throw new Error('QS_BASE_URL is not set: run the suite through e2e/run.sh, or start `qingshan demo` and set it');
}
export const ARTIFACTS = process.env.QS_ARTIFACTS || join(dirname(fileURLToPath(import.meta.url)), 'artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

export const PASSWORD = 'qingshan-demo';
const BASE_HOST = new URL(BASE).host;

/** Chromium as the machine's probe runs it: headless, no sandbox (root), no background traffic. */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.QS_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/**
 * A fresh browser context (its own cookies) whose pages are watched: `issues.consoleErrors` gets every console
 * error and uncaught exception, `issues.foreignRequests` every request to a host other than the demo's (those are
 * also aborted: the bureau's network is closed, so a page must not need them).
 */
export async function newContext(browser, { width = 1366, height = 768 } = {}) {
  const context = await browser.newContext({
    viewport: { width, height },
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    acceptDownloads: true,
  });
  context.setDefaultTimeout(20_000);
  context.setDefaultNavigationTimeout(30_000);
  const issues = { consoleErrors: [], foreignRequests: [] };
  await context.route(
    (url) => !isLocal(url),
    (route) => {
      issues.foreignRequests.push(route.request().url());
      return route.abort('blockedbyclient');
    },
  );
  context.on('page', (page) => {
    livePages.add(page);
    page.on('close', () => livePages.delete(page));
    watch(page, issues);
  });
  return { context, issues };
}

/** Every open page of every context, for the screenshots of a failure. */
const livePages = new Set();

/**
 * Wraps a test body: when it throws, every page still open is saved as `FAILED-<name>-<n>.png` (with its URL in
 * the message) before the error goes on to the runner.
 */
export function shotsOnFailure(name, body) {
  return async (t) => {
    try {
      await body(t);
    } catch (error) {
      let n = 0;
      for (const page of livePages) {
        n += 1;
        const file = join(ARTIFACTS, `FAILED-${name}-${n}.png`);
        try {
          await page.screenshot({ path: file, fullPage: true, timeout: 10_000 });
          console.error(`# ${name}: the page ${page.url()} at the failure is in ${file}`);
        } catch {
          // The page or its browser is gone: nothing to show.
        }
      }
      throw error;
    }
  };
}

function isLocal(url) {
  if (url.protocol === 'data:' || url.protocol === 'blob:' || url.protocol === 'about:') {
    return true;
  }
  return url.host === BASE_HOST || ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

/** Requests in flight per page, and when the last one started or ended (see `settled`). */
const traffic = new WeakMap();

function watch(page, issues) {
  const state = { inFlight: 0, lastChange: Date.now() };
  traffic.set(page, state);
  const ended = () => {
    state.inFlight = Math.max(0, state.inFlight - 1);
    state.lastChange = Date.now();
  };
  page.on('request', () => {
    state.inFlight += 1;
    state.lastChange = Date.now();
  });
  page.on('requestfinished', ended);
  page.on('requestfailed', ended);
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      const where = msg.location()?.url || page.url();
      issues.consoleErrors.push(`${where}: ${msg.text()}`);
    }
  });
  page.on('pageerror', (error) => issues.consoleErrors.push(`${page.url()}: uncaught ${error.message}`));
}

/**
 * Waits until no request of the page has been in flight for `quiet` ms (charts and htmx fragments fetch after
 * load), at most `timeout` ms. Playwright's 'networkidle' waits a fixed 500 ms of silence instead.
 */
export async function settled(page, { quiet = 150, timeout = 5_000 } = {}) {
  const state = traffic.get(page);
  if (!state) {
    await page.waitForLoadState('networkidle', { timeout }).catch(() => {});
    return;
  }
  const start = Date.now();
  while (Date.now() - start < timeout) {
    if (state.inFlight === 0 && Date.now() - state.lastChange >= quiet) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Asserts that nothing went to the console as an error and nothing was asked of another host. */
export function assertClean(issues, what) {
  assert.deepEqual(issues.consoleErrors, [], `${what}: console errors`);
  assert.deepEqual(issues.foreignRequests, [], `${what}: requests to a non-local host`);
}

/** Opens a path and asserts the answer is 200. */
export async function open(page, path) {
  const response = await page.goto(BASE + path, { waitUntil: 'load' });
  assert.ok(response, `no response for ${path}`);
  assert.equal(response.status(), 200, `GET ${path} answered ${response.status()}: ${await page.title()}`);
  return response;
}

/**
 * Logs in through the login form as a demo user. In demo mode the first page visit without a session is logged
 * in as the leader: the `qs_demo_out` cookie (the one 退出 sets) turns that off, so the login page is shown.
 */
export async function loginAs(context, username) {
  await context.addCookies([{ name: 'qs_demo_out', value: '1', url: BASE }]);
  const page = await context.newPage();
  await page.goto(`${BASE}/login`);
  await submitLogin(page, username);
  return page;
}

/** Fills the login form (the one with the username field, not the demo list's buttons) and submits it. */
export async function submitLogin(page, username, password = PASSWORD) {
  const form = page.locator('form[action="/login"]').filter({ has: page.locator('input[name="username"]:not([type="hidden"])') });
  await form.locator('input[name="username"]').fill(username);
  await form.locator('input[name="password"]').fill(password);
  await Promise.all([
    page.waitForURL((url) => !url.pathname.startsWith('/login')),
    form.getByRole('button', { name: '登录' }).click(),
  ]);
}

/** The signed-in user as the top bar shows it, e.g. "王局长（局领导）". */
export async function whoIsSignedIn(page) {
  return (await page.locator('header.topbar .who span').first().textContent())?.trim();
}

/** Saves a full-page screenshot into the artefacts. */
export async function screenshot(page, name) {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * The state of every ECharts container of the page (elements with `_echarts_instance_`): whether it has an
 * instance, its series (type and number of data items; a series reading a dataset counts the dataset's rows),
 * its maps (geo components and map series) and the number of features each registered map has.
 */
export async function chartStates(page) {
  return page.evaluate(() => {
    const states = [];
    for (const el of document.querySelectorAll('[_echarts_instance_]')) {
      const label = el.id || el.className || el.tagName;
      const instance = window.echarts && window.echarts.getInstanceByDom(el);
      if (!instance) {
        states.push({ label, instance: false, series: [], maps: [] });
        continue;
      }
      const option = instance.getOption() || {};
      const datasets = option.dataset || [];
      const rowsOf = (d) => (d && d.source ? (Array.isArray(d.source) ? d.source.length : Object.keys(d.source).length) : 0);
      const series = (option.series || []).map((s) => {
        let n = Array.isArray(s.data) ? s.data.length : 0;
        if (!n && !s.data && datasets.length) {
          n = rowsOf(datasets[s.datasetIndex || 0]);
        }
        return { type: s.type, name: s.name, n };
      });
      const mapNames = [
        ...(option.geo || []).map((g) => g.map),
        ...(option.series || []).filter((s) => s.type === 'map').map((s) => s.map),
      ].filter(Boolean);
      const maps = mapNames.map((name) => {
        const registered = window.echarts.getMap(name);
        const geo = registered && (registered.geoJSON || registered.geoJson);
        const features = (geo && geo.features) || [];
        return {
          name,
          features: features.length,
          names: features.map((f) => (f.properties && f.properties.name) || '').slice(0, 50),
        };
      });
      states.push({ label, instance: true, series, maps });
    }
    return states;
  });
}

/** True when a chart state has at least one series with data. */
export const hasData = (state) => state.instance && state.series.some((s) => s.n > 0);

/**
 * Waits until the page has at least `min` ECharts containers and every one has an instance with a series with
 * data (charts may be drawn after a fetch), then returns their states. On timeout it asserts with the states, so
 * the failure says which chart is empty.
 */
export async function waitForCharts(page, { min = 1, timeout = 20_000 } = {}) {
  try {
    await page.waitForFunction(
      (min) => {
        const els = [...document.querySelectorAll('[_echarts_instance_]')];
        if (els.length < min || !window.echarts) {
          return false;
        }
        return els.every((el) => {
          const c = window.echarts.getInstanceByDom(el);
          const o = c && c.getOption();
          if (!o) {
            return false;
          }
          const ds = o.dataset || [];
          return (o.series || []).some(
            (s) =>
              (Array.isArray(s.data) && s.data.length > 0) ||
              (!s.data && ds.length > 0 && ds[s.datasetIndex || 0] && ds[s.datasetIndex || 0].source &&
                Object.keys(ds[s.datasetIndex || 0].source).length > 0),
          );
        });
      },
      min,
      { timeout },
    );
  } catch (error) {
    if (!String(error).includes('Timeout')) {
      throw error;
    }
  }
  const states = await chartStates(page);
  assert.ok(
    states.length >= min,
    `${page.url()}: expected at least ${min} ECharts container(s) ([_echarts_instance_]), found ${states.length}`,
  );
  const empty = states.filter((s) => !hasData(s));
  assert.deepEqual(empty, [], `${page.url()}: ECharts containers without an instance or without a series with data`);
  return states;
}

/** The previous calendar month in China Standard Time, as YYYY-MM (what the bulletin pages default to). */
export function previousMonthCst(now = new Date()) {
  const cst = new Date(now.getTime() + 8 * 3600 * 1000);
  let year = cst.getUTCFullYear();
  let month = cst.getUTCMonth(); // 0-based: this is already the previous month's 1-based number
  if (month === 0) {
    year -= 1;
    month = 12;
  }
  return `${year}-${String(month).padStart(2, '0')}`;
}

/** GET a JSON API path with the context's session (cookies), asserting 200. */
export async function apiGet(context, path) {
  const response = await context.request.get(BASE + path, { headers: { accept: 'application/json' } });
  assert.equal(response.status(), 200, `GET ${path} answered ${response.status()}`);
  return response.json();
}

/**
 * The entries of a ZIP file (an XLSX) as { name → Buffer }, read through its central directory (stored or
 * deflated entries, which is what XLSX writers produce).
 */
export function unzip(bytes) {
  const eocd = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(eocd >= 0, 'no ZIP end-of-central-directory record');
  const count = bytes.readUInt16LE(eocd + 10);
  let at = bytes.readUInt32LE(eocd + 16);
  const entries = {};
  for (let i = 0; i < count; i += 1) {
    assert.equal(bytes.readUInt32LE(at), 0x02014b50, 'bad ZIP central directory entry');
    const method = bytes.readUInt16LE(at + 10);
    const size = bytes.readUInt32LE(at + 20);
    const nameLength = bytes.readUInt16LE(at + 28);
    const extraLength = bytes.readUInt16LE(at + 30);
    const commentLength = bytes.readUInt16LE(at + 32);
    const local = bytes.readUInt32LE(at + 42);
    const name = bytes.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    const dataStart = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28);
    const data = bytes.subarray(dataStart, dataStart + size);
    entries[name] = method === 0 ? data : method === 8 ? inflateRawSync(data) : null;
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

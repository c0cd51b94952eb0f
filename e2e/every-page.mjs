// Every page in the navigation of one role, at 1366×768 and 390×844 (a phone): what a person would notice at
// once (issue 14). Used by `tests/09-every-page-<role>.test.mjs`, one file per role with a demo login (a file
// must finish within run.sh's --test-timeout).
//
// For the role: the top bar's navigation links, the sub-navigation of each page (`.subnav`), and on each page
// the first link of its list table (a record's page), each opened at both sizes, with a screenshot
// (`09-<role>-<page>-<width>.png`), and checked for:
//   scroll      the page no wider than the window (documentElement.scrollWidth <= innerWidth + 1)
//   overlap     no two visible boxes of one container overlapping by more than 2 px (cards, tiles, panels, form
//               fields, table cells, navigation entries; absolutely placed overlays, ECharts' insides and tooltips
//               left out), no card whose content spills out of it (a table wider than its card runs under the
//               next one), and at 390 px the navigation folded behind 菜单, which opens it as a list
//   cut         no text cut off: a heading, card title, table cell, button, label or badge that hides its
//               overflow (overflow hidden/clip, or an ellipsis) while its text is wider than its box
//   json        no raw JSON: the navigation's answer is not JSON and the body's text does not start with { or [
//   error       an error answer (4xx, 5xx) is an HTML page with Chinese in it, and no page the navigation links
//               to answers one (a few are provoked: an unknown path, records that are not there, a page of
//               another role)
//   ids         no visible form field that asks for an internal id (its name ends in id/ids, or its label says id)
//   tags        no internal tags in the page's text ([V2], [M], [未核实], docs/ paths, .md files)
//   console     no console error or uncaught exception, no request to another host
// The findings of every page go to `artifacts/09-every-page-<role>.json`; each check is its own test, so the
// report says which checks fail on which pages.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ARTIFACTS, BASE, launch, loginAs, newContext, screenshot, settled } from './lib.mjs';

const SIZES = [
  { width: 1366, height: 768 },
  { width: 390, height: 844 },
];
const CHECKS = ['scroll', 'overlap', 'cut', 'json', 'error', 'ids', 'tags', 'console'];
/** Pages that answer an error on purpose, for the error check: an unknown path and records that are not there. */
const ERROR_PATHS = ['/no/such/page', '/alarms/999999999', '/complaints/999999999', '/stations/999999999'];
/** A page only the administrator may open: a 403 page for every other role. */
const ADMIN_ONLY = '/admin/users';

/** What the page looks like to the checks, measured in the browser. */
function measure() {
  const CJK = /[\u3400-\u4dbf\u4e00-\u9fff]/;
  const describe = (el) => {
    const text = (el.innerText || el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 40);
    const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
    return `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${cls}${text ? ` "${text}"` : ''}`;
  };
  const insideOverlay = (el) => {
    for (let node = el; node && node !== document.body; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.position === 'absolute' || style.position === 'fixed') {
        return true;
      }
      if (node.hasAttribute('_echarts_instance_') || /tooltip/i.test(node.className || '')) {
        return true;
      }
    }
    return false;
  };
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true });
  };

  const result = { scroll: [], overlap: [], cut: [], ids: [], tags: [] };
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth + 1) {
    const wide = [...document.querySelectorAll('body *')]
      .filter((el) => visible(el) && el.getBoundingClientRect().right > window.innerWidth + 1 && !insideOverlay(el))
      .filter((el) => !el.parentElement || el.parentElement.getBoundingClientRect().right <= window.innerWidth + 1)
      .slice(0, 3)
      .map(describe);
    result.scroll.push(`page ${doc.scrollWidth} px wide in a ${window.innerWidth} px window; widest: ${wide.join('; ')}`);
  }

  // Boxes that must not overlap their siblings.
  const BOXES = [
    '.card', '.tile', '.target-card', '.chart', 'section', 'fieldset', 'form > label', 'form > button', 'form > a',
    '.grid > *', '.tiles > *', '.dash-grid > *', '.alarm-layout > *', '.mainnav > a', '.subnav > a', 'th', 'td',
    'dl.props > *', '.filters > *',
  ].join(',');
  const boxes = [...document.querySelectorAll(BOXES)].filter((el) => visible(el) && !insideOverlay(el));
  const byParent = new Map();
  for (const el of boxes) {
    const list = byParent.get(el.parentElement) || [];
    list.push(el);
    byParent.set(el.parentElement, list);
  }
  for (const siblings of byParent.values()) {
    const rects = siblings.slice(0, 60).map((el) => [el, el.getBoundingClientRect()]);
    for (let i = 0; i < rects.length; i += 1) {
      for (let j = i + 1; j < rects.length; j += 1) {
        const [a, ra] = rects[i];
        const [b, rb] = rects[j];
        const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
        const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
        if (w > 2 && h > 2) {
          result.overlap.push(`${describe(a)} overlaps ${describe(b)} by ${Math.round(w)}×${Math.round(h)} px`);
        }
      }
    }
  }
  // Content wider than its card runs under whatever is beside it.
  for (const el of document.querySelectorAll('.card, .tile, .target-card, .grid > *, .alarm-layout > *, .dash-grid > *')) {
    if (!visible(el) || insideOverlay(el)) {
      continue;
    }
    const style = getComputedStyle(el);
    if (style.overflowX === 'visible' && el.scrollWidth > el.clientWidth + 2) {
      result.overlap.push(`${describe(el)}: its content is ${el.scrollWidth} px wide in a ${el.clientWidth} px box`);
    }
  }

  // Text cut off by its own box.
  const TEXT = 'h1, h2, h3, h4, th, td, button, label, .badge, .tile, .tile *, .card-title, .target-name, .brand, a.button';
  for (const el of document.querySelectorAll(TEXT)) {
    if (!visible(el) || insideOverlay(el)) {
      continue;
    }
    const style = getComputedStyle(el);
    const hides = ['hidden', 'clip'].includes(style.overflowX) || style.textOverflow === 'ellipsis';
    if (hides && el.scrollWidth > el.clientWidth + 1) {
      result.cut.push(`${describe(el)}: ${el.scrollWidth} px of text in ${el.clientWidth} px`);
    }
  }

  // A navigation entry hidden (partly) at the end of its bar is cut off too.
  for (const nav of document.querySelectorAll('nav.mainnav, .subnav')) {
    if (!visible(nav)) {
      continue;
    }
    const box = nav.getBoundingClientRect();
    for (const a of nav.querySelectorAll('a')) {
      const r = a.getBoundingClientRect();
      if (visible(a) && (r.right > box.right + 1 || r.left < box.left - 1 || r.right > window.innerWidth + 1)) {
        result.cut.push(`${describe(a)}: navigation entry outside its bar (${Math.round(r.left)}–${Math.round(r.right)} px of ${Math.round(box.left)}–${Math.round(box.right)})`);
      }
    }
  }

  // Form fields asking for an internal id.
  for (const field of document.querySelectorAll('input, select, textarea')) {
    const type = (field.getAttribute('type') || '').toLowerCase();
    if (['hidden', 'submit', 'button', 'checkbox', 'radio'].includes(type) || !visible(field)) {
      continue;
    }
    const label = (field.closest('label')?.innerText || (field.id && document.querySelector(`label[for="${field.id}"]`)?.innerText) || '')
      .replace(/\s+/g, ' ').trim();
    const name = field.getAttribute('name') || '';
    const picker = field.tagName === 'SELECT' && !/\bid\b|ID/.test(label);
    if (!picker && (/(^|[_-])ids?$/i.test(name) || /\bid\b|ID/.test(label))) {
      result.ids.push(`${field.tagName.toLowerCase()} name="${name}" label "${label.slice(0, 40)}"`);
    }
  }

  // Internal tags in the text a user reads.
  const text = document.body.innerText;
  const tags = text.match(/\[(?:V\d*|M|未核实)(?:[\s/:：,，][^\]\n]*)?\]|\bdocs\/[\w./-]+|\b[\w-]+\.md\b/g) || [];
  for (const tag of new Set(tags)) {
    result.tags.push(tag);
  }
  return {
    result,
    text: text.trim().slice(0, 200),
    hasCjk: CJK.test(text),
  };
}

/** A short file name for a path: `/registry/enterprises/3` → `registry-enterprises-3`. */
const slug = (path) => path.replace(/^\//, '').replace(/[^\w\u4e00-\u9fff]+/g, '-').replace(/-+$/, '') || 'home';

/** Opens `path` in `page` and runs every check, adding what fails to `found` (check → [messages]). */
async function inspect(page, path, size, role, found, issues, { expectError = false } = {}) {
  const note = (check, message) => {
    (found[check] ||= []).push(`${path} @${size.width}: ${message}`);
  };
  issues.consoleErrors.length = 0;
  issues.foreignRequests.length = 0;
  const started = Date.now();
  let response;
  try {
    response = await page.goto(BASE + path, { waitUntil: 'load' });
  } catch (error) {
    note('console', `did not load: ${error.message.split('\n')[0]}`);
    return;
  }
  // Charts and htmx fragments settle after load: wait until no request of the page is in flight (a condition,
  // not a sleep; Playwright's 'networkidle' waits a fixed 500 ms of silence on every page).
  await settled(page);
  const status = response ? response.status() : 0;
  const type = response ? response.headers()['content-type'] || '' : '';
  if (/json/.test(type)) {
    note('json', `answered ${status} ${type}`);
  }
  const { result, text, hasCjk } = await page.evaluate(measure);
  if (/^[[{]/.test(text)) {
    note('json', `the page's text starts with JSON: ${text.slice(0, 80)}`);
  }
  if (status >= 400) {
    if (!/text\/html/.test(type) || !hasCjk) {
      note('error', `${status} ${type} without Chinese: ${text.slice(0, 80)}`);
    }
    if (!expectError) {
      note('error', `answered ${status}: ${text.slice(0, 80)}`);
    }
  } else if (expectError) {
    note('error', `expected an error page, got ${status}`);
  }
  for (const [check, messages] of Object.entries(result)) {
    for (const message of messages.slice(0, 8)) {
      note(check, message);
    }
  }
  const consoleErrors = issues.consoleErrors.filter((e) => !(expectError && /Failed to load resource: .*(403|404)/.test(e)));
  for (const message of [...consoleErrors, ...issues.foreignRequests.map((u) => `request to another host: ${u}`)]) {
    note('console', message);
  }
  await screenshot(page, `09-${role}-${slug(path)}-${size.width}`);
  (found.seconds ||= {})[`${path} @${size.width}`] = (Date.now() - started) / 1000;
}

/** The navigation's links of the page (top bar and sub-navigation), as local paths. */
async function navigationLinks(page, selector) {
  const hrefs = await page.locator(selector).evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  return hrefs.filter((h) => h && h.startsWith('/') && !h.startsWith('//'));
}

/**
 * The pages a role reaches from its navigation: each entry, its sub-navigation, and the first record of a list.
 * Read from the page just inspected, so that discovering them costs no visit of its own.
 */
async function linksOn(page, path, nav) {
  const found = [];
  if (path === '/') {
    for (const link of await navigationLinks(page, 'header.topbar nav.mainnav a')) {
      nav.add(link.split('?')[0]);
      found.push(link);
    }
  }
  if (nav.has(path.split('?')[0])) {
    found.push(...(await navigationLinks(page, 'main .subnav a')));
    const records = await page
      .locator('main table a[href^="/"]')
      .evaluateAll((as) => as.map((a) => a.getAttribute('href')).filter((h) => /\/\d+(?:[/?#]|$)/.test(h)));
    if (records.length) {
      found.push(records[0]);
    }
  }
  return found;
}

/** A list of paths without repeats (a path with another query string is the same page). */
function pageList() {
  const pages = [];
  const seen = new Set();
  return {
    pages,
    add(path) {
      const key = path.split('?')[0];
      if (!seen.has(key)) {
        seen.add(key);
        pages.push(path);
      }
    },
  };
}

/** The phone menu: hidden behind 菜单 at 390 px, opened by it, every entry inside the window. */
async function checkPhoneMenu(page, role, found) {
  await page.goto(`${BASE}/`);
  const toggle = page.locator('header.topbar [data-nav-toggle]');
  const nav = page.locator('header.topbar nav.mainnav');
  const problems = [];
  if (!(await toggle.isVisible())) {
    problems.push('no visible 菜单 button at 390 px');
  } else {
    if (await nav.isVisible()) {
      problems.push('the navigation is open before 菜单 is pressed');
    }
    await toggle.click();
    const boxes = await nav.locator('a').evaluateAll((as) => as.map((a) => {
      const r = a.getBoundingClientRect();
      return { text: a.textContent.trim(), left: r.left, right: r.right, width: r.width, height: r.height };
    }));
    if (!boxes.length || boxes.some((b) => b.width < 40 || b.height < 20)) {
      problems.push(`menu entries not shown as a list: ${JSON.stringify(boxes.slice(0, 3))}`);
    }
    const outside = boxes.filter((b) => b.left < 0 || b.right > 391);
    if (outside.length) {
      problems.push(`menu entries outside the window: ${outside.map((b) => b.text).join('、')}`);
    }
    await screenshot(page, `09-${role}-menu-open-390`);
  }
  for (const p of problems) {
    (found.overlap ||= []).push(`/ @390 menu: ${p}`);
  }
}

/**
 * Registers the tests of one role: a sweep of its pages at both sizes (in `before`), then one test per check
 * asserting that no page failed it.
 */
export function everyPageOf(role) {
  let browser;
  const found = {};
  describe(`every page of ${role}`, () => {
    before(async () => {
      browser = await launch();
      // At the desk size the navigation is walked as it is inspected: the home page's entries, then each entry's
      // sub-navigation and first record. The phone size inspects the same list.
      const list = pageList();
      list.add('/');
      const nav = new Set();
      for (const size of SIZES) {
        const { context, issues } = await newContext(browser, size);
        const page = await loginAs(context, role);
        for (let i = 0; i < list.pages.length; i += 1) {
          const path = list.pages[i];
          await inspect(page, path, size, role, found, issues);
          if (size === SIZES[0]) {
            for (const link of await linksOn(page, path, nav)) {
              list.add(link);
            }
          }
        }
        found.pages = list.pages;
        const errors = [...ERROR_PATHS, ...(role === 'admin' ? [] : [ADMIN_ONLY])];
        for (const path of errors) {
          await inspect(page, path, size, role, found, issues, { expectError: true });
        }
        if (size.width === 390) {
          await checkPhoneMenu(page, role, found);
        }
        await context.close();
      }
    });
    after(async () => {
      writeFileSync(join(ARTIFACTS, `09-every-page-${role}.json`), JSON.stringify(found, null, 2));
      await browser?.close();
    });

    for (const check of CHECKS) {
      test(`${role}: ${check}`, () => {
        assert.ok(found.pages?.length > 1, `${role}: the navigation has pages`);
        assert.deepEqual(found[check] || [], [], `${role}: pages failing "${check}"`);
      });
    }
  });
}

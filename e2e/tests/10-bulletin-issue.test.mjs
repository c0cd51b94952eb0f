// 10. Issuing a month's bulletin (签发): the draft is marked 草稿 · 未发布; the monitoring department issues it; the
// page then shows 已发布 with the number (文号) and the date, served as stored, to the issuer (who is told the data
// are unchanged) and to the leader (who gets no issue button); the issued PDF downloads as version 1.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  apiGet, assertClean, launch, loginAs, newContext, open, previousMonthCst, screenshot, shotsOnFailure,
} from '../lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** The month before last (CST): left to 04-bulletin's previous month, whose draft it reads. */
function monthBeforeLast() {
  const [year, mm] = previousMonthCst().split('-').map(Number);
  const d = new Date(Date.UTC(year, mm - 2, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

async function noHorizontalScroll(page, what) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  assert.ok(scroll <= client + 1, `${what}: the page is ${scroll} px wide in a ${client} px window`);
}

test('the monitoring department issues a month; the page shows it as issued, with its number and date', shotsOnFailure('10-bulletin-issue', async () => {
  const month = monthBeforeLast();
  const path = `/rankings/bulletin?month=${month}`;
  const { context, issues } = await newContext(browser);
  const page = await loginAs(context, 'monitor');

  // The draft.
  await open(page, path);
  const status = page.locator('#issue-status');
  await assert.doesNotReject(status.getByText('草稿 · 未发布').waitFor(), 'the draft is marked 草稿 · 未发布');
  await screenshot(page, '10-bulletin-draft-1366');

  // Issue it.
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/rankings/bulletin' && url.searchParams.get('month') === month),
    page.getByRole('button', { name: '签发本月通报' }).click(),
  ]);
  const text = await status.innerText();
  assert.match(text, /已发布/, `the page says 已发布: ${text}`);
  const number = text.match(/东丽环通〔(\d{4})〕(\d+)号/);
  assert.ok(number, `the page shows the number: ${text}`);
  const today = new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
  assert.equal(number[1], today.slice(0, 4), 'numbered in the year of issue (CST)');
  assert.ok(text.includes(`发布日期 ${today}`), `the issue date is today (CST) ${today}: ${text}`);
  assert.match(text, /第 1 版/);
  assert.ok(!text.includes('草稿'), 'no longer a draft');
  // The stored body carries the number under the title; the tables are there.
  assert.equal((await page.locator('#doc-number').innerText()).includes(number[0]), true);
  assert.ok((await page.locator('#air-ranking tbody tr').count()) >= 11, 'the air ranking lists the streets');
  // Nothing changed since: the issuer is told so.
  await assert.doesNotReject(page.locator('#data-same').waitFor(), 'the issuer sees that the data are unchanged');
  await noHorizontalScroll(page, 'issued bulletin at 1366 px');
  await screenshot(page, '10-bulletin-issued-1366');

  // The stored PDF downloads as version 1.
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /PDF/ }).click()]);
  assert.equal(await dl.failure(), null);
  assert.equal(dl.suggestedFilename(), `bulletin-${month}-v1.pdf`);

  // The API lists the version with the same number.
  const json = await apiGet(context, `/api/v1/rankings/bulletin/issues?month=${month}`);
  assert.equal(json.versions.length, 1);
  assert.equal(json.versions[0].number, number[0]);
  assert.equal(json.current_differs, false);
  assertClean(issues, 'issuing');
  await context.close();

  // The leader reads the issued bulletin, on a phone too: no issue button, no data comparison.
  for (const [width, height] of [[1366, 768], [390, 844]]) {
    const reader = await newContext(browser, { width, height });
    const leaderPage = await loginAs(reader.context, 'leader');
    await open(leaderPage, path);
    const shown = await leaderPage.locator('#issue-status').innerText();
    assert.match(shown, /已发布/);
    assert.ok(shown.includes(number[0]), `the leader sees the number: ${shown}`);
    assert.equal(await leaderPage.getByRole('button', { name: /签发/ }).count(), 0, 'no issue button for the leader');
    assert.equal(await leaderPage.locator('#data-same, #data-differs').count(), 0);
    await noHorizontalScroll(leaderPage, `issued bulletin at ${width} px`);
    await screenshot(leaderPage, `10-bulletin-issued-leader-${width}`);
    assertClean(reader.issues, `the leader at ${width} px`);
    await reader.context.close();
  }
}));

// 6. The year's targets, the analyses and the alarms open without error and show their table or chart.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertClean, launch, loginAs, newContext, open, screenshot, waitForCharts, shotsOnFailure } from '../lib.mjs';

let browser;
let context;
let issues;
let page;
before(async () => {
  browser = await launch();
  ({ context, issues } = await newContext(browser));
  page = await loginAs(context, 'leader');
});
after(async () => {
  await browser?.close();
});

test('/targets shows the year\'s targets with their progress', shotsOnFailure('06-targets', async () => {
  issues.consoleErrors.length = 0;
  await open(page, '/targets');
  const rows = page.locator('main table tbody tr');
  assert.ok((await rows.count()) >= 5, 'the targets table lists the year\'s targets');
  const text = await page.locator('main table').first().innerText();
  assert.match(text, /PM2\.5/, 'the PM2.5 target');
  assert.match(text, /进度正常|存在风险|已无法完成|待市下达|待报送/, 'each target has a status');
  await screenshot(page, '06-targets');
  assertClean(issues, '/targets');
}));

test('/analysis draws its charts with data', shotsOnFailure('06-analysis', async () => {
  issues.consoleErrors.length = 0;
  await open(page, '/analysis');
  await waitForCharts(page, { min: 1, timeout: 30_000 });
  await screenshot(page, '06-analysis');
  assertClean(issues, '/analysis');
}));

test('/alarms lists the open alarms', shotsOnFailure('06-alarms', async () => {
  issues.consoleErrors.length = 0;
  await open(page, '/alarms');
  const rows = page.locator('main table.list tbody tr');
  assert.ok((await rows.count()) > 0, 'the alarms table has rows (the demo plants alarm patterns)');
  assert.match(await rows.first().innerText(), /#\d+/, 'each row links to its alarm');
  await screenshot(page, '06-alarms');
  assertClean(issues, '/alarms');
}));

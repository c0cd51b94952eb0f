// 4. Last month's bulletin: the rankings, the printable page, the XLSX and the PDF downloads.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  ARTIFACTS, assertClean, launch, loginAs, newContext, open, previousMonthCst, screenshot, unzip, waitForCharts, shotsOnFailure,
} from '../lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function download(page, linkName, file) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: linkName }).click()]);
  assert.equal(await dl.failure(), null, `${linkName}: the download failed`);
  const path = join(ARTIFACTS, file);
  await dl.saveAs(path);
  return { bytes: readFileSync(path), suggested: dl.suggestedFilename() };
}

test('generate the previous month\'s bulletin at /rankings and download it as XLSX and PDF', shotsOnFailure('04-bulletin', async () => {
  const month = previousMonthCst();
  const [year, mm] = month.split('-').map(Number);
  const { context, issues } = await newContext(browser);
  const page = await loginAs(context, 'leader');

  // The rankings page, for the month picked in its form.
  await open(page, '/rankings');
  await page.locator('input[name="month"]').fill(month);
  await Promise.all([page.waitForURL(new RegExp(`month=${month}`)), page.getByRole('button', { name: '查看' }).click()]);
  const heading = await page.locator('main h1').innerText();
  assert.match(heading, new RegExp(`${year}\\s*年\\s*0?${mm}\\s*月|${month}`), `the ranking is of ${month}: ${heading}`);
  for (const table of ['#air-ranking', '#water-ranking']) {
    assert.ok((await page.locator(`${table} tbody tr`).count()) > 0, `${table} has rows`);
  }
  const streets = (await page.locator('#air-ranking tbody tr td:nth-child(2)').allInnerTexts()).map((s) => s.trim());
  assert.ok(streets.length >= 11, `the air ranking lists the 11 streets (${streets})`);
  await waitForCharts(page, { min: 1 });
  await screenshot(page, '04-rankings');

  // The printable bulletin.
  await Promise.all([page.waitForURL(/\/rankings\/bulletin\?/), page.getByRole('link', { name: /月度通报/ }).click()]);
  assert.equal(new URL(page.url()).searchParams.get('month'), month);
  const bulletin = await page.locator('main').innerText();
  assert.match(bulletin, /通报/);
  assert.ok((await page.locator('main table tbody tr').count()) > 0, 'the bulletin has its tables');
  await screenshot(page, '04-bulletin');

  // The downloads, from the rankings page's links.
  await open(page, `/rankings?month=${month}`);
  const xlsx = await download(page, /XLSX/, `bulletin-${month}.xlsx`);
  assert.equal(xlsx.bytes.subarray(0, 4).toString('latin1'), 'PK\x03\x04', 'the XLSX is a ZIP');
  assert.ok(xlsx.bytes.length > 4096, `the XLSX is ${xlsx.bytes.length} bytes`);
  const parts = unzip(xlsx.bytes);
  for (const part of ['[Content_Types].xml', 'xl/workbook.xml', 'xl/worksheets/sheet1.xml']) {
    assert.ok(parts[part], `the XLSX holds ${part} (it has ${Object.keys(parts)})`);
  }
  // The workbook holds what the page shows: every street of the ranking, in a sheet with a row per street.
  const cells = [parts['xl/sharedStrings.xml'], ...Object.entries(parts).filter(([n]) => n.startsWith('xl/worksheets/')).map(([, b]) => b)]
    .filter(Boolean).map((b) => b.toString('utf8')).join('\n');
  for (const street of streets) {
    assert.ok(cells.includes(street), `the XLSX names ${street}`);
  }
  const rows = Math.max(...Object.entries(parts).filter(([n]) => /^xl\/worksheets\/sheet\d+\.xml$/.test(n))
    .map(([, b]) => (b.toString('utf8').match(/<row /g) || []).length));
  assert.ok(rows > streets.length, `a sheet has a header and a row per street (${rows} rows at most)`);
  assert.match(xlsx.suggested, /\.xlsx$/);

  const pdf = await download(page, /PDF/, `bulletin-${month}.pdf`);
  assert.equal(pdf.bytes.subarray(0, 5).toString('latin1'), '%PDF-', 'the PDF starts with %PDF');
  assert.ok(pdf.bytes.length > 2048, `the PDF is ${pdf.bytes.length} bytes`);
  assert.match(pdf.bytes.subarray(-1024).toString('latin1'), /%%EOF/, 'the PDF is complete');
  assert.match(pdf.suggested, /\.pdf$/);

  assertClean(issues, 'rankings and bulletin');
  await context.close();
}));

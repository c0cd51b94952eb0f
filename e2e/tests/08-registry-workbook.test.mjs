// 8. The registry in and out of Excel (docs/registry.md): an enforcement officer downloads the template and the
// export, uploads a workbook with planted bad rows, and sees each named by sheet, row, column and reason, in
// Chinese, on a page that fits 1366 and 390 px; nothing is imported until the file is clean.
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { after, before, test } from 'node:test';
import { BASE, assertClean, launch, loginAs, newContext, screenshot, shotsOnFailure, unzip } from '../lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** A minimal XLSX (stored ZIP, inline strings): `sheets` is [[name, rows]], rows of cell texts, row 1 first. */
function xlsx(sheets) {
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const col = (i) => String.fromCharCode(65 + i);
  const files = {
    '[Content_Types].xml': '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
      + sheets.map((_, i) => `<Override PartName="/xl/worksheets/sheet${i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`).join('') + '</Types>',
    '_rels/.rels': '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    'xl/workbook.xml': '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
      + sheets.map(([name], i) => `<sheet name="${esc(name)}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`).join('') + '</sheets></workbook>',
    'xl/_rels/workbook.xml.rels': '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
      + sheets.map((_, i) => `<Relationship Id="rId${i + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`).join('') + '</Relationships>',
  };
  sheets.forEach(([, rows], i) => {
    files[`xl/worksheets/sheet${i + 1}.xml`] = '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
      + rows.map((cells, r) => `<row r="${r + 1}">` + cells.map((v, c) => (v === '' ? '' : `<c r="${col(c)}${r + 1}" t="inlineStr"><is><t>${esc(v)}</t></is></c>`)).join('') + '</row>').join('')
      + '</sheetData></worksheet>';
  });
  const parts = [];
  const central = [];
  let offset = 0;
  for (const [name, text] of Object.entries(files)) {
    const data = Buffer.from(text, 'utf8');
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(0, 8); local.writeUInt32LE(crc, 14); local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22); local.writeUInt16LE(nameBytes.length, 26);
    parts.push(local, nameBytes, data);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0); entry.writeUInt16LE(20, 4); entry.writeUInt16LE(20, 6); entry.writeUInt16LE(0x0800, 8);
    entry.writeUInt32LE(crc, 16); entry.writeUInt32LE(data.length, 20); entry.writeUInt32LE(data.length, 24);
    entry.writeUInt16LE(nameBytes.length, 28); entry.writeUInt32LE(offset, 42);
    central.push(entry, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const centralSize = central.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(central.length / 2, 8); end.writeUInt16LE(central.length / 2, 10);
  end.writeUInt32LE(centralSize, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, ...central, end]);
}

const ENTERPRISE_HEADER = ['统一社会信用代码*', '企业名称*', '所属街道*', '地址*', '行业代码*', '行业名称*', '企业状态', '重点排污单位', '重点类别', '法定代表人', '联系电话', '经度', '纬度'];
const OUTLET_HEADER = ['企业统一社会信用代码*', '排放口编号*', '排放口名称*', '排放介质*', '排放口类型*', '所属厂区', '在线监测', '经度', '纬度'];

/** The planted workbook: row 3 a wrong check character, row 4 an unknown street, row 5 no name, row 6 text for
 * a longitude; on 排放口, row 2 the outlet of the row-3 enterprise. */
function planted() {
  const row = (uscc, name, street, lon = '117.35') => [uscc, name, street, '东丽区测试路 1 号', 'C2614', '有机化学原料制造', '在产', '否', '', '', '', lon, '39.12'];
  return xlsx([
    ['企业', [
      ENTERPRISE_HEADER,
      row('91120110MA0000001D', '好企业', '张贵庄街道'),
      row('91120110MA0000002X', '校验码错误企业', '张贵庄街道'),
      row('91120110MA0000003K', '街道错误企业', '不存在街道'),
      row('91120110MA0000004N', '', '张贵庄街道'),
      row('91120110MA0000005R', '经度错误企业', '张贵庄街道', '东经117度'),
    ]],
    ['排放口', [OUTLET_HEADER, ['91120110MA0000002X', 'DA001', '锅炉排放口', '废气', '主要排放口', '', '是', '', '']]],
  ]);
}

for (const [width, height] of [[1366, 768], [390, 844]]) {
  test(`the import page names every planted bad cell at ${width} px`, shotsOnFailure(`08-registry-workbook-${width}`, async () => {
    const { context, issues } = await newContext(browser, { width, height });
    const page = await loginAs(context, 'enforcer');
    const response = await page.goto(`${BASE}/registry/import`);
    assert.equal(response.status(), 200);
    await page.getByRole('heading', { name: '基础信息 Excel 导入导出' }).waitFor();

    // The template downloads as a workbook with its sheets.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /下载模板/ }).click()]);
    const bytes = await (await download.createReadStream()).toArray().then((chunks) => Buffer.concat(chunks));
    const entries = unzip(bytes);
    const workbook = entries['xl/workbook.xml']?.toString('utf8') ?? '';
    for (const sheet of ['说明', '企业', '厂区', '排放口', '监测点位', '监测设备']) {
      assert.ok(workbook.includes(`name="${sheet}"`), `the template has sheet ${sheet}`);
    }
    await screenshot(page, `08-registry-import-${width}`);

    // Upload the planted workbook: the preview names each problem; nothing is imported.
    await page.locator('input[type="file"][name="file"]').setInputFiles({
      name: '登记表-有误.xlsx',
      mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      buffer: planted(),
    });
    await Promise.all([page.waitForURL(/\/registry\/import/), page.getByRole('button', { name: '上传并预览' }).click()]);
    await page.getByRole('heading', { name: /预览/ }).waitFor();
    const rows = await page.locator('table.problems tbody tr').allTextContents();
    const flat = rows.map((r) => r.replace(/\s+/g, ' ').trim());
    const expect = [
      [/企业 第 3 行 A 列 统一社会信用代码/, /校验码/],
      [/企业 第 4 行 C 列 所属街道/, /不存在街道/],
      [/企业 第 5 行 B 列 企业名称/, /必填/],
      [/企业 第 6 行 L 列 经度/, /不是数字/],
      [/排放口 第 2 行 A 列 企业统一社会信用代码/, /企业表第 3 行/],
    ];
    assert.equal(flat.length, expect.length, `problems listed: ${flat.join(' | ')}`);
    expect.forEach(([where, why], i) => {
      assert.match(flat[i], where);
      assert.match(flat[i], why);
    });
    assert.match(await page.locator('#result').textContent(), /尚未导入/);
    await page.getByRole('button', { name: /只导入无误的行/ }).waitFor();

    // The page's content fits the width: nothing in <main> reaches past the window (a wide table scrolls inside
    // its own box). The top bar is the layout's, shared by every page.
    const wide = await page.evaluate(() => {
      const limit = document.documentElement.clientWidth + 1;
      return [...document.querySelectorAll('main *')]
        .filter((el) => el.matches('table.list') || !el.closest('table.list'))
        .filter((el) => el.getBoundingClientRect().right > limit)
        .map((el) => `${el.tagName}.${el.className}`);
    });
    assert.deepEqual(wide, [], `content wider than the window: ${wide.join(', ')}`);
    await screenshot(page, `08-registry-preview-${width}`);
    assertClean(issues, 'registry import page');
    await context.close();
  }));
}

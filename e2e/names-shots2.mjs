import { launch, loginAs, BASE } from './lib.mjs';
const out = '/tmp/names-shots';
const browser = await launch();
for (const [width, height, tag] of [[1366, 768, 'wide'], [390, 844, 'phone']]) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await loginAs(context, 'leader');
  await page.goto(BASE + '/analysis');
  const before = await page.locator('select[name="factor"] option').allTextContents();
  const section = await page.locator('select[name="point"] optgroup[label="水质断面"] option').first().getAttribute('value');
  await page.selectOption('select[name="point"]', section);
  await page.waitForTimeout(1500);
  const after = await page.locator('select[name="factor"] option').allTextContents();
  console.log(tag, 'air factors', before.join(','), '| section factors', after.join(','));
  await page.screenshot({ path: `${out}/analysis-section-chosen-${tag}.png` });
  await page.click('form.filters button[type="submit"]');
  await page.waitForTimeout(3000);
  await page.screenshot({ path: `${out}/analysis-section-${tag}.png`, fullPage: tag === 'wide' });
  const notes = await page.locator('#trend-notes').textContent();
  console.log('trend notes:', notes);
  const mctx = await browser.newContext({ viewport: { width, height } });
  const mp = await loginAs(mctx, 'monitor');
  await mp.goto(BASE + '/registry/points/new');
  await mp.locator('input[name="outlet"]').pressSequentially('钢铁', { delay: 50 });
  await mp.waitForTimeout(1200);
  const options = await mp.locator('#outlet-choices option').evaluateAll((os) => os.map((o) => o.value + '=' + o.dataset.id));
  console.log('outlet suggestions', options.length, options.slice(0, 3).join(' | '));
  if (options.length) {
    const label = options[0].split('=')[0];
    await mp.locator('input[name="outlet"]').fill(label);
    await mp.locator('input[name="outlet"]').dispatchEvent('input');
    console.log('hidden outlet_id', await mp.locator('input[name="outlet_id"]').inputValue());
  }
  await mp.screenshot({ path: `${out}/point-form-typed-${tag}.png` });
  await mctx.close();
  await context.close();
  const admin = await browser.newContext({ viewport: { width, height } });
  const ap = await loginAs(admin, 'admin');
  await ap.goto(BASE + '/admin/audit');
  await ap.screenshot({ path: `${out}/audit2-${tag}.png` });
  await admin.close();
}
await browser.close();

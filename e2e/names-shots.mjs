import { launch, loginAs, BASE } from './lib.mjs';
const out = '/tmp/names-shots';
const sizes = [[1366, 768, 'wide'], [390, 844, 'phone']];
const browser = await launch();
async function shoot(user, path, name, prepare) {
  for (const [width, height, tag] of sizes) {
    const context = await browser.newContext({ viewport: { width, height } });
    const page = await loginAs(context, user);
    await page.goto(BASE + path);
    if (prepare) { await prepare(page); }
    await page.waitForTimeout(800);
    await page.screenshot({ path: `${out}/${name}-${tag}.png`, fullPage: tag === 'phone' ? false : true });
    await context.close();
  }
}
// A case handed over (交办) to a street and a department.
const ctx = await browser.newContext();
const p = await loginAs(ctx, 'leader');
const list = await (await p.request.get(BASE + '/api/v1/complaints?state=in_handling&per_page=20')).json();
let caseId = null;
for (const c of list.items || []) {
  const f = await (await p.request.get(BASE + '/api/v1/complaints/' + c.id)).json();
  if (JSON.stringify(f).includes('交办 ')) { caseId = c.id; break; }
}
await ctx.close();
console.log('case', caseId);
await shoot('monitor', '/registry/points/new', 'point-form', async (page) => {
  await page.fill('input[name="outlet"]', '钢');
  await page.waitForTimeout(600);
});
await shoot('monitor', '/registry/devices/new', 'device-form');
await shoot('petition', '/complaints/new', 'complaint-new');
if (caseId) { await shoot('leader', '/complaints/' + caseId, 'complaint-case', async (page) => { await page.locator('h2:has-text("办理记录")').scrollIntoViewIfNeeded(); }); }
await shoot('public', '/overview', 'public-overview');
await shoot('public', '/', 'public-home');
await shoot('leader', '/methods', 'methods');
await shoot('admin', '/admin/audit', 'audit');
await shoot('leader', '/analysis', 'analysis');
await browser.close();

// 1. A visitor logs out of the demo's automatic leader session and logs in through the login form.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BASE, assertClean, launch, newContext, screenshot, submitLogin, whoIsSignedIn, shotsOnFailure } from '../lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('log out of the demo leader, log in through the form as a demo user, see the dashboard', shotsOnFailure('01-login', async () => {
  const { context, issues } = await newContext(browser);
  const page = await context.newPage();

  // The demo's first visit is logged in as the bureau leader.
  const first = await page.goto(`${BASE}/`);
  assert.equal(first.status(), 200);
  assert.match(await whoIsSignedIn(page), /局领导/, 'the first demo visit is the leader');

  // 退出 → the login page, listing the demo accounts and their password.
  await Promise.all([page.waitForURL(/\/login/), page.getByRole('button', { name: '退出' }).click()]);
  await page.getByRole('heading', { name: /演示账号/ }).waitFor();
  const listed = await page.locator('section.card table tbody tr td:first-child').allTextContents();
  for (const user of ['admin', 'leader', 'monitor', 'street-zgz', 'street-hm', 'public']) {
    assert.ok(listed.map((s) => s.trim()).includes(user), `the login page lists ${user} (listed: ${listed})`);
  }
  assert.match(await page.locator('main').textContent(), /qingshan-demo/);
  await screenshot(page, '01-login-page');

  // After logging out, a page visit shows the login page again instead of logging in again.
  await page.goto(`${BASE}/`);
  assert.match(new URL(page.url()).pathname, /^\/login/, 'after 退出 the next visit is not logged in again');

  // A wrong password is refused with a message, and the form stays.
  await page.locator('input[name="username"]:not([type="hidden"])').fill('monitor');
  await page.locator('input[name="password"]:not([type="hidden"])').fill('wrong-password');
  await page.locator('form[action="/login"]').filter({ has: page.locator('input[name="username"]:not([type="hidden"])') })
    .getByRole('button', { name: '登录' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(new URL(page.url()).pathname, /^\/login/);

  // The right password: back on the dashboard as that user.
  await page.goto(`${BASE}/login`);
  await submitLogin(page, 'monitor');
  assert.equal(new URL(page.url()).pathname, '/', 'login lands on the dashboard');
  assert.match(await whoIsSignedIn(page), /监测/, 'signed in as the monitoring department user');
  await page.locator('nav.mainnav a.active', { hasText: '总览' }).waitFor();
  assert.match(await page.title(), /青山/);
  assert.match(await page.locator('main').textContent(), /东丽/, 'the dashboard names the district');
  await screenshot(page, '01-after-login');

  // The wrong password's 401 is the only console error expected on this path.
  issues.consoleErrors = issues.consoleErrors.filter((e) => !/\/login: Failed to load resource: .*401/.test(e));
  assertClean(issues, 'login path');
  await context.close();
}));

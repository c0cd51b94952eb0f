// 8. Logging in works from whatever state the browser is in (issue 14: in the demo, a fresh browser opening
// /login was logged in as the leader by that very visit, its form had no token, and every login from the form or
// the demo-account buttons answered a raw JSON 403), and a stale form gets a Chinese page, never JSON.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BASE, PASSWORD, launch, newContext, shotsOnFailure, submitLogin, whoIsSignedIn } from '../lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** The login form's submit as a person does it, asserting that it lands on a page of ours as `who`. */
async function logInThroughForm(page, username, who) {
  await submitLogin(page, username);
  const text = await page.locator('body').innerText();
  assert.ok(!/^\s*[[{]/.test(text), `logging in as ${username} answered raw JSON: ${text.slice(0, 200)}`);
  assert.match(await whoIsSignedIn(page), who, `signed in as ${username}`);
}

test('logging in works from any state of the browser', shotsOnFailure('08-login', async () => {
  // A fresh browser opening /login (the demo logged the first visit in as the leader before: the form had no
  // token and every login answered a raw JSON 403).
  const fresh = await newContext(browser);
  const page = await fresh.context.newPage();
  await page.goto(`${BASE}/login`);
  await logInThroughForm(page, 'monitor', /监测科/);

  // Already logged in (as monitor), the login page again: it says so, and logging in as another user works.
  await page.goto(`${BASE}/login`);
  assert.match(await page.locator('main').innerText(), /已以 .*身份登录/, 'the login page says who is logged in');
  await logInThroughForm(page, 'enforcer', /执法支队/);

  // Two login tabs of one browser: the older tab's form still works after the newer one was opened.
  const first = await fresh.context.newPage();
  await first.goto(`${BASE}/login`);
  const second = await fresh.context.newPage();
  await second.goto(`${BASE}/login`);
  await logInThroughForm(first, 'petition', /信访办/);
  await logInThroughForm(second, 'leader', /局领导/);

  // The demo-account buttons, after 退出.
  await Promise.all([second.waitForURL(/\/login/), second.getByRole('button', { name: '退出' }).click()]);
  const row = second.locator('section.card tr', { hasText: 'street-zgz' });
  await Promise.all([
    second.waitForURL((url) => !url.pathname.startsWith('/login')),
    row.getByRole('button', { name: '以此身份登录' }).click(),
  ]);
  assert.match(await whoIsSignedIn(second), /街道干部/, 'the demo-account button logs in');

  // An expired session (its cookie gone from the server's side: a forged value) and a stale form (the login
  // token's cookie lost): both get a login page, never an error in JSON.
  const stale = await newContext(browser);
  await stale.context.addCookies([
    { name: 'qs_demo_out', value: '1', url: BASE },
    { name: 'qs_session', value: 'expired-session-value', url: BASE },
  ]);
  const stalePage = await stale.context.newPage();
  await stalePage.goto(`${BASE}/alarms`);
  assert.match(new URL(stalePage.url()).pathname, /^\/login/, 'an expired session is sent to the login page');
  await stale.context.clearCookies({ name: 'qs_login' });
  await stalePage.locator('input[name="username"]:not([type="hidden"])').fill('admin');
  await stalePage.locator('input[name="password"]:not([type="hidden"])').fill(PASSWORD);
  const [refused] = await Promise.all([
    stalePage.waitForNavigation(),
    stalePage.locator('form.login-form').getByRole('button', { name: '登录' }).click(),
  ]);
  assert.equal(refused.status(), 403, 'a login form without its token is refused');
  assert.match(refused.headers()['content-type'], /text\/html/);
  assert.match(await stalePage.getByRole('alert').innerText(), /登录页面已过期/);
  await logInThroughForm(stalePage, 'admin', /系统管理员/);

  // A page opened before logging in again in another tab: its 退出 still logs out (the browser says the form
  // is ours), and any other form of it, whose session CSRF token is stale now, gets the Chinese page that says
  // what happened, not JSON.
  const old = await fresh.context.newPage();
  await old.goto(`${BASE}/`);
  const oldLogout = await fresh.context.newPage();
  await oldLogout.goto(`${BASE}/`);
  const again = await fresh.context.newPage();
  await again.goto(`${BASE}/login`);
  await logInThroughForm(again, 'admin', /系统管理员/);
  const [csrf] = await Promise.all([
    old.waitForNavigation(),
    old.evaluate(() => {
      // The user-creation form as a page of the earlier session would post it, with that session's token.
      const form = document.createElement('form');
      form.method = 'post';
      form.action = '/admin/users';
      const token = document.createElement('input');
      token.type = 'hidden';
      token.name = '_csrf';
      token.value = document.querySelector('meta[name="csrf-token"]').content;
      form.append(token);
      document.body.append(form);
      form.submit();
    }),
  ]);
  assert.equal(csrf.status(), 403, 'a stale form is refused');
  assert.match(csrf.headers()['content-type'], /text\/html/);
  assert.match(await old.locator('main').innerText(), /安全校验未通过/);
  await Promise.all([oldLogout.waitForURL(/\/login/), oldLogout.getByRole('button', { name: '退出' }).click()]);
  await again.goto(`${BASE}/`);
  assert.match(new URL(again.url()).pathname, /^\/login/, 'the stale 退出 logged the browser out');

  await stale.context.close();
  await fresh.context.close();
}));


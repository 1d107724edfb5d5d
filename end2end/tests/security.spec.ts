// The admin boundary in Chromium (the security review of 2026-11-26): a
// `return_to` from the query string never becomes a script or a link off
// the app, and pages hydrate and passkeys work under the Content Security
// Policy without a single violation.
import { test, expect } from '@playwright/test';
import * as path from 'node:path';
import {
  addVirtualAuthenticator,
  createApp,
  createUser,
  expectHydrated,
  screenshotDir,
  watchCsp,
  watchErrors,
  withoutPasskeyAutofill,
} from './support';

const PASSWORD = 'correct horse battery staple';

test('a javascript: return_to is never rendered, and nothing runs', async ({ page }) => {
  const errors = watchErrors(page);
  const dialogs: string[] = [];
  page.on('dialog', async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  const { app_id } = createApp('Return Check');
  createUser(app_id, 'ada@example.com', PASSWORD);
  await page.goto(`/a/${app_id}/login`);
  await expectHydrated(page);
  const form = page.getByTestId('password-form');
  await form.getByLabel('E-mail address').fill('ada@example.com');
  await form.getByLabel('Password').fill(PASSWORD);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(new RegExp(`/a/${app_id}/account$`));

  for (const evil of ['javascript:alert(document.domain)', 'https://evil.example/', '//evil.example/']) {
    await page.goto(`/a/${app_id}/login?return_to=${encodeURIComponent(evil)}`);
    await expectHydrated(page);
    const continueLink = page.getByRole('link', { name: 'Continue' });
    await expect(continueLink).toHaveAttribute('href', `/a/${app_id}/account`);
    expect(await page.content()).not.toContain(`href="${evil}`);
  }
  await page.getByRole('link', { name: 'Continue' }).click();
  await expect(page).toHaveURL(new RegExp(`/a/${app_id}/account$`));
  expect(dialogs).toEqual([]);
  expect(errors).toEqual([]);
});

test('pages hydrate and passkeys work under the CSP, with no violation', async ({ page }) => {
  const errors = watchErrors(page);
  const violations = await watchCsp(page);
  const { app_id } = createApp('Policy Shop', { selfRegistration: true });
  await addVirtualAuthenticator(page);
  await withoutPasskeyAutofill(page);

  const response = await page.goto(`/a/${app_id}/register`);
  const csp = response!.headers()['content-security-policy'];
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]+' 'wasm-unsafe-eval'/);
  expect(csp).toContain("frame-ancestors 'none'");
  expect(response!.headers()['x-content-type-options']).toBe('nosniff');
  await expectHydrated(page);

  // A passkey sign-up, then sign-out and a passkey sign-in.
  await page.getByTestId('register-form').getByLabel('E-mail address').fill('pat@example.com');
  await page.getByTestId('passkey-sign-up').click();
  await expect(page.getByTestId('recovery-codes').locator('li')).toHaveCount(10);
  await page.getByRole('button', { name: 'I saved them, continue' }).click();
  await expect(page).toHaveURL(new RegExp(`/a/${app_id}/account$`));
  await expectHydrated(page);
  await page.goto(`/a/${app_id}/logout`);
  await expectHydrated(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(new RegExp(`/a/${app_id}/login\\?signed_out=1$`));
  await expectHydrated(page);
  await page.getByTestId('passkey-sign-in').click();
  await expect(page).toHaveURL(new RegExp(`/a/${app_id}/account$`));
  await expect(page.getByTestId('account-email')).toHaveText('pat@example.com');
  await page.screenshot({ path: path.join(screenshotDir, 'csp-account.png'), fullPage: true });

  expect(await violations()).toEqual([]);
  expect(errors).toEqual([]);
});

test('a sign-in form posted without JavaScript may still end at the client', async ({ browser }) => {
  // The policy's form-action names the app's registered redirect URIs:
  // browsers check it along the whole redirect chain of a form post.
  const { app_id, client_id } = createApp('No Script Client');
  createUser(app_id, 'noor@example.com', PASSWORD);
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  let callback: string | undefined;
  await page.route('http://localhost:5173/**', async (route) => {
    callback = route.request().url();
    await route.fulfill({ status: 200, body: 'ok' });
  });
  const query = new URLSearchParams({
    response_type: 'code',
    client_id,
    redirect_uri: 'http://localhost:5173/cb',
    scope: 'openid',
    state: 'no-script',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  });
  await page.goto(`/a/${app_id}/oauth/authorize?${query}`);
  await expect(page).toHaveURL(new RegExp(`/a/${app_id}/login\\?return_to=`));
  const form = page.getByTestId('password-form');
  await form.getByLabel('E-mail address').fill('noor@example.com');
  await form.getByLabel('Password').fill(PASSWORD);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => callback).toContain('code=');
  expect(callback).toContain('state=no-script');
  await context.close();
});

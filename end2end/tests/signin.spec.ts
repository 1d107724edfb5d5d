import { test, expect, type Page } from '@playwright/test';
import * as path from 'node:path';
import {
  addVirtualAuthenticator,
  allowPasskeyAutofill,
  createApp,
  createUser,
  expectHydrated,
  oneauth,
  screenshotDir,
  watchErrors,
  withoutPasskeyAutofill,
} from './support';

const PASSWORD = 'correct horse battery staple';

async function signInWithPassword(page: Page, appId: string, email: string, password: string) {
  await page.goto(`/a/${appId}/login`);
  await expectHydrated(page);
  const form = page.getByTestId('password-form');
  await form.getByLabel('E-mail address').fill(email);
  await form.getByLabel('Password').fill(password);
  await form.getByRole('button', { name: 'Sign in' }).click();
}

async function signOut(page: Page, appId: string) {
  await page.goto(`/a/${appId}/logout`);
  await expectHydrated(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(new RegExp(`/a/${appId}/login\\?signed_out=1$`));
  await expect(page.getByText('You have signed out.')).toBeVisible();
}

test('password sign-up, sign-out and sign-in', async ({ page }) => {
  const errors = watchErrors(page);
  const { app_id } = createApp('Acme Admin', { selfRegistration: true });
  await page.goto(`/a/${app_id}/register`);
  await expectHydrated(page);
  await page.screenshot({ path: path.join(screenshotDir, 'register-desktop.png'), fullPage: true });

  const form = page.getByTestId('register-form');
  await form.getByLabel('E-mail address').fill('grace@example.com');
  // A common password is refused beside the field.
  await form.getByLabel('Password').fill('password123');
  await form.getByRole('button', { name: 'Create account' }).click();
  await expect(form.getByText('one of the most common ones')).toBeVisible();
  await form.getByLabel('Password').fill(PASSWORD);
  await form.getByRole('button', { name: 'Create account' }).click();

  await expect(page).toHaveURL(new RegExp(`/a/${app_id}/account$`));
  await expect(page.getByTestId('account-email')).toHaveText('grace@example.com');
  await signOut(page, app_id);

  // A wrong password gets the generic answer.
  await signInWithPassword(page, app_id, 'grace@example.com', 'not my password');
  await expect(page.getByTestId('form-error')).toHaveText('The e-mail address or the credentials are not right.');
  await signInWithPassword(page, app_id, 'grace@example.com', PASSWORD);
  await expect(page).toHaveURL(new RegExp(`/a/${app_id}/account$`));
  await expect(page.getByTestId('account-email')).toHaveText('grace@example.com');
  await expect(page.getByTestId('session-row')).toHaveCount(1);
  expect(errors).toEqual([]);
});

test('passkey sign-up and passkey sign-in with a virtual authenticator', async ({ page }) => {
  const errors = watchErrors(page);
  const { app_id } = createApp('Passkey Shop', { selfRegistration: true });
  const authenticator = await addVirtualAuthenticator(page);
  await withoutPasskeyAutofill(page);
  await page.goto(`/a/${app_id}/register`);
  await expectHydrated(page);
  await page.getByTestId('register-form').getByLabel('E-mail address').fill('pat@example.com');
  await page.getByTestId('passkey-sign-up').click();

  // The first recovery codes are shown once.
  const codes = page.getByTestId('recovery-codes').locator('li');
  await expect(codes).toHaveCount(10);
  await page.getByRole('button', { name: 'I saved them, continue' }).click();
  await expect(page).toHaveURL(new RegExp(`/a/${app_id}/account$`));
  await expect(page.getByTestId('passkey-row')).toHaveCount(1);
  // The credential is discoverable (resident) and verified the user.
  const stored = await authenticator.credentials();
  expect(stored).toHaveLength(1);
  expect(stored[0].isResidentCredential).toBe(true);

  // The "Sign in with a passkey" button: no e-mail needed.
  await signOut(page, app_id);
  await page.getByTestId('passkey-sign-in').click();
  await expect(page).toHaveURL(new RegExp(`/a/${app_id}/account$`));
  await expect(page.getByTestId('account-email')).toHaveText('pat@example.com');
  await expect(page.getByTestId('session-row')).toContainText('with passkey');

  // Autofill (conditional mediation): the sign-in page offers the passkey by
  // itself; the virtual authenticator accepts at once, as a person picking
  // it from the e-mail field's list would.
  await allowPasskeyAutofill(page);
  await page.goto(`/a/${app_id}/logout`);
  await expectHydrated(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(new RegExp(`/a/${app_id}/account$`));
  await expect(page.getByTestId('session-row')).toHaveCount(1);
  await expect(page.getByTestId('session-row')).toContainText('with passkey');
  expect(errors).toEqual([]);
});

test('recovery-code sign-in asks for a new factor', async ({ page }) => {
  const { app_id } = createApp('Recovery Demo');
  createUser(app_id, 'ada@example.com', PASSWORD);
  await addVirtualAuthenticator(page);
  await withoutPasskeyAutofill(page);

  // Ada signs in with her password and adds her first passkey: codes appear.
  await signInWithPassword(page, app_id, 'ada@example.com', PASSWORD);
  await expect(page).toHaveURL(new RegExp(`/a/${app_id}/account$`));
  await page.getByLabel('Name for a new passkey').fill('Work laptop');
  await page.getByTestId('add-passkey').click();
  await expect(page.getByTestId('passkey-name')).toHaveText('Work laptop');
  const code = (await page.getByTestId('recovery-codes').locator('li').first().textContent())!.trim();
  expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  await page.screenshot({ path: path.join(screenshotDir, 'account-desktop.png'), fullPage: true });
  await signOut(page, app_id);

  // Later, without her passkey or password: a recovery code.
  await page.getByRole('link', { name: 'Recover your account' }).click();
  await expect(page).toHaveURL(new RegExp(`/a/${app_id}/recover$`));
  const form = page.getByTestId('recovery-form');
  await form.getByLabel('E-mail address').fill('ada@example.com');
  await form.getByLabel('Recovery code').fill(code.toLowerCase());
  await form.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(new RegExp(`/a/${app_id}/account$`));
  await expect(page.getByTestId('enrolment-required')).toBeVisible();
  await expectHydrated(page);

  // Setting a new password finishes the recovery.
  const change = page.getByTestId('password-change-form');
  await change.getByLabel('New password').fill('a fresh start for ada');
  await change.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('Your password was saved.')).toBeVisible();
  await expect(page.getByTestId('enrolment-required')).toHaveCount(0);
  await expect(page.getByTestId('recovery-codes-left')).toHaveText('9 of 10 codes left.');
});

test('password sign-in works with JavaScript disabled', async ({ browser }) => {
  const { app_id } = createApp('No Script Admin');
  createUser(app_id, 'lin@example.com', PASSWORD);
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`/a/${app_id}/login`);
  // Without JavaScript there is no passkey button to press in vain.
  await expect(page.getByTestId('passkey-sign-in')).toHaveCount(0);

  const form = page.getByTestId('password-form');
  await form.getByLabel('E-mail address').fill('lin@example.com');
  await form.getByLabel('Password').fill('wrong password');
  await form.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('form-error')).toHaveText('The e-mail address or the credentials are not right.');

  await page.getByTestId('password-form').getByLabel('E-mail address').fill('lin@example.com');
  await page.getByTestId('password-form').getByLabel('Password').fill(PASSWORD);
  await page.getByTestId('password-form').getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(new RegExp(`/a/${app_id}/account$`));
  await expect(page.getByTestId('account-email')).toHaveText('lin@example.com');
  await context.close();
});

test('hosted pages at phone width', async ({ browser }) => {
  const { app_id } = createApp('Phone Admin', { selfRegistration: true });
  createUser(app_id, 'kim@example.com', PASSWORD);
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  const page = await context.newPage();
  for (const [route, name] of [
    ['login', 'login-phone'],
    ['register', 'register-phone'],
  ]) {
    await page.goto(`/a/${app_id}/${route}`);
    await expectHydrated(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
  }
  await signInWithPassword(page, app_id, 'kim@example.com', PASSWORD);
  await expect(page).toHaveURL(new RegExp(`/a/${app_id}/account$`));
  await expect(page.getByTestId('account-email')).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.screenshot({ path: path.join(screenshotDir, 'account-phone.png'), fullPage: true });
  await context.close();
});

test('a recovery-code session of a passkey-role user is told to ask for an enrolment link', async ({ page }) => {
  const errors = watchErrors(page);
  const { app_id } = createApp('Treasury Admin');
  createUser(app_id, 'ada@example.com', PASSWORD);
  await addVirtualAuthenticator(page);
  await withoutPasskeyAutofill(page);
  // Ada adds her passkey (her codes come with it), then her role starts
  // to demand one.
  await signInWithPassword(page, app_id, 'ada@example.com', PASSWORD);
  await page.getByLabel('Name for a new passkey').fill('Work laptop');
  await page.getByTestId('add-passkey').click();
  await expect(page.getByTestId('passkey-name')).toHaveText('Work laptop');
  const code = (await page.getByTestId('recovery-codes').locator('li').first().textContent())!.trim();
  oneauth(['role', 'create', '--app', app_id, 'treasurer', '--require-passkey']);
  oneauth(['role', 'grant', '--app', app_id, '--email', 'ada@example.com', 'treasurer']);
  await signOut(page, app_id);

  // Someone signs in with that one code (phished, say).
  await page.goto(`/a/${app_id}/recover`);
  await expectHydrated(page);
  const form = page.getByTestId('recovery-form');
  await form.getByLabel('E-mail address').fill('ada@example.com');
  await form.getByLabel('Recovery code').fill(code);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(new RegExp(`/a/${app_id}/account$`));
  await expectHydrated(page);
  // No way to add a passkey from here: an operator's enrolment link is asked for.
  await expect(page.getByTestId('passkey-blocked')).toContainText('ask an operator for an enrolment link');
  await expect(page.getByTestId('add-passkey')).toHaveCount(0);
  // Nor a password that would outlast the code.
  await expect(page.getByTestId('password-blocked')).toContainText('until your new passkey is added');
  await expect(page.getByTestId('password-change-form')).toHaveCount(0);
  await expect(page.getByTestId('enrolment-required')).toContainText('ask an operator');
  await page.screenshot({ path: path.join(screenshotDir, 'account-recovery-needs-enrolment-link.png'), fullPage: true });
  expect(errors).toEqual([]);
});

// E-mail in Chromium, delivered through a real SMTP server (maildev, which
// Playwright starts beside 1Auth): a user who lost every factor asks for a
// recovery link, opens it from the message they received, signs in once and
// enrols a new passkey; the link does not work twice.
import { test, expect } from '@playwright/test';
import * as path from 'node:path';
import {
  addVirtualAuthenticator,
  createApp,
  createUser,
  expectHydrated,
  linkIn,
  publicUrl,
  receivedMail,
  screenshotDir,
  watchCsp,
  watchErrors,
  withoutPasskeyAutofill,
} from './support';

const PASSWORD = 'correct horse battery staple';

test('a user recovers by e-mail and enrols a new passkey', async ({ page, browser }) => {
  const errors = watchErrors(page);
  const cspViolations = await watchCsp(page);
  const { app_id } = createApp('Mail Recovery Desk');
  createUser(app_id, 'ada@example.com', PASSWORD);
  await addVirtualAuthenticator(page);
  await withoutPasskeyAutofill(page);

  await page.goto(`/a/${app_id}/login`);
  await page.getByRole('link', { name: 'Recover your account' }).click();
  await expect(page).toHaveURL(new RegExp(`/a/${app_id}/recover$`));
  await expectHydrated(page);
  const form = page.getByTestId('recovery-email-form');
  await form.getByLabel('E-mail address').fill('ada@example.com');
  await form.getByRole('button', { name: 'E-mail me a link' }).click();
  await expect(page.getByTestId('recovery-email-sent')).toContainText('If an account uses that address');
  await page.screenshot({ path: path.join(screenshotDir, 'recover-email-sent.png'), fullPage: true });

  const mail = await receivedMail('ada@example.com', 'Recover your Mail Recovery Desk account');
  expect(mail.html).toContain('Recover my account');
  const link = linkIn(mail, `${publicUrl}/a/${app_id}/recover?token=`);

  await page.goto(link);
  await expectHydrated(page);
  await page.getByTestId('recovery-link-form').getByRole('button', { name: 'Sign in with this link' }).click();
  await expect(page).toHaveURL(new RegExp(`/a/${app_id}/account$`));
  await expect(page.getByTestId('enrolment-required')).toBeVisible();
  await expectHydrated(page);
  await page.getByLabel('Name for a new passkey').fill('New laptop');
  await page.getByTestId('add-passkey').click();
  await expect(page.getByTestId('passkey-name')).toHaveText('New laptop');
  await expect(page.getByTestId('enrolment-required')).toHaveCount(0);
  await page.screenshot({ path: path.join(screenshotDir, 'recover-email-enrolled.png'), fullPage: true });

  // The user hears of the new passkey.
  const notice = await receivedMail('ada@example.com', 'A passkey was added');
  expect(notice.text).toContain('New laptop');

  // The link worked once.
  const other = await browser.newContext();
  const again = await other.newPage();
  await again.goto(link);
  await expectHydrated(again);
  await again.getByTestId('recovery-link-form').getByRole('button', { name: 'Sign in with this link' }).click();
  await expect(again.getByTestId('form-error')).toContainText('invalid');
  await other.close();
  expect(await cspViolations()).toEqual([]);
  expect(errors).toEqual([]);
});

test("an address someone else registered is not confirmed by its owner's click: 'This wasn't me' closes that account", async ({ page, browser }) => {
  const errors = watchErrors(page);
  const cspViolations = await watchCsp(page);
  const { app_id } = createApp('Open Sign-up Shop', { selfRegistration: true });

  // Someone signs up with Vic's address, in their own browser.
  const intruder = await browser.newContext();
  const intruderPage = await intruder.newPage();
  await intruderPage.goto(`/a/${app_id}/register`);
  await expectHydrated(intruderPage);
  const form = intruderPage.getByTestId('register-form');
  await form.getByLabel('E-mail address').fill('vic@example.com');
  await form.getByLabel('Password').fill('the intruder knows this one');
  await form.getByRole('button', { name: 'Create account' }).click();
  await expect(intruderPage).toHaveURL(new RegExp(`/a/${app_id}/account$`));

  // Vic opens the confirmation link from the message they received.
  const mail = await receivedMail('vic@example.com', 'Confirm your e-mail address');
  const link = linkIn(mail, `${publicUrl}/a/${app_id}/verify?token=`);
  await page.goto(link);
  await expectHydrated(page);
  await expect(page.getByTestId('account-origin')).toContainText('by signing up on this page with a password');
  // Not signed in to that account, the page offers no "confirm" at all.
  await expect(page.getByTestId('confirm-email-form')).toHaveCount(0);
  await expect(page.getByTestId('sign-in-to-confirm')).toBeVisible();
  await page.screenshot({ path: path.join(screenshotDir, 'verify-not-yours.png'), fullPage: true });
  await page.getByTestId('disown-email-form').getByRole('button', { name: "This wasn't me" }).click();
  await expect(page.getByTestId('disowned')).toBeVisible();
  await page.screenshot({ path: path.join(screenshotDir, 'verify-disowned.png'), fullPage: true });

  // The intruder's session ended with the account.
  await intruderPage.goto(`/a/${app_id}/account`);
  await expect(intruderPage).toHaveURL(new RegExp(`/a/${app_id}/login`));
  await intruder.close();
  expect(await cspViolations()).toEqual([]);
  expect(errors).toEqual([]);
});

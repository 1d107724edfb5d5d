// The operator console in Chromium: bootstrap the first owner with a
// (virtual) passkey, create an app, a client, a role and a user, grant the
// role, be refused when demoting the last owner, deactivate a user and see
// their refresh tokens die, then filter, inspect and export the audit log.
import { test, expect, type Page } from '@playwright/test';
import * as path from 'node:path';
import {
  addVirtualAuthenticator,
  ageSignIns,
  createUser,
  expectHydrated,
  linkIn,
  oneauth,
  publicUrl,
  receivedMail,
  screenshotDir,
  watchCsp,
  watchErrors,
  withoutPasskeyAutofill,
} from './support';

const PASSWORD = 'correct horse battery staple';
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });

test('an owner runs the console end to end', async ({ page, browser }) => {
  test.setTimeout(120_000);
  const errors = watchErrors(page);
  const cspViolations = await watchCsp(page);
  await addVirtualAuthenticator(page);
  await withoutPasskeyAutofill(page);

  await test.step('bootstrap the first owner with a passkey', async () => {
    const output = oneauth(['bootstrap', '--email', 'owner@example.com']);
    const link = output.split('\n').find((l) => l.includes('/invite/'))!.trim();
    await page.goto(link);
    await expectHydrated(page);
    await expect(page.getByTestId('invite-email')).toHaveText('owner@example.com');
    // A weak password is refused beside its field, before any passkey prompt.
    await page.getByLabel('Password (optional)').fill('short');
    await page.getByTestId('invite-passkey').click();
    await expect(page.getByText('at least 8 characters long')).toBeVisible();
    await page.getByLabel('Password (optional)').fill(PASSWORD);
    await shot(page, 'console-setup');
    await page.getByTestId('invite-passkey').click();
    await expect(page.getByTestId('recovery-codes').locator('li')).toHaveCount(10);
    await page.getByRole('button', { name: 'I saved them, continue' }).click();
    await expect(page).toHaveURL(/\/console$/);
    await expect(page.getByTestId('page-title')).toHaveText('Apps');
    await expect(page.getByTestId('operator-email')).toHaveText('owner@example.com');
    // A second bootstrap is refused.
    expect(() => oneauth(['bootstrap', '--email', 'intruder@example.com'])).toThrow();
  });

  await test.step('create an app', async () => {
    await expectHydrated(page);
    await page.getByTestId('new-app').click();
    const form = page.getByTestId('new-app-form');
    await form.getByLabel('App id').fill('payroll');
    await form.getByLabel('Display name').fill('Payroll Admin');
    await form.getByRole('button', { name: 'Create app' }).click();
    await expect(page).toHaveURL(/\/console\/apps\/payroll$/);
    await expect(page.getByTestId('issuer')).toContainText('/a/payroll');
    await shot(page, 'console-app-settings');
    await page.goto('/console');
    await expect(page.getByTestId('apps-table')).toContainText('Payroll Admin');
    await shot(page, 'console-apps');
  });

  await test.step('create a confidential client; its secret shows once', async () => {
    await page.goto('/console/apps/payroll/clients');
    await expectHydrated(page);
    await page.getByTestId('new-client').click();
    const form = page.getByTestId('new-client-form');
    await form.getByLabel('Name').fill('Payroll web');
    await form.getByLabel('Type').selectOption('confidential');
    await form.getByLabel('Redirect URIs', { exact: true }).fill('https://payroll.example.com/callback');
    await form.getByRole('button', { name: 'Create client' }).click();
    await expect(page.getByTestId('shown-once-value')).toHaveText(/^[A-Za-z0-9_-]{43}$/);
    await expect(page.getByTestId('client-card')).toHaveCount(1);
    await shot(page, 'console-clients');
  });

  await test.step('create a role and a user, and grant the role', async () => {
    await page.goto('/console/apps/payroll/roles');
    await expectHydrated(page);
    await page.getByTestId('new-role').click();
    const roleForm = page.getByTestId('new-role-form');
    await roleForm.getByLabel('Name').fill('approver');
    await roleForm.getByLabel('Description').fill('Approves pay runs');
    await roleForm.getByLabel('Requires a passkey').check();
    await roleForm.getByRole('button', { name: 'Create role' }).click();
    await expect(page.getByTestId('role-row')).toContainText('Passkey required');
    await shot(page, 'console-roles');

    await page.goto('/console/apps/payroll/users');
    await expectHydrated(page);
    await page.getByTestId('new-user').click();
    const userForm = page.getByTestId('new-user-form');
    await userForm.getByLabel('E-mail address').fill('clerk@example.com');
    await userForm.getByRole('button', { name: 'Create user' }).click();
    await expect(page.getByTestId('shown-once-value')).toContainText('/a/payroll/invite/');
    await expect(page.getByTestId('users-table')).toContainText('clerk@example.com');
    await shot(page, 'console-users');

    await page.getByRole('link', { name: 'clerk@example.com' }).click();
    await expect(page.getByTestId('page-title')).toHaveText('clerk@example.com');
    await expectHydrated(page);
    const grant = page.getByTestId('grant-role-form');
    await grant.getByLabel('Grant a role').selectOption('approver');
    await grant.getByRole('button', { name: 'Grant' }).click();
    await expect(page.getByTestId('user-roles')).toContainText('approver');
    await shot(page, 'console-user');
  });

  await test.step('the invited clerk accepts from the e-mail they received', async () => {
    const mail = await receivedMail('clerk@example.com', 'You are invited to Payroll Admin');
    const link = linkIn(mail, `${publicUrl}/a/payroll/invite/`);
    const clerk = await browser.newContext();
    const clerkPage = await clerk.newPage();
    const clerkErrors = watchErrors(clerkPage);
    await addVirtualAuthenticator(clerkPage);
    await withoutPasskeyAutofill(clerkPage);
    await clerkPage.goto(link);
    await expectHydrated(clerkPage);
    await expect(clerkPage.getByTestId('invite-email')).toHaveText('clerk@example.com');
    await clerkPage.getByTestId('invite-passkey').click();
    await expect(clerkPage.getByTestId('recovery-codes').locator('li')).toHaveCount(10);
    await clerkPage.getByRole('button', { name: 'I saved them, continue' }).click();
    await expect(clerkPage).toHaveURL(/\/a\/payroll\/account$/);
    await expect(clerkPage.getByTestId('account-email')).toHaveText('clerk@example.com');
    expect(clerkErrors).toEqual([]);
    await clerk.close();

    // The console's e-mail page shows it went.
    await page.goto('/console/apps/payroll/outbox');
    await expectHydrated(page);
    const row = page.getByTestId('outbox-row').filter({ hasText: 'clerk@example.com' }).first();
    await expect(row).toContainText('You are invited to Payroll Admin');
    await expect(row).toContainText('sent');
    await shot(page, 'console-outbox');
  });

  await test.step('a passkey role gets its first passkey only through an enrolment link', async () => {
    createUser('payroll', 'lee@example.com', PASSWORD);
    oneauth(['role', 'grant', '--app', 'payroll', '--email', 'lee@example.com', 'approver']);
    // Lee signs in with the password in a browser of her own...
    const lee = await browser.newContext();
    const leePage = await lee.newPage();
    const leeErrors = watchErrors(leePage);
    const leeCsp = await watchCsp(leePage);
    await addVirtualAuthenticator(leePage);
    await withoutPasskeyAutofill(leePage);
    await leePage.goto('/a/payroll/login');
    await expectHydrated(leePage);
    const form = leePage.getByTestId('password-form');
    await form.getByLabel('E-mail address').fill('lee@example.com');
    await form.getByLabel('Password').fill(PASSWORD);
    await form.getByRole('button', { name: 'Sign in' }).click();
    await expect(leePage).toHaveURL(/\/a\/payroll\/account$/);
    await expectHydrated(leePage);
    // ...and cannot add the passkey her role needs from that session.
    await expect(leePage.getByTestId('passkey-blocked')).toContainText('enrolment link');
    await expect(leePage.getByTestId('add-passkey')).toHaveCount(0);
    await expect(leePage.getByTestId('codes-after-passkey')).toBeVisible();
    await shot(leePage, 'account-passkey-needs-link');

    // An operator issues an enrolment link...
    await page.goto('/console/apps/payroll/users');
    await page.getByRole('link', { name: 'lee@example.com' }).click();
    await expectHydrated(page);
    await expect(page.getByTestId('invite-link')).toHaveCount(0);
    await page.getByTestId('enrolment-link').click();
    const link = (await page.getByTestId('shown-once-value').textContent())!.trim();
    expect(link).toContain('/a/payroll/account?enrol=');
    await shot(page, 'console-enrolment-link');

    // ...with which she adds it.
    await leePage.goto(link);
    await expectHydrated(leePage);
    await expect(leePage.getByTestId('enrolment-banner')).toBeVisible();
    await shot(leePage, 'account-enrolment-link');
    await leePage.getByTestId('add-passkey').click();
    await expect(leePage.getByTestId('passkey-row')).toHaveCount(1);
    await expect(leePage.getByTestId('enrolment-banner')).toHaveCount(0);
    expect(await leeCsp()).toEqual([]);
    expect(leeErrors).toEqual([]);
    await lee.close();
  });

  await test.step('an operator manages an organization and deletes it with its slug typed', async () => {
    await page.goto('/console/apps/payroll/orgs');
    await expectHydrated(page);
    await page.getByTestId('new-org').click();
    const form = page.getByTestId('new-org-form');
    await form.getByLabel('Slug').fill('acme');
    await form.getByLabel('Name').fill('Acme Inc.');
    await form.getByRole('button', { name: 'Create' }).click();
    await expect(page.getByTestId('orgs-table')).toContainText('Acme Inc.');
    await shot(page, 'console-orgs');
    await page.getByRole('link', { name: 'Acme Inc.' }).click();
    await expect(page).toHaveURL(/\/console\/apps\/payroll\/orgs\/acme$/);
    await expectHydrated(page);
    const add = page.getByTestId('add-member-form');
    await add.getByLabel('Add a user of this app').fill('lee@example.com');
    await add.getByLabel('Roles').fill('owner');
    await add.getByRole('button', { name: 'Add member' }).click();
    await expect(page.getByTestId('member-row')).toContainText('lee@example.com');
    // The last owner of the organization stays one.
    await page.getByTestId('remove-lee@example.com').click();
    await expect(page.getByTestId('form-error')).toContainText('last owner of this organization');
    const invite = page.getByTestId('invite-form');
    await invite.getByLabel('Invite by e-mail').fill('kim@example.com');
    await invite.getByLabel('Roles').fill('admin');
    await invite.getByRole('button', { name: 'Send invitation' }).click();
    await expect(page.getByTestId('shown-once-value')).toContainText('/a/payroll/invite/');
    await expect(page.getByTestId('invitations-section')).toContainText('kim@example.com');
    await page.getByTestId('new-team-form').getByLabel('New team').fill('Payroll ops');
    await page.getByTestId('new-team-form').getByRole('button', { name: 'Create' }).click();
    await expect(page.getByTestId('team-Payroll ops')).toBeVisible();
    // A domain: claimed with its TXT record shown, then attested with the
    // domain typed again; the policy offers the organization to its people.
    const domainForm = page.getByTestId('new-domain-form');
    await domainForm.getByLabel('Claim a domain').fill('Payroll.Example');
    await domainForm.getByRole('button', { name: 'Add' }).click();
    const domain = page.getByTestId('domain-payroll.example');
    await expect(domain).toContainText('Not verified');
    await expect(domain.getByTestId('txt-name')).toHaveText('_oneauth-challenge.payroll.example');
    await expect(domain.getByTestId('txt-value')).toContainText('oneauth-domain-verification=');
    await page.getByTestId('attest-payroll.example').click();
    const attest = page.getByTestId('confirm-dialog');
    await attest.getByLabel('Domain').fill('payroll.exampel');
    await attest.getByTestId('confirm-attest').click();
    await expect(attest).toContainText('Type payroll.example to attest');
    await attest.getByLabel('Domain').fill('payroll.example');
    await attest.getByTestId('confirm-attest').click();
    await expect(domain).toContainText('Verified by attestation');
    const policy = page.getByTestId('domain-policy-form');
    await policy.getByRole('combobox').selectOption('offer');
    await policy.getByTestId('save-domain-policy').click();
    await expect(page.getByTestId('domain-policy-form').getByRole('combobox')).toHaveValue('offer');
    await shot(page, 'console-org');
    await page.getByTestId('delete-org').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.getByLabel('Slug').fill('acm');
    await dialog.getByTestId('confirm-delete-org').click();
    await expect(dialog).toContainText("Type the organization's slug, acme");
    await dialog.getByLabel('Slug').fill('acme');
    await dialog.getByTestId('confirm-delete-org').click();
    await expect(page).toHaveURL(/\/console\/apps\/payroll\/orgs$/);
    await expect(page.getByTestId('empty-state')).toBeVisible();
  });

  await test.step('demoting the last owner is refused', async () => {
    await page.goto('/console/apps/console/users');
    await page.getByRole('link', { name: 'owner@example.com' }).click();
    await expectHydrated(page);
    // The setup link set both factors.
    await expect(page.getByTestId('user-factors')).toContainText('Has a password.');
    await expect(page.getByTestId('user-passkey')).toHaveCount(1);
    await page.getByTestId('revoke-owner').click();
    const dialog = page.getByTestId('confirm-dialog');
    await expect(dialog.getByTestId('revoking-role')).toHaveText('owner');
    await dialog.getByLabel('Type your e-mail address to confirm').fill('owner@example.com');
    await dialog.getByRole('button', { name: 'Revoke role' }).click();
    await expect(dialog.getByTestId('form-error')).toContainText('last owner');
    await shot(page, 'console-last-owner-refused');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(page.getByTestId('user-roles')).toContainText('owner');
  });

  await test.step('a stale sign-in confirms with the passkey and comes back', async () => {
    // An hour on, the owner's own changes ask for a fresh sign-in first.
    ageSignIns();
    const userPage = new URL(page.url()).pathname;
    await page.reload();
    await expectHydrated(page);
    await page.getByTestId('revoke-owner').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.getByLabel('Type your e-mail address to confirm').fill('owner@example.com');
    await dialog.getByRole('button', { name: 'Revoke role' }).click();
    await expect(dialog.getByTestId('form-error')).toContainText('recent sign-in');
    await dialog.getByTestId('reauth-link').click();
    await expect(page).toHaveURL(/\/a\/console\/login\?reauth=passkey/);
    await expectHydrated(page);
    await shot(page, 'console-reauth');
    await page.getByRole('button', { name: 'Confirm with a passkey' }).click();
    await expect(page).toHaveURL(userPage);
    await expect(page.getByTestId('page-title')).toHaveText('owner@example.com');
  });

  await test.step('deactivating a user kills their refresh tokens', async () => {
    const oidc = await import('openid-client');
    const created = JSON.parse(
      oneauth(['app', 'create', 'helpdesk', '--name', 'Helpdesk', '--redirect-uri', 'http://localhost:5173/cb']),
    );
    createUser('helpdesk', 'agent@example.com', PASSWORD);
    // The agent signs in to the helpdesk in their own browser.
    const agent = await browser.newContext();
    const agentPage = await agent.newPage();
    const config = await oidc.discovery(new URL(created.issuer), created.client_id, { id_token_signed_response_alg: 'ES256' }, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    const verifier = oidc.randomPKCECodeVerifier();
    let callback: string | undefined;
    await agentPage.route('http://localhost:5173/**', async (route) => {
      callback = route.request().url();
      await route.fulfill({ status: 200, body: 'ok' });
    });
    await agentPage.goto(
      oidc.buildAuthorizationUrl(config, {
        redirect_uri: 'http://localhost:5173/cb',
        scope: 'openid email',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state: 'agent',
      }).href,
    );
    await expectHydrated(agentPage);
    const form = agentPage.getByTestId('password-form');
    await form.getByLabel('E-mail address').fill('agent@example.com');
    await form.getByLabel('Password').fill(PASSWORD);
    await form.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => callback).toContain('code=');
    const tokens = await oidc.authorizationCodeGrant(config, new URL(callback!), { pkceCodeVerifier: verifier, expectedState: 'agent' });
    expect(tokens.refresh_token).toBeTruthy();

    // The operator deactivates the agent.
    await page.goto('/console/apps/helpdesk/users');
    await page.getByRole('link', { name: 'agent@example.com' }).click();
    await expectHydrated(page);
    await expect(page.getByTestId('user-sessions')).toContainText('Signed in');
    await page.getByTestId('toggle-active').click();
    await expect(page.getByTestId('confirm-dialog')).toBeVisible();
    await page.getByTestId('confirm-dialog').getByRole('button', { name: 'Deactivate' }).click();
    await expect(page.getByTestId('no-sessions')).toBeVisible();
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await agent.close();
  });

  await test.step('page through a long user list and audit log', async () => {
    oneauth(['app', 'create', 'crowd', '--name', 'Crowd', '--redirect-uri', 'http://localhost:5173/cb']);
    for (let i = 0; i < 55; i++) {
      oneauth(['user', 'create', '--app', 'crowd', '--email', `member${String(i).padStart(2, '0')}@example.com`]);
    }
    await page.goto('/console/apps/crowd/users');
    await expectHydrated(page);
    await expect(page.getByTestId('user-row')).toHaveCount(50);
    await expect(page.getByTestId('first-page')).toHaveCount(0);
    await page.getByTestId('next-page').click();
    await expect(page).toHaveURL(/after=/);
    await expect(page.getByTestId('user-row')).toHaveCount(5);
    await expect(page.getByTestId('next-page')).toHaveCount(0);
    await page.getByTestId('first-page').click();
    await expect(page).toHaveURL(/\/console\/apps\/crowd\/users$/);
    await expect(page.getByTestId('user-row')).toHaveCount(50);

    // 56 events (the app and its 55 users): a full page, then the rest.
    await page.goto('/console/apps/crowd/audit');
    await expectHydrated(page);
    await expect(page.getByTestId('audit-row')).toHaveCount(50);
    await page.getByTestId('older-events').click();
    await expect(page).toHaveURL(/before=/);
    await expect(page.getByTestId('audit-row')).not.toHaveCount(50);
    await expect(page.getByTestId('audit-row').last()).toContainText('app.created');
    // An event opened on an older page keeps that page below it.
    await page.getByTestId('audit-row').first().getByRole('link').click();
    await expect(page).toHaveURL(/before=.*event=/);
    await expect(page.getByTestId('event-detail')).toBeVisible();
    await page.getByTestId('newest-events').click();
    await expect(page).toHaveURL(/\/console\/apps\/crowd\/audit$/);
    await expect(page.getByTestId('audit-row')).toHaveCount(50);
  });

  await test.step('a link clicked while the page is still hydrating opens what it points to', async () => {
    // The router listens for clicks as soon as the main WASM runs, but the
    // page's own chunk may still be on its way: hold the chunks back so the
    // click lands in that window every time, as a quick user's may.
    const chunks = /\/pkg\/split___.*\.wasm$/;
    await page.route(chunks, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await route.continue();
    });
    const chunkAsked = page.waitForRequest(chunks);
    await page.goto('/console/audit?action=user.deactivated');
    await chunkAsked;
    await expect(page.locator('html')).not.toHaveAttribute('data-hydrated', 'true');
    await page.getByTestId('audit-row').getByRole('link').click();
    await expect(page).toHaveURL(/event=/);
    await expect(page.getByTestId('event-detail')).toBeVisible();
    await expectHydrated(page);
    await page.unroute(chunks);
  });

  await test.step('filter, inspect, export and check the audit log', async () => {
    await page.goto('/console/audit');
    await expectHydrated(page);
    const filters = page.getByTestId('audit-filters');
    await filters.getByLabel('Action').fill('user.deactivated');
    await filters.getByTestId('apply-filters').click();
    await expect(page).toHaveURL(/action=user.deactivated/);
    await expect(page.getByTestId('audit-row')).toHaveCount(1);
    await page.getByTestId('audit-row').getByRole('link').click();
    await expect(page.getByTestId('event-detail')).toBeVisible();
    await expect(page.getByTestId('event-before')).toContainText('"status": "active"');
    await expect(page.getByTestId('event-after')).toContainText('"status": "deactivated"');
    await shot(page, 'console-audit');

    // The export holds exactly the filtered set.
    const csvHref = await page.getByTestId('export-csv').getAttribute('href');
    const csv = await page.request.get(csvHref!);
    expect(csv.status()).toBe(200);
    const lines = (await csv.text()).trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('user.deactivated');
    const jsonlHref = await page.getByTestId('export-jsonl').getAttribute('href');
    const jsonl = (await (await page.request.get(jsonlHref!)).text()).trim().split('\n');
    expect(JSON.parse(jsonl[0]).action).toBe('user.deactivated');

    // The refused demotion was recorded, with its reason.
    await filters.getByLabel('Action').fill('console.refused');
    await filters.getByTestId('apply-filters').click();
    await expect(page.getByTestId('audit-row').first()).toContainText('console.refused');

    // The chain check of one app.
    await page.goto('/console/apps/payroll/audit');
    await expectHydrated(page);
    await page.getByTestId('verify-chain').click();
    await expect(page.getByTestId('chain-result')).toContainText('Intact');
  });

  await test.step('signing in again returns to the console page asked for', async () => {
    await page.goto('/a/console/logout');
    await expectHydrated(page);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).not.toHaveURL(/logout/);
    await page.goto('/console/audit?action=user.deactivated');
    await expect(page).toHaveURL(/\/a\/console\/login\?return_to=/);
    await expectHydrated(page);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expect(page).toHaveURL(/\/console\/audit\?action=user\.deactivated$/);
    await expect(page.getByTestId('audit-row')).toHaveCount(1);
  });

  await test.step("an admin sees an owner's invitation in the outbox without its link, and cannot resend it", async () => {
    // The owner invites an admin and a second owner.
    const invite = async (email: string, roles: string) => {
      await page.goto('/console/apps/console/users');
      await expectHydrated(page);
      await page.getByTestId('new-user').click();
      const form = page.getByTestId('new-user-form');
      await form.getByLabel('E-mail address').fill(email);
      await form.getByLabel('Roles').fill(roles);
      await form.getByRole('button', { name: 'Create user' }).click();
      return (await page.getByTestId('shown-once-value').textContent())!.trim();
    };
    const adminLink = await invite('admin@example.com', 'admin');
    const ownerLink = await invite('second-owner@example.com', 'owner');
    expect(ownerLink).toContain('/a/console/invite/');

    // The admin sets up their account with a passkey, in a browser of their own.
    const admin = await browser.newContext();
    const adminPage = await admin.newPage();
    const adminErrors = watchErrors(adminPage);
    await addVirtualAuthenticator(adminPage);
    await withoutPasskeyAutofill(adminPage);
    await adminPage.goto(adminLink);
    await expectHydrated(adminPage);
    await adminPage.getByTestId('invite-passkey').click();
    await expect(adminPage.getByTestId('recovery-codes').locator('li')).toHaveCount(10);
    await adminPage.getByRole('button', { name: 'I saved them, continue' }).click();
    await expect(adminPage).toHaveURL(/\/console$/);

    // The E-mail tab lists the second owner's invitation (sent by now)...
    const row = adminPage.getByTestId('outbox-row').filter({ hasText: 'second-owner@example.com' });
    await expect
      .poll(async () => {
        await adminPage.goto('/console/apps/console/outbox?kind=invitation');
        await expectHydrated(adminPage);
        return (await row.textContent()) ?? '';
      })
      .toContain('sent');
    await expect(row).toContainText('You are invited to 1Auth Console');
    // ...but opening it is refused, and the page never holds its link,
    await row.getByTestId('open-email').click();
    await expect(adminPage.getByTestId('form-error')).toContainText('above your own');
    await expect(adminPage.getByTestId('opened-message')).toHaveCount(0);
    expect(await adminPage.content()).not.toContain(ownerLink);
    await shot(adminPage, 'console-outbox-admin-refused');
    // nor is it sent again at an admin's word.
    await row.getByTestId('resend-email').click();
    await expect(adminPage.getByTestId('form-error')).toContainText('above your own');
    expect(adminErrors).toEqual([]);
    await admin.close();

    // An owner opening it reads the message with its link withheld, and
    // is told where a fresh one comes from.
    await page.goto('/console/apps/console/outbox?kind=invitation');
    await expectHydrated(page);
    await page.getByTestId('outbox-row').filter({ hasText: 'second-owner@example.com' }).getByTestId('open-email').click();
    await expect(page.getByTestId('opened-message')).toBeVisible();
    await expect(page.getByTestId('link-withheld')).toContainText('issue a fresh link');
    await expect(page.getByTestId('message-text')).toContainText('[one-time link withheld]');
    expect(await page.getByTestId('message-text').textContent()).not.toContain(ownerLink);
    await shot(page, 'console-outbox-link-withheld');
  });

  await test.step('the console at phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const pages: [string, string][] = [
      ['/console', 'console-apps-phone'],
      ['/console/apps/payroll/users', 'console-users-phone'],
      ['/console/audit', 'console-audit-phone'],
    ];
    for (const [url, name] of pages) {
      await page.goto(url);
      await expectHydrated(page);
      // The page itself never scrolls sideways (wide tables scroll in their own box).
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, url).toBeLessThanOrEqual(0);
      await shot(page, name);
    }
    await page.goto('/console/apps/payroll/users');
    await page.getByRole('link', { name: 'clerk@example.com' }).click();
    await expect(page.getByTestId('page-title')).toHaveText('clerk@example.com');
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    await shot(page, 'console-user-phone');
  });

  expect(await cspViolations()).toEqual([]);
  expect(errors).toEqual([]);
});

test('the console sends visitors to its passkey sign-in', async ({ page }) => {
  const response = await page.goto('/console/audit');
  await expect(page).toHaveURL(/\/a\/console\/login\?return_to=%2Fconsole%2Faudit/);
  expect(response?.ok()).toBe(true);
  await expect(page.getByTestId('app-name')).toHaveText('1Auth Console');
});

// Signing in through an upstream identity provider, in Chromium, against a
// real, independent OpenID provider on loopback: the certified Node
// provider oidc-provider (end2end/upstream-op.mjs), whose accounts and
// claims each test sets. 1Auth is the relying party here; openid-client
// drives 1Auth as its own relying party where tokens matter.
import { test, expect, type Browser, type Page } from '@playwright/test';
import * as http from 'node:http';
import {
  createUser,
  databaseSql,
  expectHydrated,
  oneauth,
  screenshotDir,
} from './support';

const PASSWORD = 'correct horse battery staple';
const CALLBACK = 'http://localhost:5173/cb';
const OP = `http://localhost:${process.env.ONEAUTH_E2E_OP_PORT ?? 3400}`;

/** Put an account into the upstream directory (or change its claims). */
async function upstreamAccount(id: string, claims: Record<string, unknown>) {
  const response = await fetch(`${OP}/test/accounts/${encodeURIComponent(id)}`, {
    method: 'PUT',
    body: JSON.stringify(claims),
  });
  expect(response.status).toBe(204);
}

type Created = { app_id: string; issuer: string; client_id: string };

/** App `appId` (one the upstream knows a client for) with oidc-provider as its provider `corp`. */
function appWithProvider(appId: string, providerFlags: string[], roles: string[][] = []): Created {
  const created: Created = JSON.parse(
    oneauth(['app', 'create', appId, '--name', `Admin ${appId}`, '--redirect-uri', CALLBACK]),
  );
  for (const role of roles) oneauth(['role', 'create', '--app', appId, ...role]);
  oneauth(
    [
      'provider', 'add', '--app', appId, 'corp', '--kind', 'oidc', '--name', 'Corp SSO',
      '--issuer', OP, '--client-id', `oneauth-${appId}`, '--client-secret-stdin', ...providerFlags,
    ],
    `secret-of-${appId}\n`,
  );
  return created;
}

/** The app's audit events (JSONL export through the CLI). */
function events(appId: string): { action: string; details: Record<string, unknown> }[] {
  return oneauth(['audit', 'export', '--app', appId, '--format', 'jsonl'])
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
    .map((e) => ({ action: e.action, details: typeof e.details === 'string' ? JSON.parse(e.details) : e.details }));
}

/** On the upstream's own login page: sign in as `account`. */
async function signInUpstream(page: Page, account: string) {
  await expect(page).toHaveURL(new RegExp(`^${OP}/interaction/`));
  await page.locator('input[name=login]').fill(account);
  await page.locator('input[name=password]').fill('any password the directory accepts');
  await page.getByRole('button', { name: 'Sign-in' }).click();
}

/** From the app's sign-in page, through the provider button, as `account`. */
async function continueWithCorp(page: Page, appId: string, account: string) {
  await page.goto(`/a/${appId}/login`);
  await expectHydrated(page);
  await page.getByTestId('provider-corp').click();
  await signInUpstream(page, account);
}

async function freshPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext();
  return context.newPage();
}

// The relying party's callback for the openid-client part.
let lastCallback: string | undefined;
let relyingParty: http.Server;

test.beforeAll(async () => {
  relyingParty = http.createServer((request, response) => {
    if (request.url?.startsWith('/cb')) lastCallback = `http://localhost:5173${request.url}`;
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<p>relying party</p>');
  });
  await new Promise<void>((resolve) => relyingParty.listen(5173, '127.0.0.1', resolve));
});

test.afterAll(async () => {
  await new Promise((resolve) => relyingParty.close(resolve));
});

test('sign in through the directory: an allowed domain gets an account, and its groups grant and later revoke a role', async ({ page }) => {
  appWithProvider(
    'up-a',
    ['--provisioning', 'on', '--allowed-domains', 'example.com', '--map-role', 'groups=platform-admins:admin', '--scopes', 'openid email profile groups'],
    [['admin']],
  );
  await upstreamAccount('ada', { email: 'ada@example.com', email_verified: true, name: 'Ada', groups: ['staff', 'platform-admins'] });
  await upstreamAccount('olga', { email: 'olga@elsewhere.example', email_verified: true, groups: [] });

  await continueWithCorp(page, 'up-a', 'ada');
  await expect(page).toHaveURL(/\/a\/up-a\/account$/);
  await expect(page.getByTestId('account-email')).toHaveText('ada@example.com');
  await expect(page.getByTestId('linked-provider')).toHaveText('Corp SSO');
  await page.screenshot({ path: `${screenshotDir}/upstream-account.png`, fullPage: true });
  let log = events('up-a');
  expect(log.some((e) => e.action === 'upstream.linked' && e.details.how === 'provisioned')).toBe(true);
  expect(log.some((e) => e.action === 'role.granted' && e.details.role === 'admin' && e.details.mapped_from === 'corp')).toBe(true);

  // The directory drops her from the group: the next sign-in through it
  // takes the role away.
  await upstreamAccount('ada', { email: 'ada@example.com', email_verified: true, name: 'Ada', groups: ['staff'] });
  await page.goto('/a/up-a/logout');
  await expectHydrated(page);
  await page.getByRole('button', { name: /sign out/i }).first().click();
  await expect(page).toHaveURL(/\/a\/up-a\/login\?signed_out=1$/);
  await page.goto('/a/up-a/login');
  await expectHydrated(page);
  await page.getByTestId('provider-corp').click();
  // Still signed in at the directory: straight back.
  await expect(page).toHaveURL(/\/a\/up-a\/account$/);
  log = events('up-a');
  expect(log.some((e) => e.action === 'role.revoked' && e.details.role === 'admin' && e.details.reason === 'claim_gone')).toBe(true);

  // Another domain is not provisioned.
  const other = await freshPage(page.context().browser()!);
  await continueWithCorp(other, 'up-a', 'olga');
  await expect(other.getByTestId('oauth-error')).toHaveText('Accounts of this e-mail domain cannot sign in here.');
  // The page is styled (its stylesheet carries the build's content hash).
  // (Tailwind's mt-3; a page without its stylesheet has the browser's 16px.)
  await expect(other.getByTestId('oauth-error')).toHaveCSS('margin-top', '12px');
  await other.screenshot({ path: `${screenshotDir}/upstream-domain-refused.png` });
  await other.getByTestId('back-to-login').click();
  await expect(other).toHaveURL(/\/a\/up-a\/login$/);
});

test('automatic linking happens only when the directory and the account both vouch for the address', async ({ browser }) => {
  appWithProvider('up-b', ['--auto-link', 'on']);
  createUser('up-b', 'carol@example.com', PASSWORD);
  createUser('up-b', 'dave@example.com', PASSWORD);
  // Carol confirmed her address here; Dave never did (anyone could have
  // registered it).
  databaseSql("UPDATE app_user SET email_verified = true WHERE app_id = 'up-b' AND email = 'carol@example.com'");
  await upstreamAccount('carol-unverified', { email: 'carol@example.com', email_verified: false });
  await upstreamAccount('carol', { email: 'carol@example.com', email_verified: true });
  await upstreamAccount('dave', { email: 'dave@example.com', email_verified: true });

  for (const account of ['carol-unverified', 'dave']) {
    const page = await freshPage(browser);
    await continueWithCorp(page, 'up-b', account);
    await expect(page).toHaveURL(/\/a\/up-b\/login\?link_pending=1/);
    await expect(page.getByTestId('link-pending')).toContainText('Sign in with your existing account first');
    await expect(page.getByTestId('password-form')).toBeVisible();
  }
  const page = await freshPage(browser);
  await continueWithCorp(page, 'up-b', 'carol');
  await expect(page).toHaveURL(/\/a\/up-b\/account$/);
  await expect(page.getByTestId('account-email')).toHaveText('carol@example.com');
  const links = events('up-b').filter((e) => e.action === 'upstream.linked');
  expect(links.map((e) => e.details.subject)).toEqual(['carol']);
});

test('a manual link: sign in with the existing account first, then from the account page', async ({ browser }) => {
  appWithProvider('up-c', []);
  createUser('up-c', 'erin@example.com', PASSWORD);
  createUser('up-c', 'frank@example.com', PASSWORD);
  await upstreamAccount('frank-at-corp', { email: 'frank@corp.example', email_verified: true });
  await upstreamAccount('erin-at-corp', { email: 'erin@corp.example', email_verified: true });

  // Frank comes from the directory first: he is asked to sign in here, then
  // confirms the link on his account page.
  const page = await freshPage(browser);
  await continueWithCorp(page, 'up-c', 'frank-at-corp');
  await expect(page.getByTestId('link-pending')).toBeVisible();
  const form = page.getByTestId('password-form');
  await form.getByLabel('E-mail address').fill('frank@example.com');
  await form.getByLabel('Password').fill(PASSWORD);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/a\/up-c\/account$/);
  await expect(page.getByTestId('pending-link')).toContainText('Link your Corp SSO account?');
  await page.screenshot({ path: `${screenshotDir}/upstream-pending-link.png`, fullPage: true });
  await page.getByRole('button', { name: 'Link accounts' }).click();
  await expect(page.getByTestId('linked-row')).toContainText('frank@corp.example');

  // Erin links from her account page.
  const erin = await freshPage(browser);
  await erin.goto('/a/up-c/login');
  await expectHydrated(erin);
  const erinForm = erin.getByTestId('password-form');
  await erinForm.getByLabel('E-mail address').fill('erin@example.com');
  await erinForm.getByLabel('Password').fill(PASSWORD);
  await erinForm.getByRole('button', { name: 'Sign in' }).click();
  await expect(erin).toHaveURL(/\/a\/up-c\/account$/);
  await erin.getByTestId('link-corp').click();
  await signInUpstream(erin, 'erin-at-corp');
  // Back on her account page, she confirms (nothing is linked by a redirect).
  await expect(erin).toHaveURL(/\/a\/up-c\/account$/);
  await erin.getByRole('button', { name: 'Link accounts' }).click();
  await expect(erin.getByTestId('linked-row')).toContainText('erin@corp.example');

  // Next time the directory alone signs Frank in.
  const again = await freshPage(browser);
  await continueWithCorp(again, 'up-c', 'frank-at-corp');
  await expect(again.getByTestId('account-email')).toHaveText('frank@example.com');
});

test('a role that requires a passkey still steps up on 1Auth after an upstream sign-in', async ({ page }) => {
  const oidc = await import('openid-client');
  const created = appWithProvider(
    'up-d',
    ['--provisioning', 'on', '--allowed-domains', 'example.com', '--map-role', 'groups=ops:admin', '--scopes', 'openid email profile groups'],
    [['admin', '--require-passkey']],
  );
  await upstreamAccount('gus', { email: 'gus@example.com', email_verified: true, groups: ['ops'], amr: ['hwk'] });
  const config = await oidc.discovery(new URL(created.issuer), created.client_id, undefined, oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
  const verifier = oidc.randomPKCECodeVerifier();
  await page.goto(
    oidc.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'step',
    }).href,
  );
  await expectHydrated(page);
  await page.getByTestId('provider-corp').click();
  await signInUpstream(page, 'gus');
  // Back at 1Auth: the directory's sign-in is not a passkey here.
  await expect(page).toHaveURL(/\/a\/up-d\/login\?.*passkey=1/);
  await expect(page.locator('body')).toContainText('passkey');
  await page.screenshot({ path: `${screenshotDir}/upstream-step-up.png`, fullPage: true });
});

test('back-channel logout at the directory ends the session and the refresh family (openid-client sees invalid_grant)', async ({ page }) => {
  const oidc = await import('openid-client');
  const created = appWithProvider('up-e', ['--provisioning', 'on', '--allowed-domains', 'example.com']);
  await upstreamAccount('hana', { email: 'hana@example.com', email_verified: true });
  const config = await oidc.discovery(new URL(created.issuer), created.client_id, undefined, oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
  const verifier = oidc.randomPKCECodeVerifier();
  const nonce = oidc.randomNonce();
  lastCallback = undefined;
  await page.goto(
    oidc.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid email offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'bcl',
      nonce,
    }).href,
  );
  await expectHydrated(page);
  await page.getByTestId('provider-corp').click();
  await signInUpstream(page, 'hana');
  await expect.poll(() => lastCallback).toContain('code=');
  const tokens = await oidc.authorizationCodeGrant(config, new URL(lastCallback!), {
    pkceCodeVerifier: verifier,
    expectedState: 'bcl',
    expectedNonce: nonce,
  });
  expect(tokens.claims()!.email).toBe('hana@example.com');
  expect(tokens.claims()!.amr).toEqual(['ext']);
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  expect(refreshed.refresh_token).toBeTruthy();

  // Offboarding at the directory: it signs her out and tells 1Auth.
  await page.goto(`${OP}/session/end`);
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await expect
    .poll(() => events('up-e').some((e) => e.action === 'upstream.logged_out' && e.details.sessions_ended === 1))
    .toBe(true);
  await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  await page.goto('/a/up-e/account');
  await expect(page).toHaveURL(/\/a\/up-e\/login/);
});

test('an organization that takes its members through the directory: the invitee signs up there and lands in it', async ({ page }) => {
  // No provisioning, no self-registration: only the invitation lets the
  // directory create the account, and only for the invited address.
  appWithProvider('up-g', []);
  oneauth(['org', 'create', '--app', 'up-g', 'acme', '--name', 'Acme Inc.']);
  oneauth(['org', 'require-provider', '--app', 'up-g', '--org', 'acme', 'corp']);
  const sent = JSON.parse(
    oneauth(['org', 'invite', '--app', 'up-g', '--org', 'acme', '--email', 'gus@example.com', '--role', 'admin']),
  );
  await upstreamAccount('gus', { email: 'gus@example.com', email_verified: true, name: 'Gus' });

  await page.goto(sent.link);
  await expectHydrated(page);
  await expect(page.getByTestId('invite-provider')).toHaveText('Continue with Corp SSO');
  await expect(page.getByTestId('invite-provider-note')).toContainText('Acme Inc. accepts its members through Corp SSO');
  // Neither a passkey nor a password sets this account up.
  await expect(page.getByTestId('invite-passkey')).toHaveCount(0);
  await expect(page.getByLabel('Password')).toHaveCount(0);
  await page.screenshot({ path: `${screenshotDir}/orgs-invitation-provider.png`, fullPage: true });
  await page.getByTestId('invite-provider').click();
  await signInUpstream(page, 'gus');
  await expect(page).toHaveURL(/\/a\/up-g\/orgs\?joined=acme$/);
  await expect(page.getByTestId('joined-notice')).toContainText('You joined Acme Inc.');
  await expect(page.getByTestId('org-acme')).toBeVisible();
  const log = events('up-g');
  expect(log.some((e) => e.action === 'upstream.linked' && e.details.how === 'invitation')).toBe(true);
  expect(log.some((e) => e.action === 'invitation.accepted' && e.details.email === 'gus@example.com')).toBe(true);
  expect(log.some((e) => e.action === 'membership.added' && JSON.stringify(e.details.roles) === '["admin"]')).toBe(true);
});

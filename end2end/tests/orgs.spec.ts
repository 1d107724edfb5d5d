// Organizations in Chromium, with the mail catcher and openid-client: an
// organization's owner invites a colleague from the member pages; the
// colleague opens the link from the e-mail they received, signs up with a
// passkey and lands in the organization; the relying party (openid-client)
// sees org_id and org_roles in the tokens; choosing another organization
// changes the claims; a member of one organization sees nothing of another.
import { test, expect, type Page } from '@playwright/test';
import * as http from 'node:http';
import * as path from 'node:path';
import {
  addVirtualAuthenticator,
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
const CALLBACK = 'http://localhost:5173/cb';

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

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

/** The relying party signs `page`'s user in (already signed in to 1Auth)
 * and returns the tokens; `choose` picks an organization on the chooser. */
async function tokensFor(
  page: Page,
  oidc: typeof import('openid-client'),
  config: import('openid-client').Configuration,
  choose?: string,
) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid email teams',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  lastCallback = undefined;
  await page.goto(url.href);
  if (choose) {
    await expect(page).toHaveURL(/\/orgs\/choose\?/);
    await expect(page.getByTestId(`choose-${choose}`)).toBeVisible();
    await page.screenshot({ path: path.join(screenshotDir, 'orgs-chooser.png'), fullPage: true });
    await page.getByTestId(`choose-${choose}`).click();
  }
  await expect.poll(() => lastCallback, { message: `no code; the browser is at ${page.url()}` }).toContain('code=');
  return oidc.authorizationCodeGrant(config, new URL(lastCallback!), {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
}

test('an owner invites a colleague who signs up with a passkey and the tokens carry the organization', async ({ page, browser }) => {
  const oidc = await import('openid-client');
  const errors = watchErrors(page);
  const cspViolations = await watchCsp(page);
  const id = `orgs-${Math.random().toString(36).slice(2, 8)}`;
  const created = JSON.parse(
    oneauth(['app', 'create', id, '--name', 'Acme Admin', '--redirect-uri', CALLBACK, '--confidential']),
  );
  createUser(id, 'ada@example.com', PASSWORD);
  oneauth(['org', 'create', '--app', id, 'acme', '--name', 'Acme Inc.']);
  oneauth(['org', 'member', 'add', '--app', id, '--org', 'acme', '--email', 'ada@example.com', '--role', 'owner']);
  oneauth(['org', 'create', '--app', id, 'globex', '--name', 'Globex']);
  createUser(id, 'hank@example.com', PASSWORD);
  oneauth(['org', 'member', 'add', '--app', id, '--org', 'globex', '--email', 'hank@example.com', '--role', 'owner']);
  oneauth(['org', 'team', 'create', '--app', id, '--org', 'globex', 'Skunkworks']);
  // Initech vouches for example.com (an operator attests it) and offers
  // its people to join.
  oneauth(['org', 'create', '--app', id, 'initech', '--name', 'Initech']);
  oneauth(['org', 'domain', 'add', '--app', id, '--org', 'initech', 'example.com']);
  oneauth(['org', 'domain', 'attest', '--app', id, '--org', 'initech', 'example.com']);
  oneauth(['org', 'domain', 'policy', '--app', id, '--org', 'initech', 'offer']);

  // Ada, owner of Acme, invites Bob as an admin from the organization page.
  await page.goto(`/a/${id}/login?return_to=/a/${id}/orgs/acme`);
  await expectHydrated(page);
  const form = page.getByTestId('password-form');
  await form.getByLabel('E-mail address').fill('ada@example.com');
  await form.getByLabel('Password').fill(PASSWORD);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(new RegExp(`/a/${id}/orgs/acme$`));
  await expect(page.getByTestId('org-name')).toHaveText('Acme Inc.');
  await expectHydrated(page);
  const invite = page.getByTestId('invite-form');
  await invite.getByLabel('Invite by e-mail').fill('bob@example.com');
  await invite.getByLabel('Role').selectOption('admin');
  await invite.getByRole('button', { name: 'Send invitation' }).click();
  await expect(page.getByTestId('pending-invitations')).toContainText('bob@example.com');
  await page.screenshot({ path: path.join(screenshotDir, 'orgs-member-page.png'), fullPage: true });

  // Bob opens the link from the message he received, in his own browser.
  const mail = await receivedMail('bob@example.com', 'You are invited to join');
  const link = linkIn(mail, `${publicUrl}/a/${id}/invite/`);
  const bobContext = await browser.newContext();
  const bob = await bobContext.newPage();
  const bobErrors = watchErrors(bob);
  await addVirtualAuthenticator(bob);
  await withoutPasskeyAutofill(bob);
  await bob.goto(link);
  await expectHydrated(bob);
  await expect(bob.getByTestId('invite-email')).toHaveText('bob@example.com');
  await expect(bob.getByRole('heading', { name: 'Join Acme Inc.' })).toBeVisible();
  await bob.screenshot({ path: path.join(screenshotDir, 'orgs-invitation.png'), fullPage: true });
  await bob.getByTestId('invite-passkey').click();
  await bob.getByRole('button', { name: 'I saved them, continue' }).click();
  await expect(bob).toHaveURL(new RegExp(`/a/${id}/orgs\\?joined=acme$`));
  await expect(bob.getByTestId('joined-notice')).toContainText('You joined Acme Inc.');
  await expect(bob.getByTestId('org-acme')).toBeVisible();
  await bob.screenshot({ path: path.join(screenshotDir, 'orgs-joined.png'), fullPage: true });

  // The relying party sees the organization in Bob's tokens.
  const config = await oidc.discovery(
    new URL(created.issuer),
    created.client_id,
    { id_token_signed_response_alg: 'ES256' },
    oidc.ClientSecretBasic(created.client_secret),
    { execute: [oidc.allowInsecureRequests] },
  );
  const tokens = await tokensFor(bob, oidc, config);
  const idClaims = tokens.claims()!;
  expect(idClaims.org_slug).toBe('acme');
  expect(idClaims.org_roles).toEqual(['admin']);
  const access = claimsOf(tokens.access_token);
  expect(access.org_id).toBe(idClaims.org_id);
  expect(access.org_roles).toEqual(['admin']);
  expect(access.amr).toContain('hwk');

  // In two organizations, Bob chooses; the choice sets the claims.
  oneauth(['org', 'member', 'add', '--app', id, '--org', 'globex', '--email', 'bob@example.com', '--role', 'member']);
  const asGlobex = await tokensFor(bob, oidc, config, 'globex');
  expect(asGlobex.claims()!.org_slug).toBe('globex');
  expect(asGlobex.claims()!.org_roles).toEqual(['member']);
  const asAcme = await tokensFor(bob, oidc, config, 'acme');
  expect(asAcme.claims()!.org_roles).toEqual(['admin']);

  // Ada, a member of Acme only, sees nothing of Globex.
  await page.goto(`/a/${id}/orgs/globex`);
  await expect(page.getByText('You are not a member of an organization "globex" here.')).toBeVisible();
  await expect(page.locator('body')).not.toContainText('Skunkworks');
  await expect(page.locator('body')).not.toContainText('hank@example.com');
  await page.goto(`/a/${id}/orgs`);
  await expect(page.getByTestId('org-switcher')).not.toContainText('Globex');

  // Bob confirmed his address at example.com by the invitation: Initech,
  // which verified that domain, is open to him; one click and he is in.
  await bob.goto(`/a/${id}/orgs`);
  await expectHydrated(bob);
  await expect(bob.getByTestId('org-offers')).toContainText('Initech');
  await bob.screenshot({ path: path.join(screenshotDir, 'orgs-open-to-you.png'), fullPage: true });
  await bob.getByTestId('join-initech').click();
  await expect(bob.getByTestId('org-initech')).toBeVisible();
  await expect(bob.getByTestId('org-offers')).toHaveCount(0);
  // Ada's address was never confirmed: nothing is offered to her.
  await page.goto(`/a/${id}/orgs`);
  await expectHydrated(page);
  await expect(page.getByTestId('org-switcher')).toBeVisible();
  await expect(page.getByTestId('org-offers')).toHaveCount(0);

  expect(errors).toEqual([]);
  expect(bobErrors).toEqual([]);
  expect(await cspViolations()).toEqual([]);
  await bobContext.close();
});

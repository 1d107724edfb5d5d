// Interoperability with a certified relying party library: openid-client
// drives 1Auth as it would any OpenID provider, through Chromium for the
// parts a person does (signing in on the hosted page).
import { test, expect, type Page } from '@playwright/test';
import * as http from 'node:http';
import * as path from 'node:path';
import {
  addVirtualAuthenticator,
  createUser,
  expectHydrated,
  oneauth,
  screenshotDir,
  withoutPasskeyAutofill,
} from './support';

const PASSWORD = 'correct horse battery staple';
const CALLBACK = 'http://localhost:5173/cb';
const BYE = 'http://localhost:5173/bye';

type Created = { app_id: string; issuer: string; client_id: string; client_secret?: string };

function createOidcApp(flags: string[] = []): Created {
  const id = `oidc-${Math.random().toString(36).slice(2, 8)}`;
  return JSON.parse(
    oneauth([
      'app', 'create', id, '--name', 'Interop Admin',
      '--redirect-uri', CALLBACK, '--post-logout-redirect-uri', BYE, ...flags,
    ]),
  );
}

// The relying party's callback endpoint: a real listener on localhost:5173
// that remembers the last URL the browser was sent to.
let lastCallback: string | undefined;
let relyingParty: http.Server;

test.beforeAll(async () => {
  relyingParty = http.createServer((request, response) => {
    if (request.url?.startsWith('/cb') || request.url?.startsWith('/bye')) {
      lastCallback = `http://localhost:5173${request.url}`;
    }
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<p>relying party</p>');
  });
  await new Promise<void>((resolve) => relyingParty.listen(5173, '127.0.0.1', resolve));
});

test.afterAll(async () => {
  await new Promise((resolve) => relyingParty.close(resolve));
});

async function catchCallbacks(_page: Page): Promise<() => string | undefined> {
  lastCallback = undefined;
  return () => lastCallback;
}

async function signInOnHostedPage(page: Page, email: string) {
  await expect(page).toHaveURL(/\/login(\?|$)/);
  await expectHydrated(page);
  const form = page.getByTestId('password-form');
  await form.getByLabel('E-mail address').fill(email);
  await form.getByLabel('Password').fill(PASSWORD);
  await form.getByRole('button', { name: 'Sign in' }).click();
}

test('openid-client: the whole lifecycle with a confidential client', async ({ page }) => {
  const oidc = await import('openid-client');
  const created = createOidcApp(['--confidential']);
  createUser(created.app_id, 'ada@example.com', PASSWORD);
  const config = await oidc.discovery(
    new URL(created.issuer),
    created.client_id,
    { id_token_signed_response_alg: 'ES256' },
    oidc.ClientSecretBasic(created.client_secret!),
    { execute: [oidc.allowInsecureRequests] },
  );
  expect(config.serverMetadata().issuer).toBe(created.issuer);

  // Authorization code + PKCE through the hosted sign-in page.
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const authorizationUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid email profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const callback = await catchCallbacks(page);
  await page.goto(authorizationUrl.href);
  await signInOnHostedPage(page, 'ada@example.com');
  await expect.poll(callback).toContain('code=');

  // The library validates the ID token (signature via JWKS, iss, aud,
  // nonce, exp) and the RFC 9207 iss parameter.
  const tokens = await oidc.authorizationCodeGrant(config, new URL(callback()!), {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
  });
  const claims = tokens.claims()!;
  expect(claims.iss).toBe(created.issuer);
  expect(claims.email).toBe('ada@example.com');
  expect(claims.amr).toEqual(['pwd']);
  expect(tokens.refresh_token).toBeTruthy();

  const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  expect(userinfo.email).toBe('ada@example.com');

  // Introspection (confidential clients only).
  const active = await oidc.tokenIntrospection(config, tokens.access_token);
  expect(active.active).toBe(true);
  expect(active.sub).toBe(claims.sub);

  // Refresh rotation: a new refresh token each time.
  const rotated = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  expect(rotated.refresh_token).toBeTruthy();
  expect(rotated.refresh_token).not.toBe(tokens.refresh_token);
  expect(rotated.claims()!.sub).toBe(claims.sub);

  // Reuse detection: the old token is refused, and the family dies with it.
  await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  await expect(oidc.refreshTokenGrant(config, rotated.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  expect((await oidc.tokenIntrospection(config, rotated.refresh_token!)).active).toBe(false);

  // A second grant in the same browser session needs no new sign-in.
  const verifier2 = oidc.randomPKCECodeVerifier();
  await page.goto(
    oidc.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier2),
      code_challenge_method: 'S256',
      state: 's2',
    }).href,
  );
  await expect.poll(callback).toContain('state=s2');
  const second = await oidc.authorizationCodeGrant(config, new URL(callback()!), {
    pkceCodeVerifier: verifier2,
    expectedState: 's2',
  });

  // Revocation kills the refresh token's family.
  await oidc.tokenRevocation(config, second.refresh_token!);
  await expect(oidc.refreshTokenGrant(config, second.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

  // RP-initiated logout back to a registered URI.
  await page.goto(
    oidc.buildEndSessionUrl(config, {
      id_token_hint: second.id_token!,
      post_logout_redirect_uri: BYE,
      state: 'bye',
    }).href,
  );
  await expect.poll(callback).toBe(`${BYE}?state=bye`);
  // Signed out: the next authorization asks to sign in again.
  await page.goto(authorizationUrl.href);
  await expect(page).toHaveURL(/\/login\?/);
});

test('openid-client: a public client with RS256 ID tokens (the OIDC default)', async ({ page }) => {
  const oidc = await import('openid-client');
  const created = createOidcApp(['--id-token-alg', 'RS256']);
  createUser(created.app_id, 'lin@example.com', PASSWORD);
  const config = await oidc.discovery(new URL(created.issuer), created.client_id, undefined, oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
  const verifier = oidc.randomPKCECodeVerifier();
  const callback = await catchCallbacks(page);
  await page.goto(
    oidc.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'rs',
    }).href,
  );
  await signInOnHostedPage(page, 'lin@example.com');
  await expect.poll(callback).toContain('code=');
  const tokens = await oidc.authorizationCodeGrant(config, new URL(callback()!), {
    pkceCodeVerifier: verifier,
    expectedState: 'rs',
  });
  expect(tokens.claims()!.email).toBe('lin@example.com');
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  expect(refreshed.access_token).toBeTruthy();
});

test('a role that requires a passkey is stepped up on the hosted page', async ({ page }) => {
  const oidc = await import('openid-client');
  const created = createOidcApp();
  createUser(created.app_id, 'root@example.com', PASSWORD);
  oneauth(['role', 'create', '--app', created.app_id, 'admin', '--require-passkey']);
  await addVirtualAuthenticator(page);
  await withoutPasskeyAutofill(page);

  // The user enrols a passkey on the account page while no role of theirs
  // demands one (a fresh password is enough then); the role comes after.
  await page.goto(`/a/${created.app_id}/login`);
  await signInOnHostedPage(page, 'root@example.com');
  await expect(page).toHaveURL(/\/account$/);
  await page.getByLabel('Name for a new passkey').fill('Laptop');
  await page.getByTestId('add-passkey').click();
  await expect(page.getByTestId('passkey-name')).toHaveText('Laptop');
  oneauth(['role', 'grant', '--app', created.app_id, '--email', 'root@example.com', 'admin']);

  const config = await oidc.discovery(
    new URL(created.issuer),
    created.client_id,
    { id_token_signed_response_alg: 'ES256' },
    oidc.None(),
    { execute: [oidc.allowInsecureRequests] },
  );
  const verifier = oidc.randomPKCECodeVerifier();
  const callback = await catchCallbacks(page);
  await page.goto(
    oidc.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'admin',
    }).href,
  );
  // Signed in with a password only: no code yet, a passkey step-up instead.
  await expect(page.getByTestId('step-up-title')).toHaveText('A passkey is required');
  await expectHydrated(page);
  await page.screenshot({ path: path.join(screenshotDir, 'step-up-desktop.png'), fullPage: true });
  await page.getByTestId('passkey-sign-in').click();
  await expect.poll(callback).toContain('code=');
  const tokens = await oidc.authorizationCodeGrant(config, new URL(callback()!), {
    pkceCodeVerifier: verifier,
    expectedState: 'admin',
  });
  const claims = tokens.claims()!;
  expect(claims.acr).toBe('phr');
  expect(claims.amr).toContain('hwk');
  const access = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url').toString());
  expect(access.roles).toEqual(['admin']);
});

test('a request with an unregistered redirect URI gets an error page, not a redirect', async ({ page }) => {
  const created = createOidcApp();
  const response = await page.goto(
    `/a/${created.app_id}/oauth/authorize?response_type=code&client_id=${created.client_id}` +
      `&redirect_uri=${encodeURIComponent('https://evil.example/cb')}&scope=openid`,
  );
  expect(response?.status()).toBe(400);
  await expect(page).toHaveURL(/\/oauth\/authorize/);
  await expect(page.getByTestId('oauth-error')).toContainText('not registered');
  await page.screenshot({ path: path.join(screenshotDir, 'oauth-error-desktop.png'), fullPage: true });
});

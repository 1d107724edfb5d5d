import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { expect, type Page } from '@playwright/test';

const root = path.join(__dirname, '..', '..');
const databaseUrl =
  process.env.ONEAUTH_E2E_DATABASE_URL ?? `sqlite://${path.join(root, 'end2end', '.artifacts', 'db', 'e2e.db')}?mode=rwc`;
const masterKeyFile = process.env.ONEAUTH_MASTER_KEY_FILE ?? path.join(root, 'end2end', '.artifacts', 'db', 'master.key');
export const publicUrl = `http://localhost:${process.env.ONEAUTH_E2E_PORT ?? 3210}`;
const bin =
  process.env.ONEAUTH_BIN ??
  path.join(process.env.CARGO_TARGET_DIR ?? path.join(process.env.HOME ?? '', '.cache', 'oneauth-target'), 'debug', 'oneauth');

/** Run the real `oneauth` CLI against the server's database. */
export function oneauth(args: string[], input?: string): string {
  return execFileSync(bin, args, {
    env: {
      ...process.env,
      ONEAUTH_DATABASE_URL: databaseUrl,
      ONEAUTH_MASTER_KEY_FILE: masterKeyFile,
      ONEAUTH_PUBLIC_URL: publicUrl,
      ONEAUTH_LOG: 'warn',
    },
    input,
    encoding: 'utf8',
  });
}

/**
 * Run one SQL statement on the server's database, for what a test cannot
 * wait for (time passing). SQLite through Python's built-in module, so no
 * extra package is needed; PostgreSQL through psql.
 */
export function databaseSql(statement: string) {
  if (databaseUrl.startsWith('postgres')) {
    execFileSync('psql', ['-q', '-v', 'ON_ERROR_STOP=1', databaseUrl, '-c', statement]);
  } else {
    const file = databaseUrl.replace(/^sqlite:\/\//, '').replace(/\?.*$/, '');
    execFileSync('python3', [
      '-c',
      'import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute(sys.argv[2]); db.commit()',
      file,
      statement,
    ]);
  }
}

const maildev = `http://127.0.0.1:${process.env.ONEAUTH_E2E_MAILDEV_PORT ?? 3280}`;

/** A message as maildev received it. */
export type ReceivedMail = { subject: string; text: string; html: string; to: { address: string }[]; headers: Record<string, string> };

/** The newest message maildev received for `to` (optionally with a subject containing `subject`), once it arrived. */
export async function receivedMail(to: string, subject = ''): Promise<ReceivedMail> {
  let found: ReceivedMail | undefined;
  await expect
    .poll(
      async () => {
        const all: ReceivedMail[] = await (await fetch(`${maildev}/email`)).json();
        found = all.filter((m) => m.to.some((r) => r.address === to) && m.subject.includes(subject)).pop();
        return found !== undefined;
      },
      { timeout: 15_000, message: `a message to ${to}` },
    )
    .toBe(true);
  return found!;
}

/** The first link of a message's plain text that starts with `prefix`. */
export function linkIn(mail: ReceivedMail, prefix: string): string {
  const link = mail.text.split(/\s+/).find((word) => word.startsWith(prefix));
  if (!link) throw new Error(`no link starting ${prefix} in: ${mail.text}`);
  return link;
}

/** A fresh app with a unique id, created through the CLI. */
export function createApp(
  name: string,
  options: { prefix?: string; selfRegistration?: boolean } = {},
): { app_id: string; client_id: string } {
  const id = `${options.prefix ?? 'app'}-${Math.random().toString(36).slice(2, 8)}`;
  const args = ['app', 'create', id, '--name', name, '--redirect-uri', 'http://localhost:5173/cb'];
  if (options.selfRegistration) args.push('--self-registration');
  return JSON.parse(oneauth(args));
}

/** A user with a password, created through the CLI. */
export function createUser(appId: string, email: string, password: string) {
  oneauth(['user', 'create', '--app', appId, '--email', email, '--password-stdin'], `${password}\n`);
}

/** A platform passkey authenticator with user verification, via the Chrome DevTools Protocol. */
export async function addVirtualAuthenticator(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    cdp,
    authenticatorId,
    credentials: async () =>
      (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
  };
}

/** Wait until the WASM app has hydrated the server-rendered page. */
export async function expectHydrated(page: Page) {
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
}

/**
 * Collect uncaught errors and console errors (hydration mismatches land
 * there). Chrome also logs every 4xx answer of a server function as "Failed
 * to load resource"; those are expected refusals, shown on the page.
 */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource: the server responded with a status of 4')) {
      errors.push(msg.text());
    }
  });
  return errors;
}

/**
 * Record every Content-Security-Policy violation the page reports, from its
 * first script on; the returned function reads them.
 */
export async function watchCsp(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(() => {
    (window as any).__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as any).__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return () => page.evaluate(() => (window as any).__cspViolations as string[]);
}

/** Move every sign-in an hour and more into the past (each factor's time too). */
export function ageSignIns() {
  const longAgo = "'2000-01-01T00:00:00+00:00'";
  databaseSql(`UPDATE signin_session SET auth_time = ${longAgo}`);
  for (const column of ['password_at', 'passkey_at', 'recovery_at']) {
    databaseSql(`UPDATE signin_session SET ${column} = ${longAgo} WHERE ${column} IS NOT NULL`);
  }
}

/**
 * Chrome's virtual authenticator answers a conditional (autofill) passkey
 * request at once, where a person would have to pick the passkey. Tests that
 * want to stay on the sign-in page turn conditional mediation off.
 */
export async function withoutPasskeyAutofill(page: Page) {
  await page.addInitScript(() => {
    if (sessionStorage.getItem('e2e-no-autofill') === '1' && window.PublicKeyCredential) {
      (PublicKeyCredential as any).isConditionalMediationAvailable = async () => false;
    }
  });
  await page.goto('/healthz');
  await page.evaluate(() => sessionStorage.setItem('e2e-no-autofill', '1'));
}

export async function allowPasskeyAutofill(page: Page) {
  await page.evaluate(() => sessionStorage.removeItem('e2e-no-autofill'));
}

export const screenshotDir = path.join(root, 'end2end', '.artifacts', 'screenshots');

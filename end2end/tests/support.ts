import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { expect, type Page } from '@playwright/test';

const root = path.join(__dirname, '..', '..');
const databaseUrl = `sqlite://${path.join(root, 'end2end', '.artifacts', 'db', 'e2e.db')}?mode=rwc`;
const bin =
  process.env.ONEAUTH_BIN ??
  path.join(process.env.CARGO_TARGET_DIR ?? path.join(process.env.HOME ?? '', '.cache', 'oneauth-target'), 'debug', 'oneauth');

/** Run the real `oneauth` CLI against the server's database. */
export function oneauth(args: string[], input?: string): string {
  return execFileSync(bin, args, {
    env: { ...process.env, ONEAUTH_DATABASE_URL: databaseUrl, ONEAUTH_LOG: 'warn' },
    input,
    encoding: 'utf8',
  });
}

/** A fresh app with a unique id, created through the CLI. */
export function createApp(name: string, prefix = 'app'): { app_id: string; client_id: string } {
  const id = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
  return JSON.parse(
    oneauth(['app', 'create', id, '--name', name, '--redirect-uri', 'http://localhost:5173/cb']),
  );
}

/** Wait until the WASM app has hydrated the server-rendered page. */
export async function expectHydrated(page: Page) {
  await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
}

/** Collect uncaught errors and console errors (hydration mismatches land there). */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  return errors;
}

export const screenshotDir = path.join(root, 'end2end', '.artifacts', 'screenshots');

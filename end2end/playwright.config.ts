import { defineConfig } from '@playwright/test';
import * as path from 'node:path';

// The suite drives Debian's Chromium (never a downloaded browser) against the
// real `oneauth serve`, started here on a fresh SQLite database.
// localhost (not 127.0.0.1) is a secure context and a valid WebAuthn RP id.
const port = Number(process.env.ONEAUTH_E2E_PORT ?? 3210);
export const baseURL = `http://localhost:${port}`;
// The mail catcher the server delivers to (maildev: SMTP, and a REST API the
// tests read the received messages from).
const smtpPort = Number(process.env.ONEAUTH_E2E_SMTP_PORT ?? 3225);
const maildevPort = Number(process.env.ONEAUTH_E2E_MAILDEV_PORT ?? 3280);
process.env.ONEAUTH_E2E_SMTP_PORT = String(smtpPort);
process.env.ONEAUTH_E2E_MAILDEV_PORT = String(maildevPort);
const artifacts = path.join(__dirname, '.artifacts');
// The upstream identity provider (oidc-provider) the federation tests sign
// in through.
const opPort = Number(process.env.ONEAUTH_E2E_OP_PORT ?? 3400);
process.env.ONEAUTH_E2E_OP_PORT = String(opPort);
// The server and the tests' CLI calls share one database and master key.
// scripts/test.sh runs the suite once on SQLite and once on PostgreSQL.
process.env.ONEAUTH_E2E_DATABASE_URL ??= `sqlite://${artifacts}/db/e2e.db?mode=rwc`;
process.env.ONEAUTH_MASTER_KEY_FILE ??= path.join(artifacts, 'db', 'master.key');

export default defineConfig({
  testDir: './tests',
  globalTeardown: './server-log.teardown.ts',
  outputDir: path.join(artifacts, 'test-results'),
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  timeout: 30_000,
  use: {
    baseURL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: [
    {
      command: `${path.join(__dirname, '..', 'node_modules', '.bin', 'maildev')} --ip 127.0.0.1 --smtp ${smtpPort} --web ${maildevPort} --silent`,
      url: `http://127.0.0.1:${maildevPort}/email`,
      timeout: 30_000,
      reuseExistingServer: false,
    },
    {
      command: `node ${path.join(__dirname, 'upstream-op.mjs')}`,
      url: `http://127.0.0.1:${opPort}/test/ready`,
      timeout: 30_000,
      reuseExistingServer: false,
      stderr: 'pipe',
      env: {
        ONEAUTH_E2E_OP_PORT: String(opPort),
        ONEAUTH_E2E_PUBLIC_URL: baseURL,
      },
    },
    {
      command: `bash ${path.join(__dirname, 'serve-for-tests.sh')}`,
      url: `${baseURL}/readyz`,
      timeout: 60_000,
      reuseExistingServer: false,
      stdout: 'pipe',
      stderr: 'pipe',
      env: {
        ONEAUTH_E2E_PORT: String(port),
        ONEAUTH_E2E_SMTP_PORT: String(smtpPort),
        ONEAUTH_E2E_DATABASE_URL: process.env.ONEAUTH_E2E_DATABASE_URL,
        ONEAUTH_MASTER_KEY_FILE: process.env.ONEAUTH_MASTER_KEY_FILE,
      },
    },
  ],
});

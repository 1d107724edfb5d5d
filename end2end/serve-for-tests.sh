#!/usr/bin/env bash
# Started by Playwright: the built server on a fresh SQLite database.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
artifacts="$root/end2end/.artifacts"
rm -rf "$artifacts/db" && mkdir -p "$artifacts/db"
port="${ONEAUTH_E2E_PORT:-3210}"
# A fresh SQLite file by default; scripts/test.sh passes a fresh PostgreSQL
# database for the second run.
export ONEAUTH_DATABASE_URL="${ONEAUTH_E2E_DATABASE_URL:-sqlite://$artifacts/db/e2e.db?mode=rwc}"
export ONEAUTH_MASTER_KEY_FILE="${ONEAUTH_MASTER_KEY_FILE:-$artifacts/db/master.key}"
export ONEAUTH_BIND="127.0.0.1:$port"
export ONEAUTH_PUBLIC_URL="http://localhost:$port"
export LEPTOS_SITE_ROOT="$root/target/site"
# Mail goes to the maildev catcher Playwright starts beside the server.
export ONEAUTH_SMTP_URL="smtp://127.0.0.1:${ONEAUTH_E2E_SMTP_PORT:-3225}?security=none"
export ONEAUTH_SMTP_POLL_MS=200
# The upstream identity provider of the federation tests runs on loopback.
export ONEAUTH_ALLOW_PRIVATE_UPSTREAMS=on
# Its log is kept for the check after the run (server-log.teardown.ts): a
# test can pass while the server logged an error behind the page.
exec > >(tee "$artifacts/server.log") 2>&1
exec "${ONEAUTH_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/oneauth-target}/debug/oneauth}" serve

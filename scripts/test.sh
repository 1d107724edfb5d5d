#!/usr/bin/env bash
# README command 2: install what is missing, then run every test:
#   1. formatting, clippy, and unit + integration tests on SQLite, whose
#      servers log at debug level into a file that is then scanned for
#      secrets (scripts/scan-logs.py),
#   2. the integration tests again on a real PostgreSQL (started here),
#      with the PostgreSQL-only ones: an outage of a private cluster, and
#      three servers behind HAProxy (installed from Debian when missing),
#   3. the Playwright suite (hosted pages, passkeys, the openid-client
#      interop suite) in Debian's Chromium against the built app, once on
#      SQLite and once on PostgreSQL.
# Any failure stops the run with a non-zero exit; nothing is skipped silently.

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup.sh

PG_ADMIN_URL="${ONEAUTH_TEST_POSTGRES_URL:-postgres://oneauth:oneauth@127.0.0.1:5432/postgres}"

start_postgres() {
    if ! command -v pg_lsclusters >/dev/null; then
        say "PostgreSQL is not installed; installing it from Debian"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
    fi
    local cluster
    cluster="$(pg_lsclusters --no-header | awk 'NR==1 { print $1 " " $2 }')"
    if [ -z "$cluster" ]; then
        echo "no PostgreSQL cluster found (pg_lsclusters is empty)" >&2
        return 1
    fi
    if ! pg_lsclusters --no-header | awk 'NR==1 { exit ($4 == "online") ? 0 : 1 }'; then
        say "starting PostgreSQL cluster $cluster"
        as_root pg_ctlcluster $cluster start
    fi
    as_root su postgres -c "psql -q -c \"CREATE ROLE oneauth LOGIN SUPERUSER PASSWORD 'oneauth'\"" 2>/dev/null || true
    # Throw away the databases of earlier runs.
    as_root su postgres -c "psql -At -c \"SELECT datname FROM pg_database WHERE datname LIKE 'oneauth_test_%' OR datname LIKE 'oneauth_e2e_%'\"" |
        while read -r db; do
            as_root su postgres -c "psql -q -c 'DROP DATABASE IF EXISTS \"$db\"'" >/dev/null
        done
}

# The warm target directory grows with every build (stale test binaries of
# half a gigabyte each, incremental state); when the disk runs low, drop what
# is cheap to rebuild before linking more. Dependencies stay.
free_disk_if_low() {
    mkdir -p "$CARGO_TARGET_DIR"
    local free_gb
    free_gb="$(df -Pk "$CARGO_TARGET_DIR" | awk 'NR == 2 { print int($4 / 1048576) }')"
    if [ "$free_gb" -lt "${ONEAUTH_MIN_FREE_GB:-20}" ]; then
        say "only $free_gb GB free: removing incremental state and test binaries older than a day"
        rm -rf "$CARGO_TARGET_DIR/debug/incremental"
        # Test binaries have no extension; proc-macro libraries (.so) stay.
        find "$CARGO_TARGET_DIR/debug/deps" -maxdepth 1 -type f -executable \
            -name '*-*' ! -name '*.*' -mtime +0 -delete 2>/dev/null || true
    fi
}
free_disk_if_low

say "checking formatting"
cargo fmt --all -- --check

say "lints (clippy, warnings are errors)"
cargo clippy --all-targets --features ssr -- -D warnings

# The integration tests mostly wait (HTTP round trips, the database, the
# time-outs some of them test), so four run at a time even on two cores.
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-4}"

say "unit and integration tests on SQLite (servers logging at debug level)"
scan_log="$(mktemp -d)/servers.log"
ONEAUTH_TEST_BACKEND=sqlite ONEAUTH_TEST_LOG_FILE="$scan_log" \
    cargo test --features ssr --workspace

say "no secret in the servers' log lines"
python3 scripts/scan-logs.py --self-test
python3 scripts/scan-logs.py "$scan_log"

say "integration tests on PostgreSQL (and three servers behind HAProxy)"
start_postgres
if [ ! -x /usr/sbin/haproxy ]; then
    say "HAProxy is not installed; installing it from Debian (the scale-out test's balancer)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy
fi
ONEAUTH_TEST_BACKEND=postgres ONEAUTH_TEST_POSTGRES_URL="$PG_ADMIN_URL" \
    cargo test --features ssr --tests

say "building the app for the browser tests"
# Split like scripts/serve.sh builds it, so the browser tests load the
# console's lazily fetched chunks too.
cargo leptos build --split

export ONEAUTH_BIN="$CARGO_TARGET_DIR/debug/oneauth"
say "browser tests on SQLite (Playwright, Debian Chromium)"
npx playwright test -c end2end/playwright.config.ts

say "browser tests on PostgreSQL"
e2e_db="oneauth_e2e_$$"
as_root su postgres -c "psql -q -c 'CREATE DATABASE $e2e_db OWNER oneauth'"
ONEAUTH_E2E_DATABASE_URL="${PG_ADMIN_URL%/*}/$e2e_db" \
    npx playwright test -c end2end/playwright.config.ts

say "all tests passed"

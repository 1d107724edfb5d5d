#!/usr/bin/env bash
# README command 1: install what is missing, build 1Auth (server + hydrated
# front end) and serve it on the embedded SQLite default,
# http://127.0.0.1:3000, with the database in data/oneauth.db.
#
#   scripts/serve.sh                 # debug build
#   ONEAUTH_RELEASE=1 scripts/serve.sh   # optimised build (slower to compile)
#
# Settings come from the environment (see the README's configuration table).

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup.sh

profile=debug
build_args=()
if [ "${ONEAUTH_RELEASE:-0}" = 1 ]; then
    profile=release
    build_args+=(--release)
fi

say "building 1Auth ($profile)"
# --split: the console's and the other pages' code become WASM chunks of
# their own, so the sign-in page loads only what it needs.
cargo leptos build --split "${build_args[@]}"

export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
say "serving on ${ONEAUTH_PUBLIC_URL:-http://${ONEAUTH_BIND:-127.0.0.1:3000}}"
exec "$CARGO_TARGET_DIR/$profile/oneauth" serve "$@"

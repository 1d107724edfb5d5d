#!/usr/bin/env bash
# Installs what 1Auth needs to build, serve and test on a fresh Debian machine
# with Rust 1.95, Node and npm. Idempotent: each step is skipped when its tool
# is already there, so a warm machine passes through in seconds.
#
# Everything comes from crates.io, npm or Debian: cargo-leptos would otherwise
# download wasm-bindgen, Tailwind and wasm-opt from GitHub, which these
# machines cannot reach, so all three are put on PATH first.
#
# Source it (`. scripts/setup.sh`) to get PATH and CARGO_TARGET_DIR set.

set -euo pipefail

ONEAUTH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_LEPTOS_VERSION=0.3.10 # 0.3.11 needs rustc 1.96+
# One warm target directory outside the checkout, shared by every clone (CI
# runs in a fresh clone each time).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/oneauth-target}"
export PATH="$ONEAUTH_ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
wasm_bindgen_version() {
    awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' \
        "$ONEAUTH_ROOT/Cargo.lock"
}

for component in rustfmt clippy; do
    if ! rustup component list --installed | grep -q "^$component"; then
        say "adding the $component component"
        rustup component add "$component"
    fi
done
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 15 minutes on 2 cores)"
    cargo install --locked cargo-leptos --version "$CARGO_LEPTOS_VERSION"
fi

WASM_BINDGEN_VERSION="$(wasm_bindgen_version)"
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 4 minutes)"
    # No --locked: its lock file pins a webpki-roots the registry no longer serves.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# npm: Tailwind, wasm-opt (binaryen), Playwright and the OIDC interop peers.
stamp="$ONEAUTH_ROOT/node_modules/.oneauth-installed"
if [ ! -f "$stamp" ] || [ "$ONEAUTH_ROOT/package-lock.json" -nt "$stamp" ]; then
    say "installing npm packages"
    (cd "$ONEAUTH_ROOT" && npm ci --no-audit --no-fund)
    touch "$stamp"
fi

# Python's aiosmtpd for the integration tests' SMTP server, in a virtual
# environment beside the target directory (PyPI only), so no system Python
# package is touched.
export ONEAUTH_TEST_PYTHON="${ONEAUTH_TEST_PYTHON:-$HOME/.cache/oneauth-venv/bin/python}"
if ! "$ONEAUTH_TEST_PYTHON" -c 'import aiosmtpd' 2>/dev/null; then
    say "installing aiosmtpd (the tests' SMTP server) into $(dirname "$(dirname "$ONEAUTH_TEST_PYTHON")")"
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
    fi
    python3 -m venv "$(dirname "$(dirname "$ONEAUTH_TEST_PYTHON")")"
    "$ONEAUTH_TEST_PYTHON" -m pip install -q --disable-pip-version-check aiosmtpd==1.4.6
fi

# Debian's Chromium for the browser tests (never `npx playwright install`,
# which downloads a browser from a CDN).
if [ ! -x /usr/bin/chromium ]; then
    say "installing Chromium from Debian"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

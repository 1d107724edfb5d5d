// The stateful workloads of the side-by-side benchmark (scripts/bench.sh),
// against 1Auth or oidc-provider: refresh-token chains and full sign-in
// flows (sign-in, authorization, code exchange), plus the seeding the wrk
// workloads need (an access token to introspect) and the time to first
// byte of a page. Prints one JSON object per run on stdout.
//
//   node load.mjs chains --target oneauth|op --base URL --n 64 --seconds 10
//   node load.mjs flows  --target oneauth|op --base URL --n 8  --seconds 10
//   node load.mjs token  --target oneauth|op --base URL     (an access token)
//   node load.mjs ttfb   --base URL --path /a/bench/login --n 200
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';

const args = Object.fromEntries(
  process.argv
    .slice(3)
    .reduce((pairs, arg, i, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
const mode = process.argv[2];
const target = args.target ?? 'oneauth';
const base = args.base;
const seconds = Number(args.seconds ?? 10);
const warmup = Number(args.warmup ?? 2);
const n = Number(args.n ?? 1);
const REDIRECT = 'http://localhost:5173/cb';
const PASSWORD = 'correct horse battery staple';

const agent = new Agent({ connections: Math.max(n, 8) * 2, pipelining: 1, keepAliveTimeout: 30_000 });

/** One HTTP exchange: status, headers, body text. */
async function http(method, url, { headers = {}, body } = {}) {
  const response = await request(new URL(url, base), { method, headers, body, dispatcher: agent });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

function form(fields) {
  return new URLSearchParams(fields).toString();
}

/** A cookie jar for one browser on one origin. */
class Jar {
  constructor() {
    this.cookies = new Map();
  }
  take(headers) {
    const set = headers['set-cookie'];
    for (const line of Array.isArray(set) ? set : set ? [set] : []) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      this.cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
  }
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

function param(location, name) {
  return new URL(location, base).searchParams.get(name);
}

const STALL_MS = 5000;
const PERCENTILE = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

// ---------------------------------------------------------------------------
// 1Auth: app "bench" and its confidential client (--client, --secret), users
// user{i}@bench.example with the password above.

/** The client's credentials on a token request: Basic, as a confidential client sends them. */
function clientAuth() {
  return { authorization: `Basic ${Buffer.from(`${args.client}:${args.secret}`).toString('base64')}` };
}

let signInPath;
async function oneauthSignInPath() {
  if (!signInPath) {
    const page = await http('GET', '/a/bench/login');
    // The password form posts to the sign-in server function.
    signInPath = /<form[^>]*action="([^"]+)"[^>]*data-testid="password-form"/.exec(page.text)?.[1]
      ?? /action="(\/api\/sign_in_with_password[^"]*)"/.exec(page.text)?.[1];
    if (!signInPath) throw new Error('no sign-in form on /a/bench/login');
  }
  return signInPath;
}

async function oneauthFlow(user) {
  const jar = new Jar();
  const { verifier, challenge } = pkce();
  const authorize = `/a/bench/oauth/authorize?${form({
    response_type: 'code',
    client_id: args.client,
    redirect_uri: REDIRECT,
    scope: 'openid',
    state: 'bench',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })}`;
  const first = await http('GET', authorize);
  if (first.status !== 302) throw new Error(`authorize: ${first.status}`);
  const signIn = await http('POST', await oneauthSignInPath(), {
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      origin: base,
      'sec-fetch-site': 'same-origin',
    },
    body: form({ app_id: 'bench', email: `user${user}@bench.example`, password: PASSWORD, return_to: authorize }),
  });
  if (signIn.status !== 200) throw new Error(`sign-in: ${signIn.status} ${signIn.text.slice(0, 200)}`);
  jar.take(signIn.headers);
  const second = await http('GET', authorize, { headers: { cookie: jar.header() } });
  const location = second.headers.location ?? '';
  const code = second.status === 302 ? param(location, 'code') : null;
  if (!code) throw new Error(`authorize after sign-in: ${second.status} ${location}`);
  const token = await http('POST', '/a/bench/oauth/token', {
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...clientAuth() },
    body: form({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }),
  });
  if (token.status !== 200) throw new Error(`token: ${token.status} ${token.text}`);
  return JSON.parse(token.text);
}

async function oneauthRefresh(refreshToken) {
  return http('POST', '/a/bench/oauth/token', {
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...clientAuth() },
    body: form({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  });
}

// ---------------------------------------------------------------------------
// oidc-provider (op.mjs): devInteractions sign-in, client bench-public.

async function opFlow(user) {
  const jar = new Jar();
  const { verifier, challenge } = pkce();
  const first = await http('GET', `/auth?${form({
    response_type: 'code',
    client_id: 'bench-public',
    redirect_uri: REDIRECT,
    scope: 'openid offline_access',
    state: 'bench',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })}`);
  jar.take(first.headers);
  const interaction = first.headers.location;
  if (!interaction) throw new Error(`auth: ${first.status}`);
  const login = await http('POST', interaction, {
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
    body: form({ prompt: 'login', login: `user${user}`, password: PASSWORD }),
  });
  jar.take(login.headers);
  let location = login.headers.location;
  for (let hop = 0; hop < 5 && location && !location.startsWith(REDIRECT); hop++) {
    const next = await http('GET', location, { headers: { cookie: jar.header() } });
    jar.take(next.headers);
    location = next.headers.location;
  }
  const code = location?.startsWith(REDIRECT) ? param(location, 'code') : null;
  if (!code) throw new Error(`no code: ${location}`);
  const token = await http('POST', '/token', {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: 'bench-public' }),
  });
  if (token.status !== 200) throw new Error(`token: ${token.status} ${token.text}`);
  return JSON.parse(token.text);
}

async function opRefresh(refreshToken) {
  return http('POST', '/token', {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'bench-public' }),
  });
}

const flow = target === 'op' ? opFlow : oneauthFlow;
const refresh = target === 'op' ? opRefresh : oneauthRefresh;

// ---------------------------------------------------------------------------

/** Run `step` in `n` concurrent loops; count and time what ends inside the window. */
async function measure(n, step, { stopOnError = false } = {}) {
  const start = performance.now();
  const measureFrom = start + warmup * 1000;
  const end = measureFrom + seconds * 1000;
  const latencies = [];
  let ok = 0;
  let errors = 0;
  let dead = 0;
  const messages = new Map();
  // This process's own CPU inside the window: it shares the cores with the
  // server, so it bounds what any server can reach here.
  let cpuFrom = null;
  let cpuTo = null;
  const cpuStart = setTimeout(() => (cpuFrom = process.cpuUsage()), measureFrom - start);
  const cpuEnd = setTimeout(() => (cpuTo = process.cpuUsage(cpuFrom ?? undefined)), end - start);
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const state = { i };
      while (performance.now() < end) {
        const t0 = performance.now();
        let failed = null;
        try {
          await step(state);
        } catch (err) {
          failed = err;
        }
        const t1 = performance.now();
        // A request that stalls for seconds is an error even when it ends
        // after the window (a server that hangs must not score zero errors).
        if (!failed && t0 >= measureFrom && t1 - t0 > STALL_MS) {
          failed = new Error(`stalled for more than ${STALL_MS / 1000} s`);
        }
        if (t0 >= measureFrom && (t1 <= end || t1 - t0 > STALL_MS)) {
          if (failed) {
            errors++;
            messages.set(String(failed.message).slice(0, 120), (messages.get(String(failed.message).slice(0, 120)) ?? 0) + 1);
          } else {
            ok++;
            latencies.push(t1 - t0);
          }
        }
        if (failed && stopOnError) {
          dead++;
          return;
        }
      }
    }),
  );
  clearTimeout(cpuStart);
  clearTimeout(cpuEnd);
  const cpu = cpuTo && cpuFrom ? cpuTo : process.cpuUsage(cpuFrom ?? undefined);
  latencies.sort((a, b) => a - b);
  return {
    client_cpu_ms_per_op: ok ? (cpu.user + cpu.system) / 1000 / ok : null,
    ok,
    errors,
    dead,
    rps: ok / seconds,
    p50: PERCENTILE(latencies, 50),
    p99: PERCENTILE(latencies, 99),
    messages: Object.fromEntries(messages),
  };
}

async function main() {
  if (mode === 'token') {
    const tokens = await flow(0);
    process.stdout.write(tokens.access_token);
    return;
  }
  if (mode === 'chains') {
    // One chain per loop, seeded a few at a time (sign-ins are argon2-bound).
    // A chain that cannot be seeded (a server that fails under its own
    // seeding) counts as dead from the start.
    const chains = [];
    let unseeded = 0;
    const seed = async (user) => {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          return (await flow(user)).refresh_token;
        } catch (err) {
          console.error(`seeding: ${err.message}`);
        }
      }
      unseeded++;
      return null;
    };
    for (let i = 0; i < n; i += 4) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(4, n - i) }, (_, j) => seed((i + j) % Number(args.users ?? 64))),
      );
      chains.push(...batch);
    }
    const result = await measure(
      n,
      async (state) => {
        if (chains[state.i] === null) throw new Error('chain could not be seeded');
        const response = await refresh(chains[state.i]);
        if (response.status !== 200) throw new Error(`refresh ${response.status}: ${response.text.slice(0, 100)}`);
        chains[state.i] = JSON.parse(response.text).refresh_token;
      },
      { stopOnError: true },
    );
    console.log(JSON.stringify({ mode, target, n, ...result, unseeded }));
    return;
  }
  if (mode === 'flows') {
    const result = await measure(n, async (state) => {
      await flow(state.i % Number(args.users ?? 64));
    });
    console.log(JSON.stringify({ mode, target, n, ...result }));
    return;
  }
  if (mode === 'ttfb') {
    const times = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const response = await request(new URL(args.path, base), { dispatcher: agent });
      // Time to the first byte of the body.
      for await (const _ of response.body) {
        times.push(performance.now() - t0);
        break;
      }
      await response.body.dump().catch(() => {});
    }
    times.sort((a, b) => a - b);
    console.log(JSON.stringify({ mode, n, p50: PERCENTILE(times, 50), p99: PERCENTILE(times, 99) }));
    return;
  }
  throw new Error(`unknown mode ${mode}`);
}

main()
  .then(() => agent.close())
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });

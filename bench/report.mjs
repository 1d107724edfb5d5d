// Prints the benchmark table from the JSON lines scripts/bench.sh collected:
// one row per workload and concurrency, one column per server.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

// A cell measured more than once (BENCH_TARGETS repeating a target, say
// "sqlite postgres op op postgres sqlite", so that the VM's slow and fast
// spells fall on every server alike) is reported as the mean of its runs,
// with every error and dead chain of every run.
const lines = readFileSync(process.argv[2], 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line));
const measured = lines.filter((r) => r.unit !== 'hash_ms');
const runsOf = new Map();
for (const r of measured) {
  const key = `${r.server}|${r.workload}|${r.conc}`;
  runsOf.set(key, [...(runsOf.get(key) ?? []), r]);
}
const mean = (runs, field) => runs.reduce((sum, r) => sum + (r[field] ?? 0), 0) / runs.length;
const rows = [...runsOf.values()].map((runs) =>
  runs.length === 1
    ? runs[0]
    : {
        ...runs[0],
        rps: mean(runs, 'rps'),
        p50: mean(runs, 'p50'),
        p99: mean(runs, 'p99'),
        client_cpu_ms_per_op: mean(runs, 'client_cpu_ms_per_op'),
        errors: runs.reduce((sum, r) => sum + (r.errors ?? 0), 0),
        dead: runs.reduce((sum, r) => sum + (r.dead ?? 0), 0),
        runs: runs.length,
      },
);
const rounds = Math.max(...rows.map((r) => r.runs ?? 1));
if (rounds > 1) console.log(`Each cell is the mean of ${rounds} runs (errors and dead chains: the sum of all runs).\n`);
const servers = ['oneauth-sqlite', 'oneauth-postgres', 'op'];
const names = { 'oneauth-sqlite': '1Auth SQLite', 'oneauth-postgres': '1Auth PostgreSQL', op: 'oidc-provider' };
const keys = [...new Map(rows.map((r) => [`${r.workload}|${r.conc}`, r])).values()];
const cell = (r) => {
  if (!r) return '–';
  const rate = r.unit === 'ms' ? `p50 ${r.p50.toFixed(2)} ms` : `${Math.round(r.rps).toLocaleString('en')}/s`;
  const tail = r.unit === 'ms' ? '' : `, p99 ${r.p99 < 10 ? r.p99.toFixed(1) : Math.round(r.p99)} ms`;
  const problems = [r.errors > 0 && `${r.errors} errors`, r.dead > 0 && `${r.dead} dead chains`].filter(Boolean);
  const errors = problems.length ? ` **⚠ ${problems.join(', ')}**` : '';
  return `${rate}${tail}${errors}`;
};
const find = (key, server) => rows.find((r) => `${r.workload}|${r.conc}` === `${key.workload}|${key.conc}` && r.server === server);
console.log(`| workload | conc | ${servers.map((s) => names[s]).join(' | ')} | 1Auth SQLite ÷ oidc-provider | 1Auth PostgreSQL ÷ oidc-provider |`);
console.log(`|---|---:|${servers.map(() => '---:').join('|')}|---:|---:|`);
for (const key of keys) {
  const [sqlite, postgres, op] = servers.map((s) => find(key, s));
  const ratio = (r) => (r && op && r.unit !== 'ms' && op.rps > 0 ? `${(r.rps / op.rps).toFixed(2)}×` : '–');
  console.log(`| ${key.workload} | ${key.conc} | ${cell(sqlite)} | ${cell(postgres)} | ${cell(op)} | ${ratio(sqlite)} | ${ratio(postgres)} |`);
}

// The argon2id limit the sign-in flows are judged by (benches/password_hash).
const argon2 = process.argv[3] ? JSON.parse(process.argv[3]) : null;
if (argon2) {
  console.log();
  console.log(
    `argon2id (19 MiB, t=2, p=1): one hash ${argon2.hash_ms} ms on an idle core; ${argon2.cores} cores ÷ one hash = ${argon2.cores_over_hash_per_s}/s; all cores hashing at once: ${argon2.all_cores_hashing_per_s}/s.`,
  );
  for (const server of ['oneauth-sqlite', 'oneauth-postgres']) {
    const flows = rows.filter((r) => r.server === server && r.workload.startsWith('e)'));
    const shares = flows.map(
      (r) =>
        `${r.conc} at once ${Math.round((100 * r.rps) / argon2.cores_over_hash_per_s)} % of cores ÷ hash, ${Math.round((100 * r.rps) / argon2.all_cores_hashing_per_s)} % of all cores hashing`,
    );
    if (shares.length) console.log(`${names[server]} sign-in flows: ${shares.join('; ')}.`);
  }
  if (argon2.reference_hash_ms) {
    // Issue 10 names the limit by the reference hash ("one OWASP hash takes
    // about 24 ms here, so the limit is about 80 flows/s").
    const limit = (1000 * argon2.cores) / argon2.reference_hash_ms;
    console.log(
      `The C reference argon2id (argon2-cffi) takes ${argon2.reference_hash_ms} ms per hash here: ${argon2.cores} cores ÷ that hash = ${limit.toFixed(1)}/s, 90 % of it ${(0.9 * limit).toFixed(1)}/s.`,
    );
    for (const server of ['oneauth-sqlite', 'oneauth-postgres']) {
      const flows = rows.filter((r) => r.server === server && r.workload.startsWith('e)'));
      const shares = flows.map((r) => `${r.conc} at once ${Math.round((100 * r.rps) / limit)} %`);
      if (shares.length) console.log(`${names[server]} sign-in flows against that limit: ${shares.join('; ')}.`);
    }
  }
  // Each run's flows against the reference hash timed just before them
  // (scripts/bench.sh), so a slow or fast spell of the VM weighs on both.
  const sameSpell = new Map();
  const lastHash = new Map();
  for (const r of lines) {
    if (r.unit === 'hash_ms') lastHash.set(r.server, r);
    else if (r.workload.startsWith('e)') && lastHash.has(r.server)) {
      const reference = lastHash.get(r.server);
      const limit = (1000 * argon2.cores) / reference.hash_ms;
      const key = `${r.server}|${r.conc}`;
      sameSpell.set(key, [
        ...(sameSpell.get(key) ?? []),
        { share: r.rps / limit, hash: reference.hash_ms, allCores: reference.all_cores_per_s, rps: r.rps },
      ]);
    }
  }
  for (const server of ['oneauth-sqlite', 'oneauth-postgres']) {
    const cells = [...sameSpell].filter(([key]) => key.startsWith(`${server}|`));
    if (!cells.length) continue;
    const described = cells.map(([key, runs]) => {
      const shares = runs.map((r) => `${Math.round(100 * r.share)} %`).join(' and ');
      return `${key.split('|')[1]} at once ${shares}`;
    });
    const hashes = [...new Set(cells.flatMap(([, runs]) => runs.map((r) => r.hash)))].join(', ');
    console.log(
      `${names[server]} sign-in flows against the reference hash timed just before them in the same run (${hashes} ms): ${described.join('; ')}.`,
    );
    // The limit the reference itself reaches: all cores hashing at once,
    // timed in the same spell.
    if (cells.every(([, runs]) => runs.every((r) => r.allCores))) {
      const rates = [...new Set(cells.flatMap(([, runs]) => runs.map((r) => r.allCores)))].join(', ');
      const against = cells.map(([key, runs]) => {
        const shares = runs.map((r) => `${Math.round((100 * r.rps) / r.allCores)} %`).join(' and ');
        return `${key.split('|')[1]} at once ${shares}`;
      });
      console.log(
        `${names[server]} sign-in flows against the reference with all cores hashing, timed just before them (${rates}/s): ${against.join('; ')}.`,
      );
    }
  }
  // The load generator runs on the same cores: what it spends per flow no
  // server can spend on hashing. A server that did nothing but hash would
  // reach cores ÷ (one hash with all cores busy + the client's share).
  const clientCost = rows
    .filter((r) => r.server.startsWith('oneauth') && r.workload.startsWith('e)') && r.client_cpu_ms_per_op)
    .map((r) => r.client_cpu_ms_per_op);
  if (clientCost.length) {
    const client = clientCost.reduce((a, b) => a + b) / clientCost.length;
    const busyHashMs = (1000 * argon2.cores) / argon2.all_cores_hashing_per_s;
    const ceiling = (1000 * argon2.cores) / (busyHashMs + client);
    console.log(
      `The load generator spent ${client.toFixed(2)} ms of CPU per flow on these cores; with all cores hashing one hash costs ${busyHashMs.toFixed(1)} ms of a core, so a server doing nothing but hash would reach ${Math.round(ceiling)}/s here (${Math.round((100 * ceiling) / argon2.cores_over_hash_per_s)} % of cores ÷ hash).`,
    );
  }
}

// What a browser downloads for the front end: the WASM the sign-in page
// loads (the main module) and, for comparison, everything.
const pkg = process.argv[4];
if (pkg) {
  let files = [];
  try {
    files = readdirSync(pkg).filter((f) => f.endsWith('.wasm'));
  } catch {}
  const main = files.filter((f) => f.startsWith('oneauth'));
  const size = (f) => {
    const bytes = readFileSync(join(pkg, f));
    return {
      raw: bytes.length,
      gzip: gzipSync(bytes, { level: 9 }).length,
      br: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
    };
  };
  const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
  for (const f of main) {
    const s = size(f);
    console.log(`Sign-in page WASM (${f}): ${kib(s.raw)}, ${kib(s.gzip)} gzip, ${kib(s.br)} brotli.`);
  }
  const lazy = files.filter((f) => !f.startsWith('oneauth')).map(size);
  if (lazy.length) {
    const sum = (k) => lazy.reduce((t, s) => t + s[k], 0);
    console.log(`Chunks loaded on demand (console, account and other pages): ${lazy.length} files, ${kib(sum('raw'))}, ${kib(sum('gzip'))} gzip.`);
  }
}

// Prints the benchmark table from the JSON lines scripts/bench.sh collected:
// one row per workload and concurrency, one column per server.
import { readFileSync } from 'node:fs';

const rows = readFileSync(process.argv[2], 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line));
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

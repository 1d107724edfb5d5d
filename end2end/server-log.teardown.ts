import * as fs from 'node:fs';
import * as path from 'node:path';

// After the run: the server logged no error. A page can look right while a
// request behind it failed (a resource that lost its request, a 500 the
// page recovered from); the log is where that shows.
export default function checkServerLog() {
  const log = path.join(__dirname, '.artifacts', 'server.log');
  if (!fs.existsSync(log)) {
    throw new Error(`the server's log is missing: ${log}`);
  }
  const errors = fs
    .readFileSync(log, 'utf8')
    .split('\n')
    // Without the terminal colours the server may write.
    .map((line) => line.replace(/\x1b\[[0-9;]*m/g, ''))
    .filter((line) => / ERROR /.test(line));
  if (errors.length > 0) {
    throw new Error(`the server logged ${errors.length} error(s) during the run:\n${errors.join('\n')}`);
  }
}

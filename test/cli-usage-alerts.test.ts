// `cachier help` (and the usage printed after a wrong option) names the alert flags that
// `start` and `control` take, as the README's Alerts section lists them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/cachier.js', import.meta.url));

test('the usage lists --alert-interval, --smtp-url, --smtp-from, --dashboard-url and --alert-allow-private-targets for start and control', () => {
  const usage = execFileSync(process.execPath, [bin, 'help'], { encoding: 'utf8', timeout: 30_000 });
  for (const flag of ['--alert-interval S (60)', '--smtp-url smtp://user:pass@host:port', '--smtp-from ADDRESS', '--dashboard-url URL', '--alert-allow-private-targets']) {
    assert.ok(usage.includes(flag), `usage names ${flag}:\n${usage}`);
  }
  const start = usage.slice(usage.indexOf('cachier start'), usage.indexOf('cachier node'));
  const control = usage.slice(usage.indexOf('cachier control'), usage.indexOf('cachier cache create'));
  assert.match(start, /\[ALERTS\]/);
  assert.match(control, /\[ALERTS\]/);
});

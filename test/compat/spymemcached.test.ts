// spymemcached (Java): binary protocol + SASL PLAIN via PlainCallbackHandler.
// The client is compiled at test time; skipped without the jar or a JDK (failed under CI=true).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { clientScript, haveCommand, runJsonClient, show } from '../support/clients.ts';
import { skipUnlessCI } from '../support/required-tool.ts';
import { openTarget, serverLog, type Target } from '../support/target.ts';

const JAR = '/usr/share/java/spymemcached.jar';
const missing = skipUnlessCI(!fs.existsSync(JAR)
  ? `${JAR} missing (apt-get install libspymemcached-java)`
  : !haveCommand('javac') || !haveCommand('java')
    ? 'javac/java missing (a JDK is needed: apt-get install default-jdk-headless)'
    : undefined);

let target: Target | undefined;
let classDir: string | undefined;
before(async () => {
  if (missing) return;
  classDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cachier-spy-'));
  execFileSync('javac', ['-cp', JAR, '-d', classDir, clientScript('SpyClient.java')], { timeout: 120_000, stdio: 'pipe' });
  target = await openTarget();
});
after(async () => {
  await target?.stop();
  if (classDir) fs.rmSync(classDir, { recursive: true, force: true });
});

test('spymemcached (binary + SASL PLAIN): set, get, add, incr, delete', { timeout: 90_000, skip: missing }, async () => {
  const t = target!;
  const { result, stderr } = await runJsonClient('java', [
    '-cp', `${classDir}${path.delimiter}${JAR}`,
    'SpyClient', t.servers.join(','), t.username, t.password,
  ], { timeoutMs: 40_000 });
  assert.deepEqual(
    result,
    {
      set: true,
      get: 'hello',
      get_missing: null,
      add_existing: false,
      incr_default: 10, // missing counter takes the default
      incr: 15,
      delete: true,
      get_deleted: null,
    },
    `spymemcached observed:\n${show(result)}\nstderr (tail):\n${stderr.split('\n').slice(-20).join('\n')}${serverLog(t)}`,
  );
});

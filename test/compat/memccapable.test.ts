// memccapable (libmemcached-tools) runs its 27 ASCII and 27 binary conformance
// tests against one node. It cannot log in, so the cluster serves unauthenticated
// connections from a fresh cache (--anonymous-cache). memccapable FLUSHES the server.
//
// Output format (stdout): one line per test, the name padded to 40 columns, then
// "[pass]"; a failed test's name is followed (with -v) by the failed assertion
// "./src/bin/memcapable.cc:LINE: expr" lines, while "[FAIL]" and the summary
// "N of M tests failed" go to stderr. "All tests passed" ends a clean run; the
// exit status is 0 only then.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { haveCommand } from '../support/clients.ts';
import { skipOrFail } from '../support/required-tool.ts';
import { openTarget, serverLog, type Target } from '../support/target.ts';

const ASCII_TESTS = [
  'ascii version', 'ascii quit', 'ascii verbosity', 'ascii set', 'ascii set noreply', 'ascii get',
  'ascii gets', 'ascii mget', 'ascii flush', 'ascii flush noreply', 'ascii add', 'ascii add noreply',
  'ascii replace', 'ascii replace noreply', 'ascii cas', 'ascii cas noreply', 'ascii delete',
  'ascii delete noreply', 'ascii incr', 'ascii incr noreply', 'ascii decr', 'ascii decr noreply',
  'ascii append', 'ascii append noreply', 'ascii prepend', 'ascii prepend noreply', 'ascii stat',
];
const BINARY_TESTS = [
  'binary noop', 'binary quit', 'binary quitq', 'binary set', 'binary setq', 'binary flush',
  'binary flushq', 'binary add', 'binary addq', 'binary replace', 'binary replaceq', 'binary delete',
  'binary deleteq', 'binary get', 'binary getq', 'binary getk', 'binary getkq', 'binary incr',
  'binary incrq', 'binary decr', 'binary decrq', 'binary version', 'binary append', 'binary appendq',
  'binary prepend', 'binary prependq', 'binary stat',
];

const MEMCCAPABLE = haveCommand('memccapable') ? 'memccapable' : 'memcapable';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runMemccapable(host: string, port: number, protocolFlag: '-a' | '-b'): Promise<Run> {
  // -t: per-I/O timeout in seconds; -v: print the failed assertion.
  const args = ['-h', host, '-p', String(port), '-t', '5', '-v', protocolFlag];
  return new Promise((resolve) => {
    execFile(MEMCCAPABLE, args, { timeout: 90_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr: error?.killed ? `${stderr}\n(killed after 90 s)` : stderr });
    });
  });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const passed = (stdout: string, name: string) => new RegExp(`(?:^|\\s)${escape(name)}\\s+\\[pass\\]`, 'm').test(stdout);

let target: Target;
before(async () => {
  target = await openTarget({ anonymous: true });
});
after(async () => {
  await target?.stop();
});

for (const [label, flag, names] of [
  ['ascii', '-a', ASCII_TESTS],
  ['binary', '-b', BINARY_TESTS],
] as const) {
  test(`memccapable ${flag}: all ${names.length} ${label} tests pass`, { timeout: 120_000 }, async (t) => {
    if (!haveCommand(MEMCCAPABLE)) return skipOrFail(t, 'memccapable not installed');
    const [host, port] = target.servers[0].split(':');
    const run = await runMemccapable(host, Number(port), flag);
    const failed = names.filter((n) => !passed(run.stdout, n));
    const details = `exit ${run.code}\n--- memccapable stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}${serverLog(target)}`;
    assert.deepEqual(failed, [], `memccapable ${flag} failed ${failed.length}/${names.length}: ${failed.join(', ')}\n${details}`);
    assert.match(run.stdout, /All tests passed/, details);
    assert.equal(run.code, 0, details);
  });
}

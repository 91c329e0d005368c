// Bounded property-based and mutation fuzzing of the ASCII, meta and binary request
// parsers and the reply encoders (see parser-fuzz.ts): no throw, no hang, every frame
// answered or the connection closed with an error. The properties run in a child process
// (parser-fuzz-child.ts) under a watchdog, so a parser that never returns fails its test
// rather than hanging the run. `npm run fuzz` runs the same properties for millions of
// frames; FUZZ_SEED=<n> replays a failing run.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Protocol } from './grammar.ts';
import { PROTOCOLS, type PropertyName } from './parser-fuzz.ts';
import type { FuzzJob, FuzzJobResult } from './parser-fuzz-child.ts';
import { fuzzSeed } from '../../src/shared/testing/seeded-random.ts';

const seed = fuzzSeed();
const RUNS: Record<PropertyName, number> = { valid: 3000, mutated: 4000, random: 6000 };
/** One job takes 0.2-2 s here; one that has not finished in this long is stuck in a loop. */
const HANG_MS = 120_000;
const CHILD = fileURLToPath(new URL('./parser-fuzz-child.ts', import.meta.url));

let child: ChildProcess | undefined;
after(() => {
  child?.kill('SIGKILL');
});

/** Runs `job` in the child (started on first use, and again after a hang or a crash). */
function run(job: FuzzJob): Promise<FuzzJobResult> {
  const c = child ??= fork(CHILD, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  let stderr = '';
  const onStderr = (d: Buffer) => { stderr += d.toString(); };
  c.stderr!.on('data', onStderr);
  return new Promise<FuzzJobResult>((resolve, reject) => {
    const done = (e: Error | undefined, r?: FuzzJobResult) => {
      clearTimeout(watchdog);
      c.off('message', onMessage);
      c.off('exit', onExit);
      c.stderr!.off('data', onStderr);
      if (e) {
        c.kill('SIGKILL');
        if (child === c) child = undefined;
        reject(e);
      } else resolve(r!);
    };
    const onMessage = (r: FuzzJobResult) => done(undefined, r);
    const onExit = (code: number | null, signal: string | null) =>
      done(new Error(`the fuzz process exited (code ${code}, signal ${signal}) during ${job.property} ${job.protocol} (seed ${seed})\n${stderr}`));
    const watchdog = setTimeout(() => done(new Error(
      `HANG: ${job.property} ${job.protocol} did not finish within ${HANG_MS / 1000} s (seed ${seed}); a parser or encoder never returned`)), HANG_MS);
    c.on('message', onMessage);
    c.once('exit', onExit);
    c.send(job);
  });
}

const counts: Record<Protocol, { frames: number; parses: number }> = { text: { frames: 0, parses: 0 }, meta: { frames: 0, parses: 0 }, binary: { frames: 0, parses: 0 } };

for (const name of Object.keys(RUNS) as PropertyName[]) {
  for (const p of PROTOCOLS) {
    test(`${name} ${p} frames: parser contract holds, split anywhere (seed ${seed})`, async () => {
      const r = await run({ property: name, protocol: p, numRuns: RUNS[name], seed });
      if (r.failure !== undefined) assert.fail(`${name} ${p} (FUZZ_SEED=${seed}): ${r.failure}`);
      assert.ok(r.frames >= RUNS[name], `${r.frames} frames fed in ${RUNS[name]} runs`);
      counts[p].frames += r.frames;
      counts[p].parses += r.parses;
    });
  }
}

for (const p of PROTOCOLS) {
  test(`${p} reply encoders never throw and frame every random reply (seed ${seed})`, async () => {
    const r = await run({ property: 'encoder', protocol: p, numRuns: 4000, seed });
    if (r.failure !== undefined) assert.fail(`encoder ${p} (FUZZ_SEED=${seed}): ${r.failure}`);
  });
}

test('fuzzed frames per protocol', (t) => {
  for (const p of PROTOCOLS) t.diagnostic(`${p}: ${counts[p].frames} frames, ${counts[p].parses} parse calls`);
});

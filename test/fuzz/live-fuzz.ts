/**
 * Fuzzing a live node over real sockets, shared by the bounded CI run
 * (`live-node.test.ts`) and the long run (`npm run fuzz`). Each batch opens many
 * connections at once; each sends a stream split at random points with random pauses:
 *
 * - valid: pipelined grammar requests after a login, then a sentinel (`mn`, or a binary
 *   NOOP with a known opaque). The sentinel's answer must arrive before the deadline and
 *   the connection must stay open: a lost or extra byte anywhere would desynchronise it.
 * - mutated / random: as in the parser fuzz, logged in or not. Anything may come back,
 *   or the node may hang up; the client gives up after a short idle time.
 * - stalled: a proper prefix of a valid request, then silence, held open while the
 *   batch's health check runs, so a half-sent frame never blocks other connections.
 *
 * After every batch fresh, well-formed ASCII and binary clients must be served correctly
 * (see assertServes), and nothing may have crashed (see watchCrashes). Plans are drawn with
 * fast-check from the seed, so a failure names the seed and batch that reproduce it.
 */
import fc from 'fast-check';
import { connect, type Socket } from 'node:net';
import { Opcode } from '../../src/protocol/binary/opcodes.ts';
import { plain, readResponses, req } from '../../src/protocol/binary/testing/frames.ts';
import type { TestCache, TestNode } from '../support/test-node.ts';
import { PROMPTLY_MS } from '../support/wait.ts';
import { requestOf, type GeneratedRequest, type Protocol } from './grammar.ts';
import { applyMutations, mutation } from './mutate.ts';
import { splitAt } from './session-model.ts';
import { createLogger, type Logger } from '../../src/shared/logger.ts';

export interface LiveFuzzOptions {
  readonly seed: number;
  /** Stop after this many batches... */
  readonly batches?: number;
  /** ...or once this much time has passed, whichever comes first. */
  readonly durationMs?: number;
  readonly connectionsPerBatch?: number;
  /** How long a valid stream's sentinel may take. */
  readonly deadlineMs?: number;
  readonly log?: (line: string) => void;
}

export interface LiveFuzzReport {
  batches: number;
  connections: number;
  stalled: number;
  frames: Record<Protocol, number>;
  bytesSent: number;
  /** Valid streams whose sentinel came back in time. */
  sentinels: number;
  /** Connections the node closed (expected for some hostile input). */
  closedByNode: number;
  healthChecks: number;
}

type Kind = 'valid' | 'mutated' | 'random';

interface Plan {
  readonly protocol: Protocol;
  readonly kind: Kind;
  readonly login: boolean;
  readonly bytes: Buffer;
  readonly frames: number;
  readonly cuts: number[];
  /** Pause before each chunk, in ms (0 = same tick). */
  readonly pauses: number[];
}

const SENTINEL_OPAQUE = 0x5e7711e1;
const TEXT_SENTINEL = Buffer.from('mn\r\n');
const BINARY_SENTINEL = req.noop({ opaque: SENTINEL_OPAQUE });

/** Requests that would end the connection or its login are left out of valid streams. */
const liveRequest = (p: Protocol) => requestOf[p].filter((r) => r.command.kind !== 'quit');

const planArb: fc.Arbitrary<Plan> = fc.constantFrom<Protocol>('text', 'meta', 'binary').chain((protocol) => fc.record({
  protocol: fc.constant(protocol),
  kind: fc.oneof({ weight: 2, arbitrary: fc.constant<Kind>('valid') }, { weight: 3, arbitrary: fc.constant<Kind>('mutated') }, { weight: 1, arbitrary: fc.constant<Kind>('random') }),
  login: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  reqs: fc.array(liveRequest(protocol), { minLength: 1, maxLength: 12 }),
  which: fc.nat(),
  muts: fc.array(mutation, { minLength: 1, maxLength: 4 }),
  noise: fc.uint8Array({ minLength: 1, maxLength: 512 }),
  cuts: fc.array(fc.nat(), { maxLength: 8 }),
  pauses: fc.array(fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 5 }) }), { minLength: 9, maxLength: 9 }),
}).map(({ protocol, kind, login, reqs, which, muts, noise, cuts, pauses }): Plan => {
  let bytes: Buffer;
  let frames = reqs.length;
  if (kind === 'random') {
    bytes = Buffer.from(noise);
    if (protocol === 'binary') bytes[0] = 0x80;
    frames = 1;
  } else {
    const parts = reqs.map((r: GeneratedRequest) => r.bytes);
    if (kind === 'mutated') {
      const i = which % parts.length;
      parts[i] = applyMutations(parts[i]!, muts);
    }
    bytes = Buffer.concat(parts);
  }
  return { protocol, kind, login: kind === 'valid' ? true : login, bytes, frames, cuts: cuts.map((c) => c % Math.max(1, bytes.length)), pauses };
}));

/** A proper prefix of a valid request, to send and then fall silent. */
const stallArb = fc.constantFrom<Protocol>('text', 'meta', 'binary').chain((protocol) =>
  fc.tuple(fc.constant(protocol), liveRequest(protocol), fc.nat()).map(([p, r, cut]) => ({ protocol: p, bytes: r.bytes.subarray(0, cut % r.bytes.length) })));

function loginBytes(p: Protocol, cache: TestCache): Buffer {
  if (p === 'binary') return req.saslAuth('PLAIN', plain(cache.username, cache.password));
  return Buffer.from(`set ${cache.username} 0 0 ${cache.password.length}\r\n${cache.password}\r\n`);
}

/** A socket that collects what it receives and reports when it closes. */
class Conn {
  readonly socket: Socket;
  received = Buffer.alloc(0);
  closed = false;
  private wake: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => {});
  }

  static open(port: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }

  write(b: Buffer): void {
    if (!this.closed && b.length > 0) this.socket.write(b);
  }

  /** Waits until `done()` holds, the socket closes, or `ms` pass with nothing new. */
  async wait(done: () => boolean, ms: number, idle = false): Promise<boolean> {
    let deadline = Date.now() + ms;
    let seen = this.received.length;
    while (!done() && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
      if (idle && this.received.length !== seen) {
        seen = this.received.length;
        deadline = Date.now() + ms;
      }
    }
    return done();
  }

  end(): void {
    this.socket.destroy();
  }
}

function sentinelSeen(p: Protocol, got: Buffer): boolean {
  if (p !== 'binary') return got.length >= 4 && got.subarray(got.length - 4).equals(Buffer.from('MN\r\n'));
  const { responses } = readResponses(got);
  const last = responses[responses.length - 1];
  return last !== undefined && last.opcode === Opcode.Noop && last.opaque === SENTINEL_OPAQUE;
}

class LiveFuzzFailure extends Error {
  override name = 'LiveFuzzFailure';
}

async function pause(ms: number): Promise<void> {
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  else await new Promise((r) => setImmediate(r));
}

/** Runs one planned connection; returns whether the node closed it. */
async function runPlan(t: TestNode, cache: TestCache, plan: Plan, deadlineMs: number, where: string): Promise<boolean> {
  const c = await Conn.open(t.port);
  try {
    const body = plan.kind === 'valid' ? Buffer.concat([plan.bytes, plan.protocol === 'binary' ? BINARY_SENTINEL : TEXT_SENTINEL]) : plan.bytes;
    const stream = plan.login ? Buffer.concat([loginBytes(plan.protocol, cache), body]) : body;
    const shift = plan.login ? stream.length - body.length : 0;
    const chunks = splitAt(stream, plan.cuts.map((x) => x + shift));
    for (let i = 0; i < chunks.length; i++) {
      if (i > 0) await pause(plan.pauses[i % plan.pauses.length]!);
      c.write(chunks[i]!);
    }
    if (plan.kind === 'valid') {
      let ok: boolean;
      try {
        ok = await c.wait(() => sentinelSeen(plan.protocol, c.received), deadlineMs);
      } catch (e) {
        throw new LiveFuzzFailure(`${where}: unreadable reply to a valid ${plan.protocol} stream (${(e as Error).message}); sent ${stream.toString('hex').slice(0, 4000)}`);
      }
      if (!ok) {
        throw new LiveFuzzFailure(`${where}: valid ${plan.protocol} stream ${c.closed ? 'was closed by the node' : `got no answer to its sentinel within ${deadlineMs} ms`}; `
          + `sent ${stream.toString('hex').slice(0, 4000)}; got ${c.received.toString('latin1').slice(-400)}`);
      }
      return false;
    }
    await c.wait(() => false, 120, true);
    return c.closed;
  } finally {
    c.end();
  }
}

/**
 * A fresh ASCII client and a fresh binary client must be served correctly: on the fuzzed
 * cache they must get answers (its contents are the fuzz's, delayed flushes included, so
 * a stored value may legitimately vanish); on a cache the fuzz never logs in to, stored
 * values must read back exactly.
 */
export async function assertServes(t: TestNode, fuzzed: TestCache, quiet: TestCache, tag: string, deadlineMs = PROMPTLY_MS): Promise<void> {
  for (const [cache, exact] of [[fuzzed, false], [quiet, true]] as const) {
    const text = await Conn.open(t.port);
    const bin = await Conn.open(t.port);
    try {
      const value = `v-${tag}`;
      const get = exact ? `get health-${tag}\r\n` : 'mn\r\n';
      text.write(Buffer.from(`set ${cache.username} 0 0 ${cache.password.length}\r\n${cache.password}\r\nset health-${tag} 3 0 ${value.length}\r\n${value}\r\n${get}`));
      const want = `STORED\r\nSTORED\r\n${exact ? `VALUE health-${tag} 3 ${value.length}\r\n${value}\r\nEND\r\n` : 'MN\r\n'}`;
      const ok = await text.wait(() => text.received.length >= want.length, deadlineMs);
      if (!ok || text.received.toString('latin1') !== want) {
        throw new LiveFuzzFailure(`health check ${tag}: ASCII client got ${JSON.stringify(text.received.toString('latin1'))}, want ${JSON.stringify(want)}`);
      }
      bin.write(Buffer.concat([
        req.saslAuth('PLAIN', plain(cache.username, cache.password), { opaque: 1 }),
        req.set(`bin-${tag}`, value, { opaque: 2 }),
        exact ? req.get(`bin-${tag}`, { opaque: 3 }) : req.noop({ opaque: 3 }),
      ]));
      const done = await bin.wait(() => readResponses(bin.received).responses.length >= 3, deadlineMs);
      const rs = readResponses(bin.received).responses;
      if (!done || rs.length !== 3 || rs.some((r) => r.status !== 0) || (exact && rs[2]!.value.toString() !== value) || rs.map((r) => r.opaque).join() !== '1,2,3') {
        throw new LiveFuzzFailure(`health check ${tag}: binary client got ${bin.received.toString('hex')}`);
      }
    } finally {
      text.end();
      bin.end();
    }
  }
}

/**
 * Fuzzes `t`, logging in to `cache` (`quiet` is a second cache it never uses), until the
 * batch count or the duration runs out. Throws LiveFuzzFailure on a hang, a desync or a
 * failed health check, and whatever `check` throws (see watchCrashes) after each batch.
 */
export async function runLiveFuzz(t: TestNode, cache: TestCache, quiet: TestCache, opts: LiveFuzzOptions, check: () => void): Promise<LiveFuzzReport> {
  const perBatch = opts.connectionsPerBatch ?? 24;
  const deadlineMs = opts.deadlineMs ?? PROMPTLY_MS;
  const report: LiveFuzzReport = {
    batches: 0, connections: 0, stalled: 0, frames: { text: 0, meta: 0, binary: 0 }, bytesSent: 0, sentinels: 0, closedByNode: 0, healthChecks: 0,
  };
  const started = Date.now();
  for (let batch = 0; ; batch++) {
    if (opts.batches !== undefined && batch >= opts.batches) break;
    if (opts.durationMs !== undefined && Date.now() - started >= opts.durationMs) break;
    const seed = (opts.seed + batch * 7919) | 0;
    const where = `seed ${opts.seed} batch ${batch}`;
    const plans = fc.sample(planArb, { seed, numRuns: perBatch });
    const stalls = fc.sample(stallArb, { seed: seed ^ 0x5a5a, numRuns: 2 });

    const stalled = await Promise.all(stalls.map(async (s) => {
      const c = await Conn.open(t.port);
      c.write(Buffer.concat([loginBytes(s.protocol, cache), s.bytes]));
      return c;
    }));
    const closed = await Promise.all(plans.map((p, i) => runPlan(t, cache, p, deadlineMs, `${where} connection ${i} (${p.kind} ${p.protocol}${p.login ? '' : ', no login'})`)));
    check();
    await assertServes(t, cache, quiet, `${opts.seed}-${batch}`);
    for (const c of stalled) c.end();
    check();

    report.batches++;
    report.connections += plans.length;
    report.stalled += stalled.length;
    report.healthChecks++;
    report.closedByNode += closed.filter(Boolean).length;
    for (const p of plans) {
      report.frames[p.protocol] += p.frames;
      report.bytesSent += p.bytes.length;
      if (p.kind === 'valid') report.sentinels++;
    }
    if (opts.log && batch % 50 === 49) opts.log(`live fuzz: ${report.batches} batches, ${report.connections} connections, ${Math.round((Date.now() - started) / 1000)} s`);
  }
  return report;
}

export interface CrashWatch {
  /** Throws if anything crashed since the watch began. */
  check(): void;
  /** Give it to the node: its error lines (a connection closed after an internal error) are crashes. */
  readonly logger: Logger;
  readonly crashes: readonly string[];
  dispose(): void;
}

/**
 * Records crashes in this process while it hosts a node: uncaught exceptions, unhandled
 * rejections, and the node's own report of a connection closed after an internal error
 * (the session catches a throwing handler so one bug costs one connection, and logs it
 * at error level through the node's logger, `logger` here; console.error is watched too).
 */
export function watchCrashes(): CrashWatch {
  const crashes: string[] = [];
  const onException = (e: unknown): void => {
    crashes.push(`uncaught exception: ${(e as Error)?.stack ?? String(e)}`);
  };
  const onRejection = (e: unknown): void => {
    crashes.push(`unhandled rejection: ${(e as Error)?.stack ?? String(e)}`);
  };
  const original = console.error;
  console.error = (...args: unknown[]) => {
    const first = String(args[0] ?? '');
    if (/internal error/i.test(first)) crashes.push(`node reported: ${args.map((a) => (a instanceof Error ? a.stack : String(a))).join(' ')}`);
    original.apply(console, args);
  };
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  const logger = createLogger({
    level: 'error',
    destination: { write: (line: string) => void crashes.push(`node reported: ${line.trim()}`) },
  });
  return {
    crashes, logger,
    check() {
      if (crashes.length > 0) throw new LiveFuzzFailure(`${crashes.length} crash(es); first: ${crashes[0]}`);
    },
    dispose() {
      process.off('uncaughtException', onException);
      process.off('unhandledRejection', onRejection);
      console.error = original;
    },
  };
}

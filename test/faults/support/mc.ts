/**
 * A small pipelining memcache client for fault tests and long runs, and self-checking
 * workers on top of it. A worker keeps a model of every key it owns (each lane of each
 * worker owns its own keys), so every reply is checked exactly: a wrong value, an
 * unexpected status, a timeout or a dropped connection is an error. Caches that evict
 * (`evictable`) may lose a key; a miss is then counted apart, a wrong value still is an error.
 *
 *   const w = new Worker({ flavor: 'binary', port, username, password, lanes: 4 });
 *   await w.start(); await sleep(10_000); await w.stop();
 *   w.stats   // { ops, errors, evictedMisses, samples: [first errors] }
 */
import net from 'node:net';
import { fuzzSeed, seededRandom } from '../../../src/shared/testing/seeded-random.ts';
import { Opcode } from '../../../src/protocol/binary/opcodes.ts';
import { readResponses, req, saslPlain, type Response } from '../../../src/protocol/binary/testing/frames.ts';
import { PROMPTLY_MS } from '../../support/wait.ts';

// ------------------------------------------------------------------ wire

export interface TextReply {
  /** The last line: END, STORED, VA 3 f5, HD, 42, … */
  readonly line: string;
  /** VALUE (or VA) lines with their data, in order. */
  readonly values: { readonly line: string; readonly data: Buffer }[];
}

export type BinReply = Response;

interface Pending {
  readonly resolve: (r: any) => void;
  readonly reject: (e: Error) => void;
  readonly sentAt: number;
  readonly quiet: boolean;
  readonly opaque: number;
}

const CRLF = Buffer.from('\r\n');

function parseText(buf: Buffer, start: number): [TextReply, number] | undefined {
  const values: { line: string; data: Buffer }[] = [];
  let p = start;
  for (;;) {
    const nl = buf.indexOf(CRLF, p);
    if (nl < 0) return undefined;
    const line = buf.toString('latin1', p, nl);
    p = nl + 2;
    if (line.startsWith('VALUE ') || line.startsWith('VA ')) {
      const n = Number(line.split(' ')[line.startsWith('VA ') ? 1 : 3]);
      if (!Number.isInteger(n) || n < 0) return [{ line: `BAD REPLY LINE ${line}`, values }, p];
      if (p + n + 2 > buf.length) return undefined;
      values.push({ line, data: Buffer.from(buf.subarray(p, p + n)) });
      p += n + 2;
      if (line.startsWith('VA ')) return [{ line, values }, p];
      continue;
    }
    if (line.startsWith('STAT ')) {
      values.push({ line, data: Buffer.alloc(0) });
      continue;
    }
    return [{ line, values }, p];
  }
}

export class McError extends Error {}

const CLOSED_BY_PEER = 'connection closed by peer';

/** One connection; requests are pipelined and replies matched in order. */
export class McConn {
  private buf: Buffer = Buffer.alloc(0);
  private readonly queue: Pending[] = [];
  private nextOpaque = 1;
  private watchdog: NodeJS.Timeout;
  closed = false;
  closeReason = '';
  readonly closedPromise: Promise<void>;

  private constructor(private readonly socket: net.Socket, readonly mode: 'text' | 'binary', private readonly replyTimeoutMs: number) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e) => this.fail(`socket error: ${e.message}`));
    this.closedPromise = new Promise((resolve) => socket.once('close', () => {
      this.fail(CLOSED_BY_PEER);
      resolve();
    }));
    this.watchdog = setInterval(() => {
      const first = this.queue[0];
      if (first && Date.now() - first.sentAt > this.replyTimeoutMs) this.fail(`no reply within ${this.replyTimeoutMs} ms`);
    }, Math.min(250, replyTimeoutMs));
    this.watchdog.unref();
  }

  static connect(port: number, opts: { host?: string; mode?: 'text' | 'binary'; connectTimeoutMs?: number; replyTimeoutMs?: number } = {}): Promise<McConn> {
    const host = opts.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host });
      const t = setTimeout(() => {
        s.destroy();
        reject(new McError(`connect ${host}:${port}: timed out`));
      }, opts.connectTimeoutMs ?? PROMPTLY_MS);
      s.once('connect', () => {
        clearTimeout(t);
        s.removeAllListeners('error');
        resolve(new McConn(s, opts.mode ?? 'text', opts.replyTimeoutMs ?? PROMPTLY_MS));
      });
      s.once('error', (e) => {
        clearTimeout(t);
        reject(new McError(`connect ${host}:${port}: ${e.message}`));
      });
    });
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    if (this.mode === 'binary') {
      const { responses, rest } = readResponses(this.buf);
      this.buf = rest;
      for (const reply of responses) {
        while (this.queue[0] && this.queue[0].opaque !== reply.opaque) {
          const q = this.queue.shift()!;
          if (q.quiet) q.resolve(undefined);
          else q.reject(new McError(`no reply to opaque ${q.opaque} (got one for ${reply.opaque})`));
        }
        const p = this.queue.shift();
        if (!p) return this.fail(`unsolicited binary reply opaque ${reply.opaque} opcode ${reply.opcode}`);
        p.resolve(reply);
      }
      return;
    }
    let off = 0;
    for (;;) {
      const got = parseText(this.buf, off);
      if (!got) break;
      off = got[1];
      const p = this.queue.shift();
      if (!p) return this.fail(`unsolicited reply ${JSON.stringify(got[0].line)}`);
      p.resolve(got[0]);
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
  }

  private fail(reason: string): void {
    if (!this.closed) {
      this.closed = true;
      this.closeReason = reason;
      clearInterval(this.watchdog);
      this.socket.destroy();
    }
    for (const p of this.queue.splice(0)) p.reject(new McError(this.closeReason));
  }

  /** Sends a text request that gets exactly one reply. */
  text(request: string | Buffer): Promise<TextReply> {
    if (this.closed) return Promise.reject(new McError(this.closeReason));
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject, sentAt: Date.now(), quiet: false, opaque: 0 });
      this.socket.write(request);
    });
  }

  /**
   * Sends a binary request built by frames.ts, with the opaque set here (replies are
   * matched by it); a quiet one resolves undefined when a later reply shows it had none.
   */
  bin(request: Buffer, quiet = false): Promise<BinReply | undefined> {
    if (this.closed) return Promise.reject(new McError(this.closeReason));
    const opaque = this.nextOpaque++ >>> 0;
    request.writeUInt32BE(opaque, 12);
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject, sentAt: Date.now(), quiet, opaque });
      this.socket.write(request);
    });
  }

  end(): void {
    this.fail('closed by client');
  }
}

/**
 * The answer to a request the node may also answer by hanging up (a wrong login from a
 * throttled address), or 'dropped' when it did; no reply in time still throws.
 */
export async function answerOrDropped<T>(c: McConn, request: Promise<T>): Promise<T | 'dropped'> {
  try {
    return await request;
  } catch (e) {
    if (c.closeReason === CLOSED_BY_PEER) return 'dropped';
    throw e;
  }
}

export async function asciiLogin(c: McConn, username: string, password: string): Promise<void> {
  const r = await c.text(`set ${username} 0 0 ${Buffer.byteLength(password)}\r\n${password}\r\n`);
  if (r.line !== 'STORED') throw new McError(`ASCII login as ${username} refused: ${r.line}`);
}

export async function saslLogin(c: McConn, username: string, password: string): Promise<void> {
  const r = await c.bin(saslPlain(username, password));
  if (!r || r.status !== 0) throw new McError(`SASL login as ${username} refused: status 0x${r?.status.toString(16)}`);
}

/** A logged-in connection: text (ASCII login) or binary (SASL PLAIN); no login without a username. */
export async function openSession(port: number, o: { host?: string; mode: 'text' | 'binary'; username?: string; password?: string; replyTimeoutMs?: number }): Promise<McConn> {
  const c = await McConn.connect(port, { host: o.host, mode: o.mode, replyTimeoutMs: o.replyTimeoutMs });
  try {
    if (o.username !== undefined) {
      if (o.mode === 'text') await asciiLogin(c, o.username, o.password ?? '');
      else await saslLogin(c, o.username, o.password ?? '');
    }
    return c;
  } catch (e) {
    c.end();
    throw e;
  }
}

// ------------------------------------------------------------------ workers

export type Flavor = 'ascii' | 'meta' | 'binary';

export interface WorkerOptions {
  flavor: Flavor;
  port: number;
  host?: string;
  /** No username: an anonymous connection (node started with --anonymous-cache). */
  username?: string;
  password?: string;
  /** Requests in flight on the connection, each lane with its own keys. Default 4. */
  lanes?: number;
  /** Keys per lane. Default 50. */
  keys?: number;
  /** Unique among workers on one cache. */
  prefix: string;
  /** The cache may evict: a lost key is counted, not an error. */
  evictable?: boolean;
  /** Value sizes, bytes. Default 10..2000. */
  minValue?: number;
  maxValue?: number;
  replyTimeoutMs?: number;
  /** After a dropped connection: reconnect (counting one error) or stop. Default true. */
  reconnect?: boolean;
  /** Seeds the worker's choices of keys, operations and sizes; named in its error samples. */
  seed?: number;
}

export interface WorkerStats {
  ops: number;
  errors: number;
  evictedMisses: number;
  reconnects: number;
  /** The first errors, for the report. */
  samples: string[];
}

export function newStats(): WorkerStats {
  return { ops: 0, errors: 0, evictedMisses: 0, reconnects: 0, samples: [] };
}

export function addStats(into: WorkerStats, s: WorkerStats): WorkerStats {
  into.ops += s.ops;
  into.errors += s.errors;
  into.evictedMisses += s.evictedMisses;
  into.reconnects += s.reconnects;
  for (const x of s.samples) if (into.samples.length < 20) into.samples.push(x);
  return into;
}

class Mismatch extends Error {}

/** Workers' seeds derive from this one and their prefix: FUZZ_SEED=<n> replays a run's choices. */
export const WORKLOAD_SEED = fuzzSeed();
const seedOf = (prefix: string) => [...prefix].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 0x01000193), WORKLOAD_SEED | 0);
const FILL = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(64);

export class Worker {
  readonly stats = newStats();
  private conn: McConn | undefined;
  private stopped = false;
  private lanesDone: Promise<void>[] = [];
  private seq = 0;
  private readonly o: Required<Omit<WorkerOptions, 'username' | 'password' | 'host'>> & WorkerOptions;
  private readonly random: () => number;

  constructor(opts: WorkerOptions) {
    this.o = { lanes: 4, keys: 50, evictable: false, minValue: 10, maxValue: 2000, replyTimeoutMs: PROMPTLY_MS, reconnect: true, seed: seedOf(opts.prefix), ...opts };
    this.random = seededRandom(this.o.seed);
  }

  private rnd(n: number): number {
    return Math.floor(this.random() * n);
  }

  private error(what: string): void {
    this.stats.errors++;
    if (this.stats.samples.length < 10) this.stats.samples.push(`${new Date().toISOString()} ${this.o.prefix} (seed ${this.o.seed}): ${what}`);
  }

  private async connect(): Promise<McConn> {
    const c = await openSession(this.o.port, {
      host: this.o.host, mode: this.o.flavor === 'binary' ? 'binary' : 'text',
      username: this.o.username, password: this.o.password, replyTimeoutMs: this.o.replyTimeoutMs,
    });
    this.conn = c;
    return c;
  }

  /** Connects and logs in (throws if that fails), then runs until stop(). */
  async start(): Promise<void> {
    await this.connect();
    for (let lane = 0; lane < this.o.lanes; lane++) this.lanesDone.push(this.lane(lane));
  }

  async stop(): Promise<WorkerStats> {
    this.stopped = true;
    await Promise.all(this.lanesDone);
    this.conn?.end();
    return this.stats;
  }

  private reconnecting: Promise<McConn | undefined> | undefined;

  /** A fresh connection after a drop, shared by the lanes; undefined when stopping. */
  private reconnectOnce(): Promise<McConn | undefined> {
    this.reconnecting ??= (async () => {
      while (!this.stopped && this.o.reconnect) {
        await new Promise((r) => setTimeout(r, 100));
        try {
          const c = await this.connect();
          this.stats.reconnects++;
          return c;
        } catch (e) {
          this.error(`reconnect: ${(e as Error).message}`);
        }
      }
      return undefined;
    })().finally(() => {
      this.reconnecting = undefined;
    });
    return this.reconnecting;
  }

  private async lane(lane: number): Promise<void> {
    const model = new Map<string, string>();
    const keys = Array.from({ length: this.o.keys }, (_, j) => `${this.o.prefix}:${lane}:${j}`);
    const counter = `${this.o.prefix}:${lane}:n`;
    const counters = new Map<string, bigint>();
    // After a dropped connection the lane's keys are in an unknown state: delete them first.
    let dirty = false;
    while (!this.stopped) {
      const c = this.conn;
      if (!c || c.closed) {
        if (!(await this.reconnectOnce())) return;
        continue;
      }
      try {
        if (dirty) {
          await this.forget(c, [...keys, counter]);
          dirty = false;
          continue;
        }
        if (this.o.flavor === 'ascii') await this.asciiOp(c, model, keys, counter, counters);
        else if (this.o.flavor === 'meta') await this.metaOp(c, model, keys, counter, counters);
        else await this.binaryOp(c, model, keys, counter, counters);
        this.stats.ops++;
      } catch (e) {
        if (e instanceof Mismatch) {
          this.error(e.message);
          model.clear();
          counters.clear();
          dirty = true;
        } else {
          // The connection failed under us: what the server did with the request is unknown.
          if (!this.stopped) this.error(`${(e as Error).message}`);
          model.clear();
          counters.clear();
          dirty = true;
          if (!c.closed) c.end();
        }
      }
    }
  }

  private async forget(c: McConn, keys: string[]): Promise<void> {
    for (const key of keys) {
      if (this.o.flavor === 'binary') {
        const r = (await c.bin(req.delete(key)))!;
        if (r.status !== 0 && r.status !== 0x01) throw new Mismatch(`DELETE ${key}: status 0x${r.status.toString(16)}`);
      } else {
        const r = await c.text(`delete ${key}\r\n`);
        if (r.line !== 'DELETED' && r.line !== 'NOT_FOUND') throw new Mismatch(`delete ${key}: ${r.line}`);
      }
    }
  }

  private value(key: string): string {
    const n = this.o.minValue + this.rnd(this.o.maxValue - this.o.minValue + 1);
    const head = `${key}#${++this.seq}#`;
    return head.length >= n ? head : head + FILL.slice(0, Math.min(n - head.length, FILL.length)).padEnd(n - head.length, 'z');
  }

  /** The key was expected but is missing: fine only in an evicting cache. */
  private lost(model: Map<string, string> | Map<string, bigint>, key: string, what: string): void {
    if (!this.o.evictable) throw new Mismatch(`${what}: ${key} missing, expected it present`);
    this.stats.evictedMisses++;
    model.delete(key);
  }

  private async asciiOp(c: McConn, model: Map<string, string>, keys: string[], counter: string, counters: Map<string, bigint>): Promise<void> {
    const key = keys[this.rnd(keys.length)]!;
    const want = model.get(key);
    const roll = this.rnd(100);
    if (roll < 25) {
      const v = this.value(key);
      const r = await c.text(`set ${key} 5 0 ${v.length}\r\n${v}\r\n`);
      if (r.line !== 'STORED') throw new Mismatch(`set ${key}: ${r.line}`);
      model.set(key, v);
    } else if (roll < 60) {
      const r = await c.text(`get ${key}\r\n`);
      this.checkGet(r, [key], model, 'get', 5);
    } else if (roll < 68) {
      const ks = [key, keys[this.rnd(keys.length)]!, keys[this.rnd(keys.length)]!].filter((k, i, a) => a.indexOf(k) === i);
      const r = await c.text(`get ${ks.join(' ')}\r\n`);
      this.checkGet(r, ks, model, 'multi-get', 5);
    } else if (roll < 73) {
      const r = await c.text(`append ${key} 0 0 1\r\nz\r\n`);
      if (want !== undefined && r.line === 'STORED') model.set(key, `${want}z`);
      else if (want === undefined && r.line === 'NOT_STORED') { /* as expected */ } else if (want !== undefined && r.line === 'NOT_STORED') this.lost(model, key, 'append');
      else throw new Mismatch(`append ${key}: ${r.line} (expected ${want === undefined ? 'NOT_STORED' : 'STORED'})`);
    } else if (roll < 78) {
      const r = await c.text(`delete ${key}\r\n`);
      if (r.line === (want === undefined ? 'NOT_FOUND' : 'DELETED')) model.delete(key);
      else if (want !== undefined && r.line === 'NOT_FOUND') this.lost(model, key, 'delete');
      else throw new Mismatch(`delete ${key}: ${r.line}`);
    } else if (roll < 86) {
      const have = counters.get(counter);
      if (have === undefined) {
        const r = await c.text(`set ${counter} 0 0 1\r\n0\r\n`);
        if (r.line !== 'STORED') throw new Mismatch(`set ${counter}: ${r.line}`);
        counters.set(counter, 0n);
      } else {
        const d = BigInt(1 + this.rnd(1000));
        const r = await c.text(`incr ${counter} ${d}\r\n`);
        if (r.line === 'NOT_FOUND') this.lost(counters, counter, 'incr');
        else if (r.line !== String(have + d)) throw new Mismatch(`incr ${counter} ${d}: ${r.line} (expected ${have + d})`);
        else counters.set(counter, have + d);
      }
    } else if (roll < 94) {
      const g = await c.text(`gets ${key}\r\n`);
      const got = g.values[0];
      if (!got) {
        if (g.line !== 'END') throw new Mismatch(`gets ${key}: ${g.line}`);
        if (want !== undefined) this.lost(model, key, 'gets');
        return;
      }
      if (want === undefined || got.data.toString('latin1') !== want) throw new Mismatch(`gets ${key}: wrong value ${got.line}`);
      const cas = got.line.split(' ')[4];
      const v = this.value(key);
      const r = await c.text(`cas ${key} 5 0 ${v.length} ${cas}\r\n${v}\r\n`);
      if (r.line === 'STORED') model.set(key, v);
      else if (r.line === 'NOT_FOUND') this.lost(model, key, 'cas');
      else throw new Mismatch(`cas ${key}: ${r.line}`);
    } else {
      const r = await c.text(`touch ${key} 0\r\n`);
      if (r.line === (want === undefined ? 'NOT_FOUND' : 'TOUCHED')) return;
      if (want !== undefined && r.line === 'NOT_FOUND') this.lost(model, key, 'touch');
      else throw new Mismatch(`touch ${key}: ${r.line}`);
    }
  }

  private checkGet(r: TextReply, ks: string[], model: Map<string, string>, what: string, flags: number): void {
    if (r.line !== 'END') throw new Mismatch(`${what} ${ks.join(' ')}: ${r.line}`);
    let i = 0;
    for (const k of ks) {
      const want = model.get(k);
      const got = r.values[i];
      const gotKey = got?.line.split(' ')[1];
      if (gotKey === k) {
        i++;
        if (want === undefined) throw new Mismatch(`${what} ${k}: a value for a key that should be absent (${got!.line})`);
        if (got!.data.toString('latin1') !== want) throw new Mismatch(`${what} ${k}: wrong value (${got!.line}, ${got!.data.length} bytes, expected ${want.length})`);
        if (got!.line.split(' ')[2] !== String(flags)) throw new Mismatch(`${what} ${k}: wrong flags ${got!.line}`);
      } else if (want !== undefined) this.lost(model, k, what);
    }
    if (i !== r.values.length) throw new Mismatch(`${what} ${ks.join(' ')}: unexpected values ${r.values.map((v) => v.line).join(' | ')}`);
  }

  private async metaOp(c: McConn, model: Map<string, string>, keys: string[], counter: string, counters: Map<string, bigint>): Promise<void> {
    const key = keys[this.rnd(keys.length)]!;
    const want = model.get(key);
    const roll = this.rnd(100);
    if (roll < 30) {
      const v = this.value(key);
      const r = await c.text(`ms ${key} ${v.length} F7 T0\r\n${v}\r\n`);
      if (r.line !== 'HD') throw new Mismatch(`ms ${key}: ${r.line}`);
      model.set(key, v);
    } else if (roll < 70) {
      const r = await c.text(`mg ${key} v f k\r\n`);
      if (r.line === 'EN' || r.line.startsWith('EN ')) {
        if (want !== undefined) this.lost(model, key, 'mg');
      } else if (r.line.startsWith('VA ')) {
        const data = r.values[0]!.data.toString('latin1');
        if (want === undefined || data !== want) throw new Mismatch(`mg ${key}: wrong value (${r.line})`);
        if (!/ f7( |$)/.test(r.line) || !r.line.includes(` k${key}`)) throw new Mismatch(`mg ${key}: wrong flags ${r.line}`);
      } else throw new Mismatch(`mg ${key}: ${r.line}`);
    } else if (roll < 78) {
      const r = await c.text(`md ${key}\r\n`);
      if (r.line === (want === undefined ? 'NF' : 'HD')) model.delete(key);
      else if (want !== undefined && r.line === 'NF') this.lost(model, key, 'md');
      else throw new Mismatch(`md ${key}: ${r.line}`);
    } else if (roll < 90) {
      const have = counters.get(counter);
      if (have === undefined) {
        const r = await c.text(`ms ${counter} 1\r\n0\r\n`);
        if (r.line !== 'HD') throw new Mismatch(`ms ${counter}: ${r.line}`);
        counters.set(counter, 0n);
      } else {
        const d = BigInt(1 + this.rnd(1000));
        const r = await c.text(`ma ${counter} D${d} v\r\n`);
        if (r.line === 'NF') this.lost(counters, counter, 'ma');
        else if (!r.line.startsWith('VA ') || r.values[0]!.data.toString('latin1') !== String(have + d)) {
          throw new Mismatch(`ma ${counter} D${d}: ${r.line} ${r.values[0]?.data.toString('latin1')} (expected ${have + d})`);
        } else counters.set(counter, have + d);
      }
    } else {
      const r = await c.text('mn\r\n');
      if (r.line !== 'MN') throw new Mismatch(`mn: ${r.line}`);
    }
  }

  private async binaryOp(c: McConn, model: Map<string, string>, keys: string[], counter: string, counters: Map<string, bigint>): Promise<void> {
    const key = keys[this.rnd(keys.length)]!;
    const want = model.get(key);
    const roll = this.rnd(100);
    if (roll < 25) {
      const v = this.value(key);
      const r = (await c.bin(req.set(key, v, { flags: 9 })))!;
      if (r.status !== 0) throw new Mismatch(`SET ${key}: status 0x${r.status.toString(16)}`);
      model.set(key, v);
    } else if (roll < 60) {
      const r = (await c.bin(req.get(key)))!;
      this.checkBinGet(r, key, want, model, 'GET');
    } else if (roll < 70) {
      // GETKQ × 3 then NOOP: hits answer, misses stay silent.
      const ks = [key, keys[this.rnd(keys.length)]!, keys[this.rnd(keys.length)]!].filter((k, i, a) => a.indexOf(k) === i);
      const replies = await Promise.all([...ks.map((k) => c.bin(req.getkq(k), true)), c.bin(req.noop())]);
      const noop = replies.pop();
      if (!noop || noop.opcode !== Opcode.Noop || noop.status !== 0) throw new Mismatch(`NOOP after GETKQ: ${JSON.stringify(noop)}`);
      ks.forEach((k, i) => {
        const r = replies[i];
        const w = model.get(k);
        if (r === undefined) {
          if (w !== undefined) this.lost(model, k, 'GETKQ');
        } else {
          if (r.key.toString('latin1') !== k) throw new Mismatch(`GETKQ ${k}: reply for key ${r.key.toString('latin1')}`);
          this.checkBinGet(r, k, w, model, 'GETKQ');
        }
      });
    } else if (roll < 75) {
      const r = (await c.bin(req.append(key, 'q')))!;
      if (want !== undefined && r.status === 0) model.set(key, `${want}q`);
      else if (want === undefined && r.status === 0x05) { /* not stored, as expected */ } else if (want !== undefined && r.status === 0x05) this.lost(model, key, 'APPEND');
      else throw new Mismatch(`APPEND ${key}: status 0x${r.status.toString(16)}`);
    } else if (roll < 80) {
      const r = (await c.bin(req.delete(key)))!;
      if (r.status === (want === undefined ? 0x01 : 0)) model.delete(key);
      else if (want !== undefined && r.status === 0x01) this.lost(model, key, 'DELETE');
      else throw new Mismatch(`DELETE ${key}: status 0x${r.status.toString(16)}`);
    } else if (roll < 92) {
      const have = counters.get(counter);
      const d = BigInt(1 + this.rnd(1000));
      const r = (await c.bin(req.incr(counter, { delta: d, initial: 7n, exptime: 0 })))!;
      if (r.status !== 0 || r.value.length !== 8) throw new Mismatch(`INCREMENT ${counter}: status 0x${r.status.toString(16)}`);
      const got = r.value.readBigUInt64BE(0);
      const expect = have === undefined ? 7n : have + d;
      if (got !== expect) {
        if (have !== undefined && got === 7n && this.o.evictable) this.stats.evictedMisses++;
        else throw new Mismatch(`INCREMENT ${counter} ${d}: ${got} (expected ${expect})`);
      }
      counters.set(counter, got);
    } else {
      const r = (await c.bin(req.touch(key, 0)))!;
      if (r.status === (want === undefined ? 0x01 : 0)) return;
      if (want !== undefined && r.status === 0x01) this.lost(model, key, 'TOUCH');
      else throw new Mismatch(`TOUCH ${key}: status 0x${r.status.toString(16)}`);
    }
  }

  private checkBinGet(r: BinReply, key: string, want: string | undefined, model: Map<string, string>, what: string): void {
    if (r.status === 0x01) {
      if (want !== undefined) this.lost(model, key, what);
      return;
    }
    if (r.status !== 0) throw new Mismatch(`${what} ${key}: status 0x${r.status.toString(16)}`);
    if (want === undefined) throw new Mismatch(`${what} ${key}: a value for a key that should be absent`);
    if (r.value.toString('latin1') !== want) throw new Mismatch(`${what} ${key}: wrong value (${r.value.length} bytes, expected ${want.length})`);
    if (r.extras.length !== 4 || r.extras.readUInt32BE(0) !== 9) throw new Mismatch(`${what} ${key}: wrong flags`);
  }
}

/**
 * Opens a connection, logs in (ASCII or SASL in turn), does one set and one get, closes;
 * over and over. With `wrong`, every `wrong.every` rounds it tries a wrong password for
 * `wrong.username`, which must be refused. Keep that rare and on a username of its own:
 * nodes throttle failed logins per source, and every client here shares 127.0.0.1.
 */
export class Churner {
  readonly stats = newStats();
  private stopped = false;
  private done: Promise<void> | undefined;

  constructor(private readonly o: {
    port: number; host?: string; username: string; password: string; prefix: string; pauseMs?: number;
    wrong?: { username: string; password: string; every: number };
  }) {}

  start(): void {
    this.done = this.loop();
  }

  async stop(): Promise<WorkerStats> {
    this.stopped = true;
    await this.done;
    return this.stats;
  }

  private error(what: string): void {
    this.stats.errors++;
    if (this.stats.samples.length < 10) this.stats.samples.push(`${new Date().toISOString()} ${this.o.prefix}: ${what}`);
  }

  private async loop(): Promise<void> {
    for (let i = 0; !this.stopped; i++) {
      const mode = i % 2 === 0 ? 'text' : 'binary';
      try {
        const w = this.o.wrong;
        if (w && i % w.every === w.every - 1) {
          const c = await McConn.connect(this.o.port, { host: this.o.host, mode });
          try {
            const wrong = `${w.password.slice(0, -1)}${w.password.endsWith('0') ? '1' : '0'}`;
            if (mode === 'text') {
              const r = await answerOrDropped(c, c.text(`set ${w.username} 0 0 ${wrong.length}\r\n${wrong}\r\n`));
              if (r !== 'dropped' && r.line === 'STORED') this.error('a wrong password was accepted (ASCII)');
            } else {
              const r = await answerOrDropped(c, c.bin(saslPlain(w.username, wrong)));
              if (r !== 'dropped' && r?.status === 0) this.error('a wrong password was accepted (SASL)');
            }
          } finally {
            c.end();
          }
        } else {
          const c = await openSession(this.o.port, { host: this.o.host, mode, username: this.o.username, password: this.o.password });
          try {
            const key = `${this.o.prefix}:${i % 16}`;
            const v = `churn-${i}`;
            if (mode === 'text') {
              const s = await c.text(`set ${key} 0 0 ${v.length}\r\n${v}\r\n`);
              if (s.line !== 'STORED') this.error(`churn set: ${s.line}`);
              const g = await c.text(`get ${key}\r\n`);
              if (g.values[0]?.data.toString() !== v) this.error(`churn get: ${g.line} ${g.values[0]?.data.toString()}`);
            } else {
              const s = (await c.bin(req.set(key, v)))!;
              if (s.status !== 0) this.error(`churn SET: 0x${s.status.toString(16)}`);
              const g = (await c.bin(req.get(key)))!;
              if (g.status !== 0 || g.value.toString() !== v) this.error(`churn GET: 0x${g.status.toString(16)} ${g.value.toString()}`);
            }
          } finally {
            c.end();
          }
        }
        this.stats.ops++;
      } catch (e) {
        if (!this.stopped) this.error((e as Error).message);
        await new Promise((r) => setTimeout(r, 50));
      }
      if (this.o.pauseMs) await new Promise((r) => setTimeout(r, this.o.pauseMs));
    }
  }
}

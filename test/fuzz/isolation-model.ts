/**
 * Model checking of tenant isolation and capabilities on one live node, shared by
 * `test/isolation-model.test.ts` (bounded) and `npm run fuzz` (long).
 *
 * Three caches, each with four credentials (the primary with every capability, and
 * added ones: read-only, no-flush, and write-less but flush-capable), each logged in
 * over an ASCII, a meta and a binary connection. A seeded random walk picks operations
 * (set/add/replace/append/prepend, get/multi-get/get-and-touch, meta `me`, delete,
 * incr/decr, touch, flush_all, stats) on random connections and keys; the keys are the same names
 * in every cache. Each step runs up to three operations at once, on different caches, so
 * the node sees true interleavings while the model stays deterministic. Every answer is
 * compared with a model: a Map per cache plus counters, with refusals wherever the
 * credential lacks the capability. Every `statsEvery` operations each cache's stats are
 * compared too (curr_items, curr_connections and the command counters, as deltas from a
 * baseline taken after login). No TTLs: every exptime is 0.
 */
import type { TestCache, TestNode } from '../support/test-node.ts';
import type { RawClient } from '../support/raw-client.ts';
import { seededRandom } from '../../src/shared/testing/seeded-random.ts';
import { plain, readResponses, req, type Response } from '../../src/protocol/binary/testing/frames.ts';

export type Wire = 'text' | 'meta' | 'binary';
const WIRES: readonly Wire[] = ['text', 'meta', 'binary'];

interface CredentialSpec {
  readonly name: string;
  readonly write: boolean;
  readonly flush: boolean;
}
/** The primary first (created with the cache), then the ones added with addCredential. */
const CREDENTIALS: readonly CredentialSpec[] = [
  { name: 'full', write: true, flush: true },
  { name: 'read-only', write: false, flush: false },
  { name: 'no-flush', write: true, flush: false },
  { name: 'flush-only', write: false, flush: true },
];
const CACHES = 3;

type Action =
  | 'set' | 'add' | 'replace' | 'append' | 'prepend' | 'get' | 'mget' | 'gat' | 'delete' | 'incr' | 'decr' | 'touch'
  | 'flush' | 'stats';
const ACTIONS: readonly [Action, number][] = [
  ['set', 14], ['add', 4], ['replace', 3], ['append', 4], ['prepend', 3], ['get', 16], ['mget', 4], ['gat', 3],
  ['delete', 6], ['incr', 7], ['decr', 4], ['touch', 3], ['flush', 1], ['stats', 2],
];
const ACTION_TOTAL = ACTIONS.reduce((s, [, w]) => s + w, 0);

/** Counters checked against the model, as deltas from the baseline. */
const COUNTERS = [
  'cmd_get', 'get_hits', 'get_misses', 'cmd_set', 'total_items', 'cmd_delete', 'delete_hits', 'delete_misses',
  'incr_hits', 'incr_misses', 'decr_hits', 'decr_misses', 'cmd_touch', 'touch_hits', 'touch_misses', 'cmd_flush',
] as const;
type Counter = (typeof COUNTERS)[number];

const UINT64 = 1n << 64n;
const WRITE_REFUSED = 'CLIENT_ERROR permission denied: credential lacks write capability\r\n';
const FLUSH_REFUSED = 'CLIENT_ERROR permission denied: credential lacks flush capability\r\n';
const NON_NUMERIC = 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n';
const AUTH_ERROR = 0x20;

interface Item {
  value: string;
  flags: number;
}

class CacheModel {
  readonly items = new Map<string, Item>();
  readonly counts = Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Record<Counter, number>;
  baseline: Record<string, number> = {};
}

interface Connection {
  readonly cache: number;
  readonly cred: CredentialSpec;
  readonly wire: Wire;
  readonly client: RawClient;
}

export interface ModelOptions {
  readonly seed: number;
  readonly ops: number;
  readonly statsEvery?: number;
  readonly log?: (line: string) => void;
}

export interface ModelReport {
  ops: number;
  steps: number;
  byWire: Record<Wire, number>;
  byAction: Record<string, number>;
  /** Operations the model expected to be refused for a missing capability (and were). */
  refused: number;
  statsChecks: number;
}

export class ModelDivergence extends Error {
  override name = 'ModelDivergence';
}


interface Op {
  readonly conn: Connection;
  readonly action: Action;
  readonly keys: string[];
  readonly value: string;
  readonly flags: number;
  readonly delta: bigint;
  /** Binary incr/decr: create with this value on a miss (else fail on a miss). */
  readonly initial: bigint | null;
}

function describeOp(op: Op): string {
  const { conn, action } = op;
  let what = `${action} ${op.keys.join(' ')}`;
  if (action === 'flush' || action === 'stats') what = action;
  else if (action === 'mget' && conn.wire === 'meta') what = `me ${op.keys[0]}`;
  else if (action === 'incr' || action === 'decr') what += ` by ${op.delta}${conn.wire === 'binary' && op.initial !== null ? ` (initial ${op.initial})` : ''}`;
  else if (['set', 'add', 'replace', 'append', 'prepend'].includes(action)) what += ` = ${JSON.stringify(op.value)} flags ${op.flags}`;
  return `cache ${conn.cache} ${conn.cred.name} ${conn.wire}: ${what}`;
}

// ---- reply framing ------------------------------------------------------------------

/** Length of the complete ASCII reply at the start of `b`, or -1. */
function textReplyLength(b: Buffer): number {
  let at = 0;
  for (;;) {
    const nl = b.indexOf('\r\n', at);
    if (nl < 0) return -1;
    const line = b.toString('latin1', at, nl);
    const next = nl + 2;
    if (line.startsWith('VALUE ') || line.startsWith('VA ')) {
      const parts = line.split(' ');
      const len = Number(line.startsWith('VA ') ? parts[1] : parts[3]);
      if (!Number.isInteger(len) || b.length < next + len + 2) return -1;
      if (line.startsWith('VA ')) return next + len + 2;
      at = next + len + 2;
      continue;
    }
    if (line.startsWith('STAT ')) {
      at = next;
      continue;
    }
    return next;
  }
}

async function textRequest(c: RawClient, request: string): Promise<string> {
  c.send(Buffer.from(request, 'latin1'));
  return (await c.readUntil((b) => textReplyLength(b) >= 0)).toString('latin1');
}

async function binaryRequest(c: RawClient, request: Buffer, stats = false): Promise<Response[]> {
  c.send(request);
  const done = (b: Buffer): boolean => {
    const { responses } = readResponses(b);
    if (!stats) return responses.length >= 1;
    return responses.some((r) => r.key.length === 0);
  };
  return readResponses(await c.readUntil(done)).responses;
}

// ---- the model ----------------------------------------------------------------------

function parseCounter(v: string): bigint | null {
  const t = v.replace(/ +$/, '');
  if (t.length === 0 || t.length > 20 || !/^[0-9]+$/.test(t)) return null;
  const n = BigInt(t);
  return n >= UINT64 ? null : n;
}

/** What the node must answer to `op`, applied to the model; `check` compares the answer. */
type Expectation =
  | { readonly type: 'text'; readonly reply: string }
  | { readonly type: 'binary'; readonly status: number; readonly value?: Buffer; readonly flags?: number }
  | { readonly type: 'stats' }
  | { readonly type: 'pattern'; readonly re: RegExp };

function isWrite(a: Action): boolean {
  return a !== 'get' && a !== 'mget' && a !== 'flush' && a !== 'stats';
}

/** Applies `op` to the model and returns what the node must answer. */
function expect(m: CacheModel, op: Op): Expectation {
  const { conn, action } = op;
  const wire = conn.wire;
  const key = op.keys[0]!;
  if (isWrite(action) && !conn.cred.write) return wire === 'binary' ? { type: 'binary', status: AUTH_ERROR } : { type: 'text', reply: WRITE_REFUSED };
  if (action === 'flush' && !conn.cred.flush) return wire === 'binary' ? { type: 'binary', status: AUTH_ERROR } : { type: 'text', reply: FLUSH_REFUSED };
  const c = m.counts;
  if (action === 'mget' && wire === 'meta') {
    // meta `me`: item metadata, not counted as a fetch.
    const it = m.items.get(key);
    return it
      ? { type: 'pattern', re: new RegExp(`^ME ${key} exp=-1 la=\\d+ cas=\\d+ fetch=(yes|no) cls=1 size=${it.value.length}\r\n$`) }
      : { type: 'text', reply: 'EN\r\n' };
  }
  switch (action) {
    case 'set': case 'add': case 'replace': case 'append': case 'prepend': {
      c.cmd_set++;
      const old = m.items.get(key);
      let ok: boolean;
      if (action === 'set') ok = true;
      else if (action === 'add') ok = old === undefined;
      else ok = old !== undefined;
      if (ok) {
        c.total_items++;
        if (action === 'append') m.items.set(key, { value: old!.value + op.value, flags: old!.flags });
        else if (action === 'prepend') m.items.set(key, { value: op.value + old!.value, flags: old!.flags });
        else m.items.set(key, { value: op.value, flags: op.flags });
      }
      if (wire === 'binary') {
        const status = ok ? 0 : action === 'add' ? 0x02 : action === 'replace' ? 0x01 : 0x05;
        return { type: 'binary', status };
      }
      if (wire === 'meta') return { type: 'text', reply: ok ? 'HD\r\n' : 'NS\r\n' };
      return { type: 'text', reply: ok ? 'STORED\r\n' : 'NOT_STORED\r\n' };
    }
    case 'get': case 'gat': case 'mget': {
      let reply = '';
      for (const k of op.keys) {
        c.cmd_get++;
        if (action === 'gat') c.cmd_touch++;
        const it = m.items.get(k);
        if (it) {
          c.get_hits++;
          if (action === 'gat') c.touch_hits++;
        } else {
          c.get_misses++;
          if (action === 'gat') c.touch_misses++;
        }
        if (wire === 'binary') return it ? { type: 'binary', status: 0, value: Buffer.from(it.value, 'latin1'), flags: it.flags } : { type: 'binary', status: 1 };
        if (wire === 'meta') return { type: 'text', reply: it ? `VA ${it.value.length} f${it.flags}\r\n${it.value}\r\n` : 'EN\r\n' };
        if (it) reply += `VALUE ${k} ${it.flags} ${it.value.length}\r\n${it.value}\r\n`;
      }
      return { type: 'text', reply: `${reply}END\r\n` };
    }
    case 'delete': {
      c.cmd_delete++;
      const found = m.items.delete(key);
      if (found) c.delete_hits++;
      else c.delete_misses++;
      if (wire === 'binary') return { type: 'binary', status: found ? 0 : 1 };
      if (wire === 'meta') return { type: 'text', reply: found ? 'HD\r\n' : 'NF\r\n' };
      return { type: 'text', reply: found ? 'DELETED\r\n' : 'NOT_FOUND\r\n' };
    }
    case 'incr': case 'decr': {
      const incr = action === 'incr';
      const it = m.items.get(key);
      if (!it) {
        if (incr) c.incr_misses++;
        else c.decr_misses++;
        if (wire === 'binary' && op.initial !== null) {
          c.total_items++;
          m.items.set(key, { value: String(op.initial), flags: 0 });
          return { type: 'binary', status: 0, value: u64(op.initial) };
        }
        if (wire === 'binary') return { type: 'binary', status: 1 };
        return { type: 'text', reply: wire === 'meta' ? 'NF\r\n' : 'NOT_FOUND\r\n' };
      }
      const current = parseCounter(it.value);
      if (current === null) return wire === 'binary' ? { type: 'binary', status: 0x06 } : { type: 'text', reply: NON_NUMERIC };
      if (incr) c.incr_hits++;
      else c.decr_hits++;
      const next = incr ? (current + op.delta) % UINT64 : op.delta >= current ? 0n : current - op.delta;
      it.value = String(next);
      if (wire === 'binary') return { type: 'binary', status: 0, value: u64(next) };
      if (wire === 'meta') return { type: 'text', reply: `VA ${it.value.length}\r\n${it.value}\r\n` };
      return { type: 'text', reply: `${next}\r\n` };
    }
    case 'touch': {
      c.cmd_touch++;
      const found = m.items.has(key);
      if (found) c.touch_hits++;
      else c.touch_misses++;
      if (wire === 'binary') return { type: 'binary', status: found ? 0 : 1 };
      return { type: 'text', reply: found ? 'TOUCHED\r\n' : 'NOT_FOUND\r\n' };
    }
    case 'flush':
      c.cmd_flush++;
      m.items.clear();
      return wire === 'binary' ? { type: 'binary', status: 0 } : { type: 'text', reply: 'OK\r\n' };
    case 'stats':
      return { type: 'stats' };
  }
}

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}

/** The request bytes for `op` on its wire. */
function encode(op: Op): Buffer | string {
  const { action, keys, value, flags, delta } = op;
  const key = keys[0]!;
  const wire = op.conn.wire;
  if (wire === 'binary') {
    switch (action) {
      case 'set': return req.set(key, value, { flags });
      case 'add': return req.add(key, value, { flags });
      case 'replace': return req.replace(key, value, { flags });
      case 'append': return req.append(key, value);
      case 'prepend': return req.prepend(key, value);
      case 'get': case 'mget': return req.get(key);
      case 'gat': return req.gat(key, 0);
      case 'delete': return req.delete(key);
      case 'incr': case 'decr':
        return (action === 'incr' ? req.incr : req.decr)(key, { delta, initial: op.initial ?? 0n, exptime: op.initial === null ? 0xffffffff : 0 });
      case 'touch': return req.touch(key, 0);
      case 'flush': return req.flush();
      case 'stats': return req.stat();
    }
  }
  if (wire === 'meta') {
    const mode = { set: 'S', add: 'E', replace: 'R', append: 'A', prepend: 'P' } as Record<string, string>;
    switch (action) {
      case 'set': case 'add': case 'replace': case 'append': case 'prepend':
        return `ms ${key} ${value.length} F${flags} M${mode[action]}\r\n${value}\r\n`;
      case 'get': return `mg ${key} v f\r\n`;
      case 'mget': return `me ${key}\r\n`;
      case 'gat': return `mg ${key} v f T0\r\n`;
      case 'delete': return `md ${key}\r\n`;
      case 'incr': return `ma ${key} D${delta} v MI\r\n`;
      case 'decr': return `ma ${key} D${delta} v MD\r\n`;
      // Meta has no touch, flush or stats of its own: the classic forms share the connection.
    }
  }
  switch (action) {
    case 'set': case 'add': case 'replace': case 'append': case 'prepend':
      return `${action} ${key} ${flags} 0 ${value.length}\r\n${value}\r\n`;
    case 'get': case 'mget': return `get ${keys.join(' ')}\r\n`;
    case 'gat': return `gat 0 ${key}\r\n`;
    case 'delete': return `delete ${key}\r\n`;
    case 'incr': case 'decr': return `${action} ${key} ${delta}\r\n`;
    case 'touch': return `touch ${key} 0\r\n`;
    case 'flush': return 'flush_all\r\n';
    case 'stats': return 'stats\r\n';
  }
}

// ---- the driver ---------------------------------------------------------------------

/** Keys shared by name across caches: a leak would show up as a wrong hit. */
const KEYS = Array.from({ length: 12 }, (_, i) => `key${i}`).concat(['n0', 'n1', 'n2', 'n3']);

function randomValue(r: () => number): string {
  const x = r();
  if (x < 0.35) return String(Math.floor(r() * 1000));
  if (x < 0.4) return String(UINT64 - 1n - BigInt(Math.floor(r() * 3)));
  if (x < 0.45) return '';
  const n = 1 + Math.floor(r() * 24);
  let s = '';
  for (let i = 0; i < n; i++) s += 'abcdefghijklmnopqrstuvwxyz0123456789-_'[Math.floor(r() * 38)];
  return s;
}

function pickAction(r: () => number): Action {
  let x = r() * ACTION_TOTAL;
  for (const [a, w] of ACTIONS) {
    x -= w;
    if (x < 0) return a;
  }
  return 'get';
}

function randomOp(r: () => number, conn: Connection): Op {
  const action = pickAction(r);
  const pickKey = () => KEYS[Math.floor(r() * KEYS.length)]!;
  const keys = action === 'mget' && conn.wire === 'text' ? Array.from({ length: 2 + Math.floor(r() * 3) }, pickKey) : [pickKey()];
  const bigDelta = r() < 0.1;
  return {
    conn, action, keys,
    value: randomValue(r),
    flags: r() < 0.5 ? 0 : Math.floor(r() * 0x100000000),
    delta: bigDelta ? UINT64 - 1n - BigInt(Math.floor(r() * 5)) : BigInt(Math.floor(r() * 100)),
    initial: r() < 0.5 ? null : BigInt(Math.floor(r() * 1000)),
  };
}

async function connectAll(t: TestNode): Promise<{ conns: Connection[]; models: CacheModel[] }> {
  const conns: Connection[] = [];
  const models: CacheModel[] = [];
  for (let cache = 0; cache < CACHES; cache++) {
    const primary = await t.createCache();
    const creds: TestCache[] = [primary];
    for (const spec of CREDENTIALS.slice(1)) creds.push(await t.addCredential(primary.id, { write: spec.write, flush: spec.flush }));
    models.push(new CacheModel());
    for (let i = 0; i < CREDENTIALS.length; i++) {
      for (const wire of WIRES) {
        let client: RawClient;
        if (wire === 'binary') {
          client = await t.connect();
          const [auth] = await binaryRequest(client, req.saslAuth('PLAIN', plain(creds[i]!.username, creds[i]!.password)));
          if (auth?.status !== 0) throw new Error(`SASL login failed for ${CREDENTIALS[i]!.name}`);
        } else {
          client = await t.textLogin(creds[i]!);
        }
        conns.push({ cache, cred: CREDENTIALS[i]!, wire, client });
      }
    }
  }
  return { conns, models };
}

async function readStats(conn: Connection): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  if (conn.wire === 'binary') {
    for (const r of await binaryRequest(conn.client, req.stat(), true)) {
      if (r.key.length > 0) out[r.key.toString()] = Number(r.value.toString());
    }
    return out;
  }
  const text = await textRequest(conn.client, 'stats\r\n');
  if (!text.endsWith('END\r\n')) throw new ModelDivergence(`stats reply does not end in END: ${JSON.stringify(text)}`);
  for (const line of text.split('\r\n')) {
    const m = /^STAT (\S+) (.*)$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

function compareStats(m: CacheModel, got: Record<string, number>, connections: number): string | null {
  const want: Record<string, number> = { curr_items: m.items.size, curr_connections: connections };
  for (const c of COUNTERS) want[c] = (m.baseline[c] ?? 0) + m.counts[c];
  const wrong = Object.entries(want).filter(([k, v]) => got[k] !== v).map(([k, v]) => `${k} ${got[k]} (model ${v})`);
  return wrong.length === 0 ? null : wrong.join(', ');
}

/** Runs `op` on the node and compares its answer with the model's. */
async function runOp(op: Op, m: CacheModel, perCache: number): Promise<boolean> {
  const want = expect(m, op);
  const { client } = op.conn;
  const request = encode(op);
  if (want.type === 'stats') {
    const got = await readStats(op.conn);
    const wrong = compareStats(m, got, perCache);
    if (wrong) throw new ModelDivergence(`stats differ: ${wrong}`);
    return false;
  }
  if (want.type === 'pattern') {
    const got = await textRequest(client, request as string);
    if (!want.re.test(got)) throw new ModelDivergence(`got ${JSON.stringify(got)}, model ${want.re}`);
    return false;
  }
  if (want.type === 'text') {
    const got = await textRequest(client, request as string);
    if (got !== want.reply) throw new ModelDivergence(`got ${JSON.stringify(got)}, model ${JSON.stringify(want.reply)}`);
    return want.reply === WRITE_REFUSED || want.reply === FLUSH_REFUSED;
  }
  const rs = await binaryRequest(client, request as Buffer);
  const r = rs[0]!;
  const problems: string[] = [];
  if (rs.length !== 1) problems.push(`${rs.length} responses`);
  if (r.status !== want.status) problems.push(`status 0x${r.status.toString(16)} (model 0x${want.status.toString(16)})`);
  if (want.value !== undefined && !r.value.equals(want.value)) problems.push(`value ${JSON.stringify(r.value.toString('latin1'))} (model ${JSON.stringify(want.value.toString('latin1'))})`);
  if (want.flags !== undefined && (r.extras.length !== 4 || r.extras.readUInt32BE(0) !== want.flags)) problems.push(`extras ${r.extras.toString('hex')} (model flags ${want.flags})`);
  if (problems.length > 0) throw new ModelDivergence(problems.join(', '));
  return want.status === AUTH_ERROR;
}

/**
 * Creates the caches and connections on `t`, runs `opts.ops` operations and closes the
 * connections. Throws ModelDivergence naming the seed, the operation and the recent
 * history at the first difference.
 */
export async function runIsolationModel(t: TestNode, opts: ModelOptions): Promise<ModelReport> {
  const r = seededRandom(opts.seed);
  const statsEvery = opts.statsEvery ?? 300;
  const { conns, models } = await connectAll(t);
  const perCache = CREDENTIALS.length * WIRES.length;
  const report: ModelReport = { ops: 0, steps: 0, byWire: { text: 0, meta: 0, binary: 0 }, byAction: {}, refused: 0, statsChecks: 0 };
  const history: string[] = [];
  const fail = (e: unknown, what: string): never => {
    throw new ModelDivergence(`isolation model diverged (seed ${opts.seed}, op ${report.ops}) at ${what}: ${(e as Error).message}\n`
      + `last operations:\n  ${history.slice(-15).join('\n  ')}`);
  };
  try {
    // Baseline after every login: logins count auth_cmds, not commands.
    for (let cache = 0; cache < CACHES; cache++) models[cache]!.baseline = await readStats(conns.find((c) => c.cache === cache)!);
    let nextStats = statsEvery;
    let nextLog = 50_000;
    while (report.ops < opts.ops) {
      // One to three operations on distinct caches, in flight together.
      const width = 1 + Math.floor(r() * CACHES);
      const caches = [0, 1, 2].sort(() => r() - 0.5).slice(0, width);
      const ops = caches.map((cache) => {
        const choices = conns.filter((c) => c.cache === cache);
        return randomOp(r, choices[Math.floor(r() * choices.length)]!);
      });
      for (const op of ops) history.push(`#${report.ops + ops.indexOf(op)} ${describeOp(op)}`);
      if (history.length > 60) history.splice(0, history.length - 30);
      const results = await Promise.allSettled(ops.map((op) => runOp(op, models[op.conn.cache]!, perCache)));
      results.forEach((res, i) => {
        if (res.status === 'rejected') fail(res.reason, describeOp(ops[i]!));
      });
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        report.byWire[op.conn.wire]++;
        report.byAction[op.action] = (report.byAction[op.action] ?? 0) + 1;
        if ((results[i] as PromiseFulfilledResult<boolean>).value) report.refused++;
      }
      report.ops += ops.length;
      report.steps++;
      if (report.ops >= nextStats || report.ops >= opts.ops) {
        nextStats += statsEvery;
        for (let cache = 0; cache < CACHES; cache++) {
          const viaWire = conns.filter((c) => c.cache === cache)[Math.floor(r() * perCache)]!;
          let got: Record<string, number>;
          try {
            got = await readStats(viaWire);
          } catch (e) {
            fail(e, `stats of cache ${cache}`);
          }
          const wrong = compareStats(models[cache]!, got!, perCache);
          if (wrong) fail(new Error(wrong), `periodic stats of cache ${cache} via ${viaWire.cred.name} ${viaWire.wire}`);
          report.statsChecks++;
        }
        if (opts.log && report.ops >= nextLog) {
          opts.log(`isolation model: ${report.ops} operations`);
          nextLog += 50_000;
        }
      }
    }
    return report;
  } finally {
    for (const c of conns) c.client.end();
  }
}

/**
 * The introspection-memory phase (issue 14: "the node's memory for 1,000 active caches"):
 * many caches made straight in the SQLite catalog, then, against a running node, each
 * logged in to over its own connection and given a little traffic with its own keys, so
 * the node creates each cache's store and (when on) its introspection state. Every reply
 * is checked byte for byte against what it must be.
 */
import net from 'node:net';
import { openSqliteCatalog } from '../../src/catalog/sqlite.ts';
import { asciiLoginRequest } from '../load/protocols.ts';

export interface CacheLogin {
  readonly id: number;
  readonly username: string;
  readonly password: string;
}

export interface DriveResult {
  /** Logins, sets and gets sent, and those answered exactly as expected. */
  readonly requests: number;
  readonly answeredCorrectly: number;
  readonly failedCaches: number;
  readonly problems: string[];
  readonly seconds: number;
}

export interface DriveSpec {
  readonly host: string;
  readonly port: number;
  readonly caches: readonly CacheLogin[];
  readonly keysPerCache: number;
  readonly setsPerCache: number;
  readonly getsPerCache: number;
  readonly valueSize: number;
  /** Connections at once (one cache each). */
  readonly concurrency: number;
  /** Per cache, from connect to its last reply. */
  readonly timeoutMs: number;
}

/**
 * `count` caches in `dataDir`'s catalog, in one process and before any node runs (the
 * node reads them at start). Small plans: a few KiB of items each, nothing is evicted.
 */
export async function createCaches(dataDir: string, count: number, memoryBytes: number): Promise<CacheLogin[]> {
  const catalog = openSqliteCatalog(dataDir);
  try {
    const out: CacheLogin[] = [];
    for (let i = 0; i < count; i++) {
      const { cache, credential, password } = await catalog.createCache({ memoryBytes });
      out.push({ id: cache.id, username: credential.username, password });
    }
    return out;
  } finally {
    await catalog.close();
  }
}

/** ~30-byte keys, distinct across caches too (a sketch shared by mistake would show). */
function keyOf(cache: number, k: number): string {
  return `intro:c${String(cache).padStart(6, '0')}:k${String(k).padStart(3, '0')}:`.padEnd(30, '-');
}

function valueOf(key: string, version: number, size: number): string {
  return `${version}:${key}`.padEnd(size, '.').slice(0, size);
}

/** The requests for one cache after its login, and the exact reply each must get. */
function plan(cacheIndex: number, spec: DriveSpec): { request: Buffer; replies: Buffer[] } {
  const parts: string[] = [];
  const replies: string[] = [];
  const version = new Map<string, number>();
  for (let i = 0; i < spec.setsPerCache; i++) {
    const key = keyOf(cacheIndex, i % spec.keysPerCache);
    const v = (version.get(key) ?? 0) + 1;
    version.set(key, v);
    parts.push(`set ${key} 0 0 ${spec.valueSize}\r\n${valueOf(key, v, spec.valueSize)}\r\n`);
    replies.push('STORED\r\n');
  }
  for (let i = 0; i < spec.getsPerCache; i++) {
    const key = keyOf(cacheIndex, i % spec.keysPerCache);
    parts.push(`get ${key}\r\n`);
    const v = version.get(key);
    replies.push(v === undefined ? 'END\r\n' : `VALUE ${key} 0 ${spec.valueSize}\r\n${valueOf(key, v, spec.valueSize)}\r\nEND\r\n`);
  }
  return { request: Buffer.from(parts.join('')), replies: replies.map((r) => Buffer.from(r)) };
}

/** How many of `expected` replies `got` starts with, exactly. */
function matchedReplies(got: Buffer, expected: readonly Buffer[]): number {
  let at = 0;
  let n = 0;
  for (const e of expected) {
    if (at + e.length > got.length || !got.subarray(at, at + e.length).equals(e)) break;
    at += e.length;
    n++;
  }
  return n;
}

/**
 * One cache: connect, ASCII login (answered STORED before anything else is sent), then
 * all its sets and gets pipelined in one write. Resolves with the replies that matched.
 */
function driveOne(login: CacheLogin, cacheIndex: number, spec: DriveSpec): Promise<{ matched: number; problem?: string }> {
  const { request, replies } = plan(cacheIndex, spec);
  const loginReply = Buffer.from('STORED\r\n');
  const expectedBytes = replies.reduce((sum, r) => sum + r.length, 0);
  return new Promise((resolve) => {
    const socket = net.connect({ host: spec.host, port: spec.port });
    socket.setNoDelay(true);
    const chunks: Buffer[] = [];
    let received = 0;
    let loggedIn = false;
    let settled = false;
    const finish = (matched: number, problem?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(problem ? { matched, problem } : { matched });
    };
    const timer = setTimeout(() => {
      const got = Buffer.concat(chunks);
      const ok = loggedIn ? 1 + matchedReplies(got, replies) : 0;
      finish(ok, `cache ${login.id}: timed out after ${spec.timeoutMs} ms with ${ok} of ${replies.length + 1} replies right` +
        ` (next: ${JSON.stringify(got.subarray(0, 80).toString('latin1'))})`);
    }, spec.timeoutMs);
    socket.on('connect', () => socket.write(asciiLoginRequest(login.username, login.password)));
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      received += d.length;
      if (!loggedIn) {
        if (received < loginReply.length) return;
        const got = Buffer.concat(chunks);
        if (!got.subarray(0, loginReply.length).equals(loginReply)) {
          finish(0, `cache ${login.id}: login answered ${JSON.stringify(got.subarray(0, 80).toString('latin1'))}`);
          return;
        }
        loggedIn = true;
        const rest = got.subarray(loginReply.length);
        chunks.length = 0;
        received = rest.length;
        if (rest.length) chunks.push(rest);
        socket.write(request);
        return;
      }
      if (received < expectedBytes) return;
      const got = Buffer.concat(chunks);
      const matched = matchedReplies(got, replies);
      if (matched === replies.length && got.length === expectedBytes) finish(1 + matched);
      else {
        let at = 0;
        for (let i = 0; i < matched; i++) at += replies[i]!.length;
        finish(1 + matched, `cache ${login.id}: reply ${matched + 1} of ${replies.length} wrong: ` +
          `${JSON.stringify(got.subarray(at, at + 80).toString('latin1'))}`);
      }
    });
    socket.on('error', (e) => finish(0, `cache ${login.id}: ${e.message}`));
    socket.on('close', () => finish(0, `cache ${login.id}: connection closed early`));
  });
}

/** Every cache of `spec.caches`, `concurrency` at a time. */
export async function driveCaches(spec: DriveSpec): Promise<DriveResult> {
  const started = performance.now();
  const perCache = 1 + spec.setsPerCache + spec.getsPerCache;
  let next = 0;
  let answeredCorrectly = 0;
  let failedCaches = 0;
  const problems: string[] = [];
  const worker = async () => {
    for (let i = next++; i < spec.caches.length; i = next++) {
      const r = await driveOne(spec.caches[i]!, i, spec);
      answeredCorrectly += r.matched;
      if (r.problem || r.matched !== perCache) {
        failedCaches++;
        if (problems.length < 10) problems.push(r.problem ?? `cache ${spec.caches[i]!.id}: ${r.matched} of ${perCache} right`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(spec.concurrency, spec.caches.length) }, worker));
  return {
    requests: spec.caches.length * perCache, answeredCorrectly, failedCaches, problems,
    seconds: (performance.now() - started) / 1000,
  };
}

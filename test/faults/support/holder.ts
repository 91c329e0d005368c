/**
 * Holds many idle memcache connections, as a child process of its own (it needs a file
 * descriptor per connection: run it with a raised `ulimit -n`).
 *
 *   node --import tsx test/faults/support/holder.ts '{"port":11211,"count":10000,"username":"U","password":"P"}'
 *
 * Opens `count` connections (`concurrency` at a time), logs each one in with the ASCII
 * login (none without a username), and prints one JSON line per event on stdout:
 * {"event":"progress","open":N} now and then, then {"event":"ready",…}. Then it reads
 * commands on stdin, one per line:
 *   check   send `get <key>` on every connection; answers {"event":"checked","ok":N,…}
 *   close   closes every connection, answers {"event":"closed"} and exits
 * It exits by itself when stdin closes (its parent went away).
 */
import net from 'node:net';
import readline from 'node:readline';

interface Spec {
  port: number;
  host?: string;
  count: number;
  username?: string;
  password?: string;
  concurrency?: number;
  /** Per-connection deadline for the login and for a check, ms. */
  timeoutMs?: number;
}

interface Held {
  socket: net.Socket;
  buf: string;
  closed: boolean;
  waiter?: (text: string) => void;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
const host = spec.host ?? '127.0.0.1';
const timeoutMs = spec.timeoutMs ?? 10_000;
const held: Held[] = [];
let closedByServer = 0;
const emit = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);

/** Resolves with the connection's input once `done(input)` holds, or rejects at the deadline. */
function expect(h: Held, done: (s: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (done(h.buf)) {
        clearTimeout(t);
        h.waiter = undefined;
        const out = h.buf;
        h.buf = '';
        resolve(out);
        return true;
      }
      return false;
    };
    const t = setTimeout(() => {
      h.waiter = undefined;
      reject(new Error(`timed out; got ${JSON.stringify(h.buf.slice(0, 80))}`));
    }, timeoutMs);
    if (check()) return;
    if (h.closed) {
      clearTimeout(t);
      reject(new Error('closed'));
      return;
    }
    h.waiter = () => {
      if (!check() && h.closed) {
        clearTimeout(t);
        reject(new Error('closed'));
      }
    };
  });
}

function open(): Promise<Held> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port: spec.port, host });
    const h: Held = { socket, buf: '', closed: false };
    const t = setTimeout(() => {
      socket.destroy();
      reject(new Error('connect timed out'));
    }, timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      h.buf += d;
      h.waiter?.(h.buf);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (!h.closed && !closing) closedByServer++;
      h.closed = true;
      h.waiter?.(h.buf);
    });
    socket.once('connect', () => {
      clearTimeout(t);
      resolve(h);
    });
    socket.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

let closing = false;
const errors: string[] = [];

async function openOne(): Promise<void> {
  const h = await open();
  if (spec.username !== undefined) {
    const pw = spec.password ?? '';
    h.socket.write(`set ${spec.username} 0 0 ${Buffer.byteLength(pw)}\r\n${pw}\r\n`);
    const reply = await expect(h, (s) => s.includes('\r\n'));
    if (reply !== 'STORED\r\n') {
      h.socket.destroy();
      throw new Error(`login refused: ${reply.trim()}`);
    }
  }
  held.push(h);
}

async function openAll(): Promise<void> {
  const t0 = Date.now();
  let next = 0;
  let failed = 0;
  let lastReport = Date.now();
  const worker = async () => {
    while (next < spec.count) {
      next++;
      try {
        await openOne();
      } catch (e) {
        failed++;
        if (errors.length < 10) errors.push((e as Error).message);
      }
      if (Date.now() - lastReport > 1000) {
        lastReport = Date.now();
        emit({ event: 'progress', open: held.length, failed });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(spec.concurrency ?? 200, spec.count) }, worker));
  emit({ event: 'ready', open: held.length, failed, errors, ms: Date.now() - t0 });
}

async function checkAll(): Promise<void> {
  const t0 = Date.now();
  let ok = 0;
  let bad = 0;
  const samples: string[] = [];
  let i = 0;
  const worker = async () => {
    while (i < held.length) {
      const h = held[i++]!;
      try {
        if (h.closed) throw new Error('closed');
        h.socket.write('get holder:key\r\n');
        const r = await expect(h, (s) => s.endsWith('END\r\n'));
        if (!/^(VALUE [^\r]*\r\n[\s\S]*\r\n)?END\r\n$/.test(r)) throw new Error(`unexpected ${JSON.stringify(r.slice(0, 60))}`);
        ok++;
      } catch (e) {
        bad++;
        if (samples.length < 10) samples.push((e as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: 500 }, worker));
  emit({ event: 'checked', ok, bad, closedByServer, samples, ms: Date.now() - t0 });
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'check') void checkAll();
  else if (cmd === 'close') {
    closing = true;
    for (const h of held) h.socket.destroy();
    emit({ event: 'closed', closedByServer });
    setTimeout(() => process.exit(0), 50);
  }
});
rl.on('close', () => process.exit(0));

await openAll();

/**
 * Loads `items` keys `key:%07d` with pipelined noreply sets over a few connections (the
 * way a bulk loader would), then one synchronous get per connection so every set has been
 * applied, then reads `curr_items` and `evictions` from `stats` to prove nothing fell out.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { keyName, setRequest, valueOf } from './protocols.ts';
import type { FillResult, FillSpec } from './spec.ts';

const BATCH = 500;

export async function runFill(spec: FillSpec): Promise<FillResult> {
  const value = valueOf(spec.valueSize);
  const first = spec.firstItem ?? 0;
  const start = performance.now();
  const per = Math.ceil(spec.items / spec.connections);
  await Promise.all(
    Array.from({ length: spec.connections }, async (_, c) => {
      const from = first + c * per;
      const to = Math.min(first + spec.items, from + per);
      if (from >= to) return;
      const socket = await connect(spec.host, spec.port);
      const reader = replyReader(socket);
      for (let i = from; i < to; i += BATCH) {
        const parts: Buffer[] = [];
        for (let j = i; j < Math.min(to, i + BATCH); j++) parts.push(setRequest('ascii', keyName(j), value, true));
        if (!socket.write(Buffer.concat(parts))) await drained(socket);
      }
      socket.write(`get ${keyName(to - 1)}\r\n`);
      const reply = await reader((b) => b.endsWith('END\r\n'));
      if (!reply.startsWith('VALUE ')) throw new Error(`fill: sync get answered ${JSON.stringify(reply.slice(0, 200))}`);
      socket.destroy();
    }),
  );
  const seconds = (performance.now() - start) / 1000;

  const socket = await connect(spec.host, spec.port);
  const reader = replyReader(socket);
  socket.write('stats\r\n');
  const stats = await reader((b) => b.endsWith('END\r\n'));
  socket.destroy();
  const stat = (name: string) => {
    const m = new RegExp(`^STAT ${name} (\\d+)\\r?$`, 'm').exec(stats);
    return m ? Number(m[1]) : undefined;
  };
  return {
    mode: 'fill',
    items: spec.items,
    seconds: Math.round(seconds * 1000) / 1000,
    itemsPerSec: Math.round(spec.items / seconds),
    currItems: stat('curr_items'),
    evictions: stat('evictions'),
  };
}

function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, noDelay: true });
    s.once('error', reject);
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {}); // surfaces as 'close', which the waits below report
      resolve(s);
    });
  });
}

/** Resolves on 'drain'; rejects if the server closes the connection first. */
function drained(socket: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      socket.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      socket.off('drain', onDrain);
      reject(new Error('fill: the server closed the connection while we were sending sets'));
    };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

/** Collects text from `socket` until `done` holds for everything read so far (30 s limit). */
function replyReader(socket: net.Socket): (done: (text: string) => boolean) => Promise<string> {
  let text = '';
  let closed = false;
  let wake: (() => void) | undefined;
  socket.on('data', (d: Buffer) => {
    text += d.toString('latin1');
    wake?.();
  });
  socket.on('close', () => {
    closed = true;
    wake?.();
  });
  return async (done) => {
    const deadline = Date.now() + 30_000;
    while (!done(text)) {
      if (closed) throw new Error(`fill: connection closed; got ${JSON.stringify(text.slice(-200))}`);
      if (Date.now() > deadline) throw new Error(`fill: no complete reply; got ${JSON.stringify(text.slice(-200))}`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 100);
      });
    }
    const out = text;
    text = '';
    return out;
  };
}

/**
 * `node --import tsx scripts/reply-memory.ts [--readers 25] [--values 63] [--max-reply-queue 4mb]`
 *
 * What clients that never read their replies cost a node: starts `cachier start` with the
 * given `--max-reply-queue`, stores VALUES values of 1 MiB, then READERS connections each
 * send one `get` of all of them and read nothing. Prints the node process's RSS growth
 * (from /proc/<pid>/status, the native socket loop included) once the node has written all
 * it will towards them. `--max-reply-queue 4gb` shows what the cap saves (every reply is
 * then built whole, as before multi-gets were streamed).
 */
import { parseArgs } from 'node:util';
import { mib, MiB } from '../test/support/child-process.ts';
import { asciiLogin, nonReadingSocket, startNodeProcess, writeAll } from '../test/support/node-process.ts';
import { RawClient } from '../test/support/raw-client.ts';

const { values: o } = parseArgs({
  options: {
    readers: { type: 'string', default: '25' },
    values: { type: 'string', default: '63' },
    'max-reply-queue': { type: 'string', default: '4mb' },
  },
  strict: true,
});
const readers = Number(o.readers);
const count = Number(o.values);
const node = await startNodeProcess({ memory: `${Math.max(64, count * 2)}mb`, args: ['--max-reply-queue', o['max-reply-queue']!] });
try {
  const cache = node.caches[0]!;
  const c = await RawClient.connect(node.port);
  await c.text(asciiLogin(cache));
  const value = 'v'.repeat(MiB - 64);
  const keys = Array.from({ length: count }, (_, i) => `big${i}`);
  for (const k of keys) await c.text(`set ${k} 0 0 ${value.length}\r\n${value}\r\n`);
  // A node building whole replies can be busy for seconds: a long timeout.
  const written = async () => {
    c.send('stats\r\n');
    const reply = await c.readUntil((b) => b.toString('latin1').endsWith('END\r\n'), 60_000);
    return Number(/STAT bytes_written (\d+)/.exec(reply.toString('latin1'))![1]);
  };
  const written0 = await written();
  const base = node.rss();
  const socks = await Promise.all(Array.from({ length: readers }, () => nonReadingSocket(node.port)));
  for (const s of socks) await writeAll(s, `${asciiLogin(cache)}get ${keys.join(' ')}\r\n`);
  // Wait until the node's writes towards them stop growing (the readers read nothing).
  let last = -1;
  for (let stable = 0, deadline = Date.now() + 60_000; stable < 5 && Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 200));
    const now = await written();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  let peak = 0;
  for (let i = 0; i < 20; i++) {
    peak = Math.max(peak, node.rss() - base);
    await new Promise((r) => setTimeout(r, 50));
  }
  console.log(`--max-reply-queue ${o['max-reply-queue']}: ${readers} readers asked for ${mib(readers * count * MiB)}; `
    + `the node wrote ${mib(last - written0)} towards them; node RSS grew ${mib(peak)} (${mib(peak / readers)} per reader)`);
  for (const s of socks) s.destroy();
} finally {
  await node.stop();
}

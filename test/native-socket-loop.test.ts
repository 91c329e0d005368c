// The native socket loop's own edges, driven through the addon directly: arguments it
// refuses, a batch larger than its event array, an environment (a worker thread)
// that ends without shutdown(), and a peer's half-close (END).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { socketLoopAddon } from '../src/node/io/native-addon.ts';
import { until, PROMPTLY_MS } from './support/wait.ts';

const addon = process.platform === 'linux' ? socketLoopAddon() : undefined;
const skip = addon ? false : 'the native socket loop is not built here';

function openLoop(eventInts: number, onBatch: (count: number) => void) {
  const slab = Buffer.allocUnsafeSlow(1024 * 1024);
  const events = new Int32Array(eventInts);
  return { loop: addon!.open(slab, events, onBatch), slab, events };
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
}

test('listen refuses a port out of range or a host that is not a string, and the loop still listens after', { skip }, () => {
  const { loop } = openLoop(1024, () => {});
  try {
    assert.throws(() => addon!.listen(loop, '127.0.0.1', 70_000, 16), TypeError);
    assert.throws(() => addon!.listen(loop, 42 as unknown as string, 0, 16), TypeError);
    assert.throws(() => addon!.listen(loop, '127.0.0.1', 'x' as unknown as number, 16), TypeError);
    const [id, port] = addon!.listen(loop, '127.0.0.1', 0, 16);
    assert.ok(id > 0 && port > 0);
  } finally {
    addon!.shutdown(loop);
  }
});

test('300 connections sending at once through an event array of 64 records: every byte reported, over several batches', { skip }, async () => {
  const records = 64;
  let accepted = 0;
  let batches = 0;
  let bytes = 0;
  let most = 0;
  const { loop, events } = openLoop(records * 4, (count) => {
    batches++;
    most = Math.max(most, count);
    for (let i = 0; i < count; i++) {
      const type = events[i * 4]!;
      if (type === 1) accepted++;
      if (type === 2) bytes += events[i * 4 + 3]!;
    }
  });
  const clients: Socket[] = [];
  try {
    const port = addon!.listen(loop, '127.0.0.1', 0, 511)[1];
    for (let i = 0; i < 300; i++) clients.push(await dial(port));
    for (const c of clients) c.write('0123456789');
    await until(() => `${accepted} accepted, ${bytes} bytes`, Date.now() + PROMPTLY_MS, () => accepted === 300 && bytes === 3000);
    assert.ok(most <= records, `a batch of ${most} records in an array of ${records}`);
    assert.ok(batches > 300 / records, `${batches} batches`);
  } finally {
    for (const c of clients) c.destroy();
    addon!.shutdown(loop);
  }
});

test('a worker that ends without shutdown() leaves no listener behind: its port refuses connections', { skip }, async () => {
  const addonPath = new URL('../build/Release/socket_loop.node', import.meta.url).pathname;
  const worker = new Worker(
    `const { createRequire } = require('node:module');
     const { parentPort, workerData } = require('node:worker_threads');
     const addon = createRequire(workerData)(workerData);
     const loop = addon.open(Buffer.allocUnsafeSlow(1 << 20), new Int32Array(1024), () => {});
     const [, port] = addon.listen(loop, '127.0.0.1', 0, 16);
     parentPort.postMessage(port);`,
    { eval: true, workerData: addonPath },
  );
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  // Listening while the worker lives (the loop is polled on the worker's own event loop).
  (await dial(port)).destroy();
  await worker.terminate();
  await until(() => `port ${port} still accepts after the worker ended`, Date.now() + PROMPTLY_MS, async () => {
    try {
      (await dial(port)).destroy();
      return undefined;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ECONNREFUSED' || undefined;
    }
  });
});

test('a peer that half-closes is reported as END and the connection stays open for writes; end() then closes it once they are sent', { skip }, async () => {
  const seen: string[] = [];
  let conn = 0;
  const { loop, events } = openLoop(1024, (count) => {
    for (let i = 0; i < count; i++) {
      const [type, id] = [events[i * 4]!, events[i * 4 + 1]!];
      if (type === 1) conn = id;
      seen.push(({ 1: 'accept', 2: 'data', 3: 'closed', 4: 'drain', 5: 'end' } as Record<number, string>)[type] ?? `?${type}`);
      // Inside the batch, as a Session answers: a reply (deferred, sent after the batch) and end().
      if (type === 5) {
        addon!.write(loop, id, Buffer.from('bye\r\n'));
        addon!.end(loop, id);
      }
    }
  });
  try {
    const port = addon!.listen(loop, '127.0.0.1', 0, 16)[1];
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    const ended = new Promise((r) => s.once('end', r));
    await new Promise((r) => s.once('connect', r));
    s.end('x');
    await until(() => seen.join(' '), Date.now() + PROMPTLY_MS, () => seen.includes('end'));
    await ended;
    assert.equal(Buffer.concat(got).toString(), 'bye\r\n');
    await until(() => seen.join(' '), Date.now() + PROMPTLY_MS, () => seen.includes('closed'));
    assert.deepEqual(seen, ['accept', 'data', 'end', 'closed']);
    assert.equal(addon!.write(loop, conn, Buffer.from('late')), -1, 'gone after CLOSED');
    s.destroy();
  } finally {
    addon!.shutdown(loop);
  }
});

test('after END, writes from outside a batch still go out (reading stays off), and a reset closes it', { skip }, async () => {
  const seen: number[] = [];
  let conn = 0;
  const { loop, events } = openLoop(1024, (count) => {
    for (let i = 0; i < count; i++) {
      seen.push(events[i * 4]!);
      if (events[i * 4] === 1) conn = events[i * 4 + 1]!;
    }
  });
  try {
    const port = addon!.listen(loop, '127.0.0.1', 0, 16)[1];
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    s.on('error', () => {});
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    await new Promise((r) => s.once('connect', r));
    s.end();
    await until(() => `${seen}`, Date.now() + PROMPTLY_MS, () => seen.includes(5));
    addon!.pause(loop, conn, false); // a resume after END must not read again (it would see EOF once more)
    assert.equal(addon!.write(loop, conn, Buffer.from('later')), 1);
    await until(() => Buffer.concat(got).toString(), Date.now() + PROMPTLY_MS, () => Buffer.concat(got).toString() === 'later');
    assert.deepEqual(seen, [1, 5]);
    s.resetAndDestroy();
    await until(() => `${seen}`, Date.now() + PROMPTLY_MS, () => seen.includes(3));
    assert.deepEqual(seen, [1, 5, 3]);
  } finally {
    addon!.shutdown(loop);
  }
});

// The inbox keeps what a connection read but has not parsed; a frame arriving a byte at a
// time must cost copies linear in its size (joining each read to the rest would be quadratic).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Inbox } from './inbox.ts';

test('a 1 MiB frame arriving one byte at a time is copied about twice, not once per read', () => {
  const inbox = new Inbox();
  const one = Buffer.from([0x61]);
  const total = 1 << 20;
  for (let i = 0; i < total; i++) inbox.append(one);
  assert.equal(inbox.size, total);
  assert.ok(inbox.copied < 3 * total, `copied ${inbox.copied} bytes for ${total}`);
  assert.ok(inbox.view().every((b) => b === 0x61));
});

test('parsed bytes leave from the front; what stays is intact across growth and compaction', () => {
  const inbox = new Inbox();
  let next = 0;
  let expect = 0;
  for (let round = 0; round < 2000; round++) {
    const chunk = Buffer.from(Array.from({ length: 1 + (round * 7) % 300 }, () => next++ & 255));
    inbox.append(chunk);
    const drop = Math.min(inbox.size, (round * 13) % 350);
    const view = inbox.view();
    for (let i = 0; i < view.length; i++) assert.equal(view[i], (expect + i) & 255);
    inbox.consume(drop);
    expect += drop;
  }
  inbox.consume(inbox.size);
  assert.equal(inbox.size, 0);
});

test('a tail appended from a transport buffer starts at the offset given', () => {
  const inbox = new Inbox();
  inbox.append(Buffer.from('get a\r\nget b'), 7);
  assert.equal(inbox.view().toString(), 'get b');
});

test('a frame whose length is known is held in one buffer of that size: one copy of what was held', () => {
  const inbox = new Inbox();
  inbox.append(Buffer.from('set k 0 0 1000000\r\nabc'));
  inbox.consume(0);
  inbox.reserve(19 + 1_000_002);
  const before = inbox.copied;
  for (let i = 0; i < 99; i++) inbox.append(Buffer.alloc(10_000, 0x61));
  inbox.append(Buffer.alloc(9_997, 0x61));
  inbox.append(Buffer.from('\r\n'));
  assert.equal(inbox.copied - before, 999_999, 'appends only: the buffer never grew again');
  assert.equal(inbox.footprint, 19 + 1_000_002);
  assert.equal(inbox.view().subarray(0, 22).toString(), 'set k 0 0 1000000\r\nabc');
});

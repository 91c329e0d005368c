// The slot policy on its own, with a seeded random source: who is displaced when the
// waiting pool or a source's share is full. Black-box floods are in test/connection-slots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../shared/testing/seeded-random.ts';
import { ConnectionSlots } from './connection-slots.ts';

class Conn {
  closed = false;
  constructor(readonly name: string) {}
  close(): void {
    this.closed = true;
  }
}


const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

test(`a full source share displaces one of its own silent waiters, never another source's (seed ${SEED})`, () => {
  const slots = new ConnectionSlots({ maxConnections: 10, maxPendingConnections: 100, maxPendingPerSource: 4 }, seededRandom(SEED));
  const other = new Conn('other');
  slots.wait(other, '10.0.0.2');
  const mine = Array.from({ length: 4 }, (_, i) => new Conn(`a${i}`));
  for (const c of mine) slots.wait(c, '10.0.0.1');
  slots.heard(mine[0]!); // it started its login
  const newcomer = new Conn('new');
  slots.wait(newcomer, '10.0.0.1');
  const displaced = mine.filter((c) => c.closed);
  assert.equal(displaced.length, 1);
  assert.notEqual(displaced[0], mine[0], 'one that spoke is kept while silent ones remain');
  assert.equal(other.closed, false);
  assert.equal(slots.waiting, 5);
});

test(`a churning flood from many addresses leaves a waiter that has spoken alone, and hits a silent one at random (seed ${SEED})`, () => {
  const random = seededRandom(SEED);
  const slots = new ConnectionSlots({ maxConnections: 10, maxPendingConnections: 64, maxPendingPerSource: 64 }, random);
  const binaryClient = new Conn('binary client, asked for the SASL mechanisms');
  slots.wait(binaryClient, '192.0.2.1');
  slots.heard(binaryClient);
  const slowSilent = new Conn('silent for a while');
  slots.wait(slowSilent, '192.0.2.2');
  // 64 connections from each of 2,000 addresses, one after another: 31 pools' worth of churn.
  let survivedAt = -1;
  for (let i = 0; i < 2000; i++) {
    const c = new Conn(`flood${i}`);
    slots.wait(c, `10.${i >> 8}.${i & 255}.1`);
    if (!slowSilent.closed) survivedAt = i;
  }
  assert.equal(binaryClient.closed, false, 'a waiter that has spoken outlives any number of silent ones');
  assert.equal(slots.waiting, 64);
  // A silent waiter lasts about a pool's worth of displacements (1 in 63 each), not exactly 63.
  assert.ok(survivedAt >= 0 && survivedAt < 2000, `survived ${survivedAt} displacements`);
});

test('logged-in slots are never taken by waiters; logins past them are refused; release frees both kinds', () => {
  const slots = new ConnectionSlots({ maxConnections: 2, maxPendingConnections: 3, maxPendingPerSource: 3 });
  const a = new Conn('a');
  const b = new Conn('b');
  slots.wait(a, '10.0.0.1');
  slots.wait(b, '10.0.0.1');
  assert.equal(slots.login(a), true);
  assert.equal(slots.login(b), true);
  for (let i = 0; i < 10; i++) slots.wait(new Conn(`w${i}`), '10.0.0.9');
  assert.equal(a.closed || b.closed, false);
  const c = new Conn('c');
  slots.wait(c, '10.0.0.3');
  assert.equal(slots.login(c), false);
  slots.release(a);
  slots.release(a);
  assert.equal(slots.login(c), true);
  assert.equal(slots.size, 2 + 2);
});

test('when every waiter has spoken, the pool still makes room', () => {
  const slots = new ConnectionSlots({ maxConnections: 2, maxPendingConnections: 3, maxPendingPerSource: 3 }, seededRandom(SEED));
  const ws = Array.from({ length: 3 }, (_, i) => new Conn(`w${i}`));
  ws.forEach((w, i) => {
    slots.wait(w, `10.0.0.${i}`);
    slots.heard(w);
  });
  slots.wait(new Conn('new'), '10.0.0.9');
  assert.equal(ws.filter((w) => w.closed).length, 1);
  assert.equal(slots.waiting, 3);
});

/**
 * Open loop at a fixed offered rate. Request i is due at start + i/rate and goes out on
 * connection i mod N, pipelined behind whatever that connection still waits for. Its
 * latency runs from the due time, not the actual send, so a server (or client) stall
 * counts against every request it delayed: no coordinated omission. The send loop spins
 * on setImmediate, which keeps sends within microseconds of their due time on the load
 * core while the event loop still reads replies between turns.
 */
import { performance } from 'node:perf_hooks';
import { errorSamples } from './connection.ts';
import { LatencyHistogram } from './histogram.ts';
import { RequestMix, openConnections } from './mix.ts';
import { OP_GET, REPLY_ERROR, REPLY_MISS } from './protocols.ts';
import { sleep } from './closed-loop.ts';
import type { LoadResult, OpenLoopSpec } from './spec.ts';

export async function runOpenLoop(spec: OpenLoopSpec): Promise<LoadResult> {
  const conns = await openConnections(spec);
  const mix = new RequestMix(spec);
  const histogram = new LatencyHistogram();
  // How late the client itself sent (actual send − due): if this grows, the load
  // generator, not the server, is the bottleneck.
  const sendLag = new LatencyHistogram();
  const intervalMs = 1000 / spec.rate;
  let hits = 0;
  let misses = 0;
  let errors = 0;
  let gets = 0;
  let ops = 0;
  let connectionsClosed = 0;
  let sending = true;

  const start = performance.now() + 5;
  const measureFrom = start + spec.warmupSeconds * 1000;
  const stopAt = measureFrom + spec.seconds * 1000;

  for (const c of conns) {
    c.onReply = (op, due, now, status) => {
      // As in the closed loop: errors from the first request on, and never as operations.
      if (status === REPLY_ERROR) {
        errors++;
        return;
      }
      if (due < measureFrom) return;
      ops++;
      histogram.recordMs(now - due);
      if (op === OP_GET) gets++;
      if (status === REPLY_MISS) misses++;
      else hits++;
    };
    c.onLost = (lost) => {
      if (!sending) return;
      connectionsClosed++;
      errors += Math.max(1, lost); // a closed connection is an error even with nothing in flight
    };
  }

  const cpu0 = process.cpuUsage();
  let i = 0;
  let dropped = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      let due = start + i * intervalMs;
      if (due <= now) {
        for (const c of conns) c.socket.cork();
        while (due <= now && due < stopAt) {
          const c = conns[i % conns.length]!;
          const req = mix.next();
          if (!c.send(mix.op, req, due)) dropped++;
          if (due >= measureFrom) sendLag.recordMs(now - due);
          i++;
          due = start + i * intervalMs;
        }
        for (const c of conns) c.socket.uncork();
      }
      if (due >= stopAt) resolve();
      else setImmediate(tick);
    };
    setImmediate(tick);
  });
  const cpu = process.cpuUsage(cpu0);
  const sentWall = (performance.now() - start) / 1000;

  // Give stragglers up to 2 s; whatever is still unanswered is recorded with the age it
  // reached (a lower bound on its latency).
  const drainUntil = performance.now() + 2000;
  while (conns.some((c) => c.inFlight > 0) && performance.now() < drainUntil) await sleep(5);
  sending = false;
  const now = performance.now();
  let unanswered = dropped;
  for (const c of conns) {
    for (const due of c.unansweredStarts()) {
      if (due < measureFrom) continue;
      histogram.recordMs(now - due);
      unanswered++;
    }
    c.close();
  }
  for (let d = 0; d < dropped; d++) histogram.recordMs(now - stopAt);

  return {
    mode: 'open',
    ops,
    seconds: spec.seconds,
    opsPerSec: Math.round(ops / spec.seconds),
    latency: histogram.summary(),
    hits,
    misses,
    gets,
    errors,
    connectionsClosed,
    errorSamples,
    offeredRate: spec.rate,
    unanswered,
    sendLag: sendLag.summary(),
    clientCpuPercent: Math.round(((cpu.user + cpu.system) / 1e6 / sentWall) * 100),
  };
}
